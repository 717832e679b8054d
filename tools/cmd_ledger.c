/*
 * tools/cmd_ledger.c - `jellyfin-auth ledger export|import`: one UID
 * ledger for a fleet.
 *
 * Owns: `ledger export [FILE]` (the ledger as text: every Id -> UID
 * allocation, tombstones, groups, name claims, overrides) and `ledger
 * import FILE [--replace]` (another machine's export: merged all or
 * nothing, every conflict listed; or, with --replace, taken as this
 * machine's ledger, every UID that changes listed). The deterministic
 * allocator cannot make machines agree by itself: a machine set up after a
 * user was deleted never saw the tombstone that pushed a later colliding
 * Id to the next UID, and local accounts and the order in which users
 * appear differ between machines; see doc/design.md "Fleets". Both actions
 * run as root under the sync lock; import writes the ledger atomically and
 * nothing else (the next sync applies it). A UID of the import that is a
 * local user or group here is always a conflict.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "db.h"
#include "fileutil.h"
#include "ledger.h"
#include "sync.h"

static void help(void)
{
    printf("Usage: jellyfin-auth ledger export [FILE] [--config PATH] [--debug]\n"
           "       jellyfin-auth ledger import FILE [--replace] [--config PATH] [--debug]\n"
           "The ledger records every UID and GID this machine gave to a Jellyfin user\n"
           "Id or group, deleted users included, and the login-name claims. Machines\n"
           "that sync the same server agree on UIDs only if they share it: export it on\n"
           "one machine and import it on the others (before their first sync, or at any\n"
           "time: new users found later are merged the same way).\n\n"
           "  export [FILE]  write the ledger to FILE (mode 0600) or standard output\n"
           "  import FILE    merge FILE into this machine's ledger, all or nothing: an\n"
           "                 Id with another UID here, a UID or name held here by someone\n"
           "                 else, or a UID of a local account is a conflict; conflicts\n"
           "                 are listed and nothing is written\n"
           "  --replace      take FILE as this machine's ledger; lists every UID that\n"
           "                 changes (files of those users must be chowned); UIDs of\n"
           "                 local accounts are still refused\n"
           "Root only. The next 'jellyfin-auth sync' applies an import.\n");
}

/* Is id a uid or gid the host has, other than our own database's? */
struct host_ids {
    struct jfa_db db;
    bool have_db;
};

static bool taken_local(void *ctx, uint32_t id)
{
    struct host_ids *h = ctx;
    struct passwd *pw = getpwuid((uid_t)id);
    struct group *gr = getgrgid((gid_t)id);
    struct jfa_db_user u;
    struct jfa_db_group g;

    if (pw != NULL && !(h->have_db && jfa_db_user_by_uid(&h->db, id, &u) == 0 &&
                        strcmp(u.name, pw->pw_name) == 0))
        return true;
    if (gr != NULL && !(h->have_db && jfa_db_group_by_gid(&h->db, id, &g) == 0 &&
                        strcmp(g.name, gr->gr_name) == 0))
        return true;
    return false;
}

static void print_conflict(void *ctx, const char *line)
{
    size_t *n = ctx;
    if (*n == 0)
        fprintf(stderr, "conflicts (nothing was written):\n");
    fprintf(stderr, "  %s\n", line);
    (*n)++;
}

static int do_export(struct tool *t, const char *path, const char *file)
{
    struct jfa_ledger l;
    char err[JFA_ERRLEN], *text = NULL;
    size_t len = 0;
    int r, ret = EXIT_FAIL;

    jfa_ledger_init(&l);
    r = jfa_ledger_load(&l, path, err, sizeof(err));
    if (r < 0) {
        tool_error(t, "ledger: %s", err);
        goto out;
    }
    if (r == 1) {
        tool_error(t, "there is no ledger (%s): run 'jellyfin-auth sync' first", path);
        goto out;
    }
    text = jfa_ledger_format(&l, &len);
    if (text == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    if (file == NULL || strcmp(file, "-") == 0) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
            tool_error(t, "writing the ledger to standard output: %s", strerror(errno));
            goto out;
        }
    } else if (jfa_write_atomic(file, text, len, 0600, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    } else {
        fprintf(stderr, "exported %zu users, %zu groups, %zu name claims, %zu overrides to %s\n",
                l.n_users, l.n_groups, l.n_claims, l.n_overrides, file);
    }
    ret = EXIT_OK;
out:
    free(text);
    jfa_ledger_free(&l);
    return ret;
}

/* Read an export: the same trust rules as the ledger itself would be too
 * strict for a file copied from another machine (any owner is fine: its
 * content is parsed strictly and checked), but it must be a regular file
 * that is not writable by others. */
