/*
 * pam_quickconnect.c - passwordless logins with Jellyfin Quick Connect.
 *
 * Owns: when Quick Connect is offered (quick_connect = yes, or local and
 * PAM_RHOST unset or in local_networks, nullok not set, the server's switch
 * on), the conversation that shows the code, the throttling of initiations
 * (they count as failures, per user and per remote host, each checked and
 * counted in one locked step under the user's login lock), the wait for
 * the approval and the checks Jellyfin does not make on the result: the
 * approved account must be the one logging in (else its token is logged
 * out), and it must not be disabled nor refused by the server's own
 * policy for this host (GET /Users/Me with the new token: 403 for no
 * remote access or outside the access schedule). A success keeps the token like a password login
 * (jfa_pam_remember): acct_mgmt applies the same flags and close_session
 * logs it out. No password was seen: the offline verifier and Samba are
 * never touched. The login lock is released during the wait: a pending
 * Quick Connect must not block the user's password logins for minutes.
 *
 * The user chooses Quick Connect by answering the password prompt with an
 * empty line. The code is shown in the text of a PAM_PROMPT_ECHO_ON prompt
 * (sshd's keyboard-interactive delivers text only with a prompt); Enter
 * starts the wait, anything else cancels. sshd's password method answers no
 * ECHO_ON prompt: there the empty password just fails.
 */
#include "jfaconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_lockout.h"
#include "pam_quickconnect.h"
#include "quickconnect.h"

#define HOST_KEY_MAX 300

/* Is Quick Connect offered to this login by the configuration? */
static bool offered(struct jfa_pam *p)
{
    const char *rhost = jfa_pam_item_text(p, PAM_RHOST);
    char esc[128];

    if (p->cfg.quick_connect == JFA_QC_NO)
        return false;
    if (p->cfg.quick_connect == JFA_QC_LOCAL && rhost[0] != '\0' &&
        !jfa_cidr_list_match(p->cfg.local_networks, p->cfg.n_local_networks, rhost)) {
        jfa_logf(&p->log, LOG_INFO,
                 "Quick Connect not offered to '%s': %s is outside local_networks "
                 "(quick_connect = local)",
                 p->user_esc, jfa_log_escape(esc, sizeof(esc), rhost));
        return false;
    }
    return true;
}

/* Map a failed call to a PAM result (logged). */
static int call_failed(struct jfa_pam *p, struct jfa_client *c, enum jfa_status st,
                       const char *what)
{
    if (st == JFA_ERR_NOTFOUND) {
        jfa_logf(&p->log, LOG_NOTICE, "Quick Connect for '%s': %s: the request expired",
                 p->user_esc, what);
        return PAM_AUTH_ERR;
    }
    jfa_logf(&p->log, st == JFA_ERR_UNAVAILABLE ? LOG_WARNING : LOG_ERR,
             "Quick Connect for '%s': %s: %s: %s", p->user_esc, what, jfa_status_str(st), c->err);
    return st == JFA_ERR_UNAVAILABLE ? PAM_AUTHINFO_UNAVAIL : PAM_AUTH_ERR;
}

/* Count the initiation for one throttle key (the user's Id, or "host:"
 * RHOST with host_esc its escaped host), checked and counted in one locked
 * step as the password path does (jfa_throttle_attempt): parallel
 * initiations of several users from one host cannot all pass a check made
 * before any of them counted. PAM_SUCCESS when counted (or nothing to
 * count: throttling off, an unprivileged caller). */
static int attempt_key(struct jfa_pam *p, const char *key, const char *host_esc, time_t now)
{
    char err[JFA_ERRLEN];
    long wait = 0;
    int r;

    r = jfa_throttle_attempt(&p->cfg, p->private_dir, key, now, &wait, err, sizeof(err));
    if (r == 0 || (r < 0 && !jfa_flow_privileged(&p->cfg)))
        return PAM_SUCCESS;
    if (r == 1) {
        if (host_esc == NULL)
            jfa_logf(&p->log, LOG_NOTICE,
                     "too many failed logins or Quick Connect requests for '%s': refused for %ld "
                     "more seconds without asking Jellyfin",
                     p->user_esc, wait);
        else
            jfa_logf(&p->log, LOG_NOTICE,
                     "too many failed logins or Quick Connect requests from %s: '%s' refused for "
                     "%ld more seconds without asking Jellyfin",
                     host_esc, p->user_esc, wait);
        return PAM_AUTH_ERR;
    }
    /* fail closed, as for passwords: a request that cannot be counted is not made */
    jfa_logf(&p->log, LOG_ERR,
             "cannot record the Quick Connect request of '%s': %s: refused without asking "
             "Jellyfin",
             p->user_esc, err);
    return PAM_AUTHINFO_UNAVAIL;
}

/* Take back the counts of an initiation that was not made. */
static void undo_attempt(struct jfa_pam *p, const char *host_key)
{
    jfa_throttle_undo(&p->cfg, p->private_dir, p->dbu.jf_id);
    if (host_key[0] != '\0')
        jfa_throttle_undo(&p->cfg, p->private_dir, host_key);
}

