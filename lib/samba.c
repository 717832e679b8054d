/*
 * samba.c - running Samba's tools, parsing pdbedit, the "already current"
 * record (see samba.h). Linked into the PAM module: everything here must
 * be safe in a multithreaded host running as root (sshd, su, vsftpd).
 *
 * Spawning: argv and envp are built before fork; the child makes only
 * async-signal-safe calls (setpgid, jfa_child_reset, dup2, jfa_child_close_fds,
 * execve) and gets a fixed environment, umask, cwd, limits and signal
 * dispositions, never the caller's (the caller of su controls them). The password goes to the
 * helper's stdin through a pipe and is wiped from our buffers afterwards. The helper runs in its
 * own process group; at the deadline the group gets SIGKILL and the child is reaped. SIGCHLD is set
 * to SIG_DFL for the call (a host's handler could reap our child), as pam_unix does around
 * unix_chkpwd.
 */
#include "jfaconf.h"

#include "samba.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fileutil.h"
#include "jfjson.h"

#define RECORD_MAGIC "jellyfin-auth samba 1"
#define RECORD_MAX 256
#define SET_OUT_CAP 4096
#define LIST_OUT_CAP (64u * 1024u * 1024u)

/* ---- helpers: trust and spawning ------------------------------------- */

int jfa_samba_check_helper(const char *helper, char *resolved, char *err, size_t errlen)
{
    char real[PATH_MAX], dir[PATH_MAX], *slash;
    struct stat st;
    uid_t euid = geteuid();

    if (helper == NULL || helper[0] != '/') {
        jfa_set_err(err, errlen, "%s: not an absolute path", helper != NULL ? helper : "(none)");
        return -1;
    }
    if (realpath(helper, real) == NULL) {
        jfa_set_err(err, errlen, "%s: %s", helper, strerror(errno));
        return -1;
    }
    if (stat(real, &st) != 0) {
        jfa_set_err(err, errlen, "%s: %s", real, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR)) {
        jfa_set_err(err, errlen, "%s: not an executable regular file", real);
        return -1;
    }
    if ((st.st_uid != 0 && st.st_uid != euid) || (st.st_mode & 022)) {
        jfa_set_err(err, errlen,
                    "%s: unsafe owner or mode (uid %u, mode %04o; must be owned by root and "
                    "not writable by group or others)",
                    real, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    /* the directory holding it must not let others replace it */
    snprintf(dir, sizeof(dir), "%s", real);
    slash = strrchr(dir, '/');
    if (slash != NULL)
        *(slash == dir ? slash + 1 : slash) = '\0';
    if (stat(dir, &st) != 0 || (st.st_uid != 0 && st.st_uid != euid) ||
        ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))) {
        jfa_set_err(err, errlen, "%s: the directory %s is writable by others or not root's", real,
                    dir);
        return -1;
    }
    if (resolved != NULL)
        memcpy(resolved, real, strlen(real) + 1);
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Child side: only async-signal-safe calls from here to execve. */
static void __attribute__((noreturn))
child(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, uid_t euid)
{
    int devnull;

    (void)setpgid(0, 0);
    /* a setuid caller (passwd, su) has a user's real uid: smbpasswd would
     * then act as that user, and shells drop the effective uid. Become
     * root entirely (raw syscalls: the child of a threaded host). */
    if (euid == 0 && (syscall(SYS_setgroups, 0, NULL) != 0 ||
                      syscall(SYS_setresgid, 0, 0, 0) != 0 || syscall(SYS_setresuid, 0, 0, 0) != 0))
        _exit(126);
    /* the caller's umask, cwd, limits (a file-size limit tearing the
     * passdb, a core of a root process), nice and signal dispositions
     * stay behind */
    jfa_child_reset();
    if (in_fd < 0) {
        devnull = open("/dev/null", O_RDONLY);
        in_fd = devnull;
    }
    if (in_fd < 0 || dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
        _exit(126);
    /* everything else the host had open stays behind */
    jfa_child_close_fds();
    execve(path, argv, envp);
    _exit(127);
}

int jfa_samba_exec(const char *helper, const char *const *argv, const char *input, size_t input_len,
                   long deadline_ms, size_t out_cap, struct jfa_samba_run *res, char *err,
                   size_t errlen)
{
    static char *const envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C", NULL};
    char path[PATH_MAX];
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    struct sigaction dfl, saved;
    sigset_t pipe_set, pending, old_mask;
    bool restore = false, reaped = false, mask_set = false, got_epipe = false;
    bool pipe_was_pending = false;
    pid_t pid = -1;
    uid_t euid = geteuid();
    size_t written = 0;
    long end;
    int ret = -1, wstatus = 0;

    memset(res, 0, sizeof(*res));
    res->status = -1;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&old_mask);
    if (jfa_samba_check_helper(helper, path, err, errlen) != 0)
        return -1;
    res->out = malloc(out_cap + 1);
    if (res->out == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    res->out[0] = '\0';
    if ((input != NULL && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0) {
        jfa_set_err(err, errlen, "pipe: %s", strerror(errno));
        goto out;
    }
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (sigaction(SIGCHLD, &dfl, &saved) == 0)
        restore = true;
    /* a helper that exits without reading its stdin must not kill the host
     * with SIGPIPE: block it for this thread, drain it if we caused it */
    sigemptyset(&pending);
    (void)sigpending(&pending);
    pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
    if (pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask) == 0)
        mask_set = true;
    end = now_ms() + deadline_ms;
    pid = fork();
    if (pid < 0) {
        jfa_set_err(err, errlen, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child(path, (char *const *)argv, envp, in[0], out[1], euid);
    (void)setpgid(pid, pid); /* either side may win the race; both ask for the same */
    close_fd(&in[0]);
    close_fd(&out[1]);
    if (in[1] >= 0)
        (void)fcntl(in[1], F_SETFL, O_NONBLOCK);
    (void)fcntl(out[0], F_SETFL, O_NONBLOCK);
    ret = 0;

    /* feed stdin, collect output, until EOF and exit or the deadline */
    for (;;) {
        struct pollfd pf[2];
        nfds_t n = 0;
        long left = end - now_ms();
        int r;

        if (!reaped) {
            pid_t w = waitpid(pid, &wstatus, WNOHANG);
            if (w == pid || (w < 0 && errno == ECHILD)) {
                reaped = true;
                if (w < 0)
                    wstatus = -1; /* somebody else reaped it: status unknown */
            }
        }
        if (reaped && out[0] < 0)
            break;
        if (left <= 0) {
            res->timed_out = true;
            break;
        }
        if (in[1] >= 0) {
            pf[n].fd = in[1];
            pf[n].events = POLLOUT;
            n++;
        }
        if (out[0] >= 0) {
            pf[n].fd = out[0];
            pf[n].events = POLLIN;
            n++;
        }
        /* wake up now and then to notice the exit of a child that closed
         * its output early */
        r = poll(pf, n, left < 50 ? (int)left : 50);
        if (r < 0 && errno != EINTR)
            break;
        for (nfds_t i = 0; r > 0 && i < n; i++) {
            if (pf[i].fd == in[1] && (pf[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                ssize_t k = write(in[1], input + written, input_len - written);
                if (k > 0)
                    written += (size_t)k;
                if (k < 0 && errno == EPIPE)
                    got_epipe = true;
                if (k < 0 && errno != EAGAIN && errno != EINTR)
                    close_fd(&in[1]);
                if (written == input_len)
                    close_fd(&in[1]);
            } else if (pf[i].fd == out[0] && (pf[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                char buf[4096];
                ssize_t k = read(out[0], buf, sizeof(buf));
                if (k > 0) {
                    size_t take = (size_t)k;
                    if (take > out_cap - res->out_len)
                        take = out_cap - res->out_len;
                    memcpy(res->out + res->out_len, buf, take);
                    res->out_len += take;
                    res->out[res->out_len] = '\0';
                    explicit_bzero(buf, (size_t)k); /* pdbedit -w prints NT hashes */
                } else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                    close_fd(&out[0]);
                }
            }
        }
        if (in[1] >= 0 && input_len == 0)
            close_fd(&in[1]);
    }
    if (!reaped) {
        /* SIGKILL to the group (the helper's children too), then reap; a
         * process stuck in the kernel (D state) is not waited for more
         * than a second: it is left to the host rather than stall a login */
        long give_up = now_ms() + 1000;

        (void)kill(-pid, SIGKILL);
        (void)kill(pid, SIGKILL);
        wstatus = -1;
        for (;;) {
            pid_t w = waitpid(pid, &wstatus, WNOHANG);
            if (w == pid)
                break;
            if ((w < 0 && errno != EINTR) || now_ms() >= give_up) {
                wstatus = -1;
                break;
            }
            (void)poll(NULL, 0, 10);
        }
        res->timed_out = true;
    }
    if (wstatus != -1 && WIFEXITED(wstatus))
        res->status = WEXITSTATUS(wstatus);
out:
    if (got_epipe && !pipe_was_pending) {
        static const struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    if (mask_set)
        (void)pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    if (restore)
        (void)sigaction(SIGCHLD, &saved, NULL);
    close_fd(&in[0]);
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&out[1]);
    if (ret != 0)
        jfa_samba_run_free(res);
    return ret;
}

void jfa_samba_run_free(struct jfa_samba_run *res)
{
    if (res->out != NULL) {
        explicit_bzero(res->out, res->out_len);
        free(res->out);
    }
    res->out = NULL;
    res->out_len = 0;
}

/* The first non-empty line of the helper's output, escaped, for a log
 * line; withheld entirely if it contains the password. */
static void first_line(const struct jfa_samba_run *res, const char *password, char *dst,
                       size_t dstlen)
{
    char line[256];
    const char *p = res->out != NULL ? res->out : "";
    size_t n;

    if (password != NULL && password[0] != '\0' && strstr(p, password) != NULL) {
        snprintf(dst, dstlen, "(output withheld: it contains the password)");
        return;
    }
    while (*p == '\n' || *p == '\r' || *p == ' ')
        p++;
    n = strcspn(p, "\r\n");
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    memcpy(line, p, n);
    line[n] = '\0';
    jfa_log_escape(dst, dstlen, n > 0 ? line : "(no output)");
    explicit_bzero(line, sizeof(line));
}

/* Describe a failed run in err: "timed out after N s" or "exit status N: line". */
static void describe_failure(const char *what, const struct jfa_samba_run *res, long deadline_ms,
                             const char *password, char *err, size_t errlen)
{
    char line[300];

    first_line(res, password, line, sizeof(line));
    if (res->timed_out)
        jfa_set_err(err, errlen, "%s timed out after %ld s (killed)", what, deadline_ms / 1000);
    else if (res->status < 0)
        jfa_set_err(err, errlen, "%s: killed by a signal or status unknown: %s", what, line);
    else
        jfa_set_err(err, errlen, "%s: exit status %d: %s", what, res->status, line);
}

/* argv for a Samba tool: TOOL [-c|-s CONF] args... (at most 8 args) */
static void build_argv(const char **argv, const char *tool, const char *conf_opt, const char *conf,
                       const char *const *args)
{
    size_t n = 0;

    argv[n++] = tool;
    if (conf != NULL) {
        argv[n++] = conf_opt;
        argv[n++] = conf;
    }
    for (; *args != NULL && n < 11; args++)
        argv[n++] = *args;
    argv[n] = NULL;
}

/* ---- pdbedit -L -w ------------------------------------------------- */

static bool is_hex_or_x(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F') ||
              (s[i] >= 'a' && s[i] <= 'f') || s[i] == 'X'))
            return false;
    return true;
}

static int parse_line(const char *line, size_t len, struct jfa_samba_entry *e)
{
    const char *f[7];
    size_t fl[7], nf = 0, start = 0;

    for (size_t i = 0; i <= len && nf < 7; i++) {
        if (i == len || line[i] == ':') {
            f[nf] = line + start;
            fl[nf] = i - start;
            nf++;
            start = i + 1;
        }
    }
    /* NAME:UID:LM:NT:[FLAGS]:LCT-XXXXXXXX: (a trailing empty field) */
    if (nf < 6)
        return -1;
    if (fl[0] == 0 || fl[0] >= sizeof(e->name))
        return -1;
    for (size_t i = 0; i < fl[0]; i++)
        if ((unsigned char)f[0][i] < 0x20 || f[0][i] == 0x7f)
            return -1;
    memcpy(e->name, f[0], fl[0]);
    e->name[fl[0]] = '\0';
    {
        unsigned long long v = 0;
        if (fl[1] == 0 || fl[1] > 10)
            return -1;
        for (size_t i = 0; i < fl[1]; i++) {
            if (f[1][i] < '0' || f[1][i] > '9')
                return -1;
            v = v * 10 + (unsigned)(f[1][i] - '0');
        }
        if (v > UINT32_MAX)
            return -1;
        e->uid = (uint32_t)v;
    }
    if (fl[2] != 32 || fl[3] != 32 || !is_hex_or_x(f[2], 32) || !is_hex_or_x(f[3], 32))
        return -1;
    e->has_password = f[3][0] != 'X';
    if (fl[4] < 2 || f[4][0] != '[' || f[4][fl[4] - 1] != ']')
        return -1;
    e->disabled = memchr(f[4] + 1, 'D', fl[4] - 2) != NULL;
    e->normal = memchr(f[4] + 1, 'U', fl[4] - 2) != NULL;
    if (fl[5] < 4 || memcmp(f[5], "LCT-", 4) != 0)
        return -1;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct jfa_samba_entry *)a)->name,
                  ((const struct jfa_samba_entry *)b)->name);
}

int jfa_samba_parse_list(const char *text, size_t len, struct jfa_samba_list *out, char *err,
                         size_t errlen)
{
    size_t pos = 0, cap = 0, lineno = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
        size_t llen = nl != NULL ? (size_t)(nl - line) : len - pos;
        struct jfa_samba_entry e;

        pos += llen + (nl != NULL ? 1 : 0);
        lineno++;
        if (llen > 0 && line[llen - 1] == '\r')
            llen--;
        if (llen == 0)
            continue;
        memset(&e, 0, sizeof(e));
        if (memchr(line, '\0', llen) != NULL || parse_line(line, llen, &e) != 0) {
            jfa_set_err(err, errlen, "pdbedit output line %zu: not NAME:UID:LM:NT:[FLAGS]:LCT-",
                        lineno);
            goto out;
        }
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct jfa_samba_entry *p = realloc(out->items, ncap * sizeof(*p));
            if (p == NULL) {
                jfa_set_err(err, errlen, "out of memory");
                goto out;
            }
            out->items = p;
            cap = ncap;
        }
        out->items[out->n++] = e;
    }
    /* sorted by name for jfa_samba_find */
    if (out->n > 1)
        qsort(out->items, out->n, sizeof(out->items[0]), cmp_entry);
    ret = 0;
out:
    if (ret != 0)
        jfa_samba_list_free(out);
    return ret;
}

