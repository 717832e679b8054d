/*
 * pam_session.c - the session group: pam_sm_open_session and
 * pam_sm_close_session.
 *
 * Owns: the life of the Jellyfin token of a login. open_session takes the
 * token that authentication obtained (from this process, or from the
 * pending record when sshd authenticated in a child process; a record of
 * any other login is removed and its token logged out) and keeps it with
 * the PAM handle; close_session logs it out with POST /Sessions/Logout.
 * Each session holds only its own token, so concurrent sessions of one user
 * never log each other out.
 *
 * Also owns the home of a Jellyfin user: open_session creates it at the
 * first session (mkhomedir_helper: 0700, copied from /etc/skel, owned by
 * the user), and only for a user resolved in our database. Other accounts
 * never get a directory (pam_mkhomedir in the common stack would create
 * `nobody`'s /nonexistent). It refuses the session (PAM_SESSION_ERR) when
 * the home exists and is not the user's (lib/homecheck.h): a name that
 * changed hands keeps the old holder's home and startup files.
 */
#include "jfaconf.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "jellyfin.h"
#include "pam_common.h"

#ifndef JFA_MKHOMEDIR_HELPER
#define JFA_MKHOMEDIR_HELPER "/usr/sbin/mkhomedir_helper"
#endif

/*
 * Create the resolved Jellyfin user's home if it is missing. Runs
 * mkhomedir_helper (libpam-modules-bin, what pam_mkhomedir runs) with a
 * fixed environment; it looks the user up through NSS, i.e. our entry.
 * Best effort: a failure is logged, the session goes on.
 */
static void make_home(struct jfa_pam *p)
{
    char *const argv[] = {(char *)JFA_MKHOMEDIR_HELPER, (char *)p->user, (char *)"0077",
                          (char *)"/etc/skel",          (char *)"0700",  NULL};
    char *const envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    struct sigaction dfl, old;
    struct stat st;
    int status = 0;
    pid_t pid, w = -1;

    if (p->dbu.home == NULL || p->dbu.home[0] != '/')
        return;
    if (lstat(p->dbu.home, &st) == 0 || errno != ENOENT)
        return;
    if (geteuid() != 0) {
        jfa_logf(&p->log, LOG_DEBUG, "home %s of '%s' is missing; not root: not created",
                 p->dbu.home, p->user_esc);
        return;
    }
    if (access(JFA_MKHOMEDIR_HELPER, X_OK) != 0) {
        jfa_logf(&p->log, LOG_ERR, "cannot create the home of '%s': %s: %s", p->user_esc,
                 JFA_MKHOMEDIR_HELPER, strerror(errno));
        return;
    }
    /* The application may ignore SIGCHLD: waitpid needs the default. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (sigaction(SIGCHLD, &dfl, &old) != 0)
        return;
    pid = fork();
    if (pid == 0) {
        jfa_child_reset();     /* nothing of the caller's limits, cwd or signals */
        jfa_child_close_fds(); /* nor the host's descriptors (0-2 stay) */
        execve(JFA_MKHOMEDIR_HELPER, argv, envp);
        _exit(127);
    }
    if (pid > 0)
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
            ;
    (void)sigaction(SIGCHLD, &old, NULL);
    if (pid < 0 || w < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        jfa_logf(&p->log, LOG_ERR, "cannot create the home %s of '%s' (%s %s)", p->dbu.home,
                 p->user_esc, JFA_MKHOMEDIR_HELPER, pid < 0 ? "could not start" : "failed");
    else
        jfa_logf(&p->log, LOG_INFO, "created the home %s of '%s'", p->dbu.home, p->user_esc);
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    struct jfa_auth_record rec;
    const struct jfa_auth_record *kept;
    int rc;

    memset(&rec, 0, sizeof(rec));
    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS) {
        rc = rc == PAM_USER_UNKNOWN ? PAM_IGNORE : rc;
        goto out;
    }
    make_home(&p);
    /* The home must be the user's: after a name changed hands, the old
     * holder's .profile would run as the new one. Refused with
     * PAM_SESSION_ERR, which the profile's session line makes final. */
    if (jfa_pam_home_refused(&p, "session")) {
        jfa_pam_drop_login(&p);
        rc = PAM_SESSION_ERR;
        goto out;
    }
    /* Ours or not, the pending record must not linger: jfa_pam_pending
     * takes this login's and cleans any other. */
    if (jfa_pam_pending(&p, true, &rec) != 0)
        memset(&rec, 0, sizeof(rec));
    kept = jfa_pam_kept_record(&p);
    if (kept != NULL && strcmp(kept->token, rec.token) != 0) {
        /* Ours is the one this process obtained; the pending one, if any,
         * belongs to nobody now: it was revoked by our own login. */
        memcpy(&rec, kept, sizeof(rec));
    }
    if (rec.token[0] == '\0') {
        jfa_logf(&p.log, LOG_DEBUG, "session of '%s' has no Jellyfin token to track", p.user_esc);
        rc = PAM_SUCCESS;
        goto out;
    }
    rc = jfa_pam_keep_record(&p, &rec);
    if (rc == PAM_SUCCESS)
        jfa_logf(&p.log, LOG_INFO, "session opened for '%s'", p.user_esc);
out:
    explicit_bzero(&rec, sizeof(rec));
    jfa_pam_end(&p);
    return rc;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
    struct jfa_pam p;
    struct jfa_client c;
    const struct jfa_auth_record *kept;
    enum jfa_status st;
    int rc;

    rc = jfa_pam_begin(&p, pamh, flags, argc, argv);
    if (rc != PAM_SUCCESS)
        goto out;
    rc = jfa_pam_resolve_user(&p);
    if (rc != PAM_SUCCESS) {
        rc = rc == PAM_USER_UNKNOWN ? PAM_IGNORE : rc;
        goto out;
    }
    rc = PAM_SUCCESS;
    kept = jfa_pam_kept_record(&p);
    if (kept == NULL || kept->token[0] == '\0') {
        jfa_logf(&p.log, LOG_DEBUG, "no Jellyfin token to log out for '%s'", p.user_esc);
        goto out;
    }
    if (jfa_client_init(&c, &p.cfg, &p.log, JFA_PAM_CLIENT, p.dbu.jf_id) != 0) {
        rc = PAM_BUF_ERR;
        goto out;
    }
    st = jfa_logout(&c, kept->token);
    if (st == JFA_OK || st == JFA_ERR_AUTH)
        jfa_logf(&p.log, LOG_INFO, "session closed for '%s'%s", p.user_esc,
                 st == JFA_OK ? "" : " (token already revoked)");
    else
        jfa_logf(&p.log, LOG_WARNING, "cannot log out the Jellyfin session of '%s': %s", p.user_esc,
                 c.err);
    /* Forget the token: a second close must not reuse it. */
    (void)pam_set_data(pamh, JFA_PAM_DATA_AUTH, NULL, NULL);
out:
    jfa_pam_end(&p);
    return rc;
}
