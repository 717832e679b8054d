/*
 * tools/cmd_names.c - `jellyfin-auth names`: the login-name claims.
 *
 * Owns: `names list` (every claimed name, the Jellyfin Id it belongs to
 * and what became of that Id: active, deleted, renamed-away) and
 * `names release NAME` (the administrator's explicit decision that a name
 * may go to another Jellyfin Id at the next sync). A name, and the local
 * grants attached to it (sudoers, /etc/group, AllowUsers), never passes
 * to another Id otherwise; see lib/ledger.h. release changes the ledger
 * under the sync lock, atomically, and nothing else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "ledger.h"
#include "namemap.h"
#include "sync.h"

static void help(void)
{
    printf("Usage: jellyfin-auth names list [--config PATH] [--debug]\n"
           "       jellyfin-auth names release NAME [--config PATH] [--debug]\n"
           "A login name (and the private group of the same name), once given to a\n"
           "Jellyfin user Id, stays claimed by that Id when the user is deleted or\n"
           "renamed: local grants (sudoers rules, /etc/group memberships, AllowUsers)\n"
           "attach to names, so a name never passes to another Jellyfin user by itself.\n\n"
           "  list          print every claimed name, its Jellyfin Id and the Id's state:\n"
           "                active, deleted or renamed-away\n"
           "  release NAME  remove the claim on NAME: the next sync gives it to the\n"
           "                Jellyfin user whose name maps to it. Check first what the\n"
           "                machine grants to NAME. Root only.\n");
}

/* Load the ledger (0, or EXIT_FAIL with the message printed). *absent
 * tells that there is none yet. */
static int load(struct tool *t, const char *path, struct jfa_ledger *l, bool *absent)
{
    char err[JFA_ERRLEN];
    int r;

    *absent = false;
    r = jfa_ledger_load(l, path, err, sizeof(err));
    if (r < 0) {
        tool_error(t, "ledger: %s", err);
        return EXIT_FAIL;
    }
    *absent = r == 1;
    return 0;
}

static int cmp_claim_name(const void *a, const void *b)
{
    const struct jfa_ledger_claim *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int do_list(struct tool *t, const char *path)
{
    struct jfa_ledger l;
    bool absent;
    size_t i;
    int ret = EXIT_FAIL;
    const struct jfa_ledger_claim **v = NULL;

    jfa_ledger_init(&l);
    if (load(t, path, &l, &absent) != 0)
        goto out;
    v = calloc(l.n_claims + 1, sizeof(*v));
    if (v == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    for (i = 0; i < l.n_claims; i++)
        v[i] = &l.claims[i];
    qsort(v, l.n_claims, sizeof(*v), cmp_claim_name);
    printf("%-32s %-32s %s\n", "NAME", "JELLYFIN ID", "STATE");
    for (i = 0; i < l.n_claims; i++) {
        ssize_t ci = v[i] - l.claims;
        printf("%-32s %-32s %s\n", v[i]->name, v[i]->id,
               jfa_claim_state_str(jfa_ledger_claim_state(&l, (size_t)ci)));
    }
    printf("%zu names claimed%s\n", l.n_claims, absent ? " (no ledger yet: no sync has run)" : "");
    ret = EXIT_OK;
out:
    free(v);
    jfa_ledger_free(&l);
    return ret;
}

static int do_release(struct tool *t, const char *path, const char *name)
{
    struct jfa_ledger l;
    bool absent;
    char err[JFA_ERRLEN], id[33];
    int ret = EXIT_FAIL, lock_fd = -1;
    enum jfa_claim_state st;
    ssize_t ci;
    char *priv = jfa_config_private_dir(&t->cfg);
    struct stat sb;

    jfa_ledger_init(&l);
    if (priv == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    if (lstat(priv, &sb) != 0 && errno == ENOENT) {
        tool_error(t, "name %s is not claimed: there is no ledger (%s); no sync has run", name,
                   path);
        goto out;
    }
    if (jfa_sync_lock(&t->cfg, &t->log, &lock_fd, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    if (load(t, path, &l, &absent) != 0)
        goto out;
    ci = jfa_ledger_find_claim(&l, name);
    if (ci < 0) {
        tool_error(t,
                   "name %s is not claimed by any Jellyfin user Id; 'jellyfin-auth names list' "
                   "shows the claimed names",
                   name);
        goto out;
    }
    st = jfa_ledger_claim_state(&l, (size_t)ci);
    memcpy(id, l.claims[ci].id, sizeof(id));
    if (jfa_ledger_release_name(&l, name, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    if (jfa_ledger_save(&l, path, err, sizeof(err)) != 0) {
        tool_error(t, "writing the ledger: %s", err);
        goto out;
    }
    printf("released %s (claimed by Jellyfin user Id %s, %s).\n", name, id,
           jfa_claim_state_str(st));
    if (st == JFA_CLAIM_ACTIVE)
        printf("Note: that user is active and still has this login name: it keeps it as long "
               "as its Jellyfin name maps to %s.\n",
               name);
    printf("The next sync gives %s to the Jellyfin user whose name maps to it, with every local\n"
           "grant on the name; run 'jellyfin-auth sync' to apply it now.\n",
           name);
    ret = EXIT_OK;
out:
    if (lock_fd >= 0)
        close(lock_fd);
    free(priv);
    jfa_ledger_free(&l);
    return ret;
}

int cmd_names(struct tool *t, int argc, char **argv)
{
    static const struct option opts[] = {TOOL_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    const char *sub, *name = NULL;
    char *path = NULL;
    int opt, ret;

    /* options may come before or after the action (GNU getopt permutes) */
    while ((opt = tool_getopt(argc, argv, "h", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        if (opt == 'h') {
            help();
            return EXIT_OK;
        }
        return tool_usage_error(t, "names", "invalid option");
    }
    if (optind >= argc)
        return tool_usage_error(t, "names", "expected 'list' or 'release NAME'");
    sub = argv[optind++];
    if (strcmp(sub, "release") == 0) {
        if (optind >= argc)
            return tool_usage_error(t, "names", "release: which name?");
        name = argv[optind++];
        if (!jfa_name_valid(name))
            return tool_usage_error(t, "names",
                                    "release: \"%s\" is not a login name ([a-z0-9_] then "
                                    "[a-z0-9_.-], at most 32 characters)",
                                    name);
    } else if (strcmp(sub, "list") != 0) {
        return tool_usage_error(t, "names", "unknown action '%s' (list or release NAME)", sub);
    }
    if (optind < argc)
        return tool_usage_error(t, "names", "unexpected argument '%s'", argv[optind]);
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    path = jfa_sync_ledger_path(&t->cfg);
    if (path == NULL) {
        tool_error(t, "out of memory");
        return EXIT_FAIL;
    }
    /* the ledger lives in state_dir/private (0700, root's) */
    if (tool_need_root(t, "names", path, name != NULL) != 0) {
        free(path);
        return EXIT_FAIL;
    }
    ret = name != NULL ? do_release(t, path, name) : do_list(t, path);
    free(path);
    return ret;
}