/* Under the user's login lock (as the password path): count this request
 * as a failure of the user and of the host, or refuse it when either is
 * throttled; then ask the server whether Quick Connect is on (PAM_IGNORE
 * when it is off: an empty password as before). A request that is not
 * initiated (the switch off, the question failed) takes its counts back,
 * as a password that was never judged does. PAM_SUCCESS to initiate. */
static int admit(struct jfa_pam *p, struct jfa_client *c, const char *host_key)
{
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    time_t now = time(NULL);
    enum jfa_status st;
    char esc[128];
    bool on = false;
    int rc;

    rc = jfa_pam_login_lock(p, &lock);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = attempt_key(p, p->dbu.jf_id, NULL, now);
    if (rc != PAM_SUCCESS)
        goto out;
    if (host_key[0] != '\0') {
        rc = attempt_key(p, host_key, jfa_log_escape(esc, sizeof(esc), host_key + 5), now);
        if (rc != PAM_SUCCESS) {
            jfa_throttle_undo(&p->cfg, p->private_dir, p->dbu.jf_id);
            goto out;
        }
    }
    st = jfa_qc_enabled(c, &on);
    if (st != JFA_OK) {
        rc = call_failed(p, c, st, "GET /QuickConnect/Enabled");
    } else if (!on) {
        jfa_logf(&p->log, LOG_INFO, "Quick Connect not offered to '%s': it is off on the server",
                 p->user_esc);
        rc = PAM_IGNORE;
    }
    if (rc != PAM_SUCCESS)
        undo_attempt(p, host_key);
out:
    jfa_state_unlock(&lock);
    return rc;
}

/* Show the code; PAM_SUCCESS when the user pressed Enter. */
static int show_code(struct jfa_pam *p, const struct jfa_quick_connect *q)
{
    char *answer = NULL;
    char name[128];
    int rc;

    rc = pam_prompt(p->pamh, PAM_PROMPT_ECHO_ON, &answer,
                    "Jellyfin Quick Connect code: %s\n"
                    "Approve it in a Jellyfin app signed in as %s (Quick Connect in the user "
                    "menu), then press Enter; type q to cancel: ",
                    q->code, jfa_log_escape(name, sizeof(name), p->dbu.jf_name));
    if (rc != PAM_SUCCESS || answer == NULL) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "Quick Connect for '%s' abandoned: the conversation cannot show the code (%s)",
                 p->user_esc, pam_strerror(p->pamh, rc));
        rc = PAM_AUTH_ERR;
    } else if (answer[0] != '\0') {
        jfa_logf(&p->log, LOG_NOTICE, "Quick Connect for '%s' cancelled by the user", p->user_esc);
        rc = PAM_AUTH_ERR;
    }
    if (answer != NULL) {
        explicit_bzero(answer, strlen(answer));
        free(answer);
    }
    return rc;
}

/* The checks Jellyfin leaves to us; PAM_SUCCESS with *flags. On a refusal
 * the token is logged out. */
static int check_result(struct jfa_pam *p, struct jfa_client *c, struct jfa_auth_result *res,
                        uint32_t *flags)
{
    struct jfa_user me;
    enum jfa_status st;
    int rc = PAM_AUTH_ERR;

    memset(&me, 0, sizeof(me));
    *flags = jfa_pam_policy_flags(&res->user.policy);
    if (strcmp(res->user.id, p->dbu.jf_id) != 0) {
        jfa_logf(&p->log, LOG_ERR,
                 "refusing '%s': the Quick Connect code was approved as another Jellyfin account "
                 "(Id %s, expected %s); its token is logged out",
                 p->user_esc, res->user.id, p->dbu.jf_id);
        jfa_pam_tell(p, "The code was approved for another Jellyfin account.");
        goto out;
    }
    if (*flags & JFA_DBU_DISABLED) {
        jfa_logf(&p->log, LOG_NOTICE, "refusing '%s': account disabled in Jellyfin", p->user_esc);
        rc = PAM_ACCT_EXPIRED;
        goto out;
    }
    /* What AuthenticateByName would have refused from this host: the
     * server's [Authorize] policy on the new token says it */
    st = jfa_get_me(c, res->access_token, &me);
    if (st == JFA_OK && strcmp(me.id, p->dbu.jf_id) == 0) {
        *flags |= jfa_pam_policy_flags(&me.policy);
        if (*flags & JFA_DBU_DISABLED) {
            jfa_logf(&p->log, LOG_NOTICE, "refusing '%s': account disabled in Jellyfin",
                     p->user_esc);
            rc = PAM_ACCT_EXPIRED;
            goto out;
        }
        rc = PAM_SUCCESS;
    } else if (st == JFA_ERR_FORBIDDEN) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "refusing '%s': Jellyfin refuses this account's token from this host (403: "
                 "remote access denied or outside the access schedule)",
                 p->user_esc);
    } else {
        jfa_logf(&p->log, LOG_ERR, "refusing '%s': cannot check the Quick Connect token: %s%s",
                 p->user_esc, jfa_status_str(st), st == JFA_OK ? " (another account)" : c->err);
        rc = st == JFA_ERR_UNAVAILABLE ? PAM_AUTHINFO_UNAVAIL : PAM_AUTH_ERR;
    }
