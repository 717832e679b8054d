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

#endif
