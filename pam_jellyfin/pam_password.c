/*
 * pam_password.c - the password group: pam_sm_chauthtok.
 *
 * Owns: changing a Jellyfin password from Linux (passwd). The preliminary
 * pass checks the current password by logging in, which also yields the
 * user token that POST /Users/Password?userId= needs; the update pass sends
 * CurrentPw/NewPw, refreshes the offline verifier and logs the token out.
 */
#include "jfaconf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "jellyfin.h"
#include "pam_common.h"
#include "pam_lockout.h"
#include "pam_samba.h"

static void cleanup_token(pam_handle_t *pamh, void *data, int error_status)
{
    (void)pamh;
    (void)error_status;
    explicit_bzero(data, strlen(data));
    free(data);
}

/* Log in with the current password; keep the token for the update pass.
 * The caller holds the user's login lock and has counted the attempt;
 * *accepted says whether the password was right. */
static int verify_current_locked(struct jfa_pam *p, struct jfa_client *c, const char *old,
                                 bool *accepted)
{
    struct jfa_auth_result res;
    enum jfa_status st;
    char *copy;
    int rc;

    memset(&res, 0, sizeof(res));
    /* A wrong current password counts toward Jellyfin's lockout too. */
    rc = jfa_pam_lockout_guard(p, c);
    if (rc == PAM_AUTHINFO_UNAVAIL && c->last_status == JFA_ERR_TLS) {
        jfa_pam_tell(p, "The Jellyfin server's certificate is not trusted; password not sent.");
        return PAM_AUTHTOK_ERR; /* logged by the guard */
    }
    if (rc == PAM_AUTHINFO_UNAVAIL) {
        jfa_logf(&p->log, LOG_WARNING, "password change for '%s': Jellyfin unreachable: %s",
                 p->user_esc, c->err);
        jfa_pam_tell(p, "The Jellyfin server cannot be reached; try again later.");
        return PAM_TRY_AGAIN;
    }
    if (rc == PAM_AUTH_ERR)
        jfa_pam_tell(p, "One more wrong password would make Jellyfin disable this account; log "
                        "in through Jellyfin first.");
    if (rc != PAM_SUCCESS)
        return rc;
    p->flow.password_sent = true;
    st = jfa_authenticate(c, p->dbu.jf_name, old, &res);
    p->flow.password_judged = st == JFA_OK || st == JFA_ERR_AUTH || st == JFA_ERR_FORBIDDEN;
    *accepted = st == JFA_OK && strcmp(res.user.id, p->dbu.jf_id) == 0;
    if (st == JFA_OK && strcmp(res.user.id, p->dbu.jf_id) != 0) {
        jfa_logf(&p->log, LOG_ERR,
                 "password change for '%s': the server answered for another "
                 "account",
                 p->user_esc);
        (void)jfa_logout(c, res.access_token);
        rc = PAM_AUTH_ERR;
    } else if (st == JFA_OK && !res.user.policy.enable_user_preference_access) {
        jfa_logf(&p->log, LOG_NOTICE, "'%s' may not change the Jellyfin password (policy)",
                 p->user_esc);
        jfa_pam_tell(p, "Jellyfin does not allow this account to change its password.");
        (void)jfa_logout(c, res.access_token);
        rc = PAM_PERM_DENIED;
    } else if (st == JFA_OK) {
        copy = strdup(res.access_token);
        rc = copy == NULL ? PAM_BUF_ERR
                          : pam_set_data(p->pamh, JFA_PAM_DATA_CHAUTHTOK, copy, cleanup_token);
        if (rc != PAM_SUCCESS) {
            /* nothing would ever log it out */
            if (copy != NULL)
                cleanup_token(p->pamh, copy, 0);
            (void)jfa_logout(c, res.access_token);
        }
    } else if (st == JFA_ERR_AUTH || st == JFA_ERR_FORBIDDEN) {
        jfa_logf(&p->log, LOG_NOTICE, "password change for '%s': current password refused (%s)",
                 p->user_esc, jfa_status_str(st));
        rc = PAM_AUTH_ERR;
    } else if (st == JFA_ERR_UNAVAILABLE) {
        jfa_logf(&p->log, LOG_WARNING, "password change for '%s': Jellyfin unreachable: %s",
                 p->user_esc, c->err);
        jfa_pam_tell(p, "The Jellyfin server cannot be reached; try again later.");
        rc = PAM_TRY_AGAIN;
    } else {
        jfa_logf(&p->log, LOG_ERR, "password change for '%s': %s: %s", p->user_esc,
                 jfa_status_str(st), c->err);
        rc = PAM_AUTHTOK_ERR;
    }
    jfa_auth_result_free(&res);
    return rc;
}

