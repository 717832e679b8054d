/*
 * tools/cmd_qc.c - `jellyfin-auth explain|login USER --quick-connect`.
 *
 * Owns: the troubleshooting Quick Connect login, as pam_jellyfin does it on
 * an empty password answer: map the login name through the users database
 * (a name that is not ours is never sent to Jellyfin), ask whether the
 * server has Quick Connect on, initiate, show the code, wait up to
 * quick_connect_timeout for the approval, redeem, check that the approval
 * was for this user's Jellyfin Id, print the answer, and log the session
 * token out again. (Password logins are cmd_explain.c's.)
 */
#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "db.h"
#include "jellyfin.h"
#include "lockout.h"
#include "quickconnect.h"

static void help(void)
{
    printf("Usage: jellyfin-auth login [--password-stdin] [--config PATH] [--debug] USER\n"
           "Authenticate USER (a login name from the users database) against Jellyfin the\n"
           "way pam_jellyfin does (same client name and DeviceId), print the mapped user\n"
           "and the server's answer, then log the new session out. For troubleshooting.\n"
           "Before asking for the password it shows the lockout guard's view (failed logins\n"
           "and Jellyfin's limit) and stops where pam_jellyfin would not send a password.\n\n"
           "  --password-stdin  read the password from the first line of standard input\n"
           "  --quick-connect   no password: show a Quick Connect code to approve in a\n"
           "                    Jellyfin app, wait quick_connect_timeout for it\n\n"
           "Exit status: 0 if the server accepted the password, 1 otherwise.\n");
}

/* The lockout guard's view, as pam_jellyfin would see it; false when
 * pam_jellyfin would not send a password now. */
static bool lockout_line(struct jfa_client *c, const char *jf_id)
{
    struct jfa_lockout_info info;
    char why[JFA_ERRLEN];

    switch (jfa_lockout_check(c, jf_id, &info, why, sizeof(why))) {
    case JFA_LOCKOUT_REFUSE:
        printf("lockout:  %d failed logins, and Jellyfin disables the account at %d: "
               "pam_jellyfin does not send a password now (lockout_guard); a login through "
               "Jellyfin itself, or an administrator, resets the count\n",
               info.count, info.limit);
        return false;
    case JFA_LOCKOUT_SEND:
        if (info.limit < 0)
            printf("lockout:  none set in Jellyfin for this user\n");
        else
            printf("lockout:  %d failed logins, Jellyfin disables the account at %d\n", info.count,
                   info.limit);
        return true;
    case JFA_LOCKOUT_OFF:
        printf("lockout:  not checked (lockout_guard = no)\n");
        return true;
    case JFA_LOCKOUT_UNREACHABLE:
        printf("lockout:  not checked: the server is unavailable: %s\n", c->err);
        return true;
    case JFA_LOCKOUT_NO_KEY:
    case JFA_LOCKOUT_SKIPPED:
    default:
        printf("lockout:  not checked: %s\n", why);
        return true;
    }
}

/* Quick Connect instead of a password: initiate, show the code, wait,
 * redeem. JFA_OK with *res, JFA_ERR_NOTFOUND when not approved in time. */
static enum jfa_status quick_connect(struct jfa_client *c, const char *jf_name, long timeout,
                                     struct jfa_auth_result *res)
{
    struct jfa_quick_connect q;
    struct timespec deadline;
    char esc[256];
    enum jfa_status st;
    bool on = false;

    st = jfa_qc_enabled(c, &on);
    if (st == JFA_OK && !on) {
        printf("quick:    the server has Quick Connect off\n");
        snprintf(c->err, sizeof(c->err), "Quick Connect is off on the server");
        return JFA_ERR_AUTH;
    }
    if (st != JFA_OK)
        return st;
    st = jfa_qc_initiate(c, &q);
    if (st != JFA_OK)
        return st;
    printf("quick:    code %s: approve it in a Jellyfin app signed in as \"%s\" (Quick Connect "
           "in the user menu); waiting up to %ld s\n",
           q.code, jfa_log_escape(esc, sizeof(esc), jf_name), timeout);
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout;
    st = jfa_qc_wait(c, &q, &deadline, JFA_QC_POLL_INTERVAL);
    if (st == JFA_OK && !q.authenticated) {
        printf("quick:    not approved in time\n");
        snprintf(c->err, sizeof(c->err), "not approved within %ld s", timeout);
        st = JFA_ERR_NOTFOUND;
    } else if (st == JFA_OK) {
        st = jfa_qc_redeem(c, &q, res);
    }
    jfa_quick_connect_wipe(&q);
    return st;
}

