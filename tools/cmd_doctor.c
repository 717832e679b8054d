/*
 * tools/cmd_doctor.c - `jellyfin-auth doctor`: check the installation.
 *
 * Owns: the local health checks, each printed as OK / WARN / FAIL with a
 * reason: configuration (parse, owner, mode), API key file (exists, owner,
 * mode, content), state and private directory modes, users database
 * (opens, full integrity check, owner root, not writable by others), ledger
 * (parses), the homes of its users (the PAM module refuses one that is not
 * the user's), shell (executable, in /etc/shells), nsswitch.conf (jellyfin on
 * passwd and group), PAM (a file in /etc/pam.d mentions pam_jellyfin.so),
 * database age against the timer period, with samba_sync = yes Samba's
 * tools, configuration (testparm) and passdb, and Quick Connect (the
 * setting, and when it is on whether the server has it on too). No network,
 * except one anonymous GET /QuickConnect/Enabled when quick_connect is not
 * no. Exit 1 on any FAIL.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apikey.h"
#include "cmd.h"
#include "db.h"
#include "fileutil.h"
#include "homecheck.h"
#include "ledger.h"
#include "safepath.h"
#include "samba.h"
#include "quickconnect.h"
#include "sync.h"

#define TIMER_PERIOD 60 /* OnUnitActiveSec of jellyfin-auth-sync.timer */

struct doc {
    int fails, warns;
};

static void report(struct doc *d, const char *level, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct doc *d, const char *level, const char *what, const char *fmt, ...)
{
    va_list ap;

    if (strcmp(level, "FAIL") == 0)
        d->fails++;
    else if (strcmp(level, "WARN") == 0)
        d->warns++;
    printf("%-4s  %-10s ", level, what);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void help(void)
{
    printf("Usage: jellyfin-auth doctor [--config PATH] [--debug]\n"
           "Check the configuration, the API key file, the state directories, the users\n"
           "database and ledger, the shell, nsswitch.conf, the PAM configuration and,\n"
           "with samba_sync = yes, Samba's tools, smb.conf and passdb.\n"
           "Each check prints OK, WARN or FAIL with a reason; exit status 1 on any FAIL.\n"
           "Makes no network request (see 'jellyfin-auth status').\n");
}

/* On Debian's layout (common-* files), each of auth, account and session
 * must use the module: a missing account line would let disabled users in
 * with SSH keys, a missing session line leaves tokens behind. */
static void check_pam_common(struct doc *d, const struct tool_wiring *w)
{
    char path[PATH_MAX];
    size_t i;

    for (i = 0; i < TOOL_PAM_COMMON; i++) {
        snprintf(path, sizeof(path), "%s/%s", w->pam_dir, tool_pam_common_files[i]);
        if (!w->common_exists[i])
            continue;
        if (w->common_uses[i])
            report(d, "OK", "pam", "%s uses pam_jellyfin.so", path);
        else
            report(d, i < 3 ? "WARN" : "OK", "pam", "%s does not use pam_jellyfin.so%s", path,
                   i == 1   ? ": disabled Jellyfin users are not refused for key logins"
                   : i == 2 ? ": Jellyfin tokens are not logged out"
                   : i == 3 ? " (passwd will not change Jellyfin passwords)"
                            : "");
    }
}

static void check_file_mode(struct doc *d, const char *what, const char *path, mode_t forbidden,
                            bool want_root)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        report(d, "FAIL", what, "%s: %s", path, strerror(errno));
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        report(d, "FAIL", what, "%s: not a regular file", path);
        return;
    }
    if (st.st_mode & forbidden) {
        report(d, "FAIL", what, "%s: mode %04o (must have none of %04o)", path,
               (unsigned)(st.st_mode & 07777), (unsigned)forbidden);
        return;
    }
    if (st.st_uid != 0 && want_root)
        report(d, "WARN", what, "%s: owned by uid %u, not root", path, (unsigned)st.st_uid);
    else
        report(d, "OK", what, "%s: mode %04o, owner uid %u", path, (unsigned)(st.st_mode & 07777),
               (unsigned)st.st_uid);
}

/* The value of "key = value" in testparm -s -v output (malloc'd), or NULL. */
static char *testparm_value(const char *text, const char *key)
{
    size_t klen = strlen(key);

    for (const char *p = text; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        const char *q = p;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, key, klen) != 0)
            continue;
        q += klen;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=')
            continue;
        q++;
        while (*q == ' ' || *q == '\t')
            q++;
        return strndup(q, strcspn(q, "\r\n"));
    }
    return NULL;
}