void jfa_samba_list_free(struct jfa_samba_list *l)
{
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

const struct jfa_samba_entry *jfa_samba_find(const struct jfa_samba_list *l, const char *name)
{
    struct jfa_samba_entry key;
    size_t n = strlen(name);

    if (l->n == 0 || n >= sizeof(key.name))
        return NULL;
    memcpy(key.name, name, n + 1);
    return bsearch(&key, l->items, l->n, sizeof(key), cmp_entry);
}

/* ---- the "already current" record --------------------------------- */

int jfa_samba_mac(const unsigned char key[JFA_SAMBA_KEY_LEN], const char *jf_id, const char *name,
                  const char *password, unsigned char mac[JFA_SAMBA_MAC_LEN])
{
    static const char domain[] = "jellyfin-auth samba 1";
    size_t il = strlen(jf_id), nl = strlen(name), pl = strlen(password);
    size_t len = sizeof(domain) + il + 1 + nl + 1 + pl;
    unsigned char *msg = malloc(len);
    unsigned int mlen = 0;
    int ret = -1;

    if (msg == NULL)
        return -1;
    memcpy(msg, domain, sizeof(domain));
    memcpy(msg + sizeof(domain), jf_id, il + 1);
    memcpy(msg + sizeof(domain) + il + 1, name, nl + 1);
    memcpy(msg + sizeof(domain) + il + 1 + nl + 1, password, pl);
    if (HMAC(EVP_sha256(), key, JFA_SAMBA_KEY_LEN, msg, len, mac, &mlen) != NULL &&
        mlen == JFA_SAMBA_MAC_LEN)
        ret = 0;
    explicit_bzero(msg, len);
    free(msg);
    return ret;
}

static int path_in(const char *private_dir, const char *sub, const char *name, char *out,
                   size_t outlen, char *err, size_t errlen)
{
    int n = sub != NULL ? snprintf(out, outlen, "%s/%s/%s", private_dir, sub, name)
                        : snprintf(out, outlen, "%s/%s", private_dir, name);

    if (n < 0 || (size_t)n >= outlen) {
        jfa_set_err(err, errlen, "%s: path too long", private_dir);
        return -1;
    }
    return 0;
}

int jfa_samba_key(const char *private_dir, bool create, unsigned char key[JFA_SAMBA_KEY_LEN],
                  char *err, size_t errlen)
{
    char path[PATH_MAX];
    char *buf = NULL;
    size_t len = 0;
    int ret = -1, r;

    if (path_in(private_dir, NULL, "samba.key", path, sizeof(path), err, errlen) != 0)
        return -1;
    r = jfa_read_trusted(path, 077, JFA_SAMBA_KEY_LEN + 1, &buf, &len, err, errlen);
    if (r != 0 && r != JFA_ABSENT)
        goto out;
    if (r == 0) {
        if (len != JFA_SAMBA_KEY_LEN) {
            jfa_set_err(err, errlen, "%s: not a %d-byte key (remove it to make a new one)", path,
                        JFA_SAMBA_KEY_LEN);
            goto out;
        }
        memcpy(key, buf, JFA_SAMBA_KEY_LEN);
        ret = 0;
        goto out;
    }
    if (!create) {
        jfa_set_err(err, errlen, "%s: absent", path);
        goto out;
    }
    if (getrandom(key, JFA_SAMBA_KEY_LEN, 0) != JFA_SAMBA_KEY_LEN) {
        jfa_set_err(err, errlen, "getrandom: %s", strerror(errno));
        goto out;
    }
    /* two first logins at once may each write a key: the loser's record
     * then never matches and costs one more smbpasswd run, nothing else */
    if (jfa_ensure_dir(private_dir, 0700, err, errlen) != 0 ||
        jfa_write_atomic(path, key, JFA_SAMBA_KEY_LEN, 0600, err, errlen) != 0)
        goto out;
    ret = 0;
out:
    if (buf != NULL) {
        explicit_bzero(buf, len);
        free(buf);
    }
    if (ret != 0)
        explicit_bzero(key, JFA_SAMBA_KEY_LEN);
    return ret;
}

static int record_path(const char *private_dir, const char *jf_id, char *out, size_t outlen,
                       char *err, size_t errlen)
{
    if (!jfa_guid_is_n(jf_id)) {
        jfa_set_err(err, errlen, "invalid user Id");
        return -1;
    }
    return path_in(private_dir, "samba", jf_id, out, outlen, err, errlen);
}

int jfa_samba_record_matches(const char *private_dir, const char *jf_id,
                             const unsigned char mac[JFA_SAMBA_MAC_LEN], char *err, size_t errlen)
{
    char path[PATH_MAX], want[sizeof(RECORD_MAGIC) + 2 * JFA_SAMBA_MAC_LEN + 8];
    char *buf = NULL;
    size_t len = 0;
    int ret;

    if (record_path(private_dir, jf_id, path, sizeof(path), err, errlen) != 0)
        return -1;
    ret = jfa_read_trusted(path, 077, RECORD_MAX, &buf, &len, err, errlen);
    if (ret != 0)
        return ret == JFA_ABSENT ? 0 : -1;
    memcpy(want, RECORD_MAGIC "\nok ", sizeof(RECORD_MAGIC) + 3);
    jfa_hex_encode(want + sizeof(RECORD_MAGIC) + 3, mac, JFA_SAMBA_MAC_LEN);
    strcat(want, "\n");
    ret = len == strlen(want) && CRYPTO_memcmp(buf, want, len) == 0 ? 1 : 0;
    explicit_bzero(want, sizeof(want));
    explicit_bzero(buf, len);
    free(buf);
    return ret;
}

int jfa_samba_record_put(const char *private_dir, const char *jf_id,
                         const unsigned char mac[JFA_SAMBA_MAC_LEN], char *err, size_t errlen)
{
    char path[PATH_MAX], dir[PATH_MAX], rec[sizeof(RECORD_MAGIC) + 2 * JFA_SAMBA_MAC_LEN + 8];
    int ret = -1;

    if (record_path(private_dir, jf_id, path, sizeof(path), err, errlen) != 0 ||
        path_in(private_dir, NULL, "samba", dir, sizeof(dir), err, errlen) != 0)
        return -1;
    if (jfa_ensure_dir(private_dir, 0700, err, errlen) != 0 ||
        jfa_ensure_dir(dir, 0700, err, errlen) != 0)
        return -1;
    memcpy(rec, RECORD_MAGIC "\nok ", sizeof(RECORD_MAGIC) + 3);
    jfa_hex_encode(rec + sizeof(RECORD_MAGIC) + 3, mac, JFA_SAMBA_MAC_LEN);
    strcat(rec, "\n");
    ret = jfa_write_atomic(path, rec, strlen(rec), 0600, err, errlen);
    explicit_bzero(rec, sizeof(rec));
    return ret;
}

int jfa_samba_record_drop(const char *private_dir, const char *jf_id)
{
    char path[PATH_MAX];

    if (record_path(private_dir, jf_id, path, sizeof(path), NULL, 0) != 0)
        return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

/* ---- what the PAM module and the tool call ------------------------- */

/* smbpasswd FLAG -- NAME (flag -e, -d or -x; what names it in errors). */
static int smbpasswd_flag(const struct jfa_config *cfg, const char *flag, const char *what,
                          const char *name, char *err, size_t errlen)
{
    const char *argv[12];
    const char *args[] = {flag, "--", name, NULL};
    struct jfa_samba_run res;
    long deadline = cfg->samba_timeout * 1000L;
    int ret = -1;

    build_argv(argv, "smbpasswd", "-c", cfg->samba_conf, args);
    if (jfa_samba_exec(cfg->samba_smbpasswd, argv, NULL, 0, deadline, SET_OUT_CAP, &res, err,
                       errlen) != 0)
        return -1;
    if (!res.timed_out && res.status == 0)
        ret = 0;
    else
        describe_failure(what, &res, deadline, NULL, err, errlen);
    jfa_samba_run_free(&res);
    return ret;
}

int jfa_samba_set_enabled(const struct jfa_config *cfg, const char *name, bool enable, char *err,
                          size_t errlen)
{
    return smbpasswd_flag(cfg, enable ? "-e" : "-d", enable ? "smbpasswd -e" : "smbpasswd -d", name,
                          err, errlen);
}

int jfa_samba_remove(const struct jfa_config *cfg, const char *name, bool *removed, char *err,
                     size_t errlen)
{
    struct jfa_samba_list list = {0};
    int ret = -1;

    *removed = false;
    if (jfa_samba_list_passdb(cfg, &list, err, errlen) != 0)
        goto out;
    if (jfa_samba_find(&list, name) != NULL) {
        if (smbpasswd_flag(cfg, "-x", "smbpasswd -x", name, err, errlen) != 0)
            goto out;
        *removed = true;
    }
    ret = 0;
out:
    jfa_samba_list_free(&list);
    return ret;
}

int jfa_samba_list_passdb(const struct jfa_config *cfg, struct jfa_samba_list *out, char *err,
                          size_t errlen)
{
    const char *argv[12];
    const char *args[] = {"-L", "-w", NULL};
    struct jfa_samba_run res;
    long deadline = cfg->samba_timeout * 1000L * 4; /* a whole passdb: more time */
    int ret = -1;

    memset(out, 0, sizeof(*out));
    build_argv(argv, "pdbedit", "-s", cfg->samba_conf, args);
    if (jfa_samba_exec(cfg->samba_pdbedit, argv, NULL, 0, deadline, LIST_OUT_CAP, &res, err,
                       errlen) != 0)
        return -1;
    if (res.timed_out || res.status != 0)
        describe_failure("pdbedit -L -w", &res, deadline, NULL, err, errlen);
    else
        ret = jfa_samba_parse_list(res.out, res.out_len, out, err, errlen);
    jfa_samba_run_free(&res); /* it held the NT hashes: wiped */
    return ret;
}

/* ---- pdbedit -P "bad lockout attempt" ------------------------------ */

int jfa_samba_parse_lockout(const char *text, long *value)
{
    static const char key[] = "\"bad lockout attempt\" value is:";
    const char *p = text != NULL ? strstr(text, key) : NULL;
    char *end;
    long v;

    if (p == NULL)
        return -1;
    p += sizeof(key) - 1;
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    v = strtol(p, &end, 10);
    if (errno != 0 || (*end != '\0' && *end != '\n' && *end != '\r' && *end != ' '))
        return -1;
    *value = v;
    return 0;
}

int jfa_samba_lockout_attempts(const struct jfa_config *cfg, long deadline_ms, long *attempts,
                               char *err, size_t errlen)
{
    const char *argv[12];
    const char *args[] = {"-P", "bad lockout attempt", NULL};
    struct jfa_samba_run res;
    int ret = -1;

    build_argv(argv, "pdbedit", "-s", cfg->samba_conf, args);
    if (jfa_samba_exec(cfg->samba_pdbedit, argv, NULL, 0, deadline_ms, SET_OUT_CAP, &res, err,
                       errlen) != 0)
        return -1;
    if (res.timed_out || res.status != 0)
        describe_failure("pdbedit -P \"bad lockout attempt\"", &res, deadline_ms, NULL, err,
                         errlen);
    else if (jfa_samba_parse_lockout(res.out, attempts) != 0)
        jfa_set_err(err, errlen, "pdbedit -P \"bad lockout attempt\": no value in its answer");
    else
        ret = 0;
    jfa_samba_run_free(&res);
    return ret;
}

/* ms left of deadline since start, at least 100 */
static long time_left(long deadline, long start)
{
    long left = deadline - (now_ms() - start);

    return left < 100 ? 100 : left;
}

enum jfa_samba_set jfa_samba_set_password(const struct jfa_config *cfg, const char *private_dir,
                                          const char *jf_id, const char *name, const char *password,
                                          char *err, size_t errlen)
{
    unsigned char key[JFA_SAMBA_KEY_LEN], mac[JFA_SAMBA_MAC_LEN];
    const char *argv[12];
    const char *set_args[] = {"-s", "-a", "--", name, NULL};
    struct jfa_samba_run res;
    char *input = NULL, sub[JFA_ERRLEN];
    size_t pl = strlen(password), ilen = 2 * pl + 2;
    long deadline = cfg->samba_timeout * 1000L, start = now_ms(), left;
    bool have_mac = false;
    enum jfa_samba_set ret = JFA_SAMBA_SET_FAILED;
    int r;

    memset(&res, 0, sizeof(res));
    if (pl == 0 || pl > JFA_SAMBA_PASSWORD_MAX || strpbrk(password, "\n") != NULL) {
        jfa_set_err(err, errlen,
                    pl == 0 ? "the password is empty"
                    : pl > JFA_SAMBA_PASSWORD_MAX
                        ? "the password is longer than smbpasswd accepts (254 bytes)"
                        : "the password contains a newline, which smbpasswd -s cannot read");
        return JFA_SAMBA_SET_SKIPPED;
    }
    /* the record: a cheap way to know Samba already has this password */
    if (jfa_samba_key(private_dir, true, key, sub, sizeof(sub)) != 0) {
        jfa_set_err(err, errlen, "(record unusable, Samba updated anyway) %s", sub);
    } else if (jfa_samba_mac(key, jf_id, name, password, mac) == 0) {
        have_mac = true;
        r = jfa_samba_record_matches(private_dir, jf_id, mac, sub, sizeof(sub));
        if (r == 1) {
            ret = JFA_SAMBA_SET_CURRENT;
            goto out;
        }
    }
    /* SMB logins never reach PAM: neither our throttle nor Jellyfin's
     * lockout sees them. A passdb without a lockout policy would let
     * anyone who reaches smbd guess the Jellyfin password without limit
     * (tens of guesses a second per connection): nothing is published
     * there. The entry keeps what it had. */
    {
        long attempts = 0;

        if (jfa_samba_lockout_attempts(cfg, deadline, &attempts, sub, sizeof(sub)) != 0) {
            jfa_set_err(err, errlen,
                        "cannot read Samba's account policy, so the password is not published "
                        "over SMB: %s",
                        sub);
            ret = JFA_SAMBA_SET_SKIPPED;
            goto out;
        }
        if (attempts <= 0) {
            jfa_set_err(err, errlen,
                        "Samba's account policy \"bad lockout attempt\" is 0: SMB would allow "
                        "unlimited guesses of the Jellyfin password (set it, e.g. pdbedit -P "
                        "\"bad lockout attempt\" -C 5)");
            ret = JFA_SAMBA_SET_SKIPPED;
            goto out;
        }
    }
    /* from here on the record must not claim a password Samba may not have */
    (void)jfa_samba_record_drop(private_dir, jf_id);
    input = malloc(ilen + 1);
    if (input == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        goto out;
    }
    memcpy(input, password, pl);
    input[pl] = '\n';
    memcpy(input + pl + 1, password, pl);
    input[2 * pl + 1] = '\n';
    input[ilen] = '\0';
    build_argv(argv, "smbpasswd", "-c", cfg->samba_conf, set_args);
    left = time_left(deadline, start);
    if (jfa_samba_exec(cfg->samba_smbpasswd, argv, input, ilen, left, SET_OUT_CAP, &res, err,
                       errlen) != 0)
        goto out;
    if (res.timed_out || res.status != 0) {
        describe_failure("smbpasswd -a", &res, deadline, password, err, errlen);
        goto out;
    }
    jfa_samba_run_free(&res);
    /* Jellyfin has just accepted the password, so the user is enabled there:
     * undo a disable that sync applied earlier */
    {
        const char *en_args[] = {"-e", "--", name, NULL};

        left = time_left(deadline, start);
        build_argv(argv, "smbpasswd", "-c", cfg->samba_conf, en_args);
        if (jfa_samba_exec(cfg->samba_smbpasswd, argv, NULL, 0, left, SET_OUT_CAP, &res, err,
                           errlen) != 0)
            goto out;
        if (res.timed_out || res.status != 0) {
            describe_failure("smbpasswd -e", &res, left, password, err, errlen);
            goto out;
        }
    }
    ret = JFA_SAMBA_SET_WRITTEN;
    if (have_mac && jfa_samba_record_put(private_dir, jf_id, mac, sub, sizeof(sub)) != 0)
        jfa_set_err(err, errlen, "password set, but the record was not written: %s", sub);
out:
    jfa_samba_run_free(&res);
    if (input != NULL) {
        explicit_bzero(input, ilen);
        free(input);
    }
    explicit_bzero(key, sizeof(key));
    explicit_bzero(mac, sizeof(mac));
    return ret;
}
