/*
 * pam_common.c - shared plumbing of the PAM module (see pam_common.h).
 */
#include "jfaconf.h"

#include "pam_common.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "homecheck.h"
#include "hostaccts.h"
#include "jellyfin.h"

static void pam_log_sink(void *ctx, int priority, const char *msg)
{
    pam_syslog((pam_handle_t *)ctx, priority, "%s", msg);
}

int jfa_pam_begin(struct jfa_pam *p, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    char err[JFA_ERRLEN];
    int i;

    (void)flags;
    memset(p, 0, sizeof(*p));
    p->pamh = pamh;
    p->log.fn = pam_log_sink;
    p->log.ctx = pamh;
    p->flow.cfg = &p->cfg;
    p->flow.log = &p->log;
    p->flow.db = &p->db;
    p->flow.dbu = &p->dbu;
    p->flow.user_esc = p->user_esc;
    jfa_config_defaults(&p->cfg);
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "debug") == 0)
            p->log.debug = true;
        else if (strcmp(argv[i], "nullok") == 0)
            p->nullok = p->flow.nullok = true;
        else if (strncmp(argv[i], "config=", 7) == 0 && argv[i][7] == '/')
            p->config_path = argv[i] + 7;
        else if (strcmp(argv[i], "use_first_pass") == 0 || strcmp(argv[i], "try_first_pass") == 0 ||
                 strcmp(argv[i], "use_authtok") == 0)
            continue; /* read by pam_get_authtok itself */
        else
            pam_syslog(pamh, LOG_ERR, "unknown module argument ignored: %s",
                       jfa_log_escape(err, 128, argv[i]));
    }
    if (jfa_config_load(&p->cfg, p->config_path != NULL ? p->config_path : jfa_config_path(), err,
                        sizeof(err)) != 0) {
        jfa_logf(&p->log, LOG_ERR, "configuration error: %s", err);
        return PAM_AUTHINFO_UNAVAIL;
    }
    p->cfg_loaded = true;
    p->private_dir = jfa_config_private_dir(&p->cfg);
    if (p->private_dir == NULL)
        return PAM_BUF_ERR;
    p->flow.private_dir = p->private_dir;
    return PAM_SUCCESS;
}

void jfa_pam_end(struct jfa_pam *p)
{
    jfa_db_close(&p->db);
    free(p->private_dir);
    jfa_config_free(&p->cfg);
    explicit_bzero(p, sizeof(*p));
}

int jfa_pam_resolve_user(struct jfa_pam *p)
{
    enum jfa_verdict v;
    int rc;

    rc = pam_get_user(p->pamh, &p->user, NULL);
    if (rc != PAM_SUCCESS || p->user == NULL) {
        jfa_logf(&p->log, LOG_ERR, "cannot get the user name");
        return rc != PAM_SUCCESS ? rc : PAM_USER_UNKNOWN;
    }
    p->flow.user = p->user;
    p->flow.rhost = jfa_pam_item_text(p, PAM_RHOST);
    p->flow.service = jfa_pam_item_text(p, PAM_SERVICE);
    v = jfa_flow_resolve(&p->flow);
    if (v == JFA_V_SUCCESS && strcmp(p->dbu.name, p->user) != 0) {
        /* case_sensitive = no (the record's fold flag): from here on the
         * login is the canonical name, as NSS answers it (pw_name) */
        char was[128];
        const void *item = NULL;

        memcpy(was, p->user_esc, sizeof(was));
        rc = pam_set_item(p->pamh, PAM_USER, p->dbu.name);
        if (rc == PAM_SUCCESS)
            rc = pam_get_item(p->pamh, PAM_USER, &item);
        if (rc != PAM_SUCCESS || item == NULL) {
            jfa_logf(&p->log, LOG_ERR, "cannot set the user name to '%s'", p->dbu.name);
            return rc != PAM_SUCCESS ? rc : PAM_SYSTEM_ERR;
        }
        p->user = p->flow.user = item;
        jfa_log_escape(p->user_esc, sizeof(p->user_esc), p->user);
        jfa_logf(&p->log, LOG_INFO, "'%s' is Jellyfin user '%s' (case_sensitive = no)", was,
                 p->user_esc);
    }
    p->have_user = p->flow.have_user;
    return jfa_pam_code(v);
}

