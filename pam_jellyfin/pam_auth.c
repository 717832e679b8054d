/*
 * pam_auth.c - the auth group: pam_sm_authenticate and pam_sm_setcred.
 *
 * Owns: getting the password from the conversation, running the login
 * flow of lib/loginflow.c (password rules, login lock, throttle,
 * rejected-password memory, lockout guard, AuthenticateByName, offline
 * verifier: the decisions `jellyfin-auth explain` shows) and keeping what
 * an accepted login learnt for account and session management
 * (pam_set_data and a pending record).
 */
#include "jfaconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "jellyfin.h"
#include "pam_common.h"
#include "pam_quickconnect.h"
#include "pam_samba.h"

/* Keep what we learnt for acct_mgmt and open_session: with the PAM handle,
 * and in a pending record bound to this process and its parent (sshd runs
 * keyboard-interactive authentication in a child of the process that opens
 * the session). When the handle cannot keep it, the login fails and the
 * token is logged out: nothing would ever log it out otherwise. */
static enum jfa_verdict remember(void *ctx, const char *token, uint32_t flags)
{
    struct jfa_pam *p = ctx;
    struct jfa_auth_record rec;
    char err[JFA_ERRLEN];
    enum jfa_verdict v = JFA_V_SUCCESS;
    int rc;

    memset(&rec, 0, sizeof(rec));
    if (token != NULL)
        snprintf(rec.token, sizeof(rec.token), "%s", token);
    rec.flags = flags;
    rec.when = time(NULL);
    rc = jfa_pam_keep_record(p, &rec);
    if (rc != PAM_SUCCESS) {
        jfa_logf(&p->log, LOG_ERR, "cannot keep the login of '%s': %s", p->user_esc,
                 pam_strerror(p->pamh, rc));
        jfa_pam_logout(p, rec.token, "login not kept");
        v = rc == PAM_BUF_ERR ? JFA_V_BUF_ERR : JFA_V_SYSTEM_ERR;
        goto out;
    }
    if (jfa_pending_bind(&rec, jfa_pam_item_text(p, PAM_SERVICE),
                         jfa_pam_item_text(p, PAM_RHOST)) != 0)
        jfa_logf(&p->log, LOG_INFO,
                 "cannot identify this process in /proc: no pending record for '%s'", p->user_esc);
    else if (jfa_state_put_pending(p->private_dir, p->dbu.jf_id, &rec, err, sizeof(err)) != 0)
        jfa_logf(&p->log, LOG_WARNING, "cannot keep the pending record: %s", err);
    else
        jfa_logf(&p->log, LOG_DEBUG, "pending record of '%s' written by pid %ld (parent %ld)",
                 p->user_esc, rec.pid, rec.ppid);
out:
    explicit_bzero(&rec, sizeof(rec));
    return v;
}

/* Jellyfin has just accepted the password online: Samba follows (samba_sync). */
static void accepted(void *ctx, const char *password, uint32_t flags)
{
    jfa_pam_samba_update(ctx, password, flags);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    const char *password = NULL;
    int rc;

    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS) {
        if (p.flow.unknown_user) /* perhaps created in Jellyfin since the last sync */
            jfa_pam_trigger_sync(&p);
        goto out;
    }
    rc = jfa_pam_check_caller(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
    if (rc != PAM_SUCCESS || password == NULL) {
        jfa_logf(&p.log, LOG_INFO, "no password for '%s': %s", p.user_esc, pam_strerror(pamh, rc));
        rc = rc == PAM_SUCCESS ? PAM_AUTH_ERR : rc;
        goto out;
    }
    p.flow.keep = remember;
    p.flow.keep_ctx = &p;
    if (password[0] == '\0' && !p.nullok) {
        /* an empty answer asks for Quick Connect where it is offered */
        rc = jfa_pam_quick_connect(&p); /* PAM_IGNORE when not offered */
        if (rc != PAM_IGNORE)
            goto out;
    }
    p.flow.on_accepted = accepted;
    p.flow.accepted_ctx = &p;
    rc = jfa_pam_code(jfa_flow_authenticate(&p.flow, password));
out:
    jfa_pam_end(&p);
    return rc;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    (void)pamh;
    (void)flags;
    (void)argc;
    (void)argv;
    return PAM_SUCCESS;
}