static int read_import(struct tool *t, const char *file, struct jfa_ledger *in)
{
    char err[JFA_ERRLEN], *buf = NULL;
    size_t len = 0;
    int ret = EXIT_FAIL;

    if (jfa_read_trusted(file, 002, JFA_LEDGER_MAX_FILE, &buf, &len, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    if (jfa_ledger_parse(in, buf, len, file, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    ret = 0;
out:
    free(buf);
    return ret;
}

static int do_import(struct tool *t, const char *path, const char *file, bool replace)
{
    struct jfa_ledger cur, in, check;
    struct host_ids host;
    char err[JFA_ERRLEN], *priv = jfa_config_private_dir(&t->cfg), *db_path = NULL;
    char *text = NULL;
    size_t len = 0, conflicts = 0, added = 0, changed = 0, i;
    int lock_fd = -1, ret = EXIT_FAIL, r;

    jfa_ledger_init(&cur);
    jfa_ledger_init(&in);
    jfa_ledger_init(&check);
    memset(&host, 0, sizeof(host));
    db_path = jfa_config_db_path(&t->cfg);
    if (priv == NULL || db_path == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    if (read_import(t, file, &in) != 0)
        goto out;
    if (jfa_ensure_dir(t->cfg.state_dir, 0755, err, sizeof(err)) != 0 ||
        jfa_ensure_dir(priv, 0700, err, sizeof(err)) != 0) {
        tool_error(t, "state directory: %s", err);
        goto out;
    }
    if (jfa_sync_lock(&t->cfg, &t->log, &lock_fd, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    r = jfa_ledger_load(&cur, path, err, sizeof(err));
    if (r < 0) {
        tool_error(t, "ledger: %s", err);
        goto out;
    }
    host.have_db = jfa_db_open(&host.db, db_path, geteuid() == 0) == 0;
    /* every id of the import is checked against the host's accounts */
    for (i = 0; i < in.n_users; i++)
        if ((in.users[i].uid < t->cfg.uid_min || in.users[i].uid > t->cfg.uid_max) && !replace)
            fprintf(stderr,
                    "warning: Jellyfin user Id %s: uid %" PRIu32
                    " is outside uid_min-uid_max here; sync will leave it out\n",
                    in.users[i].id, in.users[i].uid);
    if (replace) {
        /* as a merge into an empty ledger: the same checks but "held here" */
        struct jfa_ledger empty;
        jfa_ledger_init(&empty);
        r = jfa_ledger_merge(&empty, &in, taken_local, &host, print_conflict, &conflicts, &added,
                             err, sizeof(err));
        jfa_ledger_free(&empty);
        if (r < 0) {
            tool_error(t, "%s", err);
            goto out;
        }
        if (conflicts > 0) {
            tool_error(t, "%zu conflicts: %s not imported", conflicts, file);
            goto out;
        }
        for (i = 0; i < cur.n_users; i++) {
            ssize_t k = jfa_ledger_find_user(&in, cur.users[i].id);
            if (k >= 0 && in.users[k].uid == cur.users[i].uid)
                continue;
            changed++;
            if (k >= 0)
                printf("uid change: Jellyfin user Id %s (%s): %" PRIu32 " -> %" PRIu32 "\n",
                       cur.users[i].id, cur.users[i].name[0] ? cur.users[i].name : "-",
                       cur.users[i].uid, in.users[k].uid);
            else
                printf("dropped: Jellyfin user Id %s (%s), uid %" PRIu32
                       " (the next sync allocates it again if it exists)\n",
                       cur.users[i].id, cur.users[i].name[0] ? cur.users[i].name : "-",
                       cur.users[i].uid);
        }
        text = jfa_ledger_format(&in, &len);
    } else {
        r = jfa_ledger_merge(&cur, &in, taken_local, &host, print_conflict, &conflicts, &added, err,
                             sizeof(err));
        if (r < 0) {
            tool_error(t, "%s", err);
            goto out;
        }
        if (conflicts > 0) {
            tool_error(t,
                       "%zu conflicts: %s not imported. Resolve them, or take the file as this "
                       "machine's ledger with --replace (UIDs here change)",
                       conflicts, file);
            goto out;
        }
        text = jfa_ledger_format(&cur, &len);
    }
    if (text == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    /* what is written must read back */
    if (jfa_ledger_parse(&check, text, len, path, err, sizeof(err)) != 0) {
        tool_error(t, "the merged ledger would not read back (%s); nothing written", err);
        goto out;
    }
    if (jfa_write_atomic(path, text, len, 0600, err, sizeof(err)) != 0) {
        tool_error(t, "writing the ledger: %s", err);
        goto out;
    }
    if (replace)
        printf("replaced the ledger with %s: %zu users, %zu groups; %zu UIDs here changed or "
               "dropped%s\n",
               file, in.n_users, in.n_groups, changed,
               changed ? " (chown their files after the next sync)" : "");
    else
        printf("merged %s: %zu new entries, no conflict\n", file, added);
    printf("Run 'jellyfin-auth sync' to apply it.\n");
    ret = EXIT_OK;
out:
    if (lock_fd >= 0)
        close(lock_fd);
    if (host.have_db)
        jfa_db_close(&host.db);
    free(text);
    free(priv);
    free(db_path);
    jfa_ledger_free(&cur);
    jfa_ledger_free(&in);
    jfa_ledger_free(&check);
    return ret;
}

int cmd_ledger(struct tool *t, int argc, char **argv)
{
    const char *sub, *file = NULL;
    char *path;
    bool replace = false;
    int ret;

    ret = tool_parse_opts(t, "ledger", help, "replace", &replace, argc, argv);
    if (ret >= 0)
        return ret;
    if (optind >= argc)
        return tool_usage_error(t, "ledger", "expected 'export [FILE]' or 'import FILE'");
    sub = argv[optind++];
    if (strcmp(sub, "export") == 0) {
        if (optind < argc)
            file = argv[optind++];
        if (replace)
            return tool_usage_error(t, "ledger", "--replace goes with import");
    } else if (strcmp(sub, "import") == 0) {
        if (optind >= argc)
            return tool_usage_error(t, "ledger", "import: which file?");
        file = argv[optind++];
    } else {
        return tool_usage_error(t, "ledger", "unknown action '%s' (export or import)", sub);
    }
    path = tool_ledger_path(t, "ledger", argc, argv, strcmp(sub, "import") == 0, &ret);
    if (path == NULL)
        return ret;
    ret = strcmp(sub, "export") == 0 ? do_export(t, path, file) : do_import(t, path, file, replace);
    free(path);
    return ret;
}
