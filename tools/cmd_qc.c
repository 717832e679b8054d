/*
 * tools/cmd_qc.c - `jellyfin-auth explain|login USER --quick-connect`.
 *
 * Owns: the troubleshooting Quick Connect login, as pam_jellyfin does it on
 * an empty password answer: find the login name as the module does
 * (tool_find_user: a name that is not ours is never sent to Jellyfin), ask
 * whether the server has Quick Connect on, initiate, show the code, wait up
 * to quick_connect_timeout for the approval, redeem, check that the
 * approval was for this user's Jellyfin Id, print the answer, and log the
 * session token out again. (Password logins are cmd_explain.c's.)
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "db.h"
#include "jellyfin.h"
#include "quickconnect.h"

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
        {"quick-connect", no_argument, NULL, 'q'},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_client c;
    struct jfa_auth_result res;
    char esc[256], why[512];
    const char *cmd = argv[0], *user;
    enum jfa_status st;
    int opt, r, ret = EXIT_FAIL;

    memset(&db, 0, sizeof(db));
    memset(&res, 0, sizeof(res));
    while ((opt = tool_getopt(argc, argv, "h", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg) || opt == 'q')
            continue;
        if (opt == 'h') {
            tool_explain_help(cmd);
            return EXIT_OK;
        }
        return tool_usage_error(t, cmd,
                                "invalid option (--quick-connect takes no password and none of "
                                "--service, --rhost, --nullok, --json)");
    }
    if (optind + 1 != argc)
        return tool_usage_error(t, cmd, "expected exactly one USER");
    user = argv[optind];
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    r = tool_find_user(t, user, &db, &u, why, sizeof(why));
    if (r < 0)
        goto out;
    jfa_log_escape(esc, sizeof(esc), user);
    if (r == 1) {
        printf("mapped:   \"%s\" is not in the users database (run 'jellyfin-auth sync'; "
               "see 'jellyfin-auth users' for users left out)\n",
               esc);
        goto out;
    }
    if (r == 2) {
        printf("mapped:   \"%s\" is not a Jellyfin user here (%s): PAM never sends it to "
               "Jellyfin\n",
               esc, why);
        goto out;
    }
    printf("mapped:   %s uid %" PRIu32 " -> Jellyfin \"%s\" (Id %s)%s%s\n", u.name, u.uid,
           jfa_log_escape(esc, sizeof(esc), u.jf_name), u.jf_id,
           (u.flags & JFA_DBU_ADMIN) ? ", administrator" : "",
           (u.flags & JFA_DBU_DISABLED) ? ", DISABLED at last sync" : "");
    if (jfa_client_init(&c, &t->cfg, &t->log, "pam_jellyfin", u.jf_id) != 0) {
        tool_error(t, "cannot set up the Jellyfin client");
        goto out;
    }
    st = quick_connect(&c, u.jf_name, t->cfg.quick_connect_timeout, &res);
    printf("answer:   %s (HTTP %ld)%s%s\n", jfa_status_str(st), c.last_http_status,
           st != JFA_OK && c.err[0] ? ": " : "", st != JFA_OK ? c.err : "");
    if (st == JFA_ERR_FORBIDDEN)
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
    if (strcmp(res.user.id, u.jf_id) != 0)
        printf("refused:  the code was approved as another Jellyfin account: pam_jellyfin "
               "refuses such a login\n");
    if (res.access_token != NULL) {
        st = jfa_logout(&c, res.access_token);
        printf("logout:   %s\n", jfa_status_str(st));
    }
    ret = strcmp(res.user.id, u.jf_id) == 0 ? EXIT_OK : EXIT_FAIL;
out:
    jfa_auth_result_free(&res);
    jfa_db_close(&db);
    return ret;
}
