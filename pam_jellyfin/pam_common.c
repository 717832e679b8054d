/*
 * pam_common.c - shared plumbing of the PAM module (see pam_common.h).
 */
#include "config.h"

#include "pam_common.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <security/pam_ext.h>

#define PASSWD_FILE "/etc/passwd"

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
    jfa_config_defaults(&p->cfg);
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "debug") == 0)
            p->log.debug = true;
        else if (strcmp(argv[i], "nullok") == 0)
            p->nullok = true;
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
    return PAM_SUCCESS;
}

void jfa_pam_end(struct jfa_pam *p)
{
    jfa_db_close(&p->db);
    free(p->private_dir);
    jfa_config_free(&p->cfg);
    explicit_bzero(p, sizeof(*p));
}

/* Does /etc/passwd itself list the name? (The files source always wins.) */
static bool in_passwd_file(const char *name)
{
    FILE *f = fopen(PASSWD_FILE, "re");
    struct passwd *pw;
    bool found = false;

    if (f == NULL)
        return false;
    while (!found && (pw = fgetpwent(f)) != NULL)
        found = strcmp(pw->pw_name, name) == 0;
    fclose(f);
    return found;
}

/*
 * Does an NSS source other than ours answer for this name, with an entry
 * that differs from our database entry (an earlier source in nsswitch.conf
 * took the name)? /etc/passwd itself was checked before.
 */
static bool is_local_account(const struct jfa_pam *p)
{
    struct passwd pwd, *res = NULL;
    size_t buflen = 16384;
    char *buf = NULL;
    bool local = false;
    int rc;

    for (;;) {
        char *nbuf = realloc(buf, buflen);
        if (nbuf == NULL)
            break;
        buf = nbuf;
        rc = getpwnam_r(p->user, &pwd, buf, buflen, &res);
        if (rc == ERANGE && buflen < (1u << 20)) {
            buflen *= 4;
            continue;
        }
        if (rc == 0 && res != NULL)
            local = res->pw_uid != p->dbu.uid || strcmp(res->pw_dir, p->dbu.home) != 0;
        break;
    }
    free(buf);
    return local;
}

int jfa_pam_resolve_user(struct jfa_pam *p)
{
    char *path = NULL;
    int rc;

    rc = pam_get_user(p->pamh, &p->user, NULL);
    if (rc != PAM_SUCCESS || p->user == NULL) {
        jfa_logf(&p->log, LOG_ERR, "cannot get the user name");
        return rc != PAM_SUCCESS ? rc : PAM_USER_UNKNOWN;
    }
    jfa_log_escape(p->user_esc, sizeof(p->user_esc), p->user);
    if (!jfa_db_name_plausible(p->user)) {
        jfa_logf(&p->log, LOG_DEBUG, "'%s' cannot be a Jellyfin user", p->user_esc);
        return PAM_USER_UNKNOWN;
    }
    if (strcmp(p->user, "root") == 0) {
        jfa_logf(&p->log, LOG_NOTICE, "refusing root: never a Jellyfin user");
        return PAM_USER_UNKNOWN;
    }
    /* Before anything can fail: a local account is never ours. */
    if (in_passwd_file(p->user)) {
        jfa_logf(&p->log, LOG_INFO, "'%s' is a local account: not for Jellyfin", p->user_esc);
        return PAM_USER_UNKNOWN;
    }
    path = jfa_config_db_path(&p->cfg);
    if (path == NULL)
        return PAM_BUF_ERR;
    rc = jfa_db_open(&p->db, path, false);
    if (rc == -ENOENT) {
        jfa_logf(&p->log, LOG_ERR, "users database %s is missing: run 'jellyfin-auth sync'", path);
        rc = PAM_AUTHINFO_UNAVAIL;
        goto out;
    }
    if (rc != 0) {
        jfa_logf(&p->log, LOG_ERR, "refusing users database %s: %s", path,
                 rc == -EPERM ? "unsafe owner, mode or file type" : "corrupt or unreadable");
        rc = PAM_AUTHINFO_UNAVAIL;
        goto out;
    }
    rc = jfa_db_user_by_name(&p->db, p->user, &p->dbu);
    if (rc != 0) {
        jfa_logf(&p->log, rc == -ENOENT ? LOG_INFO : LOG_ERR, "'%s' is %s", p->user_esc,
                 rc == -ENOENT ? "not a Jellyfin user" : "a corrupt database entry");
        rc = rc == -ENOENT ? PAM_USER_UNKNOWN : PAM_AUTHINFO_UNAVAIL;
        goto out;
    }
    if (p->dbu.uid == 0 || p->dbu.gid == 0 || p->dbu.uid < p->cfg.uid_min ||
        p->dbu.uid > p->cfg.uid_max) {
        jfa_logf(&p->log, LOG_ERR, "refusing '%s': uid %u is outside [%u, %u]", p->user_esc,
                 p->dbu.uid, p->cfg.uid_min, p->cfg.uid_max);
        rc = PAM_USER_UNKNOWN;
        goto out;
    }
    if (is_local_account(p)) {
        jfa_logf(&p->log, LOG_NOTICE,
                 "refusing '%s': a local account of that name exists; it is never "
                 "authenticated against Jellyfin",
                 p->user_esc);
        rc = PAM_USER_UNKNOWN;
        goto out;
    }
    p->have_user = true;
    rc = PAM_SUCCESS;
out:
    free(path);
    return rc;
}

/*
 * An unprivileged caller (a screen locker, or any program a local user
 * runs) cannot use the root-only private state: no throttle, no lockout
 * guard, no offline verifier. Like pam_unix's unix_chkpwd, such a caller
 * may only check the password of its own account; anything else would let
 * a local user spray another user's Jellyfin password through us without
 * the protections a privileged login has. "Privileged" means euid 0, or
 * owning state_dir (the test setups, and a state_dir an admin gave a
 * dedicated service user).
 */
int jfa_pam_check_caller(struct jfa_pam *p)
{
    struct stat st;
    uid_t euid = geteuid();

    if (euid == 0)
        return PAM_SUCCESS;
    if (p->cfg.state_dir != NULL && stat(p->cfg.state_dir, &st) == 0 && st.st_uid == euid)
        return PAM_SUCCESS;
    if (p->dbu.uid == getuid())
        return PAM_SUCCESS;
    jfa_logf(&p->log, LOG_NOTICE,
             "refusing '%s' without asking Jellyfin: an unprivileged caller (uid %u) may only "
             "check its own account's password",
             p->user_esc, (unsigned)getuid());
    return PAM_AUTH_ERR;
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
    if (!jfa_db_name_plausible(p->user) || strcmp(p->user, "root") == 0 || in_passwd_file(p->user))
        return PAM_USER_UNKNOWN;
    if (jfa_db_open(&db, jfa_db_builtin_path(), true) != 0)
        return PAM_AUTHINFO_UNAVAIL;
    rc = jfa_db_user_by_name(&db, p->user, &u);
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

void jfa_pam_tell(struct jfa_pam *p, const char *msg)
{
    pam_error(p->pamh, "%s", msg);
}
