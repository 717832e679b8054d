/*
 * pam_account.c - the account group: pam_sm_acct_mgmt.
 *
 * Owns: refusing Jellyfin users whose account is disabled, and users whose
 * Policy denies remote access when the login comes from outside
 * local_networks. The freshest policy wins: the one the server returned to
 * authentication in this process, else the pending record of an
 * authentication in another process (sshd), else the database as of the
 * last sync (e.g. after an SSH public-key login).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_common.h"

static uint32_t current_flags(struct jfa_pam *p, const char **source)
{
    const struct jfa_auth_record *kept = jfa_pam_kept_record(p);
    struct jfa_auth_record rec;
    char err[JFA_ERRLEN];
    uint32_t flags;

    if (kept != NULL) {
        *source = "this login";
        return kept->flags;
    }
    if (jfa_state_get_pending(p->private_dir, p->dbu.jf_id, false, &rec, err, sizeof(err)) == 0) {
        flags = rec.flags;
        explicit_bzero(&rec, sizeof(rec));
        *source = "this login";
        return flags;
    }
    *source = "the last sync";
    return p->dbu.flags;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    const char *source = NULL;
    const void *rhost = NULL;
    uint32_t uflags;
    int rc;

    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS) {
        rc = rc == PAM_AUTHINFO_UNAVAIL ? jfa_pam_unconfigured(&p) : rc;
        goto out;
    }
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    uflags = current_flags(&p, &source);
    if (uflags & JFA_DBU_DISABLED) {
        jfa_logf(&p.log, LOG_NOTICE, "account of '%s' is disabled in Jellyfin (as of %s)",
                 p.user_esc, source);
        jfa_pam_tell(&p, "Your Jellyfin account is disabled.");
        rc = PAM_ACCT_EXPIRED;
        goto out;
    }
    if ((uflags & JFA_DBU_NO_REMOTE) && pam_get_item(pamh, PAM_RHOST, &rhost) == PAM_SUCCESS &&
        rhost != NULL && ((const char *)rhost)[0] != '\0' &&
        !jfa_cidr_list_match(p.cfg.local_networks, p.cfg.n_local_networks, rhost)) {
        char esc[128];
        jfa_logf(&p.log, LOG_NOTICE,
                 "'%s' may not log in from %s: Jellyfin denies this user remote access", p.user_esc,
                 jfa_log_escape(esc, sizeof(esc), rhost));
        jfa_pam_tell(&p, "Your Jellyfin account may not log in from outside the local network.");
        rc = PAM_PERM_DENIED;
        goto out;
    }
    rc = PAM_SUCCESS;
out:
    jfa_pam_end(&p);
    return rc;
}