/* The guard's read and the password it lets through, under the user's
 * login lock (see pam_auth.c): parallel passwd runs act like a sequence.
 * The check is a login attempt for the local throttle (same keys and
 * limits, counted before the password leaves): without it, anyone holding
 * a session of the user could guess the Jellyfin password with passwd in
 * a loop, without back-off. */
static int verify_current(struct jfa_pam *p, struct jfa_client *c, const char *old)
{
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    enum jfa_verdict v;
    bool accepted = false;
    int rc;

    rc = jfa_pam_login_lock(p, &lock);
    if (rc == PAM_AUTH_ERR)
        jfa_pam_tell(p, "Another login of this account is being checked; try again.");
    if (rc != PAM_SUCCESS)
        goto out;
    v = jfa_flow_attempt_begin(&p->flow);
    if (v != JFA_V_SUCCESS) {
        /* logged by the flow; nothing was sent */
        jfa_pam_tell(p, v == JFA_V_AUTH_ERR
                            ? "Too many failed attempts for this account; try again later."
                            : "The attempt cannot be recorded; password not sent.");
        rc = jfa_pam_code(v);
        goto out;
    }
    rc = verify_current_locked(p, c, old, &accepted);
    jfa_flow_attempt_end(&p->flow, accepted);
out:
    jfa_state_unlock(&lock);
    return rc;
}

static int map_change(struct jfa_pam *p, struct jfa_client *c, enum jfa_status st)
{
    switch (st) {
    case JFA_OK:
        jfa_logf(&p->log, LOG_NOTICE, "Jellyfin password of '%s' changed", p->user_esc);
        return PAM_SUCCESS;
    case JFA_ERR_FORBIDDEN:
        jfa_logf(&p->log, LOG_NOTICE,
                 "Jellyfin refused the password change of '%s' (403: wrong current password "
                 "or not allowed)",
                 p->user_esc);
        jfa_pam_tell(p, "Jellyfin refused the password change.");
        return PAM_AUTHTOK_ERR;
    case JFA_ERR_BADREQ:
        jfa_logf(&p->log, LOG_NOTICE, "Jellyfin rejected the new password of '%s': %s", p->user_esc,
                 c->err);
        jfa_pam_tell(p, "Jellyfin rejected the new password.");
        return PAM_AUTHTOK_ERR;
    case JFA_ERR_UNAVAILABLE:
        jfa_logf(&p->log, LOG_WARNING, "password change for '%s': Jellyfin unreachable: %s",
                 p->user_esc, c->err);
        return PAM_TRY_AGAIN;
    default:
        jfa_logf(&p->log, LOG_ERR, "password change for '%s': %s: %s", p->user_esc,
                 jfa_status_str(st), c->err);
        return PAM_AUTHTOK_ERR;
    }
}

/* The change was sent but its answer is missing or unusable (a deadline,
 * the caller of passwd stopping it, limits): Jellyfin may hold the new
 * password already. The verifier's (old) password must then not stay good
 * for offline logins: drop it; the next online login stores it again. */
static void forget_verifier(struct jfa_pam *p, enum jfa_status st)
{
    if (jfa_state_drop_verifier(p->private_dir, p->dbu.jf_id) == 0)
        jfa_logf(&p->log, LOG_NOTICE,
                 "password change for '%s' has no answer (%s): the offline verifier is dropped, "
                 "since Jellyfin may already hold the new password",
                 p->user_esc, jfa_status_str(st));
    else
        jfa_logf(&p->log, LOG_ERR,
                 "password change for '%s' has no answer (%s), and the offline verifier cannot "
                 "be dropped",
                 p->user_esc, jfa_status_str(st));
}

