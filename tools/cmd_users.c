/*
 * tools/cmd_users.c - `jellyfin-auth users`: what the users database holds.
 *
 * Owns: the table of mapped users (login name, UID, Jellyfin name, admin,
 * disabled) read from the database (works as non-root: the database and
 * the sync report hold public data only), followed by the Jellyfin users
 * left out at the last sync and why (state_dir/sync-report), with a note
 * when some were left out for a name another Jellyfin Id holds. --json
 * prints the same as one JSON object (keys documented in jellyfin-auth(8)).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "apikey.h"
#include "cmd.h"
#include "db.h"
#include "namemap.h"
#include "samba.h"
#include "sync.h"

/* Print s left-aligned in width columns, counting UTF-8 characters. */
static void print_padded(const char *s, int width)
{
    int chars = 0;

    for (const char *p = s; *p != '\0'; p++)
        if (((unsigned char)*p & 0xC0) != 0x80)
            chars++;
    fputs(s, stdout);
    for (; chars < width; chars++)
        putchar(' ');
}

static void help(void)
{
    printf("Usage: jellyfin-auth users [--json] [--config PATH] [--debug]\n"
           "List the users in the users database (login name, UID, Jellyfin name, admin,\n"
           "disabled), then the Jellyfin users the last sync left out, with the reason\n"
           "(for a name another Jellyfin Id holds: the 'jellyfin-auth names release'\n"
           "command that would hand it over) and, for each, the 'jellyfin-auth names set'\n"
           "command that would give it a login under another name.\n"
           "With samba_sync = yes, a SAMBA column says who has a Samba password (enabled,\n"
           "disabled, - for none; ? when the passdb cannot be read, e.g. not as root).\n\n"
           "  --json    print one JSON object instead of text (see jellyfin-auth(8))\n");
}

static void jadd(json_object *o, const char *key, json_object *v)
{
    json_object_object_add(o, key, v);
}

/* users --json: {"users": [...], "count": N, "left_out": [...] or null,
 * "report_matches_database": bool or null}. 0 or -1 (message printed). */
static int print_json(const struct tool *t, const struct jfa_db *db, const char *db_path,
                      const struct jfa_sync_report *rep, bool have_rep,
                      const struct jfa_samba_list *smb, bool have_smb)
{
    json_object *root = json_object_new_object(), *users = json_object_new_array(), *left = NULL;
    int ret = -1;

    if (root == NULL || users == NULL)
        goto oom;
    jadd(root, "users", users);
    for (uint32_t i = 0; i < db->n_users; i++) {
        struct jfa_db_user u;
        json_object *o = json_object_new_object();
        if (o == NULL || json_object_array_add(users, o) != 0) {
            json_object_put(o);
            goto oom;
        }
        if (jfa_db_user_at(db, i, &u) != 0) {
            tool_error(t, "%s: record %" PRIu32 " is corrupt", db_path, i);
            goto out;
        }
        jadd(o, "login", json_object_new_string(u.name));
        jadd(o, "uid", json_object_new_int64(u.uid));
        jadd(o, "jellyfin_name", json_object_new_string(u.jf_name));
        jadd(o, "jellyfin_id", json_object_new_string(u.jf_id));
        jadd(o, "admin", json_object_new_boolean((u.flags & JFA_DBU_ADMIN) != 0));
        jadd(o, "disabled", json_object_new_boolean((u.flags & JFA_DBU_DISABLED) != 0));
        if (t->cfg.samba_sync) {
            const struct jfa_samba_entry *e = have_smb ? jfa_samba_find(smb, u.name) : NULL;
            jadd(o, "samba",
                 !have_smb                       ? NULL
                 : e == NULL || !e->has_password ? json_object_new_string("none")
                 : e->disabled                   ? json_object_new_string("disabled")
                                                 : json_object_new_string("enabled"));
        }
    }
    jadd(root, "count", json_object_new_int64(db->n_users));
    if (have_rep) {
        left = json_object_new_array();
        if (left == NULL)
            goto oom;
        jadd(root, "left_out", left);
        for (size_t k = 0; k < rep->n; k++) {
            json_object *o = json_object_new_object();
            if (o == NULL || json_object_array_add(left, o) != 0) {
                json_object_put(o);
                goto oom;
            }
            jadd(o, "jellyfin_name", json_object_new_string(rep->items[k].jf_name));
            jadd(o, "jellyfin_id", json_object_new_string(rep->items[k].id));
            jadd(o, "reason", json_object_new_string(rep->items[k].reason));
        }
        jadd(root, "report_matches_database",
             json_object_new_boolean(rep->generation == db->generation));
    } else {
        jadd(root, "left_out", NULL);
        jadd(root, "report_matches_database", NULL);
    }
    tool_print_json(root);
    ret = 0;
    goto out;
oom:
    tool_error(t, "out of memory");
out:
    if (root != NULL)
        json_object_put(root);
    else
        json_object_put(users);
    return ret;
}

