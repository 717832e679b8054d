/*
 * tools/cmd_sync.c - `jellyfin-auth sync`: update the users database.
 *
 * Owns: the command line of sync (--quiet, --dry-run, --force) and its exit
 * status, and printing the changes jfa_sync_run (lib/sync.c) reports (also
 * for setup's first sync); the work is jfa_sync_run. After a sync it also
 * sweeps the PAM module's pending records older than JFA_PENDING_MAX_AGE
 * (logins that never opened a session, e.g. vsftpd with session_support=NO)
 * and logs their tokens out.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "jellyfin.h"
#include "log.h"
#include "state.h"
#include "samba.h"
#include "sync.h"

struct sweep_ctx {
    struct tool *t;
    int logged_out;
};

/* Log a left-over token out, as the PAM module would have (same client
 * identity, so the header matches the device the token belongs to). */
static void sweep_logout(void *ctx, const char *jf_id, const char *token)
{
    struct sweep_ctx *s = ctx;
    struct jfa_client c;
    enum jfa_status st;

    if (jfa_client_init(&c, &s->t->cfg, &s->t->log, "pam_jellyfin", jf_id) != 0)
        return;
    st = jfa_logout(&c, token);
    if (st == JFA_OK)
        s->logged_out++;
    else if (st != JFA_ERR_AUTH)
        jfa_logf(&s->t->log, LOG_WARNING,
                 "warning: cannot log out the left-over login token of user Id %s: %s", jf_id,
                 c.err);
}

/* Pending records no login may use any more: log out, remove. */
static void sweep_pending(struct tool *t, bool quiet)
{
    struct sweep_ctx s = {t, 0};
    char *priv = jfa_config_private_dir(&t->cfg);
    char err[JFA_ERRLEN] = "";
    int n;

    if (priv == NULL)
        return;
    n = jfa_state_sweep_pending(priv, time(NULL), JFA_PENDING_MAX_AGE, sweep_logout, &s, err,
                                sizeof(err));
    if (n < 0)
        jfa_logf(&t->log, LOG_WARNING, "warning: pending login records not swept: %s", err);
    else if (n > 0 && !quiet)
        printf("removed %d left-over login record%s (%d token%s logged out)\n", n,
               n == 1 ? "" : "s", s.logged_out, s.logged_out == 1 ? "" : "s");
    free(priv);
}

/* Print a name as the log does (control bytes and non-UTF-8 escaped). */
static void print_escaped(FILE *out, const char *s)
{
    char buf[1024];
    fputs(jfa_log_escape(buf, sizeof(buf), s), out);
}

void tool_sync_print_change(void *ctx, const struct jfa_sync_change *ch)
{
    struct tool_sync_printer *pr = ctx;
    FILE *out = pr->out != NULL ? pr->out : stdout;

    switch (ch->kind) {
    case JFA_SYNC_ADDED:
        fprintf(out, "added    %s (uid %" PRIu32 ", Jellyfin \"", ch->name, ch->uid);
        print_escaped(out, ch->jf_name);
        fprintf(out, "\")");
        if (ch->note != NULL)
            fprintf(out, ": login name %s, %s", ch->name, ch->note);
        fprintf(out, "\n");
        break;
    case JFA_SYNC_RENAMED:
        fprintf(out, "renamed  %s -> %s (uid %" PRIu32 ")", ch->old_name, ch->name, ch->uid);
        if (ch->note != NULL)
            fprintf(out, ": %s", ch->note);
        fprintf(out, "\n");
        break;
    case JFA_SYNC_DISABLED:
        fprintf(out, "disabled %s (uid %" PRIu32 ")\n", ch->name, ch->uid);
        break;
    case JFA_SYNC_ENABLED:
        fprintf(out, "enabled  %s (uid %" PRIu32 ")\n", ch->name, ch->uid);
        break;
    case JFA_SYNC_REMOVED:
        fprintf(out, "removed  %s (uid %" PRIu32 ")\n", ch->name, ch->uid);
        break;
    case JFA_SYNC_OMITTED:
        fprintf(out, "omitted  \"");
        print_escaped(out, ch->jf_name);
        fprintf(out, "\" (Id %s): %s\n", ch->jf_id, ch->reason);
        pr->omitted++;
        break;
    case JFA_SYNC_END:
        if (pr->omitted > 0)
            fprintf(out,
                    "'jellyfin-auth users' prints the command that gives each of them a login\n");
        break;
    }
}

void tool_sync_print_summary(const struct tool_sync_printer *pr, const struct jfa_sync_options *o,
                             const struct jfa_sync_summary *sum)
{
    fprintf(pr->out != NULL ? pr->out : stdout,
            "sync: %zu users in the database (%zu added, %zu removed, %zu renamed, "
            "%zu disabled, %zu enabled), %zu left out%s\n",
            sum->total, sum->added, sum->removed, sum->renamed, sum->disabled, sum->enabled,
            sum->omitted,
            o->dry_run       ? "; dry run, nothing written"
            : sum->unchanged ? "; no change, nothing written"
                             : "");
}

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
static int tool_samba_sync(struct tool *t, const struct jfa_sync_options *o, bool quiet)
{
    char err[JFA_ERRLEN];
    int r;

    if (!t->cfg.samba_sync || o->dry_run)
        return EXIT_OK;
    r = jfa_samba_sync(&t->cfg, &t->log, quiet ? NULL : stdout, false, err, sizeof(err));
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
    struct tool_sync_printer pr = {NULL, 0};
    char err[JFA_ERRLEN];
    bool quiet = false;
    int opt;

    memset(&o, 0, sizeof(o));
    while ((opt = tool_getopt(argc, argv, "qnfh", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'q':
            quiet = true;
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
    /* the API key is root's (0600) and so is the state directory */
    if (tool_need_root(t, "sync", t->cfg.api_key_file, false) != 0 ||
        (!o.dry_run && tool_need_root(t, "sync", t->cfg.state_dir, true) != 0))
        return EXIT_FAIL;
    if (!quiet) {
        o.on_change = tool_sync_print_change;
        o.change_ctx = &pr;
    }
    if (jfa_sync_run(&t->cfg, &t->log, &o, &sum, err, sizeof(err)) != 0) {
        tool_error(t, "sync failed: %s", err);
        if (!sum.written)
            tool_error(t, "the previous users database was left unchanged");
        return EXIT_FAIL;
    }
    if (!quiet)
        tool_sync_print_summary(&pr, &o, &sum);
    if (!o.dry_run)
        sweep_pending(t, quiet);
    return tool_samba_sync(t, &o, quiet);
}
