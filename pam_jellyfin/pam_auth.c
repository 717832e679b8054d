/*
 * pam_auth.c - the auth group: pam_sm_authenticate and pam_sm_setcred.
 *
 * Owns: the password check against POST /Users/AuthenticateByName, the
 * mapping of every answer to a PAM result, local throttling before the
 * server is asked, and the offline fallback (verifier check) when the
 * server is unreachable. From the throttle check to the recording of the
 * answer it holds the user's login lock (one password in flight per user). On success the token and
 * policy flags are kept for account and session management (pam_set_data and a pending record).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "jellyfin.h"
#include "pam_common.h"
#include "pam_lockout.h"
#include "pam_quickconnect.h"

#define HOST_KEY_MAX 300

uint32_t jfa_pam_policy_flags(const struct jfa_policy *pol)
{
    uint32_t f = 0;

    if (pol->is_administrator)
        f |= JFA_DBU_ADMIN;
    if (pol->is_disabled)
        f |= JFA_DBU_DISABLED;
    if (pol->is_hidden)
        f |= JFA_DBU_HIDDEN;
    if (!pol->enable_remote_access)
        f |= JFA_DBU_NO_REMOTE;
    return f;
}

/* Throttle keys: the user, and the remote host when there is one. */
static void throttle_keys(struct jfa_pam *p, char host_key[HOST_KEY_MAX])
{
    const void *rhost = NULL;

    host_key[0] = '\0';
    if (pam_get_item(p->pamh, PAM_RHOST, &rhost) == PAM_SUCCESS && rhost != NULL &&
        ((const char *)rhost)[0] != '\0')
        snprintf(host_key, HOST_KEY_MAX, "host:%s", (const char *)rhost);
}

static bool throttled(struct jfa_pam *p, const char *host_key)
{
    time_t now = time(NULL);
    long wait = 0;

    if (jfa_throttle_check(&p->cfg, p->private_dir, p->dbu.jf_id, now, &wait) == 1) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "too many failed logins for '%s': refused for %ld more seconds without "
                 "asking Jellyfin",
                 p->user_esc, wait);
        return true;
    }
    if (host_key[0] != '\0' &&
        jfa_throttle_check(&p->cfg, p->private_dir, host_key, now, &wait) == 1) {
        char esc[128];
        jfa_logf(&p->log, LOG_NOTICE,
                 "too many failed logins from %s: '%s' refused for %ld more seconds without "
                 "asking Jellyfin",
                 jfa_log_escape(esc, sizeof(esc), host_key + 5), p->user_esc, wait);
        return true;
    }
    return false;
}

static void note_failure(struct jfa_pam *p, const char *host_key)
{
    time_t now = time(NULL);

    jfa_throttle_failure(&p->cfg, p->private_dir, p->dbu.jf_id, now);
    if (host_key[0] != '\0')
        jfa_throttle_failure(&p->cfg, p->private_dir, host_key, now);
}

/* Keep what we learnt for acct_mgmt and open_session: with the PAM handle,
 * and in a pending record bound to this process and its parent (sshd runs
 * keyboard-interactive authentication in a child of the process that opens
 * the session). When the handle cannot keep it, the login fails and the
 * token is logged out: nothing would ever log it out otherwise. */
int jfa_pam_remember(struct jfa_pam *p, const char *token, uint32_t flags)
{
    struct jfa_auth_record rec;
    char err[JFA_ERRLEN];
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
    return rc;
}

static int offline_login(struct jfa_pam *p, const char *password, const char *host_key)
{
    char err[JFA_ERRLEN];
    uint32_t flags = 0;
    int r;

    if (p->cfg.offline_max_age <= 0)
        return PAM_AUTHINFO_UNAVAIL;
    r = jfa_state_check_verifier(p->private_dir, p->dbu.jf_id, password, p->cfg.offline_max_age,
                                 &flags, err, sizeof(err));
    if (r == 0) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "offline login for '%s' refused: password does not match the last one used",
                 p->user_esc);
        note_failure(p, host_key);
        return PAM_AUTH_ERR;
    }
    if (r != 1) {
        if (r == -ENOENT)
            jfa_logf(&p->log, LOG_INFO, "no recent offline verifier for '%s'", p->user_esc);
        else
            jfa_logf(&p->log, LOG_INFO, "offline verifier unusable: %s", err);
        return PAM_AUTHINFO_UNAVAIL;
    }
    if ((flags | p->dbu.flags) & JFA_DBU_DISABLED) {
        jfa_logf(&p->log, LOG_NOTICE, "offline login for '%s' refused: account disabled",
                 p->user_esc);
        return PAM_ACCT_EXPIRED;
    }
    jfa_logf(&p->log, LOG_NOTICE,
             "offline login for '%s': Jellyfin unreachable, password "
             "matched the verifier of the last online login",
             p->user_esc);
    jfa_throttle_success(p->private_dir, p->dbu.jf_id);
    return jfa_pam_remember(p, NULL, flags);
}