int jfa_pam_check_caller(struct jfa_pam *p)
{
    return jfa_pam_code(jfa_flow_check_caller(&p->flow));
}

int jfa_pam_unconfigured(struct jfa_pam *p)
{
    struct jfa_db db;
    struct jfa_db_user u;
    int rc;

    memset(&db, 0, sizeof(db));
    if (pam_get_user(p->pamh, &p->user, NULL) != PAM_SUCCESS || p->user == NULL)
        return PAM_AUTHINFO_UNAVAIL;
    jfa_log_escape(p->user_esc, sizeof(p->user_esc), p->user);
    if (!jfa_db_name_plausible(p->user) || strcasecmp(p->user, "root") == 0)
        return PAM_USER_UNKNOWN;
    rc = jfa_host_in_passwd_file(p->user);
    if (rc != 0)
        return rc > 0 ? PAM_USER_UNKNOWN : PAM_PERM_DENIED; /* cannot tell: refuse */
    rc = jfa_db_open(&db, jfa_db_builtin_path(), true);
    if (rc != 0)
        /* "unavailable" is ignored by the account stack: in a set-id
         * program the failure may be its caller's doing (limits) */
        return rc != -ENOENT && jfa_caller_steers_process() ? PAM_PERM_DENIED
                                                            : PAM_AUTHINFO_UNAVAIL;
    rc = jfa_db_user_by_name_ci(&db, p->user, &u);
    jfa_db_close(&db);
    if (rc == -ENOENT)
        return PAM_USER_UNKNOWN;
    jfa_logf(&p->log, LOG_ERR, "refusing Jellyfin user '%s' while the configuration is unusable",
             p->user_esc);
    return PAM_PERM_DENIED;
}

static void cleanup_record(pam_handle_t *pamh, void *data, int error_status)
{
    (void)pamh;
    (void)error_status;
    explicit_bzero(data, sizeof(struct jfa_auth_record));
    free(data);
}

int jfa_pam_keep_record(struct jfa_pam *p, const struct jfa_auth_record *rec)
{
    struct jfa_auth_record *copy = malloc(sizeof(*copy));
    int rc;

    if (copy == NULL)
        return PAM_BUF_ERR;
    memcpy(copy, rec, sizeof(*copy));
    rc = pam_set_data(p->pamh, JFA_PAM_DATA_AUTH, copy, cleanup_record);
    if (rc != PAM_SUCCESS)
        cleanup_record(p->pamh, copy, 0);
    return rc;
}

const struct jfa_auth_record *jfa_pam_kept_record(struct jfa_pam *p)
{
    const void *data = NULL;

    if (pam_get_data(p->pamh, JFA_PAM_DATA_AUTH, &data) != PAM_SUCCESS)
        return NULL;
    return data;
}

void jfa_pam_forget_record(struct jfa_pam *p)
{
    (void)pam_set_data(p->pamh, JFA_PAM_DATA_AUTH, NULL, NULL);
}

const char *jfa_pam_item_text(struct jfa_pam *p, int item)
{
    const void *v = NULL;

    if (pam_get_item(p->pamh, item, &v) != PAM_SUCCESS || v == NULL)
        return "";
    return v;
}

void jfa_pam_logout(struct jfa_pam *p, const char *token, const char *what)
{
    struct jfa_client c;
    enum jfa_status st;

    if (token == NULL || token[0] == '\0')
        return;
    if (jfa_client_init(&c, &p->cfg, &p->log, JFA_PAM_CLIENT, p->dbu.jf_id) != 0)
        return;
    st = jfa_logout(&c, token);
    if (st == JFA_OK || st == JFA_ERR_AUTH)
        jfa_logf(&p->log, LOG_INFO, "logged out the Jellyfin token of '%s' (%s)%s", p->user_esc,
                 what, st == JFA_OK ? "" : ": already revoked");
    else
        jfa_logf(&p->log, LOG_WARNING, "cannot log out the Jellyfin token of '%s' (%s): %s",
                 p->user_esc, what, c.err);
}

