/*
 * loginflow.c - the decisions of a Jellyfin password login (see loginflow.h).
 *
 * Owns: the order and the rules of pam_jellyfin's login, shared by the PAM
 * module and `jellyfin-auth explain`: what is refused before anything is
 * sent, under which lock, what is sent, how each answer is mapped and
 * recorded (throttle, rejected-password memory, verifier). Log lines are
 * the module's (tests grep them); each decision is also reported as a step.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "loginflow.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <security/_pam_types.h>

#include "hostaccts.h"
#include "lockout.h"
#include "quickconnect.h"
#include "rhost.h"
#include "safepath.h"

int jfa_verdict_pam(enum jfa_verdict v)
{
    switch (v) {
    case JFA_V_SUCCESS:
        return PAM_SUCCESS;
    case JFA_V_USER_UNKNOWN:
        return PAM_USER_UNKNOWN;
    case JFA_V_ACCT_EXPIRED:
        return PAM_ACCT_EXPIRED;
    case JFA_V_PERM_DENIED:
        return PAM_PERM_DENIED;
    case JFA_V_AUTHINFO_UNAVAIL:
        return PAM_AUTHINFO_UNAVAIL;
    case JFA_V_BUF_ERR:
        return PAM_BUF_ERR;
    case JFA_V_SYSTEM_ERR:
        return PAM_SYSTEM_ERR;
    case JFA_V_AUTH_ERR:
    case JFA_V_UNDECIDED:
    default:
        return PAM_AUTH_ERR;
    }
}

const char *jfa_verdict_name(enum jfa_verdict v)
{
    switch (v) {
    case JFA_V_SUCCESS:
        return "PAM_SUCCESS";
    case JFA_V_USER_UNKNOWN:
        return "PAM_USER_UNKNOWN";
    case JFA_V_AUTH_ERR:
        return "PAM_AUTH_ERR";
    case JFA_V_ACCT_EXPIRED:
        return "PAM_ACCT_EXPIRED";
    case JFA_V_PERM_DENIED:
        return "PAM_PERM_DENIED";
    case JFA_V_AUTHINFO_UNAVAIL:
        return "PAM_AUTHINFO_UNAVAIL";
    case JFA_V_BUF_ERR:
        return "PAM_BUF_ERR";
    case JFA_V_SYSTEM_ERR:
        return "PAM_SYSTEM_ERR";
    case JFA_V_UNDECIDED:
    default:
        return "undecided";
    }
}

/* Report one decision to the step callback (a no-op without one). */
static void step(struct jfa_flow *f, const char *name, enum jfa_step_result result,
                 const char *rule, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void step(struct jfa_flow *f, const char *name, enum jfa_step_result result,
                 const char *rule, const char *fmt, ...)
{
    struct jfa_flow_step s;
    va_list ap;

    if (f->on_step == NULL)
        return;
    memset(&s, 0, sizeof(s));
    s.step = name;
    s.rule = rule;
    s.result = result;
    va_start(ap, fmt);
    vsnprintf(s.detail, sizeof(s.detail), fmt, ap);
    va_end(ap);
    f->on_step(f->step_ctx, &s);
}

/*
 * Does an NSS source other than ours answer for this name, with an entry
 * that differs from our database entry (an earlier source in nsswitch.conf
 * took the name)? /etc/passwd itself was checked before. 1 yes, 0 no, -1
 * the lookup failed (cannot tell).
 */
static int is_local_account(const struct jfa_flow *f, const char *name, unsigned *local_uid)
{
    struct jfa_nssbuf nb = {0};
    struct passwd pwd, *res = NULL;
    int local = 0;

    switch (jfa_nss_getpwnam(&nb, name, &pwd, &res)) {
    case 1:
        local = res->pw_uid != f->dbu->uid || strcmp(res->pw_dir, f->dbu->home) != 0 ? 1 : 0;
        *local_uid = (unsigned)res->pw_uid;
        break;
    case 0:
        break;
    default:
        local = -1; /* the lookup failed: an earlier source may hold the name */
        break;
    }
    jfa_nssbuf_free(&nb);
    return local;
}

enum jfa_verdict jfa_flow_resolve(struct jfa_flow *f)
{
    char err[JFA_ERRLEN];
    char *path = NULL;
    enum jfa_verdict v;
    unsigned local_uid = 0;
    int rc, local;

    f->have_user = false;
    f->unknown_user = false;
    jfa_log_escape(f->user_esc, JFA_FLOW_ESC_LEN, f->user);
    if (!jfa_db_name_plausible(f->user)) {
        jfa_logf(f->log, LOG_DEBUG, "'%s' cannot be a Jellyfin user", f->user_esc);
        step(f, "name", JFA_STEP_STOP,
             "a name that cannot be ours (empty, over 32 bytes, '*', ':', '/', blanks) is not "
             "Jellyfin's",
             "'%s' cannot be a Jellyfin user", f->user_esc);
        return JFA_V_USER_UNKNOWN;
    }
    step(f, "name", JFA_STEP_PASS, "a name that cannot be ours is not Jellyfin's",
         "'%s' is a possible login name", f->user_esc);
    if (strcasecmp(f->user, "root") == 0) {
        /* root and local accounts are not ours: nothing at info or above
         * (cron, su and every local login pass here) */
        jfa_logf(f->log, LOG_DEBUG, "refusing root: never a Jellyfin user");
        step(f, "root", JFA_STEP_STOP, "root is never a Jellyfin user", "the name is root");
        return JFA_V_USER_UNKNOWN;
    }
    step(f, "root", JFA_STEP_PASS, "root is never a Jellyfin user", "not root");
    /* Before anything can fail: a local account is never ours. */
    rc = jfa_host_in_passwd_file(f->user);
    if (rc < 0) {
        jfa_logf(f->log, LOG_ERR, "refusing '%s': cannot read " JFA_PASSWD_FILE " through",
                 f->user_esc);
        step(f, "passwd-file", JFA_STEP_STOP,
             "a local account is never authenticated against Jellyfin",
             "cannot read " JFA_PASSWD_FILE " through: refused (the name may be local)");
        return JFA_V_PERM_DENIED;
    }
    if (rc > 0) {
        jfa_logf(f->log, LOG_DEBUG, "'%s' is a local account: not for Jellyfin", f->user_esc);
        step(f, "passwd-file", JFA_STEP_STOP,
             "a local account is never authenticated against Jellyfin",
             "'%s' is listed in " JFA_PASSWD_FILE, f->user_esc);
        return JFA_V_USER_UNKNOWN;
    }
    step(f, "passwd-file", JFA_STEP_PASS, "a local account is never authenticated against Jellyfin",
         "not in " JFA_PASSWD_FILE);
    /* the files' own owner and mode mean nothing if someone else may
     * rename a directory above them (absent: the open below says so) */
    if (jfa_safe_path(f->cfg->state_dir, err, sizeof(err)) < 0) {
        jfa_logf(f->log, LOG_ERR, "refusing '%s': state_dir %s is not safe: %s", f->user_esc,
                 f->cfg->state_dir, err);
        step(f, "database", JFA_STEP_STOP,
             "every directory from / to state_dir is root's and not writable by others",
             "state_dir %s is not safe: %s", f->cfg->state_dir, err);
        return jfa_caller_steers_process() ? JFA_V_PERM_DENIED : JFA_V_AUTHINFO_UNAVAIL;
    }
    path = jfa_config_db_path(f->cfg);
    if (path == NULL)
        return JFA_V_BUF_ERR;
    rc = jfa_db_open(f->db, path, false);
    if (rc == -ENOENT) {
        jfa_logf(f->log, LOG_ERR, "users database %s is missing: run 'jellyfin-auth sync'", path);
        step(f, "database", JFA_STEP_STOP, "the users database must be usable",
             "%s is missing: run 'jellyfin-auth sync'", path);
        v = JFA_V_AUTHINFO_UNAVAIL;
        goto out;
    }
    if (rc != 0) {
        const char *why =
            rc == -EPERM ? "unsafe owner, mode or file type" : "corrupt or unreadable";
        jfa_logf(f->log, LOG_ERR, "refusing users database %s: %s", path, why);
        step(f, "database", JFA_STEP_STOP, "the users database must be usable", "%s: %s", path,
             why);
        /* The account stack ignores "unavailable" (pam-configs/jellyfin):
         * in a set-id program whose caller may have made the open fail
         * (limits), a user the database would refuse must not pass. */
        v = jfa_caller_steers_process() ? JFA_V_PERM_DENIED : JFA_V_AUTHINFO_UNAVAIL;
        goto out;
    }
    rc = jfa_db_user_by_name_ci(f->db, f->user, f->dbu);
    if (rc != 0) {
        f->unknown_user = rc == -ENOENT;
        jfa_logf(f->log, rc == -ENOENT ? LOG_DEBUG : LOG_ERR, "'%s' is %s", f->user_esc,
                 rc == -ENOENT ? "not a Jellyfin user" : "a corrupt database entry");
        step(f, "database", JFA_STEP_STOP, "the name must be in the users database",
             "'%s' is %s in %s", f->user_esc,
             rc == -ENOENT ? "not a Jellyfin user (not in the database; see 'jellyfin-auth users')"
                           : "a corrupt database entry",
             path);
        v = rc == -ENOENT ? JFA_V_USER_UNKNOWN : JFA_V_AUTHINFO_UNAVAIL;
        goto out;
    }
    {
        char esc[128];
        step(f, "database", JFA_STEP_PASS, "the name must be in the users database",
             "uid %u, Jellyfin \"%s\", Id %s, flags:%s%s%s%s%s", f->dbu->uid,
             jfa_log_escape(esc, sizeof(esc), f->dbu->jf_name), f->dbu->jf_id,
             (f->dbu->flags & JFA_DBU_ADMIN) ? " admin" : "",
             (f->dbu->flags & JFA_DBU_DISABLED) ? " disabled" : "",
             (f->dbu->flags & JFA_DBU_HIDDEN) ? " hidden" : "",
             (f->dbu->flags & JFA_DBU_NO_REMOTE) ? " no-remote-access" : "",
             (f->dbu->flags &
              (JFA_DBU_ADMIN | JFA_DBU_DISABLED | JFA_DBU_HIDDEN | JFA_DBU_NO_REMOTE)) == 0
                 ? " none"
                 : "");
    }
    if (f->dbu->uid == 0 || f->dbu->gid == 0 || f->dbu->uid < f->cfg->uid_min ||
        f->dbu->uid > f->cfg->uid_max) {
        jfa_logf(f->log, LOG_ERR, "refusing '%s': uid %u is outside [%u, %u]", f->user_esc,
                 f->dbu->uid, f->cfg->uid_min, f->cfg->uid_max);
        step(f, "uid-range", JFA_STEP_STOP, "a Jellyfin user's uid is in [uid_min, uid_max]",
             "uid %u is outside [%u, %u]", f->dbu->uid, f->cfg->uid_min, f->cfg->uid_max);
        v = JFA_V_USER_UNKNOWN;
        goto out;
    }
    /* the typed name, and the database's name when case folding found it:
     * neither may be a local account */
    local = is_local_account(f, f->user, &local_uid);
    if (local == 0 && strcmp(f->dbu->name, f->user) != 0) {
        local = jfa_host_in_passwd_file(f->dbu->name);
        if (local == 0)
            local = is_local_account(f, f->dbu->name, &local_uid);
    }
    if (local < 0) {
        /* a check that cannot be made (memory or descriptors, perhaps
         * exhausted by the caller of su) must not pass a local account */
        jfa_logf(f->log, LOG_ERR,
                 "refusing '%s': cannot tell whether it is a local account (a lookup failed)",
                 f->user_esc);
        step(f, "local-account", JFA_STEP_STOP,
             "a local account is never authenticated against Jellyfin",
             "cannot tell: a lookup of '%s' failed", f->user_esc);
        v = JFA_V_PERM_DENIED;
        goto out;
    }
    if (local > 0) {
        jfa_logf(f->log, LOG_NOTICE,
                 "refusing '%s': a local account of that name exists; it is never "
                 "authenticated against Jellyfin",
                 f->user_esc);
        step(f, "local-account", JFA_STEP_STOP,
             "a local account is never authenticated against Jellyfin",
             "another NSS source answers for '%s' (uid %u)", f->user_esc, local_uid);
        v = JFA_V_USER_UNKNOWN;
        goto out;
    }
    step(f, "local-account", JFA_STEP_PASS,
         "a local account is never authenticated against Jellyfin",
         "no other NSS source answers for '%s'", f->user_esc);
    f->have_user = true;
    v = JFA_V_SUCCESS;
out:
    free(path);
    return v;
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
bool jfa_flow_privileged(const struct jfa_config *cfg)
{
    struct stat st;
    uid_t euid = geteuid();

    return euid == 0 ||
           (cfg->state_dir != NULL && stat(cfg->state_dir, &st) == 0 && st.st_uid == euid);
}

enum jfa_verdict jfa_flow_check_caller(struct jfa_flow *f)
{
    static const char rule[] = "a caller that is neither root nor the owner of state_dir may only "
                               "check its own account's password";
    struct stat st;
    uid_t euid = geteuid();

    if (euid == 0) {
        step(f, "caller", JFA_STEP_PASS, rule, "the caller is root");
        return JFA_V_SUCCESS;
    }
    if (f->cfg->state_dir != NULL && stat(f->cfg->state_dir, &st) == 0 && st.st_uid == euid) {
        step(f, "caller", JFA_STEP_PASS, rule, "the caller (uid %u) owns %s", (unsigned)euid,
             f->cfg->state_dir);
        return JFA_V_SUCCESS;
    }
    if (f->dbu->uid == getuid()) {
        step(f, "caller", JFA_STEP_PASS, rule,
             "an unprivileged caller (uid %u) checking its own account: no throttle, guard or "
             "offline verifier",
             (unsigned)getuid());
        return JFA_V_SUCCESS;
    }
    jfa_logf(f->log, LOG_NOTICE,
             "refusing '%s' without asking Jellyfin: an unprivileged caller (uid %u) may only "
             "check its own account's password",
             f->user_esc, (unsigned)getuid());
    step(f, "caller", JFA_STEP_STOP, rule, "the caller (uid %u) is unprivileged and not '%s'",
         (unsigned)getuid(), f->user_esc);
    return JFA_V_AUTH_ERR;
}

/* Take the user's login lock, waiting up to timeout; a wait that ended a
 * stuck holder (design.md "Login lock") logs it, naming the process. */
static int take_user_lock(struct jfa_flow *f, long timeout_ms, struct jfa_state_lock *lock,
                          char *err, size_t errlen)
{
    int r = jfa_state_lock_user(f->private_dir, f->dbu->jf_id, timeout_ms,
                                jfa_state_lock_hold_ms(f->cfg), lock, err, errlen);

    if (lock->ended_pid != 0)
        jfa_logf(f->log, LOG_WARNING,
                 "ended pid %ld, which held the login lock of '%s' and was %s (SIGKILL)",
                 lock->ended_pid, f->user_esc, lock->ended_why);
    return r;
}

enum jfa_verdict jfa_flow_login_lock(struct jfa_flow *f, struct jfa_state_lock *lock)
{
    static const char rule[] = "one password per user in flight (a lock held from the throttle "
                               "check to the recording of the answer)";
    char err[JFA_ERRLEN];
    int r;

    r = take_user_lock(f, f->cfg->timeout * 1000L, lock, err, sizeof(err));
    if (r == -ETIMEDOUT) {
        jfa_logf(f->log, LOG_NOTICE,
                 "another login of '%s' is still being checked; refused without asking Jellyfin",
                 f->user_esc);
        step(f, "lock", JFA_STEP_STOP, rule, "held by another login for more than %ld s",
             f->cfg->timeout);
        return JFA_V_AUTH_ERR;
    }
    /* Not privileged (the private directory is not ours to use): no lock,
     * as no throttle record either (see jfa_flow_check_caller). */
    if (r != 0 && !jfa_flow_privileged(f->cfg)) {
        jfa_logf(f->log, LOG_DEBUG, "no login lock for '%s', going on without it: %s", f->user_esc,
                 err);
        step(f, "lock", JFA_STEP_INFO, rule, "no lock usable, going on without it: %s", err);
        return JFA_V_SUCCESS;
    }
    /* Privileged: a lock that cannot be had (descriptors exhausted by limits
     * the caller of su set, a broken state directory) must not let this
     * attempt run beside another one of the same user: fail closed. */
    if (r != 0) {
        jfa_logf(f->log, LOG_ERR, "refusing '%s' without asking Jellyfin: no login lock: %s",
                 f->user_esc, err);
        step(f, "lock", JFA_STEP_STOP, rule, "cannot be taken: %s", err);
        return JFA_V_SYSTEM_ERR;
    }
    if (lock->ended_pid != 0)
        step(f, "lock", JFA_STEP_PASS, rule, "taken after ending pid %ld (%s)", lock->ended_pid,
             lock->ended_why);
    else
        step(f, "lock", JFA_STEP_PASS, rule, "taken");
    return JFA_V_SUCCESS;
}

/* Explain without a password: is the lock free? (taken and released at
 * once, never waited for: explain ends no holder) Who holds it, and would
 * a login end it? */
static void peek_lock(struct jfa_flow *f)
{
    static const char rule[] = "one password per user in flight; a holder past its deadline that "
                               "is stopped or frozen is ended by the next login";
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    struct jfa_lock_holder h;
    char err[JFA_ERRLEN];
    int r;

    r = jfa_state_lock_user(f->private_dir, f->dbu->jf_id, 0, jfa_state_lock_hold_ms(f->cfg), &lock,
                            err, sizeof(err));
    if (r == 0)
        step(f, "lock", JFA_STEP_PASS, rule, "free");
    else if (r == -ETIMEDOUT && jfa_state_lock_holder(f->private_dir, f->dbu->jf_id, &h) == 0)
        step(f, "lock", JFA_STEP_INFO, rule, "held by pid %ld, %s, %s %lld s: %s", h.pid,
             h.stuck ? h.why : "running",
             h.overdue_ms > 0 ? "past its deadline by" : "within its deadline for",
             h.overdue_ms > 0 ? (h.overdue_ms + 999) / 1000 : -h.overdue_ms / 1000,
             h.stuck && h.overdue_ms > 0 ? "the next login (as root) ends it and goes on"
                                         : "a login waits for it up to timeout, then is refused");
    else if (r == -ETIMEDOUT)
        step(f, "lock", JFA_STEP_INFO, rule,
             "held by another login now: a login waits up to %ld s for it, then is refused",
             f->cfg->timeout);
    else
        step(f, "lock", JFA_STEP_INFO, rule, "no lock usable: %s", err);
    jfa_state_unlock(&lock);
}

static const char throttle_rule[] =
    "after throttle_failures failures, each within throttle_window of the one before, logins "
    "are refused without asking Jellyfin for a back-off that doubles";

static bool throttled(struct jfa_flow *f)
{
    time_t now = time(NULL);
    unsigned long count = 0;
    long wait = 0;

    jfa_throttle_info(f->cfg, f->private_dir, f->dbu->jf_id, now, &count, &wait);
    if (jfa_throttle_check(f->cfg, f->private_dir, f->dbu->jf_id, now, &wait) == 1) {
        jfa_logf(f->log, LOG_NOTICE,
                 "too many failed logins for '%s': refused for %ld more seconds without "
                 "asking Jellyfin",
                 f->user_esc, wait);
        step(f, "throttle-user", JFA_STEP_STOP, throttle_rule,
             "%lu failures of '%s': %ld s of back-off left (throttle_failures %u)", count,
             f->user_esc, wait, f->cfg->throttle_failures);
        return true;
    }
    step(f, "throttle-user", JFA_STEP_PASS, throttle_rule,
         f->cfg->throttle_failures == 0
             ? "off (throttle_failures = 0)"
             : "%lu recent failures of '%s', no back-off (throttle_failures %u)",
         count, f->user_esc, f->cfg->throttle_failures);
    if (f->host_key[0] == '\0') {
        step(f, "throttle-host", JFA_STEP_INFO, throttle_rule, "no remote host");
        return false;
    }
    {
        char esc[128];
        jfa_log_escape(esc, sizeof(esc), f->host_key + 5);
        jfa_throttle_info(f->cfg, f->private_dir, f->host_key, now, &count, &wait);
        if (jfa_throttle_check(f->cfg, f->private_dir, f->host_key, now, &wait) == 1) {
            jfa_logf(f->log, LOG_NOTICE,
                     "too many failed logins from %s: '%s' refused for %ld more seconds without "
                     "asking Jellyfin",
                     esc, f->user_esc, wait);
            step(f, "throttle-host", JFA_STEP_STOP, throttle_rule,
                 "%lu failures from %s: %ld s of back-off left", count, esc, wait);
            return true;
        }
        step(f, "throttle-host", JFA_STEP_PASS, throttle_rule,
             f->cfg->throttle_failures == 0 ? "off (throttle_failures = 0)"
                                            : "%lu recent failures from %s, no back-off",
             count, esc);
    }
    return false;
}

/*
 * With a password, each throttle key (the user, then the remote host) is
 * checked and the attempt counted as a failure in one locked step
 * (jfa_throttle_attempt), before the password leaves, as pam_tally2
 * counted first: the caller of su may kill it (its real uid is theirs) the
 * moment Jellyfin has answered, before a failure counted afterwards would
 * be written, and parallel attempts of several users from one host must
 * not all pass a check made before any of them counted. A success clears
 * the records; an attempt whose password was never judged takes its count
 * back (settle_attempt). An attempt whose count cannot be read or written
 * is not made (fail closed: the caller of su chooses its limits).
 */
static enum jfa_verdict attempt_key(struct jfa_flow *f, const char *key, const char *host_esc,
                                    time_t now)
{
    const char *name = host_esc != NULL ? "throttle-host" : "throttle-user";
    char err[JFA_ERRLEN];
    unsigned long count = 0;
    long wait = 0;
    int r;

    jfa_throttle_info(f->cfg, f->private_dir, key, now, &count, &wait);
    r = jfa_throttle_attempt(f->cfg, f->private_dir, key, now, &wait, err, sizeof(err));
    if (r == 0) {
        step(f, name, JFA_STEP_PASS, throttle_rule,
             f->cfg->throttle_failures == 0 ? "off (throttle_failures = 0)"
                                            : "%lu recent failures of %s%s%s, no back-off; %s",
             count, host_esc != NULL ? "" : "'", host_esc != NULL ? host_esc : f->user_esc,
             host_esc != NULL ? "" : "'",
             f->qc ? "this request counts as one (a success clears it)"
                   : "this attempt counts as one until the password is judged");
        return JFA_V_SUCCESS;
    }
    if (r == 1) {
        /* Quick Connect requests are counted as failures too: say so */
        const char *what = f->qc ? "failed logins or Quick Connect requests" : "failed logins";

        if (host_esc == NULL)
            jfa_logf(f->log, LOG_NOTICE,
                     "too many %s for '%s': refused for %ld more seconds without asking Jellyfin",
                     what, f->user_esc, wait);
        else
            jfa_logf(f->log, LOG_NOTICE,
                     "too many %s from %s: '%s' refused for %ld more seconds without asking "
                     "Jellyfin",
                     what, host_esc, f->user_esc, wait);
        step(f, name, JFA_STEP_STOP, throttle_rule, "%lu failures: %ld s of back-off left", count,
             wait);
        return JFA_V_AUTH_ERR;
    }
    if (!jfa_flow_privileged(f->cfg)) {
        step(f, name, JFA_STEP_INFO, throttle_rule,
             "no private state (an unprivileged caller): not counted");
        return JFA_V_SUCCESS;
    }
    jfa_logf(f->log, LOG_ERR,
             "cannot record the %s of '%s': %s: refused without asking Jellyfin (an attempt "
             "that cannot be counted is not made)",
             f->qc ? "Quick Connect request" : "login attempt", f->user_esc, err);
    step(f, name, JFA_STEP_STOP, throttle_rule, "the attempt cannot be counted: %s", err);
    return JFA_V_AUTHINFO_UNAVAIL;
}

/* The throttle keys of this login: the user's Id, and "host:" + rhost (none
 * for a local login, and for passwd without PAM_RHOST: the user's only). */
static void set_host_key(struct jfa_flow *f)
{
    f->host_key[0] = '\0';
    if (f->rhost != NULL && f->rhost[0] != '\0')
        snprintf(f->host_key, sizeof(f->host_key), "host:%s", f->rhost);
}

/* Take back the counts of an attempt that was not made. */
static void undo_attempt(struct jfa_flow *f)
{
    jfa_throttle_undo(f->cfg, f->private_dir, f->dbu->jf_id);
    if (f->host_key[0] != '\0')
        jfa_throttle_undo(f->cfg, f->private_dir, f->host_key);
}

/* A success clears the records of the user and of the host. */
static void clear_attempts(struct jfa_flow *f)
{
    jfa_throttle_success(f->private_dir, f->dbu->jf_id);
    if (f->host_key[0] != '\0')
        jfa_throttle_success(f->private_dir, f->host_key);
}

/* Under the user's login lock: count the attempt for the user, then for
 * the host; a host that refuses takes the user's count back. */
static enum jfa_verdict begin_attempt(struct jfa_flow *f)
{
    time_t now = time(NULL);
    enum jfa_verdict v = attempt_key(f, f->dbu->jf_id, NULL, now);
    char esc[128];

    if (v != JFA_V_SUCCESS)
        return v;
    if (f->host_key[0] == '\0') {
        step(f, "throttle-host", JFA_STEP_INFO, throttle_rule, "no remote host");
        return v;
    }
    v = attempt_key(f, f->host_key, jfa_log_escape(esc, sizeof(esc), f->host_key + 5), now);
    if (v != JFA_V_SUCCESS)
        jfa_throttle_undo(f->cfg, f->private_dir, f->dbu->jf_id);
    return v;
}

/*
 * An attempt whose password was never judged takes its count back, except
 * when the password was sent from a set-id program started by another uid
 * (jfa_caller_steers_process): there "no answer" may be the caller's doing (a
 * SIGSTOP held past the deadline once the password is out, a descriptor
 * or memory limit), while Jellyfin may well have judged it. Taking it back
 * would give the caller of su unthrottled guesses.
 */
static void settle_attempt(struct jfa_flow *f, enum jfa_verdict v)
{
    if (v == JFA_V_SUCCESS || f->password_judged)
        return; /* cleared by the success itself, or a failure already counted */
    if (f->password_sent && jfa_caller_steers_process()) {
        jfa_logf(f->log, LOG_NOTICE,
                 "the attempt for '%s' stays counted: its password was sent from a set-id program "
                 "started by uid %u, whose caller can make the answer fail to arrive",
                 f->user_esc, (unsigned)getuid());
        return;
    }
    undo_attempt(f);
}

enum jfa_verdict jfa_flow_attempt_begin(struct jfa_flow *f)
{
    f->password_sent = false;
    f->password_judged = false;
    set_host_key(f);
    return begin_attempt(f);
}

void jfa_flow_attempt_end(struct jfa_flow *f, bool accepted)
{
    if (!accepted) {
        settle_attempt(f, JFA_V_AUTH_ERR);
        return;
    }
    /* as a login's success (accepted()) */
    f->password_judged = true;
    clear_attempts(f);
    (void)jfa_state_rejected_clear(f->private_dir, f->dbu->jf_id);
}

static const char rejected_rule[] =
    "a password Jellyfin refused is not sent again within throttle_window (kept as a keyed "
    "hash, never in clear)";

/* Has Jellyfin refused this very password lately? */
static bool rejected_before(struct jfa_flow *f, const char *password)
{
    char err[JFA_ERRLEN];
    long age = 0, left = 0;
    int r, n;

    if (password == NULL) {
        n = jfa_state_rejected_count(f->private_dir, f->dbu->jf_id, time(NULL),
                                     f->cfg->throttle_window, &left);
        step(f, "rejected", JFA_STEP_INFO, rejected_rule,
             n > 0 ? "%d refused passwords remembered (the newest for %ld s more)"
                   : "no refused password remembered",
             n, left);
        return false;
    }
    r = jfa_state_rejected_check(f->private_dir, f->dbu->jf_id, password, time(NULL),
                                 f->cfg->throttle_window, &age, err, sizeof(err));
    if (r == 1) {
        jfa_logf(f->log, LOG_NOTICE,
                 "'%s': Jellyfin refused this same password %ld s ago; refused again without "
                 "asking Jellyfin",
                 f->user_esc, age);
        step(f, "rejected", JFA_STEP_STOP, rejected_rule,
             "Jellyfin refused this same password %ld s ago", age);
        return true;
    }
    if (r < 0) {
        jfa_logf(f->log, geteuid() == 0 ? LOG_INFO : LOG_DEBUG,
                 "rejected-password memory unusable: %s", err);
        step(f, "rejected", JFA_STEP_INFO, rejected_rule, "memory unusable: %s", err);
        return false;
    }
    step(f, "rejected", JFA_STEP_PASS, rejected_rule, "not a password Jellyfin refused lately");
    return false;
}

static void remember_rejected(struct jfa_flow *f, const char *password)
{
    char err[JFA_ERRLEN];

    if (jfa_state_rejected_add(f->private_dir, f->dbu->jf_id, password, time(NULL),
                               f->cfg->throttle_window, err, sizeof(err)) != 0)
        jfa_logf(f->log, geteuid() == 0 ? LOG_INFO : LOG_DEBUG,
                 "refused password not remembered: %s", err);
}

static const char guard_rule[] =
    "the password that would make Jellyfin disable the account is not sent "
    "(LoginAttemptsBeforeLockout); one failure from the limit, only a password matching the "
    "offline verifier of the last login is";

enum jfa_verdict jfa_flow_guard(struct jfa_flow *f, struct jfa_client *c, const char *password)
{
    struct jfa_lockout_info info;
    char why[JFA_ERRLEN], err[JFA_ERRLEN];
    uint32_t vflags = 0;
    int r;

    switch (jfa_lockout_check(c, f->dbu->jf_id, &info, why, sizeof(why))) {
    case JFA_LOCKOUT_REFUSE:
        /* One failure from the limit. A password that matches the
         * verifier of the last successful login was right then: send it. */
        if (password != NULL && f->cfg->offline_max_age > 0) {
            r = jfa_state_check_verifier(f->private_dir, f->dbu->jf_id, password,
                                         f->cfg->offline_max_age, &vflags, err, sizeof(err));
            if (r == JFA_VERIFIER_MATCH) {
                jfa_logf(f->log, LOG_NOTICE,
                         "'%s' has %d failed logins and Jellyfin disables the account at %d: "
                         "the password matches the verifier of the last login, so it is sent",
                         f->user_esc, info.count, info.limit);
                step(f, "guard", JFA_STEP_PASS, guard_rule,
                     "%d failed logins, limit %d: the password matches the offline verifier",
                     info.count, info.limit);
                return JFA_V_SUCCESS;
            }
            /* Judged: it is not the password of the last login. Taking
             * the count back would give endless guesses, and the one that
             * matches the verifier would be sent (and accepted). */
            if (r == JFA_VERIFIER_MISMATCH)
                f->password_judged = true;
        }
        jfa_logf(f->log, LOG_NOTICE,
                 "'%s' has %d failed logins and Jellyfin disables the account at %d: the password "
                 "was not sent (a login through Jellyfin itself, or an administrator, resets the "
                 "count)",
                 f->user_esc, info.count, info.limit);
        step(f, "guard", JFA_STEP_STOP, guard_rule,
             "%d failed logins, Jellyfin disables the account at %d: %s", info.count, info.limit,
             password == NULL
                 ? "only a password matching the offline verifier would be sent"
                 : "the password does not match the offline verifier (or there is none); "
                   "'jellyfin-auth reset USER --server' or a login through Jellyfin resets the "
                   "count");
        return JFA_V_AUTH_ERR;
    case JFA_LOCKOUT_UNREACHABLE:
        step(f, "guard", JFA_STEP_INFO, guard_rule, "the server is unreachable: %s", c->err);
        return JFA_V_AUTHINFO_UNAVAIL;
    case JFA_LOCKOUT_TLS:
        /* c->last_status says JFA_ERR_TLS: the callers must not go offline */
        jfa_logf(f->log, LOG_ERR,
                 "refusing '%s': Jellyfin's TLS certificate failed "
                 "verification, the password was not sent: %s",
                 f->user_esc, c->err);
        step(f, "guard", JFA_STEP_STOP, guard_rule,
             "the server's certificate failed verification (no offline login): %s", c->err);
        return JFA_V_AUTHINFO_UNAVAIL;
    case JFA_LOCKOUT_ERROR:
        /* fail closed: what made it fail (limits the caller of su set) is
         * the caller's to choose, and must not switch the guard off */
        jfa_logf(f->log, LOG_ERR,
                 "refusing '%s': the lockout guard cannot check (%s); the password was not sent",
                 f->user_esc, why);
        step(f, "guard", JFA_STEP_STOP, guard_rule, "cannot check: %s", why);
        return JFA_V_SYSTEM_ERR;
    case JFA_LOCKOUT_NO_KEY:
        jfa_logf(f->log, LOG_DEBUG, "lockout guard skipped for '%s': %s", f->user_esc, why);
        step(f, "guard", JFA_STEP_INFO, guard_rule, "skipped: %s", why);
        return JFA_V_SUCCESS;
    case JFA_LOCKOUT_SKIPPED:
        jfa_logf(f->log, info.limit == 1 ? LOG_NOTICE : LOG_WARNING,
                 "lockout guard skipped for '%s': %s", f->user_esc, why);
        step(f, "guard", JFA_STEP_INFO, guard_rule, "skipped: %s", why);
        return JFA_V_SUCCESS;
    case JFA_LOCKOUT_OFF:
        step(f, "guard", JFA_STEP_INFO, guard_rule, "off (lockout_guard = no)");
        return JFA_V_SUCCESS;
    case JFA_LOCKOUT_SEND:
    default:
        if (info.limit < 0)
            step(f, "guard", JFA_STEP_PASS, guard_rule,
                 "%d failed logins, no lockout set in Jellyfin", info.count);
        else
            step(f, "guard", JFA_STEP_PASS, guard_rule,
                 "%d failed logins, Jellyfin disables the account at %d", info.count, info.limit);
        return JFA_V_SUCCESS;
    }
}

uint32_t jfa_flow_policy_flags(const struct jfa_policy *pol)
{
    uint32_t fl = 0;

    if (pol->is_administrator)
        fl |= JFA_DBU_ADMIN;
    if (pol->is_disabled)
        fl |= JFA_DBU_DISABLED;
    if (pol->is_hidden)
        fl |= JFA_DBU_HIDDEN;
    if (!pol->enable_remote_access)
        fl |= JFA_DBU_NO_REMOTE;
    return fl;
}

static const char offline_rule[] =
    "only when the server is unreachable, a password matching the verifier of the last online "
    "login (younger than offline_max_age) is accepted";

/* Explain: the verifier's age and expiry, without a password. */
static void verifier_step(struct jfa_flow *f, enum jfa_step_result result)
{
    char err[JFA_ERRLEN];
    time_t when = 0, now = time(NULL);
    uint32_t fl = 0;
    int r;

    if (f->cfg->offline_max_age <= 0) {
        step(f, "offline", result, offline_rule, "off (offline_max_age = 0)");
        return;
    }
    r = jfa_state_verifier_info(f->private_dir, f->dbu->jf_id, &when, &fl, err, sizeof(err));
    if (r == JFA_ABSENT)
        step(f, "offline", result, offline_rule,
             "no verifier (no online login since the last refusal)");
    else if (r != 0)
        step(f, "offline", result, offline_rule, "verifier unusable: %s", err);
    else if (when > now || now - when > f->cfg->offline_max_age)
        step(f, "offline", result, offline_rule,
             "verifier of %lld s ago has expired (offline_max_age %ld)", (long long)(now - when),
             f->cfg->offline_max_age);
    else
        step(f, "offline", result, offline_rule, "verifier of %lld s ago, valid for %lld s more%s",
             (long long)(now - when), (long long)(f->cfg->offline_max_age - (now - when)),
             (fl & JFA_DBU_DISABLED) ? " (disabled as last seen)" : "");
}

static bool verifier_usable(struct jfa_flow *f)
{
    char err[JFA_ERRLEN];
    time_t when = 0, now = time(NULL);
    uint32_t fl = 0;

    return f->cfg->offline_max_age > 0 &&
           jfa_state_verifier_info(f->private_dir, f->dbu->jf_id, &when, &fl, err, sizeof(err)) ==
               0 &&
           when <= now && now - when <= f->cfg->offline_max_age;
}

static enum jfa_verdict offline_login(struct jfa_flow *f, const char *password)
{
    char err[JFA_ERRLEN];
    uint32_t flags = 0;
    int r;

    if (password == NULL) {
        verifier_step(f, JFA_STEP_INFO);
        return verifier_usable(f) ? JFA_V_UNDECIDED : JFA_V_AUTHINFO_UNAVAIL;
    }
    if (f->cfg->offline_max_age <= 0) {
        step(f, "offline", JFA_STEP_STOP, offline_rule, "off (offline_max_age = 0)");
        return JFA_V_AUTHINFO_UNAVAIL;
    }
    if (jfa_caller_steers_process()) {
        jfa_logf(f->log, LOG_NOTICE,
                 "offline login for '%s' refused: Jellyfin did not answer, but this set-id "
                 "program was started by uid %u, who can make it fail to (limits, signals); "
                 "offline logins are for logins started by root (sshd, login)",
                 f->user_esc, (unsigned)getuid());
        step(f, "offline", JFA_STEP_STOP, offline_rule,
             "not in a set-id program started by uid %u: its caller can make the server look "
             "unreachable",
             (unsigned)getuid());
        return JFA_V_AUTHINFO_UNAVAIL;
    }
    r = jfa_state_check_verifier(f->private_dir, f->dbu->jf_id, password, f->cfg->offline_max_age,
                                 &flags, err, sizeof(err));
    if (r == JFA_VERIFIER_MISMATCH) {
        jfa_logf(f->log, LOG_NOTICE,
                 "offline login for '%s' refused: password does not match the last one used",
                 f->user_esc);
        step(f, "offline", JFA_STEP_STOP, offline_rule,
             "the password does not match the verifier (a failure is counted)");
        f->password_judged = true;
        return JFA_V_AUTH_ERR;
    }
    if (r != JFA_VERIFIER_MATCH) {
        if (r == JFA_ABSENT)
            jfa_logf(f->log, LOG_INFO, "no recent offline verifier for '%s'", f->user_esc);
        else
            jfa_logf(f->log, LOG_INFO, "offline verifier unusable: %s", err);
        step(f, "offline", JFA_STEP_STOP, offline_rule, "%s",
             r == JFA_ABSENT ? "no recent verifier" : err);
        return JFA_V_AUTHINFO_UNAVAIL;
    }
    if ((flags | f->dbu->flags) & JFA_DBU_DISABLED) {
        jfa_logf(f->log, LOG_NOTICE, "offline login for '%s' refused: account disabled",
                 f->user_esc);
        step(f, "offline", JFA_STEP_STOP, offline_rule,
             "the password matches, but the account is disabled (as last seen)");
        return JFA_V_ACCT_EXPIRED;
    }
    jfa_logf(f->log, LOG_NOTICE,
             "offline login for '%s': Jellyfin unreachable, password "
             "matched the verifier of the last online login",
             f->user_esc);
    step(f, "offline", JFA_STEP_STOP, offline_rule,
         "the password matches the verifier of the last online login");
    f->password_judged = true;
    clear_attempts(f);
    f->login_flags = flags;
    f->have_login_flags = true;
    return f->keep != NULL ? f->keep(f->keep_ctx, NULL, flags) : JFA_V_SUCCESS;
}

static enum jfa_verdict accepted(struct jfa_flow *f, struct jfa_client *c,
                                 struct jfa_auth_result *res, const char *password)
{
    char err[JFA_ERRLEN], esc[128];
    uint32_t flags = jfa_flow_policy_flags(&res->user.policy);

    f->password_judged = true;
    if (strcmp(res->user.id, f->dbu->jf_id) != 0) {
        jfa_logf(f->log, LOG_ERR,
                 "refusing '%s': the server answered for another account (Id %s, expected %s)",
                 f->user_esc, res->user.id, f->dbu->jf_id);
        step(f, "answer", JFA_STEP_STOP, "the answer must be for the database's user Id",
             "200 for Id %s, expected %s: refused, token logged out", res->user.id, f->dbu->jf_id);
        (void)jfa_logout(c, res->access_token);
        return JFA_V_AUTH_ERR;
    }
    if (strcasecmp(res->user.name, f->dbu->jf_name) != 0)
        jfa_logf(f->log, LOG_NOTICE,
                 "'%s' is now called '%s' in Jellyfin; run 'jellyfin-auth sync'", f->user_esc,
                 jfa_log_escape(esc, sizeof(esc), res->user.name));
    clear_attempts(f);
    (void)jfa_state_rejected_clear(f->private_dir, f->dbu->jf_id);
    if (f->cfg->offline_max_age > 0 &&
        jfa_state_put_verifier(f->private_dir, f->dbu->jf_id, password, flags, err, sizeof(err)))
        jfa_logf(f->log, LOG_INFO, "offline verifier not stored: %s", err);
    f->login_flags = flags;
    f->have_login_flags = true;
    if (flags & JFA_DBU_DISABLED) {
        jfa_logf(f->log, LOG_NOTICE, "refusing '%s': account disabled in Jellyfin", f->user_esc);
        step(f, "answer", JFA_STEP_STOP, "a disabled account is refused",
             "200, but the policy says disabled: token logged out");
        (void)jfa_logout(c, res->access_token);
        return JFA_V_ACCT_EXPIRED;
    }
    jfa_logf(f->log, LOG_INFO, "authenticated '%s' against Jellyfin", f->user_esc);
    step(f, "answer", JFA_STEP_PASS, "Jellyfin decides the password",
         "200: password accepted (counters cleared, verifier stored)");
    if (f->on_accepted != NULL)
        f->on_accepted(f->accepted_ctx, password, flags);
    return f->keep != NULL ? f->keep(f->keep_ctx, res->access_token, flags) : JFA_V_SUCCESS;
}

/* A 401: if the refused password is the one the verifier holds, the
 * password has changed in Jellyfin and the verifier goes. Any other
 * refused password says nothing about it: it stays, so that the lockout
 * guard can still let the right password through one failure from the
 * limit after a typo. (One yescrypt check per 401 when a verifier exists.) */
static void drop_verifier_if_refused(struct jfa_flow *f, const char *password)
{
    char err[JFA_ERRLEN];
    uint32_t fl = 0;
    int r = -1;

    if (f->cfg->offline_max_age > 0)
        r = jfa_state_check_verifier(f->private_dir, f->dbu->jf_id, password,
                                     f->cfg->offline_max_age, &fl, err, sizeof(err));
    if (r == JFA_VERIFIER_MISMATCH) {
        jfa_logf(f->log, LOG_DEBUG,
                 "offline verifier of '%s' kept: the refused password is not the one it holds",
                 f->user_esc);
        return;
    }
    (void)jfa_state_drop_verifier(f->private_dir, f->dbu->jf_id);
}

/* Explain: can each configured server be reached? (GET /System/Info/Public) */
static bool probe_servers(struct jfa_flow *f)
{
    struct jfa_config one;
    bool any = false;
    size_t i;

    for (i = 0; i < f->cfg->n_urls; i++) {
        struct jfa_client c;
        struct jfa_system_info info;
        enum jfa_status st;
        char esc[256];

        one = *f->cfg;
        one.urls[0] = f->cfg->urls[i];
        one.n_urls = 1;
        jfa_log_escape(esc, sizeof(esc), f->cfg->urls[i]);
        if (jfa_client_init(&c, &one, f->log, "pam_jellyfin", f->dbu->jf_id) != 0)
            continue;
        memset(&info, 0, sizeof(info));
        st = jfa_system_info(&c, &info);
        if (st == JFA_OK) {
            char name[128], ver[64];
            any = true;
            step(f, "server", JFA_STEP_INFO, "the urls are tried in order",
                 "%s: reachable (\"%s\" %s)", esc,
                 jfa_log_escape(name, sizeof(name), info.server_name ? info.server_name : ""),
                 jfa_log_escape(ver, sizeof(ver), info.version ? info.version : ""));
        } else
            step(f, "server", JFA_STEP_INFO, "the urls are tried in order", "%s: %s: %s", esc,
                 jfa_status_str(st), c.err);
        jfa_system_info_free(&info);
    }
    return any;
}

static enum jfa_verdict online_login(struct jfa_flow *f, const char *password)
{
    struct jfa_client c;
    struct jfa_auth_result res;
    enum jfa_status st;
    enum jfa_verdict v;

    bool reachable = true;

    memset(&res, 0, sizeof(res));
    if (f->explain)
        reachable = probe_servers(f);
    if (jfa_client_init(&c, f->cfg, f->log, "pam_jellyfin", f->dbu->jf_id) != 0)
        return JFA_V_BUF_ERR;
    v = jfa_flow_guard(f, &c, password);
    if (v == JFA_V_AUTHINFO_UNAVAIL && c.last_status == JFA_ERR_TLS)
        return v; /* logged by the guard; never offline */
    if (v == JFA_V_AUTHINFO_UNAVAIL) {
        jfa_logf(f->log, LOG_WARNING, "Jellyfin unreachable: %s", c.err);
        return offline_login(f, password);
    }
    if (v != JFA_V_SUCCESS) {
        /* explain without a password: the verifier decides */
        if (password == NULL && f->cfg->offline_max_age > 0 && verifier_usable(f)) {
            verifier_step(f, JFA_STEP_INFO);
            return JFA_V_UNDECIDED;
        }
        return v;
    }
    if (password == NULL && !reachable) {
        step(f, "send", JFA_STEP_INFO, "Jellyfin decides the password",
             "the password would be sent, but no server answers: the offline verifier decides");
        return offline_login(f, NULL);
    }
    if (password == NULL) {
        if (f->explain)
            verifier_step(f, JFA_STEP_INFO);
        step(f, "send", JFA_STEP_INFO, "Jellyfin decides the password",
             "the password would be sent to Jellyfin now (nothing was sent)");
        return JFA_V_UNDECIDED;
    }
    f->password_sent = true;
    st = jfa_authenticate(&c, f->dbu->jf_name, password, &res);
    switch (st) {
    case JFA_OK:
        v = accepted(f, &c, &res, password);
        break;
    case JFA_ERR_AUTH:
        jfa_logf(f->log, LOG_NOTICE, "authentication failure for '%s': wrong password",
                 f->user_esc);
        step(f, "answer", JFA_STEP_STOP, "Jellyfin decides the password",
             "401: wrong password (a failure is counted, the password remembered as refused; "
             "the verifier goes if it holds this password)");
        drop_verifier_if_refused(f, password);
        f->password_judged = true;
        remember_rejected(f, password);
        v = JFA_V_AUTH_ERR;
        break;
    case JFA_ERR_FORBIDDEN:
        (void)jfa_state_drop_verifier(f->private_dir, f->dbu->jf_id);
        f->password_judged = true;
        if (f->dbu->flags & JFA_DBU_DISABLED) {
            jfa_logf(f->log, LOG_NOTICE, "refusing '%s': account disabled in Jellyfin",
                     f->user_esc);
            step(f, "answer", JFA_STEP_STOP, "Jellyfin decides the password",
                 "403, and the database says disabled");
            v = JFA_V_ACCT_EXPIRED;
        } else {
            jfa_logf(f->log, LOG_NOTICE,
                     "Jellyfin refused '%s' (403): disabled, locked out, remote access "
                     "denied, outside the access schedule, or a device or session limit",
                     f->user_esc);
            step(f, "answer", JFA_STEP_STOP, "Jellyfin decides the password",
                 "403: disabled, locked out, remote access denied, schedule, device or session "
                 "limit");
            v = JFA_V_AUTH_ERR;
        }
        break;
    case JFA_ERR_UNAVAILABLE:
        jfa_logf(f->log, LOG_WARNING, "Jellyfin unreachable: %s", c.err);
        step(f, "answer", JFA_STEP_INFO, "Jellyfin decides the password", "unreachable: %s", c.err);
        v = offline_login(f, password);
        break;
    case JFA_ERR_TLS:
        /* a man in the middle is not a server that is down: no offline login */
        jfa_logf(f->log, LOG_ERR,
                 "cannot authenticate '%s': Jellyfin's TLS certificate failed verification, "
                 "no offline login: %s",
                 f->user_esc, c.err);
        step(f, "answer", JFA_STEP_STOP, "a certificate failure is not an unreachable server",
             "TLS certificate verification failed (no offline login): %s", c.err);
        v = JFA_V_AUTHINFO_UNAVAIL;
        break;
    case JFA_ERR_BADREQ:
        jfa_logf(f->log, LOG_ERR,
                 "Jellyfin rejected our request as malformed (%s): check that url points at "
                 "the server's base URL and that the server is 10.10 or later",
                 c.err);
        step(f, "answer", JFA_STEP_STOP, "Jellyfin decides the password", "400: %s", c.err);
        v = JFA_V_AUTHINFO_UNAVAIL;
        break;
    default:
        jfa_logf(f->log, LOG_ERR, "cannot authenticate '%s': %s: %s", f->user_esc,
                 jfa_status_str(st), c.err);
        step(f, "answer", JFA_STEP_STOP, "Jellyfin decides the password", "%s: %s",
             jfa_status_str(st), c.err);
        v = JFA_V_AUTHINFO_UNAVAIL;
        break;
    }
    jfa_auth_result_free(&res);
    return v;
}

enum jfa_verdict jfa_flow_authenticate(struct jfa_flow *f, const char *password)
{
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    enum jfa_verdict v;
    bool counted = false;

    f->password_sent = false;
    f->password_judged = false;
    f->have_login_flags = false;
    f->login_flags = 0;
    if (password == NULL) {
        step(f, "password", JFA_STEP_INFO,
             "empty passwords are refused unless nullok; over 1024 "
             "bytes always",
             "not given: nothing is sent or recorded");
    } else if (password[0] == '\0' && !f->nullok) {
        jfa_logf(f->log, LOG_NOTICE, "empty password refused for '%s' (nullok not set)",
                 f->user_esc);
        step(f, "password", JFA_STEP_STOP, "empty passwords are refused unless nullok",
             "empty, and nullok is not set");
        return JFA_V_AUTH_ERR;
    } else if (strlen(password) > JFA_PASSWORD_MAX) {
        jfa_logf(f->log, LOG_NOTICE, "password for '%s' refused: longer than %d bytes", f->user_esc,
                 JFA_PASSWORD_MAX);
        step(f, "password", JFA_STEP_STOP, "passwords over 1024 bytes are refused",
             "longer than %d bytes", JFA_PASSWORD_MAX);
        return JFA_V_AUTH_ERR;
    } else {
        step(f, "password", JFA_STEP_PASS, "empty passwords are refused unless nullok",
             "given (%s)", password[0] == '\0' ? "empty, nullok set" : "not empty");
    }
    set_host_key(f);
    /* Held until every outcome is recorded (throttle, verifier, refused
     * password): a parallel login of the same user then reads the throttle
     * record and the live failure count only after this one's answer. */
    if (password == NULL) {
        peek_lock(f);
    } else {
        v = jfa_flow_login_lock(f, &lock);
        if (v != JFA_V_SUCCESS)
            goto out;
    }
    if (password == NULL) {
        /* explain without a password: read, never count */
        if (throttled(f)) {
            v = JFA_V_AUTH_ERR;
            goto out;
        }
    } else {
        v = begin_attempt(f);
        if (v != JFA_V_SUCCESS)
            goto out;
        counted = true;
    }
    if (rejected_before(f, password))
        v = JFA_V_AUTH_ERR; /* not judged: its count is taken back */
    else
        v = online_login(f, password);
    if (counted)
        settle_attempt(f, v);
out:
    jfa_state_unlock(&lock);
    return v;
}

/* ---- the remote host (design.md "Remote host") ---- */

bool jfa_flow_rhost_inside(struct jfa_flow *f)
{
    unsigned char addr[16];
    char esc[128], svc[64];
    enum jfa_rhost_kind kind;

    f->rhost_unconfirmed = false;
    memset(addr, 0, sizeof(addr));
    /* none or a host name: never inside; an address outside local_networks
     * needs no answer from the sockets (the scan is the costly part) */
    if (f->rhost == NULL || jfa_addr_parse(f->rhost, addr) != 0 ||
        !jfa_cidr_list_contains(f->cfg->local_networks, f->cfg->n_local_networks, addr))
        return false;
    kind = f->rhost_assume_peer ? JFA_RHOST_PEER : jfa_rhost_classify(f->rhost, addr);
    if (kind == JFA_RHOST_PEER)
        return true;
    f->rhost_unconfirmed = true;
    if (f->rhost_noted == NULL || strcmp(f->rhost_noted, f->rhost) != 0) {
        f->rhost_noted = f->rhost; /* logged once per login and host */
        jfa_log_escape(esc, sizeof(esc), f->rhost);
        jfa_log_escape(svc, sizeof(svc), f->service != NULL ? f->service : "");
        jfa_logf(f->log, LOG_NOTICE,
                 "the remote host %s that service '%s' gave is not the address of a connection "
                 "this process holds (a name a reverse lookup returned?): taken as a host outside "
                 "local_networks",
                 esc, svc);
    }
    return false;
}

/* The data of a refusal by an unconfirmed address ("" otherwise). */
static const char *unconfirmed_note(const struct jfa_flow *f)
{
    return f->rhost_unconfirmed ? " (not the address of a connection this process holds: a name "
                                  "a reverse lookup returned?)"
                                : "";
}

/* ---- Quick Connect (an empty answer instead of a password) ---- */

static const char qc_rule[] =
    "an empty password answer asks for a Quick Connect code when quick_connect offers it to "
    "this host (local: no remote host, or one in local_networks), nullok is not set, and no "
    "other user started this set-id program";
static const char qc_answer_rule[] =
    "the code must be approved within quick_connect_timeout, as the user's own Jellyfin "
    "account, which must be enabled and allowed from this host";

/* Is Quick Connect offered to this login by nullok and the configuration? */
static bool qc_offered(struct jfa_flow *f)
{
    const char *rhost = f->rhost != NULL ? f->rhost : "";
    char esc[128];

    if (f->nullok) {
        step(f, "quick-connect", JFA_STEP_STOP, qc_rule,
             "not offered: nullok is set, an empty answer is an empty password");
        return false;
    }
    if (f->cfg->quick_connect == JFA_QC_NO) {
        step(f, "quick-connect", JFA_STEP_STOP, qc_rule, "not offered: quick_connect = no");
        return false;
    }
    /* Inside su run by another user the code would be shown to that user,
     * who needs only to talk the account's owner into approving it. */
    if (jfa_caller_steers_process() && getuid() != (uid_t)f->dbu->uid) {
        jfa_logf(f->log, LOG_NOTICE,
                 "Quick Connect not offered to '%s': this set-id program was started by uid %u, "
                 "who would be shown the code",
                 f->user_esc, (unsigned)getuid());
        step(f, "quick-connect", JFA_STEP_STOP, qc_rule,
             "not offered: a set-id program started by uid %u, not by '%s'", (unsigned)getuid(),
             f->user_esc);
        return false;
    }
    jfa_log_escape(esc, sizeof(esc), rhost);
    if (f->cfg->quick_connect == JFA_QC_LOCAL && rhost[0] != '\0' && !jfa_flow_rhost_inside(f)) {
        jfa_logf(f->log, LOG_INFO,
                 "Quick Connect not offered to '%s': %s is outside local_networks%s "
                 "(quick_connect = local)",
                 f->user_esc, esc, unconfirmed_note(f));
        step(f, "quick-connect", JFA_STEP_STOP, qc_rule,
             "not offered: %s is outside local_networks%s (quick_connect = local)", esc,
             unconfirmed_note(f));
        return false;
    }
    if (f->cfg->quick_connect == JFA_QC_YES)
        step(f, "quick-connect", JFA_STEP_PASS, qc_rule,
             "offered to every host (quick_connect = yes)");
    else if (rhost[0] == '\0')
        step(f, "quick-connect", JFA_STEP_PASS, qc_rule,
             "offered: no remote host (quick_connect = local)");
    else
        step(f, "quick-connect", JFA_STEP_PASS, qc_rule,
             "offered: %s is inside local_networks (quick_connect = local)", esc);
    return true;
}

/* Map a failed Quick Connect call to a verdict (logged). */
static enum jfa_verdict qc_failed(struct jfa_flow *f, struct jfa_client *c, enum jfa_status st,
                                  const char *what)
{
    if (st == JFA_ERR_NOTFOUND) {
        jfa_logf(f->log, LOG_NOTICE, "Quick Connect for '%s': %s: the request expired", f->user_esc,
                 what);
        step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule, "%s: the request expired", what);
        return JFA_V_AUTH_ERR;
    }
    jfa_logf(f->log, st == JFA_ERR_UNAVAILABLE ? LOG_WARNING : LOG_ERR,
             "Quick Connect for '%s': %s: %s: %s", f->user_esc, what, jfa_status_str(st), c->err);
    step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule, "%s: %s: %s", what, jfa_status_str(st),
         c->err);
    return st == JFA_ERR_UNAVAILABLE ? JFA_V_AUTHINFO_UNAVAIL : JFA_V_AUTH_ERR;
}

