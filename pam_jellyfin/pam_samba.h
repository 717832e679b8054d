/*
 * pam_samba.h - the PAM side of samba_sync (see pam_samba.c).
 */
#ifndef PAM_JELLYFIN_SAMBA_H
#define PAM_JELLYFIN_SAMBA_H

#include <stdint.h>

#include "pam_common.h"

/* Jellyfin has just accepted password for p's user (policy flags JFA_DBU_*
 * as the server just reported them): bring Samba's password in step when
 * samba_sync = yes (as root). Never changes the login result. */
void jfa_pam_samba_update(struct jfa_pam *p, const char *password, uint32_t flags);

#endif
