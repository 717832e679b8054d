/*
 * pam_quickconnect.h - Quick Connect logins in pam_jellyfin (see
 * pam_quickconnect.c), and the pieces of pam_auth.c it shares.
 */
#ifndef PAM_JELLYFIN_QUICKCONNECT_H
#define PAM_JELLYFIN_QUICKCONNECT_H

#include "jellyfin.h"
#include "pam_common.h"

/* Called by pam_sm_authenticate when the password answer is empty and
 * nullok is not set, with the user resolved and the caller checked, no lock
 * held. PAM_IGNORE when Quick Connect is not offered here (quick_connect =
 * no, `local` and a remote host outside local_networks, or the server has
 * it off): the caller goes on as for any empty password. Otherwise the
 * result of the Quick Connect login (logged). */
int jfa_pam_quick_connect(struct jfa_pam *p);

/* pam_auth.c: JFA_DBU_* flags of a Policy, and keeping a successful
 * login's token for acct_mgmt and open_session (kept record and pending
 * record; on failure the token is logged out). */
uint32_t jfa_pam_policy_flags(const struct jfa_policy *pol);
int jfa_pam_remember(struct jfa_pam *p, const char *token, uint32_t flags);

#endif