/* Under the user's login lock, as a password attempt: count the request
 * as a failure of the user and of the host (begin_attempt), or refuse it
 * when either is throttled; then ask the server whether Quick Connect is
 * on (*offered false when it is off). A request that is not made (the
 * switch off, the question failed: nothing was sent that could be a
 * guess) takes its counts back. SUCCESS to initiate. */
static enum jfa_verdict qc_admit(struct jfa_flow *f, struct jfa_client *c, bool *offered)
{
    static const char rule[] = "the server's Quick Connect switch (GET /QuickConnect/Enabled)";
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    enum jfa_status st;
    enum jfa_verdict v;
    bool on = false;

    v = jfa_flow_login_lock(f, &lock);
    if (v != JFA_V_SUCCESS)
        goto out;
    v = begin_attempt(f);
    if (v != JFA_V_SUCCESS)
        goto out;
    st = jfa_qc_enabled(c, &on);
    if (st != JFA_OK) {
        v = qc_failed(f, c, st, "GET /QuickConnect/Enabled");
    } else if (!on) {
        jfa_logf(f->log, LOG_INFO, "Quick Connect not offered to '%s': it is off on the server",
                 f->user_esc);
        step(f, "qc-server", JFA_STEP_STOP, rule,
             "off on the server: an empty answer is an empty password (not counted)");
        *offered = false;
        v = JFA_V_AUTH_ERR;
    } else {
        step(f, "qc-server", JFA_STEP_PASS, rule, "on");
    }
    if (v != JFA_V_SUCCESS)
        undo_attempt(f);
out:
    jfa_state_unlock(&lock);
    return v;
}