/* samba_sync = yes: Samba's tools, its configuration and passdb. */
static void check_samba(struct doc *d, const struct jfa_config *cfg)
{
    char err[JFA_ERRLEN], real[PATH_MAX], testparm[PATH_MAX + 16], *slash;
    const char *argv[6];
    struct jfa_samba_run res;
    struct jfa_samba_list list = {0};
    char *v;
    size_t n = 0;

    memset(&res, 0, sizeof(res));
    if (!cfg->samba_sync) {
        report(d, "OK", "samba", "samba_sync = no: Samba passwords are not managed");
        return;
    }
    if (jfa_samba_check_helper(cfg->samba_smbpasswd, NULL, err, sizeof(err)) != 0)
        report(d, "FAIL", "samba",
               "samba_smbpasswd: %s (install samba-common-bin, or fix samba_smbpasswd)", err);
    else
        report(d, "OK", "samba", "smbpasswd: %s", cfg->samba_smbpasswd);
    if (jfa_samba_check_helper(cfg->samba_pdbedit, real, err, sizeof(err)) != 0) {
        report(d, "FAIL", "samba",
               "samba_pdbedit: %s (install samba-common-bin, or fix samba_pdbedit)", err);
        return;
    }
    report(d, "OK", "samba", "pdbedit: %s", cfg->samba_pdbedit);
    /* testparm sits next to pdbedit */
    slash = strrchr(real, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(testparm, sizeof(testparm), "%s/testparm", real);
    argv[n++] = "testparm";
    argv[n++] = "-s";
    argv[n++] = "-v";
    if (cfg->samba_conf != NULL)
        argv[n++] = cfg->samba_conf;
    argv[n] = NULL;
    if (jfa_samba_exec(testparm, argv, NULL, 0, 20000, 4u << 20, &res, err, sizeof(err)) != 0) {
        report(d, "FAIL", "samba", "testparm: %s", err);
        return;
    }
    if (res.timed_out || res.status != 0 || strstr(res.out, "Error loading services") != NULL) {
        char line[200], esc[300];
        const char *p = strcasestr(res.out, "error");

        p = p != NULL ? p : res.out;
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\r\n"), p);
        report(d, "FAIL", "samba", "%s -s %s: cannot load the Samba configuration (%s%d): %s",
               testparm, cfg->samba_conf != NULL ? cfg->samba_conf : "(default smb.conf)",
               res.timed_out ? "timed out, status " : "exit status ", res.status,
               jfa_log_escape(esc, sizeof(esc), line));
        goto out;
    }
    v = testparm_value(res.out, "passdb backend");
    if (v == NULL)
        report(d, "WARN", "samba", "testparm shows no passdb backend");
    else if (strncasecmp(v, "tdbsam", 6) == 0 || strncasecmp(v, "smbpasswd", 9) == 0)
        report(d, "OK", "samba", "passdb backend = %s", v);
    else
        report(d, "WARN", "samba",
               "passdb backend = %s: untested with samba_sync (tdbsam and smbpasswd are)", v);
    free(v);
    v = testparm_value(res.out, "unix password sync");
    if (v != NULL && strcasecmp(v, "yes") == 0)
        report(d, "FAIL", "samba",
               "unix password sync = yes contradicts samba_sync: a password change through "
               "Samba would run passwd, i.e. pam_jellyfin, which runs smbpasswd again; set "
               "'unix password sync = no' in [global] of smb.conf");
    else
        report(d, "OK", "samba", "unix password sync = no");
    free(v);
    v = testparm_value(res.out, "encrypt passwords");
    if (v != NULL && strcasecmp(v, "no") == 0)
        report(d, "FAIL", "samba",
               "encrypt passwords = no: Samba would not use the passdb; remove it from smb.conf");
    free(v);
    if (geteuid() != 0)
        report(d, "WARN", "samba", "not root: the passdb cannot be read");
    else if (jfa_samba_list_passdb(cfg, &list, err, sizeof(err)) != 0)
        report(d, "FAIL", "samba", "passdb unusable: %s", err);
    else
        report(d, "OK", "samba", "passdb readable: %zu entries", list.n);
    if (geteuid() == 0) {
        long attempts = 0;

        /* SMB logins never reach PAM: Samba's lockout is their only limit */
        if (jfa_samba_lockout_attempts(cfg, 20000, &attempts, err, sizeof(err)) != 0)
            report(d, "FAIL", "samba", "account policy unreadable (no password is published): %s",
                   err);
        else if (attempts <= 0)
            report(d, "FAIL", "samba",
                   "account policy \"bad lockout attempt\" is 0: SMB would allow unlimited "
                   "guesses of Jellyfin passwords, so logins publish none; set it: pdbedit -P "
                   "\"bad lockout attempt\" -C 5");
        else
            report(d, "OK", "samba", "account policy: locked out after %ld wrong SMB passwords",
                   attempts);
    }
out:
    jfa_samba_list_free(&list);
    jfa_samba_run_free(&res);
}

/* quick_connect, and whether the server has Quick Connect on */
static void check_quick_connect(struct tool *t, struct doc *d)
{
    static const char *const mode[] = {"no", "local", "yes"};
    const char *m = mode[t->cfg.quick_connect];
    char server[JFA_ERRLEN + 64];
    struct jfa_client c;
    enum jfa_status st = JFA_ERR_INTERNAL;
    bool on = false;

    if (t->cfg.quick_connect == JFA_QC_NO) {
        report(d, "OK", "quick connect", "off (quick_connect = no)");
        return;
    }
    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) == 0)
        st = jfa_qc_enabled(&c, &on);
    if (st == JFA_OK)
        snprintf(server, sizeof(server), "the server has Quick Connect %s", on ? "on" : "off");
    else
        snprintf(server, sizeof(server), "cannot ask the server: %s", c.err);
    if (st != JFA_OK || !on)
        report(d, "WARN", "quick connect",
               "quick_connect = %s, but %s: an empty password answer just fails", m, server);
    else
        report(d, t->cfg.quick_connect == JFA_QC_YES ? "WARN" : "OK", "quick connect",
               "quick_connect = %s%s, %ld s; %s: whoever gets a user to approve a code logs in "
               "as that user",
               m, t->cfg.quick_connect == JFA_QC_YES ? " (remote hosts too)" : " (local networks)",
               t->cfg.quick_connect_timeout, server);
}