int cmd_users(struct tool *t, int argc, char **argv)
{
    struct jfa_db db;
    struct jfa_sync_report rep;
    char *db_path = NULL, *rep_path = NULL, err[JFA_ERRLEN], esc[512];
    int r, ret = EXIT_FAIL;
    uint32_t i;
    bool have_db = false, have_rep = false, have_smb = false, json = false;
    struct jfa_samba_list smb = {0};

    memset(&db, 0, sizeof(db));
    memset(&rep, 0, sizeof(rep));
    r = tool_parse_opts(t, "users", help, "json", &json, argc, argv);
    if (r >= 0)
        return r;
    if (optind < argc)
        return tool_usage_error(t, "users", "unexpected argument '%s'", argv[optind]);
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    db_path = jfa_config_db_path(&t->cfg);
    rep_path = jfa_sync_report_path(&t->cfg);
    if (db_path == NULL || rep_path == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    r = jfa_db_open(&db, db_path, false);
    if (r == -ENOENT) {
        tool_error(t, "%s: no users database yet; run 'jellyfin-auth sync'", db_path);
        goto out;
    }
    if (r != 0) {
        tool_error(t, "%s: cannot open the users database: %s", db_path, strerror(-r));
        goto out;
    }
    have_db = true;
    /* samba_sync = yes: who has a Samba password (pdbedit needs root) */
    if (t->cfg.samba_sync && geteuid() == 0) {
        if (jfa_samba_list_passdb(&t->cfg, &smb, err, sizeof(err)) == 0)
            have_smb = true;
        else
            tool_error(t, "samba: %s", err);
    }
    if (json) {
        r = jfa_report_read(rep_path, &rep, err, sizeof(err));
        if (r < 0) {
            tool_error(t, "%s", err);
            goto out;
        }
        if (print_json(t, &db, db_path, &rep, r == 0, &smb, have_smb) == 0)
            ret = EXIT_OK;
        goto out;
    }
    if (t->cfg.samba_sync)
        printf("%-32s %10s  %-32s %-5s %-8s %s\n", "LOGIN", "UID", "JELLYFIN NAME", "ADMIN",
               "DISABLED", "SAMBA");
    else
        printf("%-32s %10s  %-32s %-5s %s\n", "LOGIN", "UID", "JELLYFIN NAME", "ADMIN", "DISABLED");
    for (i = 0; i < db.n_users; i++) {
        struct jfa_db_user u;
        if (jfa_db_user_at(&db, i, &u) != 0) {
            tool_error(t, "%s: record %" PRIu32 " is corrupt", db_path, i);
            goto out;
        }
        printf("%-32s %10" PRIu32 "  ", u.name, u.uid);
        print_padded(jfa_log_escape(esc, sizeof(esc), u.jf_name), 32);
        if (t->cfg.samba_sync) {
            const struct jfa_samba_entry *e = have_smb ? jfa_samba_find(&smb, u.name) : NULL;
            printf(" %-5s %-8s %s\n", (u.flags & JFA_DBU_ADMIN) ? "yes" : "no",
                   (u.flags & JFA_DBU_DISABLED) ? "yes" : "no",
                   !have_smb                       ? "?"
                   : e == NULL || !e->has_password ? "-"
                   : e->disabled                   ? "disabled"
                                                   : "enabled");
        } else {
            printf(" %-5s %s\n", (u.flags & JFA_DBU_ADMIN) ? "yes" : "no",
                   (u.flags & JFA_DBU_DISABLED) ? "yes" : "no");
        }
    }
    printf("%" PRIu32 " users\n", db.n_users);
    r = jfa_report_read(rep_path, &rep, err, sizeof(err));
    if (r < 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    have_rep = r == 0;
    if (have_rep) {
        printf("\nLeft out at the last sync: %zu%s\n", rep.n,
               rep.generation != db.generation ? " (report from a different sync than the "
                                                 "database)"
                                               : "");
        size_t claimed = 0;
        struct jfa_db_group g;
        for (size_t k = 0; k < rep.n; k++) {
            printf("  \"%s\" (Id %s): %s\n", jfa_log_escape(esc, sizeof(esc), rep.items[k].jf_name),
                   rep.items[k].id, rep.items[k].reason);
            if (strstr(rep.items[k].reason, "jellyfin-auth names release ") != NULL)
                claimed++;
            if (jfa_hex32(rep.items[k].id)) {
                char sug[JFA_NAME_MAX + 1];
                struct jfa_db_user o;

                jfa_name_suggest(rep.items[k].jf_name, rep.items[k].id, sug);
                if (jfa_db_user_by_name(&db, sug, &o) == 0 ||
                    jfa_db_group_by_name(&db, sug, &g) == 0)
                    snprintf(sug, sizeof(sug), "jf-%.8s", rep.items[k].id);
                printf("    to give it a login: jellyfin-auth names set %s %s\n", rep.items[k].id,
                       sug);
            }
        }
        if (claimed > 0)
            printf("%zu left out for a name another Jellyfin Id holds: the name (and what the\n"
                   "machine grants to it) goes to them only after 'jellyfin-auth names release "
                   "NAME'\n",
                   claimed);
    } else {
        printf("\nNo sync report (%s): users left out are unknown\n", rep_path);
    }
    ret = EXIT_OK;
out:
    if (have_db)
        jfa_db_close(&db);
    jfa_report_free(&rep);
    jfa_samba_list_free(&smb);
    free(db_path);
    free(rep_path);
    return ret;
}
