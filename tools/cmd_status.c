/*
 * tools/cmd_status.c - `jellyfin-auth status`: is everything working?
 *
 * Owns: the status report: configuration loads, server reachable (GET
 * /System/Info/Public: name, version, id), API key accepted (GET /Users
 * with it: how many users), age and size of the users database, users
 * left out at the last sync. Exit 0 only if all is well.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "cmd.h"
#include "db.h"
#include "jellyfin.h"
#include "sync.h"

#define STALE_AFTER (30 * 60) /* the timer runs every minute */

static void help(void)
{
    printf("Usage: jellyfin-auth status [--config PATH] [--debug]\n"
           "Check the configuration, that the server answers (GET /System/Info/Public), that\n"
           "the API key is accepted (GET /Users), the age of the last sync and the number\n"
           "of users in the database and left out. Exit status 0 only if all is well.\n");
}

int cmd_status(struct tool *t, int argc, char **argv)
{
    struct jfa_client c;
    struct jfa_system_info info;
    struct jfa_user_list list = {0};
    struct jfa_db db;
    struct jfa_sync_report rep;
    char key[33], err[JFA_ERRLEN], esc1[256], esc2[128];
    char *db_path = NULL, *rep_path = NULL;
    enum jfa_status st;
    int r;
    bool ok = true;

    memset(&db, 0, sizeof(db));
    memset(&rep, 0, sizeof(rep));
    memset(&info, 0, sizeof(info));
    r = tool_parse_plain(t, "status", help, argc, argv);
    if (r >= 0)
        return r;
    if (tool_load_config(t) != 0) {
        printf("config:   FAIL (%s)\n", tool_config_path(t));
        return EXIT_FAIL;
    }
    printf("config:   ok (%s)\n", t->cfg.path ? t->cfg.path : tool_config_path(t));

    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0) {
        printf("server:   FAIL (cannot set up the client)\n");
        return EXIT_FAIL;
    }
    st = jfa_system_info(&c, &info);
    if (st == JFA_OK) {
        printf("server:   ok, \"%s\" version %s, id %s\n",
               jfa_log_escape(esc1, sizeof(esc1), info.server_name ? info.server_name : ""),
               jfa_log_escape(esc2, sizeof(esc2), info.version ? info.version : "?"), info.id);
    } else {
        printf("server:   FAIL (%s%s%s)\n", jfa_status_str(st), c.err[0] ? ": " : "", c.err);
        ok = false;
    }
    jfa_system_info_free(&info);

    r = jfa_api_key_read(&t->cfg, key, err, sizeof(err));
    if (r == 1) {
        printf("api key:  FAIL (%s: absent; sync falls back to public users only; run "
               "'jellyfin-auth setup')\n",
               t->cfg.api_key_file);
        ok = false;
    } else if (r < 0) {
        printf("api key:  FAIL (%s)\n", err);
        ok = false;
    } else {
        st = jfa_list_users(&c, key, &list);
        if (st == JFA_OK)
            printf("api key:  ok, GET /Users lists %zu users\n", list.n);
        else {
            printf("api key:  FAIL (GET /Users: %s%s%s)\n", jfa_status_str(st),
                   c.err[0] ? ": " : "", c.err);
            ok = false;
        }
        jfa_user_list_free(&list);
    }
    explicit_bzero(key, sizeof(key));

    db_path = jfa_config_db_path(&t->cfg);
    rep_path = jfa_sync_report_path(&t->cfg);
    if (db_path == NULL || rep_path == NULL) {
        ok = false;
        goto out;
    }
    r = jfa_db_open(&db, db_path, false);
    if (r == 0) {
        time_t now = time(NULL);
        long long age = (long long)now - (long long)jfa_sync_last_time(&t->cfg, db.generation);
        bool stale = age > STALE_AFTER;
        printf("database: %s, %" PRIu32 " users, last sync %lld s ago (%s)%s\n",
               stale ? "WARN" : "ok", db.n_users, age, db_path,
               stale ? "; is the jellyfin-auth-sync.timer running?" : "");
        if (stale)
            ok = false;
        r = jfa_report_read(rep_path, &rep, err, sizeof(err));
        if (r == 0)
            printf("omitted:  %zu Jellyfin users left out (see 'jellyfin-auth users')\n", rep.n);
        else if (r == 1)
            printf("omitted:  unknown (no %s)\n", rep_path);
        else {
            printf("omitted:  FAIL (%s)\n", err);
            ok = false;
        }
        jfa_db_close(&db);
    } else {
        printf("database: FAIL (%s: %s)\n", db_path,
               r == -ENOENT ? "absent; run 'jellyfin-auth sync'" : strerror(-r));
        ok = false;
    }
out:
    jfa_report_free(&rep);
    free(db_path);
    free(rep_path);
    printf("status:   %s\n", ok ? "all is well" : "problems found");
    return ok ? EXIT_OK : EXIT_FAIL;
}
