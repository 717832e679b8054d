/*
 * pam_lockout.c - the lockout guard of pam_jellyfin.
 *
 * Owns: the decision, before a password is sent to Jellyfin, whether that
 * password could be the failure that makes Jellyfin disable the account
 * (Policy.LoginAttemptsBeforeLockout; the server's counter only resets on a
 * successful login, so local back-off alone cannot stop a slow spraying
 * campaign). It reads the user's live counter with the API key; without a
 * readable key (an unprivileged caller, no key installed) it steps aside
 * and local throttling is the only protection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "pam_lockout.h"

#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "apikey.h"

int jfa_pam_lockout_guard(struct jfa_pam *p, struct jfa_client *c)
{
    char key[33], err[JFA_ERRLEN];
    struct jfa_user u;
    enum jfa_status st;
    int limit, count, r, rc = PAM_SUCCESS;

    if (!p->cfg.lockout_guard)
        return PAM_SUCCESS;
    r = jfa_api_key_read(&p->cfg, key, err, sizeof(err));
    if (r != 0) {
        jfa_logf(&p->log, r == 1 ? LOG_DEBUG : LOG_INFO, "lockout guard skipped: %s", err);
        return PAM_SUCCESS;
    }
    st = jfa_get_user(c, key, p->dbu.jf_id, &u);
    explicit_bzero(key, sizeof(key));
    switch (st) {
    case JFA_OK:
        break;
    case JFA_ERR_UNAVAILABLE:
        return PAM_AUTHINFO_UNAVAIL;
    default:
        jfa_logf(&p->log, LOG_WARNING,
                 "lockout guard skipped: cannot read '%s' from Jellyfin with the API key: %s: %s",
                 p->user_esc, jfa_status_str(st), c->err);
        return PAM_SUCCESS;
    }
    limit = u.policy.login_attempts_before_lockout;
    count = u.policy.invalid_login_attempt_count;
    if (limit == 1) {
        /* Guarding would mean never asking: every SSH login would fail. */
        jfa_logf(&p->log, LOG_NOTICE,
                 "lockout guard skipped: Jellyfin disables '%s' at the first failed login",
                 p->user_esc);
    } else if (limit >= 2 && !u.policy.is_disabled && count >= limit - 1) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "'%s' has %d failed logins and Jellyfin disables the account at %d: the password "
                 "was not sent (a login through Jellyfin itself, or an administrator, resets the "
                 "count)",
                 p->user_esc, count, limit);
        rc = PAM_AUTH_ERR;
    }
    jfa_user_free(&u);
    return rc;
}
