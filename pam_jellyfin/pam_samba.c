/*
 * pam_samba.c - the PAM side of samba_sync (issue 9).
 *
 * Owns: when pam_jellyfin hands a password Jellyfin has just accepted (an
 * online authentication, or the new password of a successful chauthtok)
 * to lib/samba.c, and the log lines about it. Never called from the
 * offline path nor for local accounts (pam_auth.c and pam_password.c call
 * it only after Jellyfin said yes). Whatever happens here, the PAM result
 * stays what Jellyfin decided: every failure is one LOG_WARNING line.
 */
#include "jfaconf.h"

#include <unistd.h>

#include <security/pam_modules.h>

#include "pam_common.h"
#include "pam_samba.h"
#include "samba.h"

/* The rule of pam_sm_acct_mgmt: a user without remote access, from a host
 * outside local_networks (an address this process holds no connection
 * from counts as outside: jfa_flow_rhost_inside). That login is about to
 * be refused; it does not enroll the password for SMB either. */
static bool remote_denied(struct jfa_pam *p, uint32_t flags)
{
    return (flags & JFA_DBU_NO_REMOTE) && p->flow.rhost != NULL && p->flow.rhost[0] != '\0' &&
           !jfa_flow_rhost_inside(&p->flow);
}

void jfa_pam_samba_update(struct jfa_pam *p, const char *password, uint32_t flags)
{
    char err[JFA_ERRLEN];

    if (!p->cfg.samba_sync || password == NULL || (flags & JFA_DBU_DISABLED))
        return;
    if (remote_denied(p, flags)) {
        jfa_logf(&p->log, LOG_INFO,
                 "Samba password of '%s' not updated: no remote access for this host", p->user_esc);
        return;
    }
    if (geteuid() != 0) {
        jfa_logf(&p->log, LOG_DEBUG, "Samba password of '%s' not updated: not running as root",
                 p->user_esc);
        return;
    }
    err[0] = '\0';
    switch (jfa_samba_set_password(&p->cfg, p->private_dir, p->dbu.jf_id, p->user, password, err,
                                   sizeof(err))) {
    case JFA_SAMBA_SET_WRITTEN:
        jfa_logf(&p->log, LOG_INFO, "Samba password of '%s' set from Jellyfin%s%s", p->user_esc,
                 err[0] != '\0' ? ": " : "", err);
        break;
    case JFA_SAMBA_SET_CURRENT:
        jfa_logf(&p->log, LOG_DEBUG, "Samba password of '%s' already current", p->user_esc);
        break;
    case JFA_SAMBA_SET_SKIPPED:
        jfa_logf(&p->log, LOG_WARNING, "Samba password of '%s' not updated: %s", p->user_esc, err);
        break;
    default:
        jfa_logf(&p->log, LOG_WARNING, "Samba password of '%s' not updated: %s", p->user_esc, err);
        break;
    }
}