static int accepted(struct jfa_pam *p, struct jfa_client *c, struct jfa_auth_result *res,
                    const char *password, const char *host_key)
{
    char err[JFA_ERRLEN], esc[128];
    uint32_t flags = jfa_pam_policy_flags(&res->user.policy);

    if (strcmp(res->user.id, p->dbu.jf_id) != 0) {
        jfa_logf(&p->log, LOG_ERR,
                 "refusing '%s': the server answered for another account (Id %s, expected %s)",
                 p->user_esc, res->user.id, p->dbu.jf_id);
        (void)jfa_logout(c, res->access_token);
        return PAM_AUTH_ERR;
    }
    if (strcasecmp(res->user.name, p->dbu.jf_name) != 0)
        jfa_logf(&p->log, LOG_NOTICE,
                 "'%s' is now called '%s' in Jellyfin; run 'jellyfin-auth sync'", p->user_esc,
                 jfa_log_escape(esc, sizeof(esc), res->user.name));
    jfa_throttle_success(p->private_dir, p->dbu.jf_id);
    if (host_key[0] != '\0')
        jfa_throttle_success(p->private_dir, host_key);
    if (p->cfg.offline_max_age > 0 &&
        jfa_state_put_verifier(p->private_dir, p->dbu.jf_id, password, flags, err, sizeof(err)))
        jfa_logf(&p->log, LOG_INFO, "offline verifier not stored: %s", err);
    if (flags & JFA_DBU_DISABLED) {
        jfa_logf(&p->log, LOG_NOTICE, "refusing '%s': account disabled in Jellyfin", p->user_esc);
        (void)jfa_logout(c, res->access_token);
        return PAM_ACCT_EXPIRED;
    }
    jfa_logf(&p->log, LOG_INFO, "authenticated '%s' against Jellyfin", p->user_esc);
    return jfa_pam_remember(p, res->access_token, flags);
}

static int online_login(struct jfa_pam *p, const char *password, const char *host_key)
{
    struct jfa_client c;
    struct jfa_auth_result res;
    enum jfa_status st;
    int rc;

    memset(&res, 0, sizeof(res));
    if (jfa_client_init(&c, &p->cfg, &p->log, JFA_PAM_CLIENT, p->dbu.jf_id) != 0)
        return PAM_BUF_ERR;
    rc = jfa_pam_lockout_guard(p, &c);
    if (rc == PAM_AUTHINFO_UNAVAIL) {
        jfa_logf(&p->log, LOG_WARNING, "Jellyfin unreachable: %s", c.err);
        return offline_login(p, password, host_key);
    }
    if (rc != PAM_SUCCESS)
        return rc;
    st = jfa_authenticate(&c, p->dbu.jf_name, password, &res);
    switch (st) {
    case JFA_OK:
        rc = accepted(p, &c, &res, password, host_key);
        break;
    case JFA_ERR_AUTH:
        jfa_logf(&p->log, LOG_NOTICE, "authentication failure for '%s': wrong password",
                 p->user_esc);
        (void)jfa_state_drop_verifier(p->private_dir, p->dbu.jf_id);
        note_failure(p, host_key);
        rc = PAM_AUTH_ERR;
        break;
    case JFA_ERR_FORBIDDEN:
        (void)jfa_state_drop_verifier(p->private_dir, p->dbu.jf_id);
        note_failure(p, host_key);
        if (p->dbu.flags & JFA_DBU_DISABLED) {
            jfa_logf(&p->log, LOG_NOTICE, "refusing '%s': account disabled in Jellyfin",
                     p->user_esc);
            rc = PAM_ACCT_EXPIRED;
        } else {
            jfa_logf(&p->log, LOG_NOTICE,
                     "Jellyfin refused '%s' (403): disabled, locked out, remote access "
                     "denied, outside the access schedule, or a device or session limit",
                     p->user_esc);
            rc = PAM_AUTH_ERR;
        }
        break;
    case JFA_ERR_UNAVAILABLE:
        jfa_logf(&p->log, LOG_WARNING, "Jellyfin unreachable: %s", c.err);
        rc = offline_login(p, password, host_key);
        break;
    case JFA_ERR_BADREQ:
        jfa_logf(&p->log, LOG_ERR,
                 "Jellyfin rejected our request as malformed (%s): check that url points at "
                 "the server's base URL and that the server is 10.10 or later",
                 c.err);
        rc = PAM_AUTHINFO_UNAVAIL;
        break;
    default:
        jfa_logf(&p->log, LOG_ERR, "cannot authenticate '%s': %s: %s", p->user_esc,
                 jfa_status_str(st), c.err);
        rc = PAM_AUTHINFO_UNAVAIL;
        break;
    }
    jfa_auth_result_free(&res);
    return rc;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    const char *password = NULL;
    char host_key[HOST_KEY_MAX];
    int rc;

    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = jfa_pam_check_caller(&p);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
    if (rc != PAM_SUCCESS || password == NULL) {
        jfa_logf(&p.log, LOG_INFO, "no password for '%s': %s", p.user_esc, pam_strerror(pamh, rc));
        rc = rc == PAM_SUCCESS ? PAM_AUTH_ERR : rc;
        goto out;
    }
    if (password[0] == '\0' && !p.nullok) {
        rc = jfa_pam_quick_connect(&p); /* PAM_IGNORE when not offered */
        if (rc != PAM_IGNORE)
            goto out;
        jfa_logf(&p.log, LOG_NOTICE, "empty password refused for '%s' (nullok not set)",
                 p.user_esc);
        rc = PAM_AUTH_ERR;
        goto out;
    }
    if (strlen(password) > JFA_PASSWORD_MAX) {
        jfa_logf(&p.log, LOG_NOTICE, "password for '%s' refused: longer than %d bytes", p.user_esc,
                 JFA_PASSWORD_MAX);
        rc = PAM_AUTH_ERR;
        goto out;
    }
    throttle_keys(&p, host_key);
    /* Held until every outcome is recorded (throttle, verifier): a parallel
     * login of the same user then reads the throttle record and the live
     * failure count only after this one's answer. */
    rc = jfa_pam_login_lock(&p, &lock);
    if (rc != PAM_SUCCESS)
        goto out;
    if (throttled(&p, host_key)) {
        rc = PAM_AUTH_ERR;
        goto out;
    }
    rc = online_login(&p, password, host_key);
out:
    jfa_state_unlock(&lock);
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
