/*
 * tools/cmd_status.c - `jellyfin-auth status`: is everything working?
 *
 * Owns: the status report: configuration loads, server reachable (GET
 * /System/Info/Public: name, version, id), API key accepted (GET /Users
 * with it: how many users), age and size of the users database, users
 * left out at the last sync, and the NSS and PAM wiring (nsswitch.conf,
 * common-auth/-account/-session; the checks doctor makes). Exit 0 only if
 * all is well. --json prints the same as one JSON object (keys documented
 * in jellyfin-auth(8)).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "apikey.h"
#include "cmd.h"
#include "db.h"
#include "jellyfin.h"
#include "sync.h"

#define STALE_AFTER (30 * 60) /* the timer runs every minute */

static void help(void)
{
    printf("Usage: jellyfin-auth status [--json] [--config PATH] [--debug]\n"
           "Check the configuration, that the server answers (GET /System/Info/Public), that\n"
           "the API key is accepted (GET /Users), the age of the last sync, the number of\n"
           "users in the database and left out, and that NSS (nsswitch.conf) and PAM\n"
           "(common-auth, common-account, common-session) use the modules.\n"
           "Exit status 0 only if all is well.\n\n"
           "  --json    print one JSON object instead of text (see jellyfin-auth(8))\n");
}

struct report {
    bool json;
    bool ok;
    json_object *root;
};

/* A section: text line "NAME: ..." and/or a JSON object under key. */
static json_object *section(struct report *r, const char *key, bool ok)
{
    json_object *o = json_object_new_object();

    if (o == NULL)
        return NULL;
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    json_object_object_add(r->root, key, o);
    if (!ok)
        r->ok = false;
    return o;
}

static void jstr(json_object *o, const char *key, const char *val)
{
    if (o != NULL)
        json_object_object_add(o, key, val != NULL ? json_object_new_string(val) : NULL);
}

static void jint(json_object *o, const char *key, int64_t val)
{
    if (o != NULL)
        json_object_object_add(o, key, json_object_new_int64(val));
}

static void jbool(json_object *o, const char *key, bool val)
{
    if (o != NULL)
        json_object_object_add(o, key, json_object_new_boolean(val));
}

