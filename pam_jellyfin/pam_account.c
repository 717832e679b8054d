/*
 * pam_account.c - the account group: pam_sm_acct_mgmt.
 *
 * Owns: refusing Jellyfin users whose account is disabled, and users whose
 * Policy denies remote access when the login comes from outside
 * local_networks. Both sources count: the flags of the last sync (the
 * database) and those the server returned to this login (kept by this
 * process, or in a pending record this process may trust, see state.h);
 * either one saying "disabled" or "no remote access" refuses (the rules
 * are in lib/loginflow.c, shared with `jellyfin-auth explain`). Also
 * refuses a user whose home is not theirs (lib/homecheck.h), as the
 * session stage does. A refusal logs out the token this login obtained.
 */
#include "jfaconf.h"

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

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    uint32_t lflags = 0;
    enum jfa_verdict v;
    bool have;
    int rc;

    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS) {
        rc = rc == PAM_AUTHINFO_UNAVAIL ? jfa_pam_unconfigured(&p) : rc;
        goto out;
    }
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    have = login_flags(&p, &lflags);
    if (!have)
        lflags = 0;
    v = jfa_flow_account(&p.flow, lflags, have);
    if (v == JFA_V_ACCT_EXPIRED)
        jfa_pam_tell(&p, "Your Jellyfin account is disabled.");
    else if (v == JFA_V_PERM_DENIED)
        jfa_pam_tell(&p, "Your Jellyfin account may not log in from outside the local network.");
    if (v != JFA_V_SUCCESS) {
        jfa_pam_drop_login(&p);
        rc = jfa_pam_code(v);
        goto out;
    }
    /* A home another uid owns (the name changed hands) is refused here
     * too: a hand-written stack may list the session line as optional. */
    if (jfa_pam_home_refused(&p, "login")) {
        jfa_pam_drop_login(&p);
        rc = PAM_PERM_DENIED;
        goto out;
    }
    rc = PAM_SUCCESS;
out:
    jfa_pam_end(&p);
    return rc;
}
