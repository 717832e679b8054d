/*
 * pam_lockout.h - the lockout guard (see pam_lockout.c).
 */
#ifndef PAM_JELLYFIN_LOCKOUT_H
#define PAM_JELLYFIN_LOCKOUT_H

#include "jellyfin.h"
#include "pam_common.h"

/* Before a password goes to Jellyfin: PAM_SUCCESS to send it,
 * PAM_AUTH_ERR when one more failure would make Jellyfin disable the
 * account (refused without asking, logged), PAM_AUTHINFO_UNAVAIL when the
 * server is unreachable (c->err says why; the caller may go offline). */
int jfa_pam_lockout_guard(struct jfa_pam *p, struct jfa_client *c);

/* One password of a user in flight at a time, across every process: take
 * the user's lock before the guard reads the live count and hold it until
 * the answer is recorded, so that N parallel attempts act like N in a row.
 * Waits at most cfg.timeout seconds. PAM_SUCCESS (lock held, or not
 * available to this caller, e.g. not root: logged, and the login goes on
 * as before), or PAM_AUTH_ERR when another login of the same user still
 * holds it (refused without asking Jellyfin, logged). Release with
 * jfa_state_unlock. */
int jfa_pam_login_lock(struct jfa_pam *p, struct jfa_state_lock *lock);

#endif