/* The checks Jellyfin leaves to us: the approver is the user, enabled,
 * and allowed from this host by the server's own policy (GET /Users/Me
 * with the new token: 403 for no remote access or outside the access
 * schedule). SUCCESS with *flags; on a refusal the token is logged out. */
static enum jfa_verdict qc_check(struct jfa_flow *f, struct jfa_client *c,
                                 struct jfa_auth_result *res, uint32_t *flags)
{
    struct jfa_user me;
    enum jfa_status st;
    enum jfa_verdict v = JFA_V_AUTH_ERR;

    memset(&me, 0, sizeof(me));
    *flags = jfa_flow_policy_flags(&res->user.policy);
    if (strcmp(res->user.id, f->dbu->jf_id) != 0) {
        jfa_logf(f->log, LOG_ERR,
                 "refusing '%s': the Quick Connect code was approved as another Jellyfin account "
                 "(Id %s, expected %s); its token is logged out",
                 f->user_esc, res->user.id, f->dbu->jf_id);
        step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule,
             "approved as another Jellyfin account (Id %s, expected %s): refused, token logged "
             "out",
             res->user.id, f->dbu->jf_id);
        if (f->tell != NULL)
            f->tell(f->conv_ctx, "The code was approved for another Jellyfin account.");
        goto out;
    }
    /* What AuthenticateByName would have refused from this host: the
     * server's [Authorize] policy on the new token says it */
    if (!(*flags & JFA_DBU_DISABLED)) {
        st = jfa_get_me(c, res->access_token, &me);
        if (st == JFA_OK && strcmp(me.id, f->dbu->jf_id) == 0) {
            *flags |= jfa_flow_policy_flags(&me.policy);
        } else if (st == JFA_ERR_FORBIDDEN) {
            jfa_logf(f->log, LOG_NOTICE,
                     "refusing '%s': Jellyfin refuses this account's token from this host (403: "
                     "remote access denied or outside the access schedule)",
                     f->user_esc);
            step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule,
                 "approved, but Jellyfin refuses the new token from this host (403): token "
                 "logged out");
            goto out;
        } else {
            jfa_logf(f->log, LOG_ERR, "refusing '%s': cannot check the Quick Connect token: %s%s",
                     f->user_esc, jfa_status_str(st), st == JFA_OK ? " (another account)" : c->err);
            step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule,
                 "approved, but the new token cannot be checked: %s%s", jfa_status_str(st),
                 st == JFA_OK ? " (another account)" : c->err);
            v = st == JFA_ERR_UNAVAILABLE ? JFA_V_AUTHINFO_UNAVAIL : JFA_V_AUTH_ERR;
            goto out;
        }
    }
    if (*flags & JFA_DBU_DISABLED) {
        jfa_logf(f->log, LOG_NOTICE, "refusing '%s': account disabled in Jellyfin", f->user_esc);
        step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule,
             "approved, but the policy says disabled: token logged out");
        v = JFA_V_ACCT_EXPIRED;
        goto out;
    }
    v = JFA_V_SUCCESS;