static void text(const struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text(const struct report *r, const char *fmt, ...)
{
    va_list ap;

    if (r->json)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

/* NSS and PAM wiring: a login needs both. */
static void report_wiring(struct report *r)
{
    struct tool_wiring w;
    json_object *o, *files;
    bool ok;

    tool_wiring_check(&w);
    ok = w.ns_read && w.ns_passwd && w.ns_group;
    o = section(r, "nss", ok);
    jstr(o, "file", w.nsswitch);
    jbool(o, "passwd", w.ns_passwd);
    jbool(o, "group", w.ns_group);
    if (!w.ns_read) {
        jstr(o, "error", w.ns_err);
        text(r, "nss:      FAIL (%s)\n", w.ns_err);
    } else if (ok) {
        text(r, "nss:      ok, %s lists jellyfin for passwd and group\n", w.nsswitch);
    } else {
        text(r, "nss:      FAIL (%s: jellyfin missing on %s; run 'jellyfin-auth setup --enable')\n",
             w.nsswitch,
             !w.ns_passwd && !w.ns_group ? "passwd and group"
             : !w.ns_passwd              ? "passwd"
                                         : "group");
    }

    ok = tool_wiring_pam_ok(&w);
    o = section(r, "pam", ok);
    jstr(o, "dir", w.pam_dir);
    jstr(o, "uses_module", w.pam_any);
    files = json_object_new_object();
    for (size_t i = 0; i < TOOL_PAM_COMMON; i++)
        if (files != NULL)
            json_object_object_add(files, tool_pam_common_files[i],
                                   w.common_exists[i] ? json_object_new_boolean(w.common_uses[i])
                                                      : NULL);
    if (o != NULL)
        json_object_object_add(o, "common", files);
    else
        json_object_put(files);
    if (w.pam_any == NULL) {
        text(r,
             "pam:      FAIL (no file in %s uses pam_jellyfin.so; run 'pam-auth-update "
             "--enable jellyfin')\n",
             w.pam_dir);
    } else if (!ok) {
        text(r, "pam:      FAIL (%s/", w.pam_dir);
        for (size_t i = 0, n = 0; i < 3; i++)
            if (w.common_exists[i] && !w.common_uses[i])
                text(r, "%s%s", n++ ? ", " : "", tool_pam_common_files[i]);
        text(r, " without pam_jellyfin.so; run 'pam-auth-update --enable jellyfin')\n");
    } else {
        text(r, "pam:      ok, %s uses pam_jellyfin.so%s\n", w.pam_dir,
             w.common_exists[0] ? " (common-auth, common-account, common-session)" : "");
    }
    tool_wiring_free(&w);
}

int cmd_status(struct tool *t, int argc, char **argv)
{
    struct jfa_client c;
    struct jfa_system_info info;
    struct jfa_user_list list = {0};
    struct jfa_db db;
    struct jfa_sync_report rep;
    struct report R = {.ok = true};
    char key[33], err[JFA_ERRLEN], esc1[256], esc2[128], detail[JFA_ERRLEN + 64];
    char *db_path = NULL, *rep_path = NULL;
    enum jfa_status st;
    json_object *o;
    int r;

    memset(&db, 0, sizeof(db));
    memset(&rep, 0, sizeof(rep));
    memset(&info, 0, sizeof(info));
    r = tool_parse_opts(t, "status", help, "json", &R.json, argc, argv);
    if (r >= 0)
        return r;
    if (optind < argc)
        return tool_usage_error(t, "status", "unexpected argument '%s'", argv[optind]);
    R.root = json_object_new_object();
    if (R.root == NULL) {
        tool_error(t, "out of memory");
        return EXIT_FAIL;
    }

    if (tool_load_config(t) != 0) {
        o = section(&R, "config", false);
        jstr(o, "path", tool_config_path(t));
        text(&R, "config:   FAIL (%s)\n", tool_config_path(t));
        goto out;
    }
    o = section(&R, "config", true);
    jstr(o, "path", t->cfg.path ? t->cfg.path : tool_config_path(t));
    text(&R, "config:   ok (%s)\n", t->cfg.path ? t->cfg.path : tool_config_path(t));

    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0) {
        o = section(&R, "server", false);
        jstr(o, "error", "cannot set up the client");
        text(&R, "server:   FAIL (cannot set up the client)\n");
        goto out;
    }
    st = jfa_system_info(&c, &info);
    if (st == JFA_OK) {
        o = section(&R, "server", true);
        jstr(o, "url", c.cfg->n_urls > 0 ? c.cfg->urls[0] : NULL);
        jstr(o, "name", info.server_name);
        jstr(o, "version", info.version);
        jstr(o, "id", info.id);
        text(&R, "server:   ok, \"%s\" version %s, id %s\n",
             jfa_log_escape(esc1, sizeof(esc1), info.server_name ? info.server_name : ""),
             jfa_log_escape(esc2, sizeof(esc2), info.version ? info.version : "?"), info.id);
    } else {
        snprintf(detail, sizeof(detail), "%s%s%s", jfa_status_str(st), c.err[0] ? ": " : "", c.err);
        o = section(&R, "server", false);
        jstr(o, "error", detail);
        text(&R, "server:   FAIL (%s)\n", detail);
    }
    jfa_system_info_free(&info);

    r = jfa_api_key_read(&t->cfg, key, err, sizeof(err));
    if (r == JFA_ABSENT) {
        o = section(&R, "api_key", false);
        jstr(o, "file", t->cfg.api_key_file);
        jstr(o, "error", "absent");
        text(&R,
             "api key:  FAIL (%s: absent; sync falls back to public users only; run "
             "'jellyfin-auth setup')\n",
             t->cfg.api_key_file);
    } else if (r < 0) {
        o = section(&R, "api_key", false);
        jstr(o, "file", t->cfg.api_key_file);
        jstr(o, "error", err);
        text(&R, "api key:  FAIL (%s%s)\n", err,
             geteuid() != 0 ? "; the key is root's: run as root" : "");
    } else {
        st = jfa_list_users(&c, key, &list);
        if (st == JFA_OK) {
            o = section(&R, "api_key", true);
            jstr(o, "file", t->cfg.api_key_file);
            jint(o, "users", (int64_t)list.n);
            text(&R, "api key:  ok, GET /Users lists %zu users\n", list.n);
        } else {
            snprintf(detail, sizeof(detail), "GET /Users: %s%s%s", jfa_status_str(st),
                     c.err[0] ? ": " : "", c.err);
            o = section(&R, "api_key", false);
            jstr(o, "file", t->cfg.api_key_file);
            jstr(o, "error", detail);
            text(&R, "api key:  FAIL (%s)\n", detail);
        }
        jfa_user_list_free(&list);
    }
    explicit_bzero(key, sizeof(key));

    db_path = jfa_config_db_path(&t->cfg);
    rep_path = jfa_sync_report_path(&t->cfg);
    if (db_path == NULL || rep_path == NULL) {
        R.ok = false;
        goto wiring;
    }
    r = jfa_db_open(&db, db_path, false);
    if (r == 0) {
        time_t now = time(NULL);
        long long age = (long long)now - (long long)jfa_sync_last_time(&t->cfg, db.generation);
        bool stale = age > STALE_AFTER;
        o = section(&R, "database", !stale);
        jstr(o, "path", db_path);
        jint(o, "users", db.n_users);
        jint(o, "last_sync_age", age);
        jbool(o, "stale", stale);
        text(&R, "database: %s, %" PRIu32 " users, last sync %lld s ago (%s)%s\n",
             stale ? "WARN" : "ok", db.n_users, age, db_path,
             stale ? "; is the jellyfin-auth-sync.timer running?" : "");
        r = jfa_report_read(rep_path, &rep, err, sizeof(err));
        if (r == 0) {
            o = section(&R, "omitted", true);
            jint(o, "count", (int64_t)rep.n);
            text(&R, "omitted:  %zu Jellyfin users left out (see 'jellyfin-auth users')\n", rep.n);
        } else if (r == 1) {
            o = section(&R, "omitted", true);
            jstr(o, "count", NULL);
            text(&R, "omitted:  unknown (no %s)\n", rep_path);
        } else {
            o = section(&R, "omitted", false);
            jstr(o, "error", err);
            text(&R, "omitted:  FAIL (%s)\n", err);
        }
        jfa_db_close(&db);
    } else {
        snprintf(detail, sizeof(detail), "%s: %s", db_path,
                 r == -ENOENT ? "absent; run 'jellyfin-auth sync'" : strerror(-r));
        o = section(&R, "database", false);
        jstr(o, "path", db_path);
        jstr(o, "error", detail);
        text(&R, "database: FAIL (%s)\n", detail);
    }
wiring:
    report_wiring(&R);
out:
    jfa_report_free(&rep);
    free(db_path);
    free(rep_path);
    json_object_object_add(R.root, "ok", json_object_new_boolean(R.ok));
    if (R.json)
        tool_print_json(R.root);
    else
        printf("status:   %s\n", R.ok ? "all is well" : "problems found");
    json_object_put(R.root);
    return R.ok ? EXIT_OK : EXIT_FAIL;
}
