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
#include "pam_samba.h"

#define HOST_KEY_MAX 300

static uint32_t policy_flags(const struct jfa_policy *pol)
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

/*
 * Before the password leaves, each throttle key (the user, then the remote
 * host) is checked and the attempt counted as a failure in one locked step
 * (jfa_throttle_attempt), as pam_tally2 counted first: the caller of su may
 * kill it (its real uid is theirs) the moment Jellyfin has answered, before
 * a failure counted afterwards would be written, and parallel attempts of
 * several users from one host must not all pass a check made before any of
 * them counted. A success clears the records; an attempt whose password
 * was never judged (guard refusal, server down without a verifier, TLS or
 * protocol error) takes its count back (settle_attempt). An attempt whose
 * count cannot be read or written is not made.
 */
static int throttle_key(struct jfa_pam *p, const char *key, const char *host, time_t now)
{
    char err[JFA_ERRLEN], esc[128];
    long wait = 0;
    int r = jfa_throttle_attempt(&p->cfg, p->private_dir, key, now, &wait, err, sizeof(err));

    if (r == 0)
        return PAM_SUCCESS;
    if (r == 1) {
        if (host == NULL)
            jfa_logf(&p->log, LOG_NOTICE,
                     "too many failed logins for '%s': refused for %ld more seconds without "
                     "asking Jellyfin",
                     p->user_esc, wait);
        else
            jfa_logf(&p->log, LOG_NOTICE,
                     "too many failed logins from %s: '%s' refused for %ld more seconds without "
                     "asking Jellyfin",
                     jfa_log_escape(esc, sizeof(esc), host), p->user_esc, wait);
        return PAM_AUTH_ERR;
    }
    if (!jfa_pam_privileged(p))
        return PAM_SUCCESS; /* no private state to count in (see jfa_pam_check_caller) */
    jfa_logf(&p->log, LOG_ERR,
             "cannot record the login attempt of '%s': %s: refused without asking Jellyfin (an "
             "attempt that cannot be counted is not made)",
             p->user_esc, err);
    return PAM_AUTHINFO_UNAVAIL;
}

static int begin_attempt(struct jfa_pam *p, const char *host_key)
{
    time_t now = time(NULL);
    int rc = throttle_key(p, p->dbu.jf_id, NULL, now);

    if (rc != PAM_SUCCESS || host_key[0] == '\0')
        return rc;
    rc = throttle_key(p, host_key, host_key + 5, now);
    if (rc != PAM_SUCCESS)
        jfa_throttle_undo(&p->cfg, p->private_dir, p->dbu.jf_id);
    return rc;
}

static void settle_attempt(struct jfa_pam *p, const char *host_key, int rc)
{
    if (rc == PAM_SUCCESS || p->password_judged)
        return; /* cleared by the success itself, or a failure already counted */
    jfa_throttle_undo(&p->cfg, p->private_dir, p->dbu.jf_id);
    if (host_key[0] != '\0')
        jfa_throttle_undo(&p->cfg, p->private_dir, host_key);
}

/* Keep what we learnt for acct_mgmt and open_session: with the PAM handle,
 * and in a pending record bound to this process and its parent (sshd runs
 * keyboard-interactive authentication in a child of the process that opens
 * the session). When the handle cannot keep it, the login fails and the
 * token is logged out: nothing would ever log it out otherwise. */
static int remember(struct jfa_pam *p, const char *token, uint32_t flags)
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
        p->password_judged = true;
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
    p->password_judged = true;
    jfa_throttle_success(p->private_dir, p->dbu.jf_id);
    if (host_key[0] != '\0')
        jfa_throttle_success(p->private_dir, host_key);
    return remember(p, NULL, flags);
}

static int accepted(struct jfa_pam *p, struct jfa_client *c, struct jfa_auth_result *res,
                    const char *password, const char *host_key)
{
    char err[JFA_ERRLEN], esc[128];
    uint32_t flags = policy_flags(&res->user.policy);

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
    jfa_pam_samba_update(p, password, flags);
    return remember(p, res->access_token, flags);
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
    if (rc == PAM_AUTHINFO_UNAVAIL && c.last_status == JFA_ERR_TLS)
        return PAM_AUTHINFO_UNAVAIL; /* logged by the guard; never offline */
    if (rc == PAM_AUTHINFO_UNAVAIL) {
        jfa_logf(&p->log, LOG_WARNING, "Jellyfin unreachable: %s", c.err);
        return offline_login(p, password, host_key);
    }
    if (rc != PAM_SUCCESS)
        return rc;
    st = jfa_authenticate(&c, p->dbu.jf_name, password, &res);
    switch (st) {
    case JFA_OK:
        p->password_judged = true;
        rc = accepted(p, &c, &res, password, host_key);
        break;
    case JFA_ERR_AUTH:
        jfa_logf(&p->log, LOG_NOTICE, "authentication failure for '%s': wrong password",
                 p->user_esc);
        (void)jfa_state_drop_verifier(p->private_dir, p->dbu.jf_id);
        p->password_judged = true;
        rc = PAM_AUTH_ERR;
        break;
    case JFA_ERR_FORBIDDEN:
        (void)jfa_state_drop_verifier(p->private_dir, p->dbu.jf_id);
        p->password_judged = true;
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
    case JFA_ERR_TLS:
        /* a man in the middle is not a server that is down: no offline login */
        jfa_logf(&p->log, LOG_ERR,
                 "cannot authenticate '%s': Jellyfin's TLS certificate failed verification, "
                 "no offline login: %s",
                 p->user_esc, c.err);
        rc = PAM_AUTHINFO_UNAVAIL;
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
    if (rc != PAM_SUCCESS) {
        if (p.unknown_user) /* perhaps created in Jellyfin since the last sync */
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
    if (password[0] == '\0' && !p.nullok) {
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
    rc = begin_attempt(&p, host_key);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = online_login(&p, password, host_key);
    settle_attempt(&p, host_key, rc);
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