out:
    if (v != JFA_V_SUCCESS && jfa_logout(c, res->access_token) != JFA_OK)
        jfa_logf(f->log, LOG_WARNING, "cannot log out the refused Quick Connect token: %s", c->err);
    jfa_user_free(&me);
    return v;
}

/* A request we give up on: if it was approved meanwhile, Jellyfin has
 * already made a token for it; redeem that token and log it out. Also
 * after a failed wait or redeem (why: st): an answer lost to a deadline, a
 * 5xx, or the caller of su stopping or limiting it once the code may have
 * been approved; the token would otherwise outlive the refused login.
 * Not for an expired or unknown secret (404): no token can follow. */
static void qc_discard(struct jfa_flow *f, struct jfa_client *c, struct jfa_quick_connect *q,
                       enum jfa_status why)
{
    struct jfa_auth_result res;

    memset(&res, 0, sizeof(res));
    if (why == JFA_ERR_NOTFOUND || jfa_qc_check(c, q) != JFA_OK || !q->authenticated)
        return;
    if (jfa_qc_redeem(c, q, &res) == JFA_OK) {
        if (jfa_logout(c, res.access_token) == JFA_OK)
            jfa_logf(f->log, LOG_INFO,
                     "the abandoned Quick Connect request of '%s' had been approved: its token is "
                     "logged out",
                     f->user_esc);
        else
            jfa_logf(f->log, LOG_WARNING,
                     "cannot log out the token of an abandoned Quick Connect request: %s", c->err);
    }
    jfa_auth_result_free(&res);
}