int cmd_login_qc(struct tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"password-stdin", no_argument, NULL, 'p'},
        {"quick-connect", no_argument, NULL, 'q'},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_client c;
    struct jfa_auth_result res;
    char pw[TOOL_PASSWORD_MAX], esc[256], *db_path = NULL, jf_id[33];
    const char *user;
    char *jf_name = NULL;
    bool from_stdin = false, have_db = false, qc = false;
    enum jfa_status st;
    int opt, r, ret = EXIT_FAIL;

    memset(&db, 0, sizeof(db));
    memset(&res, 0, sizeof(res));
    memset(pw, 0, sizeof(pw));
    while ((opt = tool_getopt(argc, argv, "h", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'p':
            from_stdin = true;
            break;
        case 'q':
            qc = true;
            break;
        case 'h':
            help();
            return EXIT_OK;
        default:
            return tool_usage_error(t, "login", "invalid option");
        }
    }
    if (optind + 1 != argc)
        return tool_usage_error(t, "login", "expected exactly one USER");
    user = argv[optind];
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    db_path = jfa_config_db_path(&t->cfg);
    if (db_path == NULL)
        goto out;
    r = jfa_db_open(&db, db_path, false);
    if (r != 0) {
        tool_error(t, "%s: %s", db_path,
                   r == -ENOENT ? "no users database; run 'jellyfin-auth sync'" : strerror(-r));
        goto out;
    }
    have_db = true;
    if (!jfa_db_name_plausible(user) || jfa_db_user_by_name(&db, user, &u) != 0) {
        struct passwd *pw_local = getpwnam(user);
        if (pw_local != NULL)
            printf("mapped:   \"%s\" is not a Jellyfin user here (a local account, uid %u): "
                   "PAM never sends it to Jellyfin\n",
                   jfa_log_escape(esc, sizeof(esc), user), (unsigned)pw_local->pw_uid);
        else
            printf("mapped:   \"%s\" is not in the users database (run 'jellyfin-auth sync'; "
                   "see 'jellyfin-auth users' for users left out)\n",
                   jfa_log_escape(esc, sizeof(esc), user));
        goto out;
    }
    jf_name = strdup(u.jf_name);
    memcpy(jf_id, u.jf_id, sizeof(jf_id));
    if (jf_name == NULL)
        goto out;
    printf("mapped:   %s uid %" PRIu32 " -> Jellyfin \"%s\" (Id %s)%s%s\n", u.name, u.uid,
           jfa_log_escape(esc, sizeof(esc), jf_name), jf_id,
           (u.flags & JFA_DBU_ADMIN) ? ", administrator" : "",
           (u.flags & JFA_DBU_DISABLED) ? ", DISABLED at last sync" : "");
    if (jfa_client_init(&c, &t->cfg, &t->log, "pam_jellyfin", jf_id) != 0) {
        tool_error(t, "cannot set up the Jellyfin client");
        goto out;
    }
    if (qc) {
        st = quick_connect(&c, jf_name, t->cfg.quick_connect_timeout, &res);
    } else {
        if (!lockout_line(&c, jf_id))
            goto out;
        if (tool_read_password("Jellyfin password: ", from_stdin, pw, sizeof(pw)) != 0)
            goto out;
        if (pw[0] == '\0') {
            printf("answer:   refused locally: empty password (pam_jellyfin refuses it unless "
                   "nullok, or starts Quick Connect when quick_connect allows it)\n");
            goto out;
        }
        st = jfa_authenticate(&c, jf_name, pw, &res);
        explicit_bzero(pw, sizeof(pw));
    }
    printf("answer:   %s (HTTP %ld)%s%s\n", jfa_status_str(st), c.last_http_status,
           st != JFA_OK && c.err[0] ? ": " : "", st != JFA_OK ? c.err : "");
    if (st == JFA_ERR_AUTH && !qc)
        printf("          the server refused the name or password (401)\n");
    else if (st == JFA_ERR_FORBIDDEN)
        printf("          the account may not log in now (403): disabled, locked out, remote "
               "access, schedule or device/session limits\n");
    else if (st == JFA_ERR_UNAVAILABLE)
        printf("          the server is unavailable: PAM would try offline verification\n");
    if (st != JFA_OK)
        goto out;
    printf("user:     \"%s\" (Id %s)%s%s\n",
           jfa_log_escape(esc, sizeof(esc), res.user.name ? res.user.name : ""), res.user.id,
           res.user.policy.is_administrator ? ", administrator" : "",
           res.user.policy.is_disabled ? ", disabled" : "");
    if (strcmp(res.user.id, jf_id) != 0 && qc)
        printf("refused:  the code was approved as another Jellyfin account: pam_jellyfin "
               "refuses such a login\n");
    else if (strcmp(res.user.id, jf_id) != 0)
        printf("warning:  the server answered for a different user Id than the database holds; "
               "run 'jellyfin-auth sync'\n");
    if (res.access_token != NULL) {
        st = jfa_logout(&c, res.access_token);
        printf("logout:   %s\n", jfa_status_str(st));
    }
    ret = strcmp(res.user.id, jf_id) == 0 ? EXIT_OK : EXIT_FAIL;
out:
    explicit_bzero(pw, sizeof(pw));
    jfa_auth_result_free(&res);
    if (have_db)
        jfa_db_close(&db);
    free(jf_name);
    free(db_path);
    return ret;
}