/* The API key file, and the lockout guard that needs it. */
static void check_api_key(struct doc *d, const struct jfa_config *cfg)
{
    char err[JFA_ERRLEN], key[33];
    int r;

    r = jfa_api_key_read(cfg, key, err, sizeof(err));
    explicit_bzero(key, sizeof(key));
    if (r == JFA_ABSENT)
        report(d, "FAIL", "api key",
               "%s: absent (sync lists public users only); run 'jellyfin-auth setup'",
               cfg->api_key_file);
    else if (r < 0)
        report(d, "FAIL", "api key", "%s", err);
    else
        check_file_mode(d, "api key", cfg->api_key_file, 077, true);
    if (!cfg->lockout_guard)
        report(d, "WARN", "lockout guard",
               "off (lockout_guard = no): SSH logins may get accounts disabled in Jellyfin");
    else if (r == 0)
        report(d, "OK", "lockout guard",
               "on: the PAM module reads Jellyfin's failed-login counts with the API key");
    else
        report(d, "WARN", "lockout guard",
               "skipped without a usable API key: throttling is the only protection");
}

/* state_dir (where the NSS module looks, its mode) and private/ */
static void check_dirs(struct doc *d, const struct jfa_config *cfg, const char *priv)
{
    char err[JFA_ERRLEN];
    int r;

    if (strcmp(cfg->state_dir, JFA_DEFAULT_STATE_DIR) != 0)
        report(d, "WARN", "state dir",
               "%s is not %s: the NSS module reads only %s, so users written elsewhere are "
               "invisible to the system",
               cfg->state_dir, JFA_DEFAULT_STATE_DIR, JFA_DEFAULT_DB);
    r = jfa_check_dir(cfg->state_dir, 022, err, sizeof(err));
    if (r == 0)
        r = jfa_safe_path(cfg->state_dir, err, sizeof(err)) == 0 ? 0 : -1;
    if (r == 0)
        report(d, "OK", "state dir", "%s", cfg->state_dir);
    else
        report(d, "FAIL", "state dir", "%s",
               r == JFA_ABSENT ? "absent; run 'jellyfin-auth sync'" : err);
    r = jfa_check_dir(priv, 077, err, sizeof(err));
    if (r == 0)
        report(d, "OK", "private", "%s", priv);
    else
        report(d, "FAIL", "private", "%s",
               r == JFA_ABSENT ? "absent; run 'jellyfin-auth sync'" : err);
}