/* A success clears the counts as a password's does, and under the user's
 * login lock as every update of a user's record (state.h): the lock was
 * released for the wait, and a password attempt of the same user may hold
 * it now. Without it the records stay (logged): the login goes on. */
static void qc_clear_attempts(struct jfa_flow *f)
{
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    char err[JFA_ERRLEN];

    if (take_user_lock(f, f->cfg->timeout * 1000L, &lock, err, sizeof(err)) != 0) {
        jfa_logf(f->log, jfa_flow_privileged(f->cfg) ? LOG_NOTICE : LOG_DEBUG,
                 "the failures counted for '%s' are not cleared: no login lock: %s", f->user_esc,
                 err);
        return;
    }
    clear_attempts(f);
    jfa_state_unlock(&lock);
}

enum jfa_verdict jfa_flow_quick_connect(struct jfa_flow *f, bool *offered)
{
    struct jfa_quick_connect q;
    struct jfa_auth_result res;
    struct jfa_client c;
    struct timespec deadline;
    enum jfa_status st;
    enum jfa_verdict v;
    uint32_t flags = 0;
    size_t n;

    memset(&q, 0, sizeof(q));
    memset(&res, 0, sizeof(res));
    *offered = false;
    f->password_sent = false;
    f->password_judged = false;
    f->have_login_flags = false;
    f->login_flags = 0;
    if (!qc_offered(f))
        return JFA_V_AUTH_ERR;
    *offered = true;
    if (jfa_client_init(&c, f->cfg, f->log, "pam_jellyfin", f->dbu->jf_id) != 0) {
        jfa_logf(f->log, LOG_ERR, "Quick Connect for '%s': %s", f->user_esc, c.err);
        return JFA_V_BUF_ERR;
    }
    /* Device names the host and the service, for the approver's device list */
    n = strlen(c.device);
    snprintf(c.device + n, sizeof(c.device) - n, " (%s)",
             f->service != NULL && f->service[0] != '\0' ? f->service : "pam");
    set_host_key(f);
    f->qc = true;
    v = qc_admit(f, &c, offered);
    if (v != JFA_V_SUCCESS)
        goto out;
    st = jfa_qc_initiate(&c, &q);
    if (st != JFA_OK) {
        v = qc_failed(f, &c, st, "initiate");
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += f->cfg->quick_connect_timeout;
    jfa_logf(f->log, LOG_INFO, "Quick Connect requested for '%s'; waiting up to %ld s", f->user_esc,
             f->cfg->quick_connect_timeout);
    if (f->show_code == NULL || !f->show_code(f->conv_ctx, q.code, f->dbu->jf_name)) {
        step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule,
             "the code was not shown, or the user cancelled");
        qc_discard(f, &c, &q, JFA_OK);
        v = JFA_V_AUTH_ERR;
        goto out;
    }
    st = jfa_qc_wait(&c, &q, &deadline, JFA_QC_POLL_INTERVAL);
    if (st != JFA_OK) {
        v = qc_failed(f, &c, st, "waiting for the approval");
        qc_discard(f, &c, &q, st);
        goto out;
    }
    if (!q.authenticated) {
        jfa_logf(f->log, LOG_NOTICE, "Quick Connect for '%s' not approved within %ld s",
                 f->user_esc, f->cfg->quick_connect_timeout);
        step(f, "qc-answer", JFA_STEP_STOP, qc_answer_rule, "not approved within %ld s",
             f->cfg->quick_connect_timeout);
        if (f->tell != NULL)
            f->tell(f->conv_ctx, "The Quick Connect code was not approved in time.");
        v = JFA_V_AUTH_ERR;
        goto out;
    }
    st = jfa_qc_redeem(&c, &q, &res);
    if (st != JFA_OK) {
        v = qc_failed(f, &c, st, "redeeming the approved request");
        qc_discard(f, &c, &q, st);
        goto out;
    }
    v = qc_check(f, &c, &res, &flags);
    if (v != JFA_V_SUCCESS)
        goto out;
    qc_clear_attempts(f);
    f->login_flags = flags;
    f->have_login_flags = true;
    jfa_logf(f->log, LOG_INFO, "authenticated '%s' with Jellyfin Quick Connect", f->user_esc);
    step(f, "qc-answer", JFA_STEP_PASS, qc_answer_rule,
         "approved as the user's own account (counters cleared; no verifier: no password seen)");
    v = f->keep != NULL ? f->keep(f->keep_ctx, res.access_token, flags) : JFA_V_SUCCESS;
out:
    f->qc = false;
    jfa_quick_connect_wipe(&q);
    jfa_auth_result_free(&res);
    return v;
}

