/*
 * pam_account.c - the account group: pam_sm_acct_mgmt.
 *
 * Owns: refusing Jellyfin users whose account is disabled, and users whose
 * Policy denies remote access when the login comes from outside
 * local_networks. Both sources count: the flags of the last sync (the
 * database) and those the server returned to this login (kept by this
 * process, or in a pending record this process may trust, see state.h);
 * either one saying "disabled" or "no remote access" refuses. A refusal
 * logs out the token this login obtained.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_common.h"

/* The flags of this login, if authentication ran for it. */
static bool login_flags(struct jfa_pam *p, uint32_t *flags)
{
    const struct jfa_auth_record *kept = jfa_pam_kept_record(p);
    struct jfa_auth_record rec;

    if (kept != NULL) {
        *flags = kept->flags;
        return true;
    }
    if (jfa_pam_pending(p, false, &rec) == 0) {
        *flags = rec.flags;
        explicit_bzero(&rec, sizeof(rec));
        return true;
    }
    return false;
}

/* Which source set a flag, for the log line. */
static const char *said_by(uint32_t bit, uint32_t db, uint32_t login)
{
    if ((db & bit) && (login & bit))
        return "this login and the last sync";
    return (login & bit) ? "this login" : "the last sync";
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    const void *rhost = NULL;
    uint32_t uflags, lflags = 0;
    int rc;

    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS) {
        rc = rc == PAM_AUTHINFO_UNAVAIL ? jfa_pam_unconfigured(&p) : rc;
        goto out;
    }
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    if (!login_flags(&p, &lflags))
        lflags = 0;
    uflags = p.dbu.flags | lflags;
    if (uflags & JFA_DBU_DISABLED) {
        jfa_logf(&p.log, LOG_NOTICE, "account of '%s' is disabled in Jellyfin (as of %s)",
                 p.user_esc, said_by(JFA_DBU_DISABLED, p.dbu.flags, lflags));
        jfa_pam_tell(&p, "Your Jellyfin account is disabled.");
        jfa_pam_drop_login(&p);
        rc = PAM_ACCT_EXPIRED;
        goto out;
    }
    if ((uflags & JFA_DBU_NO_REMOTE) && pam_get_item(pamh, PAM_RHOST, &rhost) == PAM_SUCCESS &&
        rhost != NULL && ((const char *)rhost)[0] != '\0' &&
        !jfa_cidr_list_match(p.cfg.local_networks, p.cfg.n_local_networks, rhost)) {
        char esc[128];
        jfa_logf(&p.log, LOG_NOTICE,
                 "'%s' may not log in from %s: Jellyfin denies this user remote access (as of %s)",
                 p.user_esc, jfa_log_escape(esc, sizeof(esc), rhost),
                 said_by(JFA_DBU_NO_REMOTE, p.dbu.flags, lflags));
        jfa_pam_tell(&p, "Your Jellyfin account may not log in from outside the local network.");
        jfa_pam_drop_login(&p);
        rc = PAM_PERM_DENIED;
        goto out;
    }
    rc = PAM_SUCCESS;
out:
    jfa_pam_end(&p);
    return rc;
}