out:
    if (rc != PAM_SUCCESS && jfa_logout(c, res->access_token) != JFA_OK)
        jfa_logf(&p->log, LOG_WARNING, "cannot log out the refused Quick Connect token: %s",
                 c->err);
    jfa_user_free(&me);
    return rc;
}

/* A request we give up on: if it was approved meanwhile, Jellyfin has
 * already made a token for it; redeem that token and log it out. */
static void discard(struct jfa_pam *p, struct jfa_client *c, struct jfa_quick_connect *q)
{
    struct jfa_auth_result res;

    memset(&res, 0, sizeof(res));
    if (jfa_qc_check(c, q) != JFA_OK || !q->authenticated)
        return;
    if (jfa_qc_redeem(c, q, &res) == JFA_OK) {
        if (jfa_logout(c, res.access_token) == JFA_OK)
            jfa_logf(&p->log, LOG_INFO,
                     "the abandoned Quick Connect request of '%s' had been approved: its token is "
                     "logged out",
                     p->user_esc);
        else
            jfa_logf(&p->log, LOG_WARNING,
                     "cannot log out the token of an abandoned Quick Connect request: %s", c->err);
    }
    jfa_auth_result_free(&res);
}

int jfa_pam_quick_connect(struct jfa_pam *p)
{
    const char *rhost = jfa_pam_item_text(p, PAM_RHOST);
    const char *service = jfa_pam_item_text(p, PAM_SERVICE);
    struct jfa_quick_connect q;
    struct jfa_auth_result res;
    struct jfa_client c;
    struct timespec deadline;
    char host_key[HOST_KEY_MAX];
    size_t n;
    enum jfa_status st;
    uint32_t flags = 0;
    int rc;

    memset(&q, 0, sizeof(q));
    memset(&res, 0, sizeof(res));
    if (!offered(p))
        return PAM_IGNORE;
    if (jfa_client_init(&c, &p->cfg, &p->log, JFA_PAM_CLIENT, p->dbu.jf_id) != 0) {
        jfa_logf(&p->log, LOG_ERR, "Quick Connect for '%s': %s", p->user_esc, c.err);
        return PAM_BUF_ERR;
    }
    /* Device names the host and the service, for the approver's device list */
    n = strlen(c.device);
    snprintf(c.device + n, sizeof(c.device) - n, " (%s)", service[0] != '\0' ? service : "pam");
    /* the same throttle keys as pam_auth.c's password path */
    host_key[0] = '\0';
    if (rhost[0] != '\0')
        snprintf(host_key, sizeof(host_key), "host:%s", rhost);
    rc = admit(p, &c, host_key);
    if (rc != PAM_SUCCESS)
        goto out;
    st = jfa_qc_initiate(&c, &q);
    if (st != JFA_OK) {
        rc = call_failed(p, &c, st, "initiate");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += p->cfg.quick_connect_timeout;
    jfa_logf(&p->log, LOG_INFO, "Quick Connect requested for '%s'; waiting up to %ld s",
             p->user_esc, p->cfg.quick_connect_timeout);
    rc = show_code(p, &q);
    if (rc != PAM_SUCCESS) {
        discard(p, &c, &q);
        goto out;
    }
    st = jfa_qc_wait(&c, &q, &deadline, JFA_QC_POLL_INTERVAL);
    if (st != JFA_OK) {
        rc = call_failed(p, &c, st, "waiting for the approval");
        goto out;
    }
    if (!q.authenticated) {
        jfa_logf(&p->log, LOG_NOTICE, "Quick Connect for '%s' not approved within %ld s",
                 p->user_esc, p->cfg.quick_connect_timeout);
        jfa_pam_tell(p, "The Quick Connect code was not approved in time.");
        rc = PAM_AUTH_ERR;
        goto out;
    }
    st = jfa_qc_redeem(&c, &q, &res);
    if (st != JFA_OK) {
        rc = call_failed(p, &c, st, "redeeming the approved request");
        goto out;
    }
    rc = check_result(p, &c, &res, &flags);
    if (rc != PAM_SUCCESS)
        goto out;
    jfa_throttle_success(p->private_dir, p->dbu.jf_id);
    if (host_key[0] != '\0')
        jfa_throttle_success(p->private_dir, host_key);
    jfa_logf(&p->log, LOG_INFO, "authenticated '%s' with Jellyfin Quick Connect", p->user_esc);
    rc = jfa_pam_remember(p, res.access_token, flags);
out:
    jfa_quick_connect_wipe(&q);
    jfa_auth_result_free(&res);
    return rc;
}