int jfa_pam_pending(struct jfa_pam *p, bool take, struct jfa_auth_record *rec)
{
    const struct jfa_auth_record *kept = jfa_pam_kept_record(p);
    struct jfa_pending_reader me;
    char err[JFA_ERRLEN];
    int rc;

    memset(rec, 0, sizeof(*rec));
    if (jfa_pending_reader_init(&me, jfa_pam_item_text(p, PAM_SERVICE),
                                jfa_pam_item_text(p, PAM_RHOST)) != 0)
        jfa_logf(&p->log, LOG_INFO,
                 "cannot identify this process in /proc: no pending record "
                 "is trusted");
    rc = jfa_state_get_pending(p->private_dir, p->dbu.jf_id, &me, take, rec, err, sizeof(err));
    if (rc == 0) {
        jfa_logf(&p->log, LOG_DEBUG, "pending record of '%s' %s by pid %ld", p->user_esc,
                 take ? "taken" : "read", me.pid);
        return 0;
    }
    if (rc == JFA_PENDING_STALE) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "removed a pending record of '%s' that this login may not use (written by pid "
                 "%ld for %s, %lld s ago)",
                 p->user_esc, rec->pid, rec->service[0] != '\0' ? rec->service : "an older version",
                 (long long)(me.now - rec->when));
        if (kept == NULL || strcmp(kept->token, rec->token) != 0)
            jfa_pam_logout(p, rec->token, "stale pending record");
    } else if (rc != JFA_ABSENT) {
        jfa_logf(&p->log, LOG_WARNING, "pending record unusable: %s", err);
    }
    explicit_bzero(rec, sizeof(*rec));
    return rc;
}

void jfa_pam_drop_login(struct jfa_pam *p)
{
    const struct jfa_auth_record *kept = jfa_pam_kept_record(p);
    struct jfa_auth_record rec;

    if (jfa_pam_pending(p, true, &rec) == 0 &&
        (kept == NULL || strcmp(kept->token, rec.token) != 0))
        jfa_pam_logout(p, rec.token, "refused login");
    if (kept != NULL)
        jfa_pam_logout(p, kept->token, "refused login");
    jfa_pam_forget_record(p);
    explicit_bzero(&rec, sizeof(rec));
}

void jfa_pam_tell(struct jfa_pam *p, const char *msg)
{
    pam_error(p->pamh, "%s", msg);
}

bool jfa_pam_home_refused(struct jfa_pam *p, const char *stage)
{
    struct jfa_home_issue is;
    char err[JFA_ERRLEN];
    const char *home = p->dbu.home;
    int r;

    if (home == NULL || home[0] != '/')
        return false;
    r = jfa_home_check(home, p->dbu.uid, p->dbu.gid, &is, err, sizeof(err));
    if (r == 0 || r == JFA_ABSENT)
        return false;
    switch (is.what) {
    case JFA_HOME_OWNER:
    case JFA_HOME_FILE_OWNER:
        jfa_logf(&p->log, LOG_ERR,
                 "%s refused for '%s': %s. An earlier holder of the name (a Jellyfin user "
                 "renamed away or deleted, or a deleted local account) left it, and its startup "
                 "files would run as '%s'. Move it away (mv %s %s.old; the next session creates "
                 "a fresh one) or, after checking everything in it, chown -R %u:%u %s",
                 stage, p->user_esc, err, p->user_esc, home, home, (unsigned)p->dbu.uid,
                 (unsigned)p->dbu.gid, home);
        break;
    case JFA_HOME_MOUNT:
        jfa_logf(&p->log, LOG_ERR,
                 "%s refused for '%s': %s. Whoever mounted it decides what '%s' would run there. "
                 "Unmount it (umount -l), then check what is left",
                 stage, p->user_esc, err, p->user_esc);
        break;
    case JFA_HOME_WRITABLE:
    case JFA_HOME_FILE_WRITABLE:
        jfa_logf(&p->log, LOG_ERR,
                 "%s refused for '%s': %s: whoever can write there can plant startup files "
                 "that run as '%s'. Check its content, then chmod go-w it",
                 stage, p->user_esc, err, p->user_esc);
        break;
    default:
        jfa_logf(&p->log, LOG_ERR, "%s refused for '%s': cannot check the home: %s", stage,
                 p->user_esc, err);
        break;
    }
    jfa_pam_tell(p, "Your home directory is not safe to use (see the system log); ask the "
                    "administrator.");
    return true;
}