/* Which source set a flag, for the log line. */
static const char *said_by(uint32_t bit, uint32_t db, uint32_t login)
{
    if ((db & bit) && (login & bit))
        return "this login and the last sync";
    return (login & bit) ? "this login" : "the last sync";
}

enum jfa_verdict jfa_flow_account(struct jfa_flow *f, uint32_t login_flags, bool have_login_flags)
{
    static const char drule[] = "a user disabled in Jellyfin (as of the last sync or of this "
                                "login) is refused";
    static const char rrule[] = "a user Jellyfin denies remote access may log in only from "
                                "local_networks";
    uint32_t lflags = have_login_flags ? login_flags : 0;
    uint32_t uflags = f->dbu->flags | lflags;
    const char *rhost = f->rhost != NULL ? f->rhost : "";
    char esc[128];

    if (uflags & JFA_DBU_DISABLED) {
        jfa_logf(f->log, LOG_NOTICE, "account of '%s' is disabled in Jellyfin (as of %s)",
                 f->user_esc, said_by(JFA_DBU_DISABLED, f->dbu->flags, lflags));
        step(f, "account-disabled", JFA_STEP_STOP, drule, "disabled (as of %s)",
             said_by(JFA_DBU_DISABLED, f->dbu->flags, lflags));
        return JFA_V_ACCT_EXPIRED;
    }
    step(f, "account-disabled", JFA_STEP_PASS, drule, "not disabled (%s)",
         have_login_flags ? "the last sync and this login" : "the last sync");
    jfa_log_escape(esc, sizeof(esc), rhost);
    if ((uflags & JFA_DBU_NO_REMOTE) && rhost[0] != '\0' && !jfa_flow_rhost_inside(f)) {
        jfa_logf(f->log, LOG_NOTICE,
                 "'%s' may not log in from %s: Jellyfin denies this user remote access (as of %s)",
                 f->user_esc, esc, said_by(JFA_DBU_NO_REMOTE, f->dbu->flags, lflags));
        step(f, "account-remote", JFA_STEP_STOP, rrule,
             "remote access denied (as of %s) and %s is outside local_networks%s",
             said_by(JFA_DBU_NO_REMOTE, f->dbu->flags, lflags), esc, unconfirmed_note(f));
        return JFA_V_PERM_DENIED;
    }
    if (!(uflags & JFA_DBU_NO_REMOTE))
        step(f, "account-remote", JFA_STEP_PASS, rrule, "remote access allowed");
    else if (rhost[0] == '\0')
        step(f, "account-remote", JFA_STEP_PASS, rrule,
             "remote access denied, but no remote host (a local login)");
    else
        step(f, "account-remote", JFA_STEP_PASS, rrule,
             "remote access denied, but %s is inside local_networks", esc);
    return JFA_V_SUCCESS;
}
