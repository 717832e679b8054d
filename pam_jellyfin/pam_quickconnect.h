/*
 * pam_quickconnect.h - Quick Connect logins in pam_jellyfin (see
 * pam_quickconnect.c).
 */
#ifndef PAM_JELLYFIN_QUICKCONNECT_H
#define PAM_JELLYFIN_QUICKCONNECT_H

#include "pam_common.h"

/* Called by pam_sm_authenticate when the password answer is empty and
 * nullok is not set, with the user resolved, the caller checked and
 * p->flow.keep set, no lock held. PAM_IGNORE when Quick Connect is not
 * offered here (quick_connect = no, `local` and a remote host outside
 * local_networks, or the server has it off): the caller goes on as for any
 * empty password. Otherwise the result of the Quick Connect login (logged). */
int jfa_pam_quick_connect(struct jfa_pam *p);

#endif
