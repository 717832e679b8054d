/*
 * pam_lockout.c - the lockout guard in pam_jellyfin.
 *
 * Owns: turning lib/lockout.c's decision into a PAM result and log lines,
 * before authenticate and chauthtok send a password, and the per-user login
 * lock that makes the guard's read and the answer it guards one step. The
 * guard needs the root-only API key; where the module does not run as root
 * it steps aside and local throttling is the only protection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "pam_lockout.h"

#include <errno.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "lockout.h"

int jfa_pam_lockout_guard(struct jfa_pam *p, struct jfa_client *c)
{
    struct jfa_lockout_info info;
    char why[JFA_ERRLEN];

    switch (jfa_lockout_check(c, p->dbu.jf_id, &info, why, sizeof(why))) {
    case JFA_LOCKOUT_REFUSE:
        jfa_logf(&p->log, LOG_NOTICE,
                 "'%s' has %d failed logins and Jellyfin disables the account at %d: the password "
                 "was not sent (a login through Jellyfin itself, or an administrator, resets the "
                 "count)",
                 p->user_esc, info.count, info.limit);
        return PAM_AUTH_ERR;
    case JFA_LOCKOUT_UNREACHABLE:
        return PAM_AUTHINFO_UNAVAIL;
    case JFA_LOCKOUT_TLS:
        /* c->last_status says JFA_ERR_TLS: the callers must not go offline */
        jfa_logf(&p->log, LOG_ERR,
                 "refusing '%s': Jellyfin's TLS certificate failed "
                 "verification, the password was not sent: %s",
                 p->user_esc, c->err);
        return PAM_AUTHINFO_UNAVAIL;
    case JFA_LOCKOUT_ERROR:
        /* fail closed: what made it fail (limits the caller of su set) is
         * the caller's to choose, and must not switch the guard off */
        jfa_logf(&p->log, LOG_ERR,
                 "refusing '%s': the lockout guard cannot check (%s); the password was not sent",
                 p->user_esc, why);
        return PAM_SYSTEM_ERR;
    case JFA_LOCKOUT_NO_KEY:
        jfa_logf(&p->log, LOG_DEBUG, "lockout guard skipped for '%s': %s", p->user_esc, why);
        return PAM_SUCCESS;
    case JFA_LOCKOUT_SKIPPED:
        jfa_logf(&p->log, info.limit == 1 ? LOG_NOTICE : LOG_WARNING,
                 "lockout guard skipped for '%s': %s", p->user_esc, why);
        return PAM_SUCCESS;
    case JFA_LOCKOUT_SEND:
    case JFA_LOCKOUT_OFF:
    default:
        return PAM_SUCCESS;
    }
}

int jfa_pam_login_lock(struct jfa_pam *p, struct jfa_state_lock *lock)
{
    char err[JFA_ERRLEN];
    int r;

    r = jfa_state_lock_user(p->private_dir, p->dbu.jf_id, p->cfg.timeout * 1000L, lock, err,
                            sizeof(err));
    if (r == -ETIMEDOUT) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "another login of '%s' is still being checked; refused without asking Jellyfin",
                 p->user_esc);
        return PAM_AUTH_ERR;
    }
    if (r == 0)
        return PAM_SUCCESS;
    /* Not privileged (the private directory is not ours to use): no lock,
     * as no throttle record either (see jfa_pam_check_caller). */
    if (!jfa_pam_privileged(p)) {
        jfa_logf(&p->log, LOG_DEBUG, "no login lock for '%s', going on without it: %s", p->user_esc,
                 err);
        return PAM_SUCCESS;
    }
    /* Privileged: a lock that cannot be taken (out of descriptors, by limits
     * the caller of su set, or a broken state directory) must not let this
     * attempt run beside another one of the same user. */
    jfa_logf(&p->log, LOG_ERR, "refusing '%s' without asking Jellyfin: no login lock: %s",
             p->user_esc, err);
    return PAM_SYSTEM_ERR;
}
