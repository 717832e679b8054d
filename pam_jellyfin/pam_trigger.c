/*
 * pam_trigger.c - a sync started by a login of an unknown user.
 *
 * Owns: jfa_pam_trigger_sync: when a privileged login (real and effective
 * uid 0: sshd, login, vsftpd; never the caller of a setuid program) names
 * a user that could be a Jellyfin user but is neither local nor in the
 * users database, start `jellyfin-auth sync --quiet` in the background,
 * at most once per JFA_TRIGGER_INTERVAL seconds (a stamp file under the
 * private directory, updated under flock), so that a user just created in
 * Jellyfin can log in at the next attempt. The NSS module never touches the
 * network; this is the only way a login reaches the sync.
 *
 * What the first attempt sees: sshd looks the user up (NSS) before PAM and
 * refuses an unknown user whatever the password, so the attempt that
 * starts the sync fails; the next connection, once the sync has written
 * the database (about a second), succeeds. The child is detached (double
 * fork, setsid, stdio on /dev/null, every other descriptor closed, a fixed
 * environment, an absolute compiled-in path): nothing of the login process
 * reaches the sync, and the login does not wait for it.
 *
 * The host process must not notice: daemons keep SIGCHLD handlers that
 * assume they know all their children (vsftpd's privileged session
 * process ends the session when "its" child dies; e2e-ftp.sh hung with a
 * plain fork()). So the intermediate child is created with the raw clone
 * system call and exit signal 0: its end raises no SIGCHLD, and a host's
 * waitpid(-1) without __WCLONE never sees it; we reap it with __WCLONE.
 * The raw call also skips glibc's fork handlers (pthread_atfork: the
 * NSS module's, the host's), which could block on a lock another thread of
 * the host holds. Between clone and execve only async-signal-safe system
 * call wrappers run. The grandchild is orphaned at once (reparented,
 * exit signal SIGCHLD) and reaped by init.
 */
#include "jfaconf.h"

#include "pam_common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "namemap.h"

#ifndef JFA_TOOL_PATH
#define JFA_TOOL_PATH "/usr/sbin/jellyfin-auth"
#endif
#define TRIGGER_FILE "sync-trigger"

/* Could a Jellyfin user have this login name (once folded)? The grammar
 * of a mapped name, jfa_name_valid (lib/util.c). */
static bool plausible(const char *name)
{
    char folded[JFA_NAME_MAX];
    size_t i;

    for (i = 0; name[i] != '\0'; i++) {
        if (i >= JFA_NAME_MAX)
            return false;
        folded[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
    }
    return jfa_name_valid_n(folded, i);
}

/*
 * The rate limit: may a sync start now? Takes the stamp file's lock
 * without waiting (another login deciding right now: no), reads its mtime
 * and sets it to now when the interval has passed. 1 yes, 0 no (*ago set
 * to the age of the last start), -1 error (logged).
 */
static int claim_slot(struct jfa_pam *p, time_t now, long *ago)
{
    char *path = NULL;
    struct stat st;
    int fd = -1, ret = -1;

    if (asprintf(&path, "%s/%s", p->private_dir, TRIGGER_FILE) < 0) {
        path = NULL;
        goto out;
    }
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
    if (fd < 0) {
        jfa_logf(&p->log, LOG_WARNING, "sync trigger: cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
        (st.st_mode & 077) != 0) {
        jfa_logf(&p->log, LOG_WARNING,
                 "sync trigger: %s is not a private regular file of root; not used", path);
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        *ago = 0;
        ret = 0;
        goto out;
    }
    *ago = (long)(now - st.st_mtim.tv_sec);
    /* a fresh file (size 0) has never started anything */
    if (st.st_size > 0 && st.st_mtim.tv_sec <= now && *ago < JFA_TRIGGER_INTERVAL) {
        ret = 0;
        goto out;
    }
    {
        char stamp[32];
        int n = snprintf(stamp, sizeof(stamp), "%lld\n", (long long)now);
        struct timespec ts[2] = {{now, 0}, {now, 0}};
        if (ftruncate(fd, 0) != 0 || pwrite(fd, stamp, (size_t)n, 0) != n ||
            futimens(fd, ts) != 0) {
            jfa_logf(&p->log, LOG_WARNING, "sync trigger: cannot update %s: %s", path,
                     strerror(errno));
            goto out;
        }
    }
    ret = 1;
out:
    if (fd >= 0)
        close(fd); /* releases the lock */
    free(path);
    return ret;
}

/* fork() at the system-call level with the given exit signal (0: none),
 * without glibc's fork handlers. */
static pid_t raw_fork(int exit_signal)
{
    return (pid_t)syscall(SYS_clone, (unsigned long)exit_signal, 0UL, NULL, NULL, 0UL);
}

/* Start the tool detached. 0 if the intermediate child reported success. */
static int spawn(const char *conf)
{
    char *argv[6] = {(char *)JFA_TOOL_PATH, (char *)"sync", (char *)"--quiet", NULL, NULL, NULL};
    char *envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *)"LC_ALL=C", NULL};
    pid_t pid, r;
    int status = 0;

    if (conf != NULL) {
        argv[3] = (char *)"--config";
        argv[4] = (char *)conf;
    }
    pid = raw_fork(0);
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* only async-signal-safe calls from here on; nothing of the
         * caller's signals, limits, umask or cwd */
        int fd;

        jfa_child_reset();
        if (setsid() < 0)
            _exit(1);
        pid = raw_fork(SIGCHLD);
        if (pid != 0)
            _exit(pid < 0 ? 1 : 0);
        fd = open("/dev/null", O_RDWR);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        jfa_child_close_fds();
        execve(JFA_TOOL_PATH, argv, envp);
        _exit(127);
    }
    do
        r = waitpid(pid, &status, __WCLONE);
    while (r < 0 && errno == EINTR);
    if (r < 0) /* reaped by someone else (a host using __WALL): nothing to learn */
        return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

void jfa_pam_trigger_sync(struct jfa_pam *p)
{
    time_t now = time(NULL);
    long ago = 0;
    int r;

    if (!p->cfg.sync_on_login || p->user == NULL || !plausible(p->user))
        return;
    if (getuid() != 0 || geteuid() != 0) {
        jfa_logf(&p->log, LOG_DEBUG, "sync trigger: not a root login (uid %u); no sync started",
                 (unsigned)getuid());
        return;
    }
    if (access(JFA_TOOL_PATH, X_OK) != 0) {
        jfa_logf(&p->log, LOG_DEBUG, "sync trigger: %s is not installed", JFA_TOOL_PATH);
        return;
    }
    r = claim_slot(p, now, &ago);
    if (r <= 0) {
        if (r == 0)
            jfa_logf(&p->log, LOG_DEBUG,
                     "sync trigger: unknown user '%s': a sync started %lds ago (at most one "
                     "every %ds)",
                     p->user_esc, ago, JFA_TRIGGER_INTERVAL);
        return;
    }
    if (spawn(p->config_path != NULL ? p->config_path : jfa_config_path()) != 0) {
        jfa_logf(&p->log, LOG_WARNING, "sync trigger: cannot start %s sync", JFA_TOOL_PATH);
        return;
    }
    jfa_logf(&p->log, LOG_INFO,
             "unknown user '%s': started '%s sync' in the background (a new Jellyfin user can "
             "log in at the next attempt)",
             p->user_esc, JFA_TOOL_PATH);
}