/* The users database: opens, full integrity check, mode, mark, age. */
static void check_database(struct doc *d, const struct jfa_config *cfg, const char *db_path)
{
    struct jfa_db db;
    char err[JFA_ERRLEN];
    long long age;
    int r;

    memset(&db, 0, sizeof(db));
    r = jfa_db_open(&db, db_path, geteuid() == 0);
    if (r != 0) {
        report(d, "FAIL", "database", "%s: %s", db_path,
               r == -ENOENT   ? "absent; run 'jellyfin-auth sync'"
               : r == -EPERM  ? "unsafe owner, mode or file type"
               : r == -EINVAL ? "corrupt (bad header or sections); run 'jellyfin-auth sync'"
                              : strerror(-r));
        return;
    }
    if (jfa_db_verify(&db, err, sizeof(err)) != 0) {
        report(d, "FAIL", "database", "%s: %s", db_path, err);
        goto out;
    }
    age = (long long)time(NULL) - (long long)jfa_sync_last_time(cfg, db.generation);
    check_file_mode(d, "database", db_path, 022, true);
    report(d, "OK", "integrity", "%s: %" PRIu32 " users, %" PRIu32 " groups", db_path, db.n_users,
           db.n_groups);
    if (jfa_db_marked(&db))
        report(d, "WARN", "db mark",
               "%s is marked as replaced but is still the file in place (a sync was "
               "interrupted between marking and renaming, or it is a copy of a "
               "replaced file): every lookup checks the path until 'jellyfin-auth sync'",
               db_path);
    if (age > 3 * TIMER_PERIOD)
        report(d, "WARN", "db age",
               "last sync %lld s ago (timer period %d s): is "
               "jellyfin-auth-sync.timer enabled?",
               age, TIMER_PERIOD);
    else
        report(d, "OK", "db age", "last sync %lld s ago", age);
out:
    jfa_db_close(&db);
}

/* The homes of the database's users that the PAM module refuses (a name
 * that changed hands keeps the old holder's home; lib/homecheck.h): named,
 * at most HOMES_SHOWN of them, with what to do. */
#define HOMES_SHOWN 20

/* What check_homes reported: the first HOMES_SHOWN findings (homes and
 * name files together) are printed, the rest counted by kind. */
struct home_findings {
    uint32_t shown;   /* lines printed */
    uint32_t refused; /* homes whose logins are refused */
    uint32_t hidden_refused, hidden_files;
};

struct name_file_ctx {
    struct doc *d;
    const struct jfa_db_user *u;
    struct home_findings *f;
};

/* Count one finding; true if it is to be printed. */
static bool finding_shown(struct home_findings *f, bool refused)
{
    if (refused)
        f->refused++;
    if (f->shown < HOMES_SHOWN) {
        f->shown++;
        return true;
    }
    *(refused ? &f->hidden_refused : &f->hidden_files) += 1;
    return false;
}

/* A mail spool or crontab under a user's name that another uid owns: the
 * name changed hands and its program skips it (lib/homecheck.h). */
static void name_file_other(void *ctx, const struct jfa_name_file *nf)
{
    struct name_file_ctx *c = ctx;

    if (nf->owner == c->u->uid || nf->owner == 0)
        return;
    if (finding_shown(c->f, false))
        report(c->d, "WARN", "home", "%s: %s (%s) is owned by uid %u, not by the user (uid %u): %s",
               c->u->name, nf->path, nf->what, (unsigned)nf->owner, (unsigned)c->u->uid,
               nf->effect);
}

static void check_homes(struct doc *d, const char *db_path)
{
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_home_issue is;
    char err[JFA_ERRLEN];
    struct home_findings f = {0};
    uint32_t i, present = 0;
    int r;

    memset(&db, 0, sizeof(db));
    if (jfa_db_open(&db, db_path, geteuid() == 0) != 0)
        return; /* check_database said why */
    for (i = 0; i < db.n_users; i++) {
        struct name_file_ctx c = {d, &u, &f};

        if (jfa_db_user_at(&db, i, &u) != 0)
            continue;
        jfa_name_files("", u.name, true, name_file_other, &c);
        if (u.home == NULL || u.home[0] != '/')
            continue;
        r = jfa_home_check(u.home, u.uid, u.gid, &is, err, sizeof(err));
        if (r == JFA_ABSENT)
            continue;
        present++;
        if (r == 0)
            continue;
        if (finding_shown(&f, true))
            report(d, "WARN", "home",
                   "%s: %s; its logins are refused until it is moved away (mv %s %s.old) or, "
                   "after checking its content, chown -R %u:%u %s",
                   u.name, err, u.home, u.home, (unsigned)u.uid, (unsigned)u.gid, u.home);
    }
    if (f.hidden_refused > 0)
        report(d, "WARN", "home", "%" PRIu32 " more refused homes like these", f.hidden_refused);
    if (f.hidden_files > 0)
        report(d, "WARN", "home", "%" PRIu32 " more files under a user's name owned by another uid",
               f.hidden_files);
    if (f.refused == 0)
        report(d, "OK", "homes", "%" PRIu32 " existing homes belong to their users", present);
    jfa_db_close(&db);
}