/* The update pass. Once it holds the token, every way out logs it out
 * (best effort; not when the server is unreachable) and forgets it: no
 * refusal leaves a live token behind. */
static int update(struct jfa_pam *p, struct jfa_client *c)
{
    const void *old = NULL, *token = NULL;
    const char *newpw = NULL;
    char err[JFA_ERRLEN];
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    enum jfa_status st = JFA_ERR_INTERNAL;
    int rc;

    if (pam_get_item(p->pamh, PAM_OLDAUTHTOK, &old) != PAM_SUCCESS || old == NULL)
        return PAM_AUTHTOK_RECOVERY_ERR;
    if (pam_get_data(p->pamh, JFA_PAM_DATA_CHAUTHTOK, &token) != PAM_SUCCESS || token == NULL) {
        rc = verify_current(p, c, old);
        if (rc != PAM_SUCCESS)
            return rc;
        if (pam_get_data(p->pamh, JFA_PAM_DATA_CHAUTHTOK, &token) != PAM_SUCCESS || token == NULL)
            return PAM_AUTHTOK_ERR;
    }
    rc = pam_get_authtok(p->pamh, PAM_AUTHTOK, &newpw, NULL);
    if (rc != PAM_SUCCESS || newpw == NULL) {
        rc = rc == PAM_SUCCESS ? PAM_AUTHTOK_ERR : rc;
        goto out;
    }
    if (newpw[0] == '\0' || strlen(newpw) > JFA_PASSWORD_MAX) {
        jfa_pam_tell(p, "The new password must not be empty or too long.");
        rc = PAM_AUTHTOK_ERR;
        goto out;
    }
    /* CurrentPw is checked again by Jellyfin, and a wrong one counts. */
    rc = jfa_pam_login_lock(p, &lock);
    if (rc != PAM_SUCCESS) {
        if (rc == PAM_AUTH_ERR) {
            jfa_pam_tell(p, "Another login of this account is being checked; try again.");
            rc = PAM_TRY_AGAIN;
        }
        goto out;
    }
    st = jfa_change_password(c, token, p->dbu.jf_id, old, newpw);
    rc = map_change(p, c, st);
    if (st != JFA_OK && st != JFA_ERR_FORBIDDEN && st != JFA_ERR_BADREQ && st != JFA_ERR_AUTH &&
        st != JFA_ERR_TLS && st != JFA_ERR_CONFIG)
        forget_verifier(p, st);
    if (rc == PAM_SUCCESS && p->cfg.offline_max_age > 0 &&
        jfa_state_put_verifier(p->private_dir, p->dbu.jf_id, newpw, p->dbu.flags, err,
                               sizeof(err)) != 0)
        jfa_logf(&p->log, LOG_INFO, "offline verifier not refreshed: %s", err);
    if (rc == PAM_SUCCESS)
        jfa_pam_samba_update(p, newpw, p->dbu.flags);
out:
    jfa_state_unlock(&lock);
    if (st != JFA_ERR_UNAVAILABLE)
        (void)jfa_logout(c, token);
    (void)pam_set_data(p->pamh, JFA_PAM_DATA_CHAUTHTOK, NULL, NULL);
    return rc;
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    struct jfa_client c;
    const char *old = NULL;
    int rc;

    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = jfa_pam_check_caller(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    if (jfa_client_init(&c, &p.cfg, &p.log, JFA_PAM_CLIENT, p.dbu.jf_id) != 0) {
        rc = PAM_BUF_ERR;
        goto out;
    }
    if (flags & PAM_PRELIM_CHECK) {
        rc = pam_get_authtok(pamh, PAM_OLDAUTHTOK, &old, "Current Jellyfin password: ");
        if (rc == PAM_SUCCESS && old != NULL)
            rc = verify_current(&p, &c, old);
        else if (rc == PAM_SUCCESS)
            rc = PAM_AUTH_ERR;
    } else if (flags & PAM_UPDATE_AUTHTOK) {
        rc = update(&p, &c);
    } else {
        rc = PAM_SERVICE_ERR;
    }
out:
    jfa_pam_end(&p);
    return rc;
}
