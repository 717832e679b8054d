/*
 * tools/cmd_sync.c - `jellyfin-auth sync`: update the users database.
 *
 * Owns: the command line of sync (--quiet, --dry-run, --force) and its exit
 * status; the work is jfa_sync_run (lib/sync.c).
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "samba.h"
#include "sync.h"

static void help(void)
{
    printf("Usage: jellyfin-auth sync [--quiet] [--dry-run] [--force] [--config PATH] [--debug]\n"
           "Read the Jellyfin users (GET /Users with the API key; without a key file\n"
           "GET /Users/Public, which misses hidden users) and rewrite the users database\n"
           "atomically. Prints what changed and the users left out, with the reason.\n\n"
           "  --quiet    print nothing on success (warnings and errors still go to stderr)\n"
           "  --dry-run  compute and print the changes, write nothing\n"
           "  --force    allow replacing a populated database with an empty user list\n\n"
           "On any failure the previous database and ledger are left untouched and the\n"
           "exit status is 1.\n\n"
           "With samba_sync = yes, Samba entries of users disabled or deleted in Jellyfin\n"
           "are then disabled, and those of re-enabled users enabled (\"samba: ...\" lines);\n"
           "a Samba failure gives exit status 1 but the database is still written.\n");
}

/* samba_sync = yes: bring Samba's passdb in step with the database just
 * written. A Samba failure is reported (exit 1) but never undoes the sync. */
static int tool_samba_sync(struct tool *t, const struct jfa_sync_options *o)
{
    char err[JFA_ERRLEN];
    int r;

    if (!t->cfg.samba_sync || o->dry_run)
        return EXIT_OK;
    r = jfa_samba_sync(&t->cfg, &t->log, o->quiet ? NULL : stdout, false, err, sizeof(err));
    if (r < 0) {
        tool_error(t, "samba: %s (the users database was written)", err);
        return EXIT_FAIL;
    }
    if (r > 0) {
        tool_error(t, "samba: %d change(s) failed (the users database was written)", r);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int cmd_sync(struct tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"dry-run", no_argument, NULL, 'n'},
        {"force", no_argument, NULL, 'f'},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct jfa_sync_options o;
    struct jfa_sync_summary sum;
    char err[JFA_ERRLEN];
    int opt;

    memset(&o, 0, sizeof(o));
    while ((opt = getopt_long(argc, argv, "+qnfh", opts, NULL)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'q':
            o.quiet = true;
            break;
        case 'n':
            o.dry_run = true;
            break;
        case 'f':
            o.force = true;
            break;
        case 'h':
            help();
            return EXIT_OK;
        default:
            return tool_usage_error(t, "sync", "invalid option");
        }
    }
    if (optind < argc)
        return tool_usage_error(t, "sync", "unexpected argument '%s'", argv[optind]);
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    if (jfa_sync_run(&t->cfg, &t->log, &o, &sum, err, sizeof(err)) != 0) {
        tool_error(t, "sync failed: %s", err);
        if (!sum.written)
            tool_error(t, "the previous users database was left unchanged");
        return EXIT_FAIL;
    }
    return tool_samba_sync(t, &o);
}