static void check_ledger(struct doc *d, const char *ledger_path)
{
    struct jfa_ledger ledger;
    char err[JFA_ERRLEN];
    int r;

    jfa_ledger_init(&ledger);
    r = jfa_ledger_load(&ledger, ledger_path, err, sizeof(err));
    if (r == 0)
        report(d, "OK", "ledger", "%s: %zu users, %zu groups", ledger_path, ledger.n_users,
               ledger.n_groups);
    else if (r == 1)
        report(d, "WARN", "ledger", "%s: absent (first sync not done yet?)", ledger_path);
    else
        report(d, "FAIL", "ledger", "%s", err);
    jfa_ledger_free(&ledger);
}

static void check_shell(struct doc *d, const struct jfa_config *cfg)
{
    char err[JFA_ERRLEN];

    if (jfa_shell_check(cfg->shell, err, sizeof(err)) == 0)
        report(d, "OK", "shell", "%s", cfg->shell);
    else
        report(d, "FAIL", "shell", "%s", err);
}

/* nsswitch.conf and PAM (the wiring shared with status) */
static void check_wiring(struct doc *d)
{
    struct tool_wiring w;

    tool_wiring_check(&w);
    if (!w.ns_read)
        report(d, "FAIL", "nsswitch", "%s", w.ns_err);
    else if (w.ns_passwd && w.ns_group)
        report(d, "OK", "nsswitch", "%s: jellyfin on passwd and group", w.nsswitch);
    else
        report(d, "FAIL", "nsswitch",
               "%s: jellyfin missing on %s (run 'jellyfin-auth setup --enable')", w.nsswitch,
               !w.ns_passwd && !w.ns_group ? "passwd and group"
               : !w.ns_passwd              ? "passwd"
                                           : "group");
    if (w.pam_any != NULL) {
        report(d, "OK", "pam", "%s uses pam_jellyfin.so", w.pam_any);
        check_pam_common(d, &w);
    } else
        report(d, "FAIL", "pam",
               "no file in %s mentions pam_jellyfin.so (run 'pam-auth-update --enable jellyfin')",
               w.pam_dir);
    tool_wiring_free(&w);
}

int cmd_doctor(struct tool *t, int argc, char **argv)
{
    struct doc d = {0, 0};
    char err[JFA_ERRLEN];
    char *db_path = NULL, *priv = NULL, *ledger_path = NULL;
    int r;

    r = tool_parse_plain(t, "doctor", help, argc, argv);
    if (r >= 0)
        return r;
    if (jfa_config_load(&t->cfg, tool_config_path(t), err, sizeof(err)) != 0) {
        report(&d, "FAIL", "config", "%s", err);
        printf("\nFAIL: nothing else can be checked without a configuration\n");
        return EXIT_FAIL;
    }
    t->cfg_loaded = true;
    check_file_mode(&d, "config", tool_config_path(t), 022, true);
    check_api_key(&d, &t->cfg);
    check_quick_connect(t, &d);
    priv = jfa_config_private_dir(&t->cfg);
    db_path = jfa_config_db_path(&t->cfg);
    ledger_path = jfa_sync_ledger_path(&t->cfg);
    if (priv == NULL || db_path == NULL || ledger_path == NULL) {
        report(&d, "FAIL", "memory", "out of memory");
        goto out;
    }
    check_dirs(&d, &t->cfg, priv);
    check_database(&d, &t->cfg, db_path);
    check_homes(&d, db_path);
    check_ledger(&d, ledger_path);
    check_shell(&d, &t->cfg);
    check_wiring(&d);
    check_samba(&d, &t->cfg);
out:
    printf("\n%d failed, %d warnings\n", d.fails, d.warns);
    free(db_path);
    free(priv);
    free(ledger_path);
    return d.fails ? EXIT_FAIL : EXIT_OK;
}
