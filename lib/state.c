/*
 * state.c - root-only runtime state of the PAM module (see state.h).
 *
 * Files are small "key=value" text records, one per line, after a version
 * line. They are written with jfa_write_atomic (0600) and read with
 * jfa_read_trusted (owner root or euid, no group/other bits, no symlink).
 * Lock files under locks/ are 0600 files held with flock(2), holding only
 * their holder's record (lock_record_put); they are never removed (a
 * removed lock file would let two holders in at once).
 */
#include "jfaconf.h"

#include "state.h"

#include <crypt.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include <linux/magic.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "db_format.h"
#include "fileutil.h"
#include "jfjson.h"
#include "util.h"

#define RECORD_MAX 4096
#define PENDING_MAGIC "jellyfin-auth pending 2"
#define PENDING_MAGIC_V1 "jellyfin-auth pending 1"
#define VERIFIER_MAGIC "jellyfin-auth verifier 1"
#define THROTTLE_MAGIC "jellyfin-auth throttle 1"
#define THROTTLE_STRIPES 64    /* locks/throttle.NN for host keys */
#define THROTTLE_LOCK_MS 5000  /* a holder only reads and writes one record */
#define THROTTLE_HOLD_MS 2000  /* the longest a live holder of a stripe lock holds it */
#define LOCK_POLL_NS 20000000L /* 20 ms between two tries of a held lock */

/* private_dir/sub/name, with sub created 0700 when create is set. Ids
 * become names only after jfa_guid_is_n (32 lowercase hex digits). */
static int state_path(const char *private_dir, const char *sub, const char *name, bool create,
                      char *out, size_t outlen, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    int n;

    n = snprintf(dir, sizeof(dir), "%s/%s", private_dir, sub);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        jfa_set_err(err, errlen, "%s: path too long", private_dir);
        return -1;
    }
    if (create) {
        if (jfa_ensure_dir(private_dir, 0700, err, errlen) != 0 ||
            jfa_ensure_dir(dir, 0700, err, errlen) != 0)
            return -1;
    }
    n = snprintf(out, outlen, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outlen) {
        jfa_set_err(err, errlen, "%s: path too long", dir);
        return -1;
    }
    return 0;
}

/* Read a record file: 0, JFA_ABSENT, or -1 with err. Absence is told by
 * the open (jfa_read_trusted), which uses the effective ids: no access()
 * probe, which inside su would use the caller's real uid. */
static int read_record(const char *path, const char *magic, char **buf, char *err, size_t errlen)
{
    size_t len = 0;
    size_t mlen = strlen(magic);
    int rc;

    *buf = NULL;
    rc = jfa_read_trusted(path, 077, RECORD_MAX, buf, &len, err, errlen);
    if (rc != 0)
        return rc;
    if (len < mlen + 1 || memcmp(*buf, magic, mlen) != 0 || (*buf)[mlen] != '\n') {
        jfa_set_err(err, errlen, "%s: not a %s file", path, magic);
        explicit_bzero(*buf, len);
        free(*buf);
        *buf = NULL;
        return -1;
    }
    return 0;
}

/* Find "key=" at the start of a line after the magic line; returns the
 * value (not terminated: ends at '\n') or NULL. */
static const char *record_value(const char *buf, const char *key, size_t *vlen)
{
    size_t klen = strlen(key);
    const char *p = strchr(buf, '\n');

    while (p != NULL) {
        p++;
        if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
            const char *v = p + klen + 1;
            const char *end = strchr(v, '\n');
            *vlen = end != NULL ? (size_t)(end - v) : strlen(v);
            return v;
        }
        p = strchr(p, '\n');
    }
    return NULL;
}

static bool record_u64(const char *buf, const char *key, uint64_t *out)
{
    size_t vlen;
    const char *v = record_value(buf, key, &vlen);
    char tmp[32];
    char *end;

    if (v == NULL || vlen == 0 || vlen >= sizeof(tmp))
        return false;
    memcpy(tmp, v, vlen);
    tmp[vlen] = '\0';
    errno = 0;
    *out = strtoull(tmp, &end, 10);
    return errno == 0 && *end == '\0' && tmp[0] != '-';
}

static bool record_str(const char *buf, const char *key, char *out, size_t outlen)
{
    size_t vlen;
    const char *v = record_value(buf, key, &vlen);

    if (v == NULL || vlen >= outlen)
        return false;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return true;
}

/* Text of the binding: control bytes become '?', so a remote host name can
 * never add a line to a record; writer and reader apply the same rule. */
static void bind_text(char *out, size_t outlen, const char *in)
{
    size_t i = 0;

    for (; in != NULL && in[i] != '\0' && i + 1 < outlen; i++)
        out[i] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ? '?' : in[i];
    out[i] = '\0';
}

/* What /proc/PID/stat says of a process: its state letter (R, S, D, T
 * stopped, t traced, ...), the CPU time it has used (utime + stime) and its
 * start time, clock ticks after boot (fields 3, 14, 15 and 22, counted
 * after the ')' that ends the command name, which may hold anything). */
struct proc_stat {
    char state;
    unsigned long long cpu, start;
};

static bool proc_stat_read(const char *stat_path, struct proc_stat *ps)
{
    char buf[1024];
    const char *p;
    unsigned long long utime = 0, stime = 0;
    ssize_t n;
    int fd;

    memset(ps, 0, sizeof(*ps));
    fd = open(stat_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 1,
               " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
               &ps->state, &utime, &stime, &ps->start) != 4 ||
        ps->start == 0)
        return false;
    ps->cpu = utime + stime;
    return true;
}

/* Start time of a process, clock ticks after boot; 0 when unknown. */
static unsigned long long proc_start(const char *stat_path)
{
    struct proc_stat ps;

    return proc_stat_read(stat_path, &ps) ? ps.start : 0;
}

static void boot_id(char out[40])
{
    char buf[64];
    ssize_t n;
    int fd;

    out[0] = '\0';
    fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    bind_text(out, 40, buf);
}

int jfa_pending_bind(struct jfa_auth_record *rec, const char *service, const char *rhost)
{
    char path[64];

    rec->pid = (long)getpid();
    rec->ppid = (long)getppid();
    rec->start = proc_start("/proc/self/stat");
    snprintf(path, sizeof(path), "/proc/%ld/stat", rec->ppid);
    rec->pstart = proc_start(path);
    boot_id(rec->boot_id);
    bind_text(rec->service, sizeof(rec->service), service);
    bind_text(rec->rhost, sizeof(rec->rhost), rhost);
    return rec->start != 0 && rec->pstart != 0 && rec->boot_id[0] != '\0' ? 0 : -1;
}

int jfa_pending_reader_init(struct jfa_pending_reader *me, const char *service, const char *rhost)
{
    memset(me, 0, sizeof(*me));
    me->pid = (long)getpid();
    me->start = proc_start("/proc/self/stat");
    boot_id(me->boot_id);
    bind_text(me->service, sizeof(me->service), service);
    bind_text(me->rhost, sizeof(me->rhost), rhost);
    me->now = time(NULL);
    me->max_age = JFA_PENDING_MAX_AGE;
    return me->start != 0 && me->boot_id[0] != '\0' ? 0 : -1;
}

bool jfa_pending_trusted(const struct jfa_auth_record *rec, const struct jfa_pending_reader *me)
{
    bool writer, parent;

    if (me->start == 0 || me->boot_id[0] == '\0' || strcmp(rec->boot_id, me->boot_id) != 0)
        return false;
    if (strcmp(rec->service, me->service) != 0 || strcmp(rec->rhost, me->rhost) != 0)
        return false;
    if (rec->when > me->now || me->now - rec->when > me->max_age)
        return false;
    writer = rec->pid == me->pid && rec->start == me->start;
    parent = rec->ppid == me->pid && rec->pstart == me->start;
    return writer || parent;
}

int jfa_state_put_pending(const char *private_dir, const char *jf_id,
                          const struct jfa_auth_record *rec, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char buf[RECORD_MAX];
    int n, rc = -1;

    if (!jfa_guid_is_n(jf_id) || strchr(rec->token, '\n') != NULL) {
        jfa_set_err(err, errlen, "invalid user id or token");
        return -1;
    }
    if (state_path(private_dir, "pending", jf_id, true, path, sizeof(path), err, errlen) != 0)
        return -1;
    /* the binding's text fields went through bind_text: one line each */
    n = snprintf(buf, sizeof(buf),
                 "%s\ntoken=%s\nflags=%" PRIu32 "\ntime=%lld\npid=%ld\nppid=%ld\nstart=%llu\n"
                 "pstart=%llu\nboot=%s\nservice=%s\nrhost=%s\n",
                 PENDING_MAGIC, rec->token, rec->flags, (long long)rec->when, rec->pid, rec->ppid,
                 rec->start, rec->pstart, rec->boot_id, rec->service, rec->rhost);
    if (n < 0 || (size_t)n >= sizeof(buf) || strchr(rec->boot_id, '\n') != NULL ||
        strchr(rec->service, '\n') != NULL || strchr(rec->rhost, '\n') != NULL) {
        jfa_set_err(err, errlen, "pending record too long or malformed");
        goto out;
    }
    rc = jfa_write_atomic(path, buf, (size_t)n, 0600, err, errlen);
out:
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

/* Decode a pending record. 0: a complete current record. -1: anything
 * else (older format, malformed); rec->token and rec->when are then filled
 * when the file names them, so the token can still be logged out. */
static int parse_pending(const char *buf, struct jfa_auth_record *rec)
{
    size_t mlen = strlen(PENDING_MAGIC);
    uint64_t flags, when, pid, ppid, start, pstart;
    bool current;

    memset(rec, 0, sizeof(*rec));
    current = strncmp(buf, PENDING_MAGIC, mlen) == 0 && buf[mlen] == '\n';
    if (!current && !(strncmp(buf, PENDING_MAGIC_V1, mlen) == 0 && buf[mlen] == '\n'))
        return -1; /* not ours at all: nothing to read */
    if (!record_str(buf, "token", rec->token, sizeof(rec->token)))
        rec->token[0] = '\0';
    if (record_u64(buf, "time", &when))
        rec->when = (time_t)when;
    if (!current || !record_u64(buf, "flags", &flags) || !record_u64(buf, "time", &when) ||
        !record_u64(buf, "pid", &pid) || !record_u64(buf, "ppid", &ppid) ||
        !record_u64(buf, "start", &start) || !record_u64(buf, "pstart", &pstart) ||
        !record_str(buf, "boot", rec->boot_id, sizeof(rec->boot_id)) ||
        !record_str(buf, "service", rec->service, sizeof(rec->service)) ||
        !record_str(buf, "rhost", rec->rhost, sizeof(rec->rhost)) || flags > UINT32_MAX ||
        pid > LONG_MAX || ppid > LONG_MAX)
        return -1;
    rec->flags = (uint32_t)flags;
    rec->pid = (long)pid;
    rec->ppid = (long)ppid;
    rec->start = start;
    rec->pstart = pstart;
    return 0;
}

/* Read a pending file we trust the owner and mode of. JFA_ABSENT, -1, or
 * 0 with *buf (the caller wipes and frees it). */
static int read_pending_file(const char *path, char **buf, char *err, size_t errlen)
{
    size_t len = 0;

    *buf = NULL;
    return jfa_read_trusted(path, 077, RECORD_MAX, buf, &len, err, errlen);
}

int jfa_state_get_pending(const char *private_dir, const char *jf_id,
                          const struct jfa_pending_reader *me, bool take,
                          struct jfa_auth_record *rec, char *err, size_t errlen)
{
    char path[PATH_MAX], claimed[PATH_MAX + 32];
    char *buf = NULL;
    bool trusted;
    int rc, n;

    memset(rec, 0, sizeof(*rec));
    if (!jfa_guid_is_n(jf_id)) {
        jfa_set_err(err, errlen, "invalid user id");
        return -1;
    }
    if (state_path(private_dir, "pending", jf_id, false, path, sizeof(path), err, errlen) != 0)
        return -1;
    rc = read_pending_file(path, &buf, err, errlen);
    if (rc != 0)
        return rc;
    trusted = parse_pending(buf, rec) == 0 && jfa_pending_trusted(rec, me);
    jfa_free_secret(buf);
    buf = NULL;
    if (trusted && !take)
        return 0;
    /* Removing it: claim it first, then decide on what was claimed. */
    n = snprintf(claimed, sizeof(claimed), "%s.claim.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(claimed)) {
        explicit_bzero(rec, sizeof(*rec));
        jfa_set_err(err, errlen, "%s: path too long", path);
        return -1;
    }
    if (rename(path, claimed) != 0) {
        explicit_bzero(rec, sizeof(*rec));
        if (errno == ENOENT)
            return JFA_ABSENT; /* someone else took it first: it is theirs */
        jfa_set_err(err, errlen, "%s: cannot remove: %s", path, strerror(errno));
        return -1;
    }
    rc = read_pending_file(claimed, &buf, err, errlen);
    (void)unlink(claimed);
    if (rc != 0) {
        explicit_bzero(rec, sizeof(*rec));
        return rc == JFA_ABSENT ? JFA_ABSENT : -1;
    }
    trusted = parse_pending(buf, rec) == 0 && jfa_pending_trusted(rec, me);
    jfa_free_secret(buf);
    return trusted ? 0 : JFA_PENDING_STALE;
}

/* "ID" or "ID.<anything>" (a claimed record, a temp file of the writer). */
static bool pending_name(const char *name, char id[33])
{
    if (strlen(name) < 32)
        return false;
    memcpy(id, name, 32);
    id[32] = '\0';
    return jfa_guid_is_n(id) && (name[32] == '\0' || name[32] == '.');
}

int jfa_state_sweep_pending(const char *private_dir, time_t now, long max_age,
                            void (*logout)(void *ctx, const char *jf_id, const char *token),
                            void *ctx, char *err, size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX], claimed[PATH_MAX + 32], id[33];
    struct jfa_auth_record rec;
    struct dirent *de;
    struct stat st;
    char *buf = NULL;
    int removed = 0, n;
    DIR *d;

    n = snprintf(dir, sizeof(dir), "%s/pending", private_dir);
    if (n < 0 || (size_t)n >= sizeof(dir)) {
        jfa_set_err(err, errlen, "%s: path too long", private_dir);
        return -1;
    }
    d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return 0;
        jfa_set_err(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (!pending_name(de->d_name, id))
            continue;
        n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof(path) || lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (read_pending_file(path, &buf, err, errlen) != 0)
            continue;
        /* the record's own time; the file's for what cannot be read */
        if (parse_pending(buf, &rec) != 0 && rec.when == 0)
            rec.when = st.st_mtime;
        jfa_free_secret(buf);
        buf = NULL;
        if (rec.when <= now && now - rec.when <= max_age) {
            explicit_bzero(&rec, sizeof(rec));
            continue;
        }
        /* Claim it, and re-check what was claimed: a login may have just
         * replaced it with a fresh record, which is put back. */
        n = snprintf(claimed, sizeof(claimed), "%s.sweep.%ld", path, (long)getpid());
        if (n < 0 || (size_t)n >= sizeof(claimed) || rename(path, claimed) != 0)
            continue;
        if (read_pending_file(claimed, &buf, err, errlen) == 0) {
            if (parse_pending(buf, &rec) != 0 && rec.when == 0)
                rec.when = st.st_mtime;
            jfa_free_secret(buf);
            buf = NULL;
            if (rec.when <= now && now - rec.when <= max_age) {
                /* Put it back unless a newer one is there already (whose
                 * login revoked this token: same DeviceId). */
                if (link(claimed, path) != 0)
                    jfa_set_err(err, errlen, "%s: replaced while swept", path);
                (void)unlink(claimed);
                explicit_bzero(&rec, sizeof(rec));
                continue;
            }
            if (rec.token[0] != '\0' && logout != NULL)
                logout(ctx, id, rec.token);
        }
        (void)unlink(claimed);
        explicit_bzero(&rec, sizeof(rec));
        removed++;
    }
    closedir(d);
    return removed;
}

int jfa_state_put_verifier(const char *private_dir, const char *jf_id, const char *password,
                           uint32_t flags, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    char buf[RECORD_MAX];
    struct crypt_data *cd = NULL;
    const char *hash;
    int n, rc = -1;

    if (!jfa_guid_is_n(jf_id)) {
        jfa_set_err(err, errlen, "invalid user id");
        return -1;
    }
    if (state_path(private_dir, "verifiers", jf_id, true, path, sizeof(path), err, errlen) != 0)
        return -1;
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    /* yescrypt with libcrypt's default cost; the salt comes from the kernel. */
    if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL) {
        jfa_set_err(err, errlen, "crypt_gensalt: %s", strerror(errno));
        goto out;
    }
    hash = crypt_rn(password, salt, cd, sizeof(*cd));
    if (hash == NULL || hash[0] == '*') {
        jfa_set_err(err, errlen, "crypt: cannot hash");
        goto out;
    }
    n = snprintf(buf, sizeof(buf), "%s\nhash=%s\nflags=%" PRIu32 "\ntime=%lld\n", VERIFIER_MAGIC,
                 hash, flags, (long long)time(NULL));
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        jfa_set_err(err, errlen, "verifier record too long");
        goto out;
    }
    rc = jfa_write_atomic(path, buf, (size_t)n, 0600, err, errlen);
out:
    explicit_bzero(buf, sizeof(buf));
    explicit_bzero(cd, sizeof(*cd));
    free(cd);
    return rc;
}

int jfa_state_check_verifier(const char *private_dir, const char *jf_id, const char *password,
                             long max_age, uint32_t *flags, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char stored[256];
    struct crypt_data *cd = NULL;
    char *buf = NULL;
    const char *hash;
    uint64_t fl, when;
    time_t now = time(NULL);
    int rc;

    if (!jfa_guid_is_n(jf_id)) {
        jfa_set_err(err, errlen, "invalid user id");
        return -1;
    }
    if (max_age <= 0)
        return JFA_ABSENT;
    if (state_path(private_dir, "verifiers", jf_id, false, path, sizeof(path), err, errlen) != 0)
        return -1;
    rc = read_record(path, VERIFIER_MAGIC, &buf, err, errlen);
    if (rc != 0)
        return rc;
    if (!record_str(buf, "hash", stored, sizeof(stored)) || !record_u64(buf, "flags", &fl) ||
        !record_u64(buf, "time", &when) || stored[0] != '$') {
        jfa_set_err(err, errlen, "%s: malformed verifier record", path);
        rc = -1;
        goto out;
    }
    if ((time_t)when > now || now - (time_t)when > max_age) {
        rc = JFA_ABSENT;
        goto out;
    }
    cd = calloc(1, sizeof(*cd));
    if (cd == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        rc = -1;
        goto out;
    }
    hash = crypt_rn(password, stored, cd, sizeof(*cd));
    if (hash == NULL || hash[0] == '*' || strlen(hash) != strlen(stored)) {
        rc = JFA_VERIFIER_MISMATCH;
        goto out;
    }
    rc = CRYPTO_memcmp(hash, stored, strlen(stored)) == 0 ? JFA_VERIFIER_MATCH
                                                          : JFA_VERIFIER_MISMATCH;
    if (rc == JFA_VERIFIER_MATCH)
        *flags = (uint32_t)fl;
out:
    if (cd != NULL) {
        explicit_bzero(cd, sizeof(*cd));
        free(cd);
    }
    explicit_bzero(stored, sizeof(stored));
    jfa_free_secret(buf);
    return rc;
}

int jfa_state_drop_verifier(const char *private_dir, const char *jf_id)
{
    char path[PATH_MAX];
    char err[64];

    if (!jfa_guid_is_n(jf_id) ||
        state_path(private_dir, "verifiers", jf_id, false, path, sizeof(path), err, sizeof(err)))
        return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

static long ms_since(const struct timespec *start)
{
    struct timespec now;

    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return LONG_MAX; /* no clock: give up at once rather than spin */
    return (long)(now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

/*
 * The holder record of a lock file (design.md "Login lock"): once it has
 * the lock, the holder writes who it is and until when it may hold the
 * lock, in one pwrite of LOCK_REC_LEN bytes at offset 0 (the lock file
 * stays 0600 root in the root-only locks/ directory), and wipes it before
 * it lets go. A waiter (euid 0) whose lock does not come reads it: a holder
 * that is the very process named (pid, start time, boot, PID namespace),
 * past its deadline, and stopped, traced or frozen (so that it cannot
 * finish), and still so after LOCK_STUCK_MS without using any CPU time, is
 * sent SIGKILL; the kernel then drops its lock. Anything else in the file
 * (empty, wiped, torn, another boot's, a dead or other process) names
 * nobody. A holder has no record for a moment after its flock and before
 * its release, and the caller of su can stop it there (SIGSTOP at the
 * return of flock, tried again and again: each try costs nothing, the
 * attempt is counted only after): then the kernel's word on who holds the
 * flock (/proc/locks) names the process, and it is ended once seen stuck,
 * without CPU time, for LOCK_NOREC_STUCK_MS (longer: there is no deadline
 * to go by, and no live login is stuck there for that long).
 */
#define LOCK_REC_MAGIC "jellyfin-auth lock 1"
#define LOCK_REC_LEN 192
#define LOCK_STUCK_MS 250L       /* seen stuck this long, without CPU time, before the kill */
#define LOCK_LOOK_MS 100L        /* a waiter looks at the holder this often */
#define LOCK_NOREC_STUCK_MS 750L /* the same for a holder no record names */

struct lock_rec {
    long pid;
    unsigned long long start, pidns;
    char boot[40];
    long long until_ms; /* CLOCK_BOOTTIME, ms */
};

static long long boottime_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
        return -1;
    return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

/* The PID namespace of /proc/self: a pid means the same process only to a
 * reader in the same one. */
static unsigned long long pidns_self(void)
{
    struct stat st;

    return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

int jfa_lock_record_format(char *buf, size_t len, long pid, unsigned long long start,
                           const char *boot, unsigned long long pidns, long long until_ms)
{
    int n;

    if (len < LOCK_REC_LEN)
        return -1;
    n = snprintf(buf, len, LOCK_REC_MAGIC " pid=%ld start=%llu boot=%s pidns=%llu until=%lld", pid,
                 start, boot, pidns, until_ms);
    if (n < 0 || n + 14 > LOCK_REC_LEN)
        return -1;
    /* the sum: FNV-1a 32 of the line before it */
    n += snprintf(buf + n, len - (size_t)n, " sum=%08" PRIx32, jfa_db_hash_name(buf, (size_t)n));
    memset(buf + n, ' ', LOCK_REC_LEN - 1 - (size_t)n);
    buf[LOCK_REC_LEN - 1] = '\n';
    return LOCK_REC_LEN;
}

/* 0: a complete record whose checksum matches; -1: anything else. */
static int lock_record_parse(const char *buf, size_t len, struct lock_rec *r)
{
    char tmp[LOCK_REC_LEN + 1];
    unsigned int sum = 0;
    int body = -1, end = -1;

    memset(r, 0, sizeof(*r));
    if (len != LOCK_REC_LEN || buf[LOCK_REC_LEN - 1] != '\n')
        return -1;
    memcpy(tmp, buf, LOCK_REC_LEN);
    tmp[LOCK_REC_LEN] = '\0';
    if (sscanf(tmp,
               LOCK_REC_MAGIC
               " pid=%ld start=%llu boot=%39[0-9a-f-] pidns=%llu until=%lld%n sum=%8x%n",
               &r->pid, &r->start, r->boot, &r->pidns, &r->until_ms, &body, &sum, &end) != 6 ||
        body < 0 || end < 0 || jfa_db_hash_name(tmp, (size_t)body) != sum || r->pid <= 0 ||
        r->start == 0 || r->boot[0] == '\0' || r->pidns == 0)
        return -1;
    for (; end < LOCK_REC_LEN - 1; end++)
        if (tmp[end] != ' ')
            return -1;
    return 0;
}

/* The holder writes its record (best effort: without one it can never be
 * ended, as before records existed). */
static void lock_record_put(struct jfa_state_lock *lock, long hold_ms)
{
    char buf[LOCK_REC_LEN], boot[40];
    long long now = boottime_ms();
    unsigned long long start = proc_start("/proc/self/stat"), ns = pidns_self();

    boot_id(boot);
    if (now < 0 || start == 0 || ns == 0 || boot[0] == '\0' ||
        jfa_lock_record_format(buf, sizeof(buf), (long)getpid(), start, boot, ns,
                               now + (hold_ms > 0 ? hold_ms : 0)) != LOCK_REC_LEN)
        return;
    lock->recorded = pwrite(lock->fd, buf, LOCK_REC_LEN, 0) == LOCK_REC_LEN;
}

/* Does the cgroup path (from a "0::" line) under the mount dirfd mnt say
 * "frozen 1" in its cgroup.events? The path is walked one directory at a
 * time (openat, never a symlink, never ".."): a path is as long as the
 * kernel prints (up to PATH_MAX - 1) and the mount's name comes on top. */
static bool cgroup_frozen_at(int mnt, char *path)
{
    char buf[128], *save = NULL, *c;
    int dir = dup(mnt), fd;
    bool frozen = false;
    ssize_t len;

    for (c = strtok_r(path, "/", &save); dir >= 0 && c != NULL; c = strtok_r(NULL, "/", &save)) {
        int next = strcmp(c, ".") == 0 || strcmp(c, "..") == 0
                       ? -1
                       : openat(dir, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        close(dir);
        dir = next;
    }
    if (dir < 0)
        return false;
    fd = openat(dir, "cgroup.events", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    close(dir);
    if (fd < 0)
        return false;
    len = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (len > 0) {
        buf[len] = '\0';
        frozen = strncmp(buf, "frozen 1\n", 9) == 0 || strstr(buf, "\nfrozen 1\n") != NULL;
    }
    return frozen;
}

/* Is the process in a frozen cgroup v2 ("frozen 1" in cgroup.events of
 * the "0::PATH" line of /proc/PID/cgroup, under /sys/fs/cgroup or, on a
 * hybrid system, /sys/fs/cgroup/unified)? The v1 freezer is left out: only
 * root can freeze there, and a task it froze does not die of SIGKILL
 * before it is thawed. The line is read whole: a user can nest cgroups in
 * a subtree delegated to them until the path nearly fills PATH_MAX (before,
 * such a path did not fit, and a su frozen there was never seen frozen);
 * one the kernel cut is judged by where the task sleeps. */
static bool proc_frozen(long pid, char state)
{
    static const char *const mnts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    char path[64], *line = NULL, *copy = NULL;
    size_t cap = 0, i;
    bool frozen = false, found = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
    f = fopen(path, "re");
    if (f == NULL)
        return false;
    while (!found && getline(&line, &cap, f) >= 0)
        found = strncmp(line, "0::/", 4) == 0;
    fclose(f);
    if (!found)
        goto out;
    line[strcspn(line, "\n")] = '\0';
    for (i = 0; i < sizeof(mnts) / sizeof(mnts[0]) && !frozen; i++) {
        int mnt = open(mnts[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct statfs sfs;

        if (mnt >= 0 && (fstatfs(mnt, &sfs) != 0 || sfs.f_type != CGROUP2_SUPER_MAGIC)) {
            close(mnt); /* not where the path means anything */
            mnt = -1;
        }
        free(copy);
        copy = mnt >= 0 ? strdup(line + 3) : NULL;
        if (copy != NULL)
            frozen = cgroup_frozen_at(mnt, copy);
        if (mnt >= 0)
            close(mnt);
    }
    if (!frozen && strlen(line + 3) >= PATH_MAX - 1 && state == 'S') {
        /* the kernel cuts a longer path at PATH_MAX - 1: it names no
         * cgroup. A task frozen by cgroup v2 sleeps (S) in the freezer
         * trap of get_signal; a stopped or traced one is T or t there, and
         * a live login never sleeps in get_signal. */
        char wchan[64];
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%ld/wchan", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, wchan, sizeof(wchan) - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n > 0) {
            wchan[n] = '\0';
            frozen = strcmp(wchan, "do_freezer_trap") == 0 || strcmp(wchan, "get_signal") == 0;
        }
    }
out:
    free(copy);
    free(line);
    return frozen;
}

/* Judge the record's process now: is it the very one, and can it run? */
static void lock_holder_judge(const struct lock_rec *r, struct jfa_lock_holder *h,
                              struct proc_stat *ps)
{
    char path[64], boot[40];
    long long now = boottime_ms();

    memset(h, 0, sizeof(*h));
    memset(ps, 0, sizeof(*ps));
    h->pid = r->pid;
    boot_id(boot);
    snprintf(path, sizeof(path), "/proc/%ld/stat", r->pid);
    if (now < 0 || strcmp(r->boot, boot) != 0 || r->pidns != pidns_self() ||
        !proc_stat_read(path, ps) || ps->start != r->start)
        return; /* another boot, namespace or process, or none */
    h->alive = true;
    h->overdue_ms = now - r->until_ms;
    if (ps->state == 'T')
        snprintf(h->why, sizeof(h->why), "stopped");
    else if (ps->state == 't')
        snprintf(h->why, sizeof(h->why), "stopped by a tracer");
    else if (proc_frozen(r->pid, ps->state))
        snprintf(h->why, sizeof(h->why), "in a frozen cgroup");
    h->stuck = h->why[0] != '\0';
}

static int lock_record_read(int fd, struct lock_rec *r)
{
    char buf[LOCK_REC_LEN];
    ssize_t n = pread(fd, buf, sizeof(buf), 0);

    return n == LOCK_REC_LEN ? lock_record_parse(buf, (size_t)n, r) : -1;
}

/* pidfd_open(2): a handle on this very process, whatever reuses its pid. */
static int pidfd_of(long pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

/* Is pidfd's process the one /proc calls pid? The "Pid:" of a pidfd's
 * fdinfo is its pid in the namespace of the /proc it is read through, so
 * this also holds pidfd_open (which takes pids of the caller's namespace)
 * to the process judged through /proc. Without pidfds (-1), /proc must
 * at least be the caller's own namespace's: /proc/self names getpid(). */
static bool pidfd_is(int pidfd, long pid)
{
    char path[64], line[64];
    bool same = false;
    ssize_t n;
    FILE *f;

    if (pidfd < 0) {
        n = readlink("/proc/self", line, sizeof(line) - 1);
        if (n <= 0)
            return false;
        line[n] = '\0';
        return strtol(line, NULL, 10) == (long)getpid();
    }
    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
    if ((f = fopen(path, "re")) == NULL)
        return false;
    while (!same && fgets(line, sizeof(line), f) != NULL)
        same = strncmp(line, "Pid:\t", 5) == 0 && strtol(line + 5, NULL, 10) == pid;
    fclose(f);
    return same;
}

static int signal_pidfd(int pidfd, long pid)
{
#ifdef SYS_pidfd_send_signal
    if (pidfd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
#endif
    (void)pidfd;
    return kill((pid_t)pid, SIGKILL);
}

/* Where the kernel's lock lists put a file: the device of its super block
 * (hex MAJ:MIN, not always what stat says: btrfs subvolumes)
 * and its inode. */
struct lock_key {
    unsigned int maj, min;
    unsigned long long ino;
};

/* The key of the file open on fd, through /proc/self/fdinfo (its mount id
 * and inode) and /proc/self/mountinfo (that mount's MAJ:MIN). */
static bool lock_key_of(int fd, struct lock_key *k)
{
    struct stat st;
    char path[64], *line = NULL;
    size_t cap = 0;
    int mnt = -1, id;
    bool found = false, ino = false;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
    if ((f = fopen(path, "re")) == NULL)
        return false;
    while (getline(&line, &cap, f) >= 0) {
        if (sscanf(line, "mnt_id: %d", &id) == 1)
            mnt = id;
        else if (sscanf(line, "ino: %llu", &k->ino) == 1)
            ino = true;
    }
    fclose(f);
    if (!ino && fstat(fd, &st) == 0) { /* older kernels print no "ino:": stat gives i_ino */
        k->ino = (unsigned long long)st.st_ino;
        ino = true;
    }
    if (mnt >= 0 && ino && (f = fopen("/proc/self/mountinfo", "re")) != NULL) {
        while (!found && getline(&line, &cap, f) >= 0)
            found = sscanf(line, "%d %*d %u:%u", &id, &k->maj, &k->min) == 3 && id == mnt;
        fclose(f);
    }
    free(line);
    return found;
}

/* Is line a held (not "->" requested) exclusive FLOCK on the file k
 * names, by the process its pid is (*pid)? The /proc/locks shape, after
 * "lock:\t" in fdinfo: "N: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE START END". */
static bool lock_line_is(const char *line, const struct lock_key *k, long *pid)
{
    char type[16], mode[16];
    unsigned int maj, min;
    unsigned long long ino;

    return strstr(line, "->") == NULL &&
           sscanf(line, "%*d: %15s %*s %15s %ld %x:%x:%llu", type, mode, pid, &maj, &min, &ino) ==
               6 &&
           strcmp(type, "FLOCK") == 0 && strcmp(mode, "WRITE") == 0 && maj == k->maj &&
           min == k->min && ino == k->ino;
}

/* Does process pid hold the flock of the file k names, through a
 * descriptor of its own? /proc/PID/fdinfo/N lists ("lock:") the locks of
 * that descriptor's open file description only, so a waiter, which has
 * the file open too, is not counted; nor is a process that merely took
 * the pid of a holder gone. Only fdinfo is read: a stat through
 * /proc/PID/fd would ask the file system of each descriptor (a FUSE
 * daemon that never answers: the caller of su passes su such a file). */
static bool proc_holds_flock(long pid, const struct lock_key *k)
{
    char path[64], line[256];
    struct dirent *e;
    bool held = false;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%ld/fdinfo", pid);
    d = opendir(path);
    if (d == NULL)
        return false;
    while (!held && (e = readdir(d)) != NULL) {
        long p;
        FILE *f;
        int fd;

        if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
            (fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC)) < 0)
            continue;
        if ((f = fdopen(fd, "r")) == NULL) {
            close(fd);
            continue;
        }
        while (!held && fgets(line, sizeof(line), f) != NULL)
            held = strncmp(line, "lock:\t", 6) == 0 && lock_line_is(line + 6, k, &p);
        fclose(f);
    }
    closedir(d);
    return held;
}

/* The process that holds the flock when /proc/locks names another one: a
 * flock belongs to an open file description, and /proc/locks names the
 * process that took it, even after it died or closed its descriptor while
 * a child it forked still has the description (the Samba helper's child
 * between its fork and its exec; the caller of su can stop it there and
 * kill su). 0 when no process of this PID namespace holds it. */
static long flock_holder_scan(const struct lock_key *k)
{
    struct dirent *e;
    long pid = 0, self = (long)getpid();
    DIR *d = opendir("/proc");

    if (d == NULL)
        return 0;
    while (pid == 0 && (e = readdir(d)) != NULL) {
        char *end;
        long p;

        errno = 0;
        p = strtol(e->d_name, &end, 10);
        if (errno == 0 && *end == '\0' && p > 0 && p != self && proc_holds_flock(p, k))
            pid = p;
    }
    closedir(d);
    return pid;
}

/* The pid that holds a flock on the file k names (pids in the reader's PID
 * namespace); 0 when none can be named. /proc/locks says which process
 * took it; that process must still hold it (proc_holds_flock), else the
 * holder is looked for among all processes. A waiter's own blocked
 * request is a "->" line, never counted. */
static long flock_holder(const struct lock_key *k)
{
    char *line = NULL;
    size_t cap = 0;
    long pid = 0, p;
    bool named = false;
    FILE *f;

    if ((f = fopen("/proc/locks", "re")) == NULL)
        return 0;
    while (pid == 0 && getline(&line, &cap, f) >= 0) {
        if (!lock_line_is(line, k, &p))
            continue;
        named = true;
        if (p > 0 && proc_holds_flock(p, k))
            pid = p;
    }
    free(line);
    fclose(f);
    if (pid == 0 && named)
        pid = flock_holder_scan(k);
    return pid;
}

/*
 * The holder a waiter judges (fd the lock file, k its key): the process the record names, if it is
 * alive and the flock's holder; else (norec) the process the kernel says holds the flock, with no
 * deadline (until 0: always past it). false when nobody can be named.
 */
static bool lock_candidate(int fd, const struct lock_key *k, struct lock_rec *r,
                           struct jfa_lock_holder *h, struct proc_stat *ps, bool *norec)
{
    char path[64];
    long pid = flock_holder(k);

    *norec = false;
    /* a record counts when it names the flock's holder */
    if (pid > 0 && lock_record_read(fd, r) == 0 && pid == r->pid) {
        lock_holder_judge(r, h, ps);
        if (h->alive)
            return true;
    }
    if (pid <= 0)
        return false;
    memset(r, 0, sizeof(*r));
    r->pid = pid;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    r->start = proc_start(path);
    r->pidns = pidns_self();
    boot_id(r->boot);
    *norec = true;
    lock_holder_judge(r, h, ps);
    return h->alive;
}

/* What a waiter has seen of a stuck holder so far. */
struct stuck_watch {
    long pid;
    unsigned long long start, cpu;
    bool norec;
    struct timespec since;
    bool looked;               /* at last_look: a waiter looks every LOCK_LOOK_MS, not */
    struct timespec last_look; /* at every poll (a look may list /proc) */
    bool have_key;             /* the lock file's key, found once per wait */
    struct lock_key key;
};

/*
 * One look at the holder of the lock fd names (the waiter's lock did not
 * come). 1: a stuck holder past its deadline was sent SIGKILL (*ended
 * says who and why); 0 otherwise. The kill is decided on a second reading
 * made after a pidfd names the process (so a reused pid is never signalled),
 * the holder having been seen stuck, with the same CPU time, LOCK_STUCK_MS
 * before: a traced process passes through 't' at each traced system call.
 */
static int end_stuck_holder(int fd, struct stuck_watch *w, struct jfa_state_lock *ended)
{
    struct lock_rec r;
    struct jfa_lock_holder h;
    struct proc_stat ps;
    struct stat st;
    int pidfd = -1, rc = 0;
    bool norec;

    if (w->looked && ms_since(&w->last_look) < LOCK_LOOK_MS)
        return 0;
    w->looked = clock_gettime(CLOCK_MONOTONIC, &w->last_look) == 0;
    if (geteuid() != 0 || fstat(fd, &st) != 0 || st.st_uid != 0 || (st.st_mode & 077) != 0)
        goto forget;
    if (!w->have_key)
        w->have_key = lock_key_of(fd, &w->key);
    if (!w->have_key || !lock_candidate(fd, &w->key, &r, &h, &ps, &norec) || !h.stuck ||
        h.overdue_ms <= 0)
        goto forget;
    if (w->pid != r.pid || w->start != ps.start || w->cpu != ps.cpu || w->norec != norec) {
        w->pid = r.pid;
        w->start = ps.start;
        w->cpu = ps.cpu;
        w->norec = norec;
        if (clock_gettime(CLOCK_MONOTONIC, &w->since) != 0)
            goto forget;
        return 0;
    }
    if (ms_since(&w->since) < (norec ? LOCK_NOREC_STUCK_MS : LOCK_STUCK_MS))
        return 0;
    pidfd = pidfd_of(r.pid);
    if ((pidfd < 0 && errno != ENOSYS) || !pidfd_is(pidfd, r.pid))
        goto forget; /* gone, or not the process /proc showed */
    if (!lock_candidate(fd, &w->key, &r, &h, &ps, &norec) || !h.stuck || h.overdue_ms <= 0 ||
        r.pid != w->pid || ps.start != w->start || ps.cpu != w->cpu || norec != w->norec)
        goto forget;
    if (signal_pidfd(pidfd, r.pid) == 0) {
        ended->ended_pid = r.pid;
        if (norec)
            snprintf(ended->ended_why, sizeof(ended->ended_why), "%s, holding it with no record",
                     h.why);
        else
            snprintf(ended->ended_why, sizeof(ended->ended_why), "%s, %lld s past its deadline",
                     h.why, (h.overdue_ms + 999) / 1000);
        rc = 1;
    }
forget:
    if (pidfd >= 0)
        close(pidfd);
    w->pid = 0; /* forget the holder, not when we last looked */
    w->start = w->cpu = 0;
    w->norec = false;
    return rc;
}

/* An exclusive flock on private_dir/locks/name: the file is created 0600
 * when absent (never through a symlink), then opened and checked like any
 * trusted file. flock has no timeout of its own: try without blocking
 * every LOCK_POLL_NS until timeout_ms have passed on the monotonic clock;
 * meanwhile a stuck holder past its deadline is ended (end_stuck_holder).
 * Once held, the holder record says who holds it until when (hold_ms). */
static int lock_file(const char *private_dir, const char *name, long timeout_ms, long hold_ms,
                     struct jfa_state_lock *lock, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct timespec start;
    struct stuck_watch watch;
    int fd, rc = -1;

    memset(&watch, 0, sizeof(watch));
    lock->fd = -1;
    lock->recorded = false;
    lock->ended_pid = 0;
    lock->ended_why[0] = '\0';
    if (state_path(private_dir, "locks", name, true, path, sizeof(path), err, errlen) != 0)
        return -1;
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0) {
        /* ours: 0600 whatever the umask was, root:root inside su */
        int r = fchmod(fd, 0600);

        if (r != 0) {
            jfa_set_err(err, errlen, "%s: chmod 0600: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        r = jfa_root_owned_fd(fd, path, err, errlen);
        close(fd);
        if (r != 0)
            return -1;
    } else if (errno != EEXIST) {
        jfa_set_err(err, errlen, "%s: cannot create the lock file: %s", path, strerror(errno));
        return -1;
    }
    fd = jfa_open_trusted_rw(path, 077, err, errlen);
    if (fd < 0)
        return -1;
    if (clock_gettime(CLOCK_MONOTONIC, &start) != 0) {
        jfa_set_err(err, errlen, "clock_gettime: %s", strerror(errno));
        goto out;
    }
    for (;;) {
        struct timespec pause = {0, LOCK_POLL_NS};

        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
            lock->fd = fd;
            fd = -1;
            lock_record_put(lock, hold_ms);
            rc = 0;
            goto out;
        }
        if (errno != EWOULDBLOCK && errno != EINTR) {
            jfa_set_err(err, errlen, "%s: flock: %s", path, strerror(errno));
            rc = -1;
            goto out;
        }
        if (ms_since(&start) >= timeout_ms) {
            jfa_set_err(err, errlen, "%s: still held by another process after %ld ms", path,
                        timeout_ms);
            rc = -ETIMEDOUT;
            goto out;
        }
        if (timeout_ms > 0 && lock->ended_pid == 0)
            (void)end_stuck_holder(fd, &watch, lock);
        (void)nanosleep(&pause, NULL);
    }
out:
    if (fd >= 0)
        close(fd);
    return rc;
}

int jfa_state_lock_user(const char *private_dir, const char *jf_id, long timeout_ms, long hold_ms,
                        struct jfa_state_lock *lock, char *err, size_t errlen)
{
    lock->fd = -1;
    lock->ended_pid = 0;
    lock->ended_why[0] = '\0';
    if (!jfa_guid_is_n(jf_id)) {
        jfa_set_err(err, errlen, "invalid user id");
        return -1;
    }
    return lock_file(private_dir, jf_id, timeout_ms, hold_ms, lock, err, errlen);
}

/*
 * The longest a live process holds a user's login lock (design.md "Login
 * lock"): under it, at most four Jellyfin calls in a row (explain's probe,
 * the guard, AuthenticateByName, the logout of a refused token; passwd's
 * check and change, reset --server: fewer), each bounded by n_urls * timeout
 * (http.c); one Samba update (samba_timeout in all); three waits for a
 * throttle stripe lock (THROTTLE_LOCK_MS each); plus LOCK_HOLD_SLACK_MS for
 * everything that is no network call (yescrypt, file writes, scheduling).
 */
#define LOCK_HOLD_SLACK_MS 30000L
long jfa_state_lock_hold_ms(const struct jfa_config *cfg)
{
    long urls = cfg->n_urls > 0 ? (long)cfg->n_urls : 1;
    long timeout = cfg->timeout > 0 ? cfg->timeout : 10;

    return (4 * urls * timeout + (cfg->samba_timeout > 0 ? cfg->samba_timeout : 0)) * 1000L +
           3 * THROTTLE_LOCK_MS + LOCK_HOLD_SLACK_MS;
}

int jfa_state_lock_holder(const char *private_dir, const char *jf_id, struct jfa_lock_holder *h)
{
    char path[PATH_MAX], err[64];
    struct lock_rec r;
    struct proc_stat ps;
    int fd, rc = -1;

    memset(h, 0, sizeof(*h));
    if (!jfa_guid_is_n(jf_id) ||
        state_path(private_dir, "locks", jf_id, false, path, sizeof(path), err, sizeof(err)) != 0)
        return -1;
    fd = jfa_open_trusted(path, 077, err, sizeof(err));
    if (fd < 0)
        return -1;
    if (lock_record_read(fd, &r) == 0) {
        lock_holder_judge(&r, h, &ps);
        rc = h->alive ? 0 : -1;
    }
    close(fd);
    return rc;
}

void jfa_state_unlock(struct jfa_state_lock *lock)
{
    if (lock == NULL || lock->fd < 0)
        return;
    /* LOCK_UN releases the open file description's lock, so a child forked
     * while we held it (sharing the description) does not keep it. */
    if (lock->recorded) {
        char wipe[LOCK_REC_LEN];

        /* a record left behind could name this process while another holds the lock */
        memset(wipe, 0, sizeof(wipe));
        if (pwrite(lock->fd, wipe, sizeof(wipe), 0) != (ssize_t)sizeof(wipe))
            (void)0; /* a record that stays names a process that no longer holds the lock */
        lock->recorded = false;
    }
    (void)flock(lock->fd, LOCK_UN);
    close(lock->fd);
    lock->fd = -1;
}

/* Throttle keys may hold a host name: hash them into a file name. */
static int throttle_path(const char *private_dir, const char *key, bool create, char *out,
                         size_t outlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char name[2 * 16 + 1];
    char err[64];

    if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
        return -1;
    jfa_hex_encode(name, md, 16);
    return state_path(private_dir, "throttle", name, create, out, outlen, err, sizeof(err));
}

/*
 * The lock of a throttle record's read-modify-write. A user key (an Id) is
 * only ever updated by a process that holds that user's login lock (the
 * module from the throttle check to the recorded answer, the tools), so it
 * needs no second lock; and none may be global: the caller of su can stop
 * su (SIGSTOP: its real uid is theirs) while it holds a lock, which must
 * never block other users' logins. Host keys are shared between users; their
 * records take one of THROTTLE_STRIPES stripe locks, held only by processes
 * no local user can stop (no setuid program sets PAM_RHOST).
 */
static int throttle_lock(const char *private_dir, const char *key, struct jfa_state_lock *lock,
                         char *err, size_t errlen)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char name[32];
    int r;

    lock->fd = -1;
    if (strncmp(key, "host:", 5) != 0)
        return 0;
    if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 1) {
        jfa_set_err(err, errlen, "cannot hash the throttle key");
        return -1;
    }
    snprintf(name, sizeof(name), "throttle.%02u", (unsigned)(md[0] % THROTTLE_STRIPES));
    r = lock_file(private_dir, name, THROTTLE_LOCK_MS, THROTTLE_HOLD_MS, lock, err, errlen);
    if (lock->ended_pid != 0)
        syslog(LOG_AUTHPRIV | LOG_WARNING,
               "jellyfin-auth: ended pid %ld, which held the throttle lock %s and was %s",
               lock->ended_pid, name, lock->ended_why);
    return r;
}

struct throttle_rec {
    uint64_t count, last;
};

/* 0 read, JFA_ABSENT, THROTTLE_MALFORMED (read as absent by the callers
 * that forgive it), -1 unreadable (unsafe file, descriptors or memory
 * exhausted). */
#define THROTTLE_MALFORMED 2
static int throttle_read_strict(const char *path, struct throttle_rec *t, char *err, size_t errlen)
{
    char *buf = NULL;
    int r;

    size_t len = 0, mlen = strlen(THROTTLE_MAGIC);

    memset(t, 0, sizeof(*t));
    r = jfa_read_trusted(path, 077, RECORD_MAX, &buf, &len, err, errlen);
    if (r != 0)
        return r;
    if (len < mlen + 1 || memcmp(buf, THROTTLE_MAGIC, mlen) != 0 || buf[mlen] != '\n' ||
        !record_u64(buf, "count", &t->count) || !record_u64(buf, "last", &t->last)) {
        memset(t, 0, sizeof(*t));
        r = THROTTLE_MALFORMED;
    }
    free(buf);
    return r;
}

static void throttle_read(const char *path, struct throttle_rec *t)
{
    char *buf = NULL;
    char err[64];

    memset(t, 0, sizeof(*t));
    if (read_record(path, THROTTLE_MAGIC, &buf, err, sizeof(err)) != 0)
        return;
    if (!record_u64(buf, "count", &t->count) || !record_u64(buf, "last", &t->last))
        memset(t, 0, sizeof(*t));
    free(buf);
}

/* The back-off after t->count failures: 0 below the threshold, then base,
 * 2 * base, 4 * base ... capped at throttle_max_delay. */
static uint64_t throttle_delay(const struct jfa_config *cfg, const struct throttle_rec *t)
{
    uint64_t over, delay;

    if (cfg->throttle_failures == 0 || t->count < cfg->throttle_failures)
        return 0;
    over = t->count - cfg->throttle_failures;
    delay = over >= 20 ? (uint64_t)cfg->throttle_max_delay : (uint64_t)JFA_THROTTLE_BASE << over;
    return delay > (uint64_t)cfg->throttle_max_delay ? (uint64_t)cfg->throttle_max_delay : delay;
}

/* A record is forgotten throttle_window after its back-off has run out (a
 * clock set back forgets it too): a window shorter than the delay must not
 * reset the count while the back-off still runs. */
static bool throttle_expired(const struct jfa_config *cfg, const struct throttle_rec *t, time_t now)
{
    /* A clock set back forgets the record; a record a few seconds "ahead"
     * is only another process's update made after our clock reading (which
     * came before the wait for the lock): it stays. */
    if ((time_t)t->last > now)
        return (time_t)t->last - now > JFA_THROTTLE_SKEW;
    return (uint64_t)(now - (time_t)t->last) >
           throttle_delay(cfg, t) + (uint64_t)cfg->throttle_window;
}

/* Seconds the key must still wait, 0 if none. */
static long throttle_wait(const struct jfa_config *cfg, const struct throttle_rec *t, time_t now)
{
    uint64_t delay = throttle_delay(cfg, t), since;

    if (delay == 0 || throttle_expired(cfg, t, now))
        return 0;
    since = (time_t)t->last > now ? 0 : (uint64_t)(now - (time_t)t->last);
    return since >= delay ? 0 : (long)(delay - since);
}

int jfa_throttle_check(const struct jfa_config *cfg, const char *private_dir, const char *key,
                       time_t now, long *wait)
{
    char path[PATH_MAX];
    struct throttle_rec t;

    *wait = 0;
    if (cfg->throttle_failures == 0 || throttle_path(private_dir, key, false, path, sizeof(path)))
        return 0;
    throttle_read(path, &t);
    *wait = throttle_wait(cfg, &t, now);
    return *wait > 0 ? 1 : 0;
}

int jfa_throttle_failure(const struct jfa_config *cfg, const char *private_dir, const char *key,
                         time_t now)
{
    char path[PATH_MAX];
    char buf[128];
    char err[JFA_ERRLEN];
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    struct throttle_rec t;
    int n, rc = -1;

    if (cfg->throttle_failures == 0)
        return 0;
    if (throttle_path(private_dir, key, true, path, sizeof(path)) != 0)
        return -1;
    /* Read, count and write under the lock, or parallel failures overwrite
     * each other's count. Without the lock (unusable, or held for seconds
     * by a stuck process) the failure is still recorded: a count that may
     * miss a parallel update beats none. */
    (void)throttle_lock(private_dir, key, &lock, err, sizeof(err));
    throttle_read(path, &t);
    if (throttle_expired(cfg, &t, now))
        t.count = 0;
    t.count++;
    if ((time_t)t.last < now)
        t.last = (uint64_t)now;
    n = snprintf(buf, sizeof(buf), "%s\ncount=%" PRIu64 "\nlast=%" PRIu64 "\n", THROTTLE_MAGIC,
                 t.count, t.last);
    if (n > 0 && (size_t)n < sizeof(buf))
        rc = jfa_write_atomic(path, buf, (size_t)n, 0600, err, sizeof(err)) == 0 ? 0 : -1;
    jfa_state_unlock(&lock);
    return rc;
}

int jfa_throttle_attempt(const struct jfa_config *cfg, const char *private_dir, const char *key,
                         time_t now, long *wait, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char buf[128];
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    struct throttle_rec t;
    int n, r, rc = -1;

    *wait = 0;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg->throttle_failures == 0)
        return 0;
    if (throttle_path(private_dir, key, true, path, sizeof(path)) != 0) {
        jfa_set_err(err, errlen, "%s: cannot make the throttle directory", private_dir);
        return -1;
    }
    /* Check and count under one lock: parallel attempts of different
     * users from one host cannot all pass a check made before any counts. */
    if (throttle_lock(private_dir, key, &lock, err, errlen) != 0)
        return -1;
    r = throttle_read_strict(path, &t, err, errlen);
    if (r < 0)
        goto out; /* cannot tell how many failures there were: decide nothing */
    if (r != 0 || throttle_expired(cfg, &t, now))
        t.count = 0;
    *wait = throttle_wait(cfg, &t, now);
    if (*wait > 0) {
        rc = 1;
        goto out;
    }
    t.count++;
    if ((time_t)t.last < now)
        t.last = (uint64_t)now;
    n = snprintf(buf, sizeof(buf), "%s\ncount=%" PRIu64 "\nlast=%" PRIu64 "\n", THROTTLE_MAGIC,
                 t.count, t.last);
    if (n > 0 && (size_t)n < sizeof(buf) &&
        jfa_write_atomic(path, buf, (size_t)n, 0600, err, errlen) == 0)
        rc = 0;
out:
    jfa_state_unlock(&lock);
    return rc;
}

void jfa_throttle_undo(const struct jfa_config *cfg, const char *private_dir, const char *key)
{
    char path[PATH_MAX];
    char buf[128];
    char err[JFA_ERRLEN];
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    struct throttle_rec t;
    int n;

    if (cfg->throttle_failures == 0 || throttle_path(private_dir, key, false, path, sizeof(path)))
        return;
    (void)throttle_lock(private_dir, key, &lock, err, sizeof(err));
    throttle_read(path, &t);
    if (t.count <= 1) {
        (void)unlink(path);
    } else {
        t.count--;
        n = snprintf(buf, sizeof(buf), "%s\ncount=%" PRIu64 "\nlast=%" PRIu64 "\n", THROTTLE_MAGIC,
                     t.count, t.last);
        if (n > 0 && (size_t)n < sizeof(buf))
            (void)jfa_write_atomic(path, buf, (size_t)n, 0600, err, sizeof(err));
    }
    jfa_state_unlock(&lock);
}

void jfa_throttle_success(const char *private_dir, const char *key)
{
    char path[PATH_MAX];
    char err[JFA_ERRLEN];
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;

    if (throttle_path(private_dir, key, false, path, sizeof(path)) != 0 ||
        (faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) != 0 && errno == ENOENT))
        return;
    /* Under the lock, so that a failure counted in parallel is not written
     * back over the removal with the count it read before it. */
    (void)throttle_lock(private_dir, key, &lock, err, sizeof(err));
    (void)unlink(path);
    jfa_state_unlock(&lock);
}

void jfa_throttle_info(const struct jfa_config *cfg, const char *private_dir, const char *key,
                       time_t now, unsigned long *count, long *wait)
{
    char path[PATH_MAX];
    struct throttle_rec t;

    *count = 0;
    *wait = 0;
    if (throttle_path(private_dir, key, false, path, sizeof(path)) != 0)
        return;
    throttle_read(path, &t);
    if (t.count == 0 || throttle_expired(cfg, &t, now))
        return;
    *count = (unsigned long)t.count;
    *wait = cfg->throttle_failures == 0 ? 0 : throttle_wait(cfg, &t, now);
}

int jfa_state_verifier_info(const char *private_dir, const char *jf_id, time_t *when,
                            uint32_t *flags, char *err, size_t errlen)
{
    char path[PATH_MAX];
    char *buf = NULL;
    uint64_t fl, t;
    int rc;

    if (!jfa_guid_is_n(jf_id)) {
        jfa_set_err(err, errlen, "invalid user id");
        return -1;
    }
    if (state_path(private_dir, "verifiers", jf_id, false, path, sizeof(path), err, errlen) != 0)
        return -1;
    rc = read_record(path, VERIFIER_MAGIC, &buf, err, errlen);
    if (rc != 0)
        return rc;
    if (!record_u64(buf, "flags", &fl) || !record_u64(buf, "time", &t)) {
        jfa_set_err(err, errlen, "%s: malformed verifier record", path);
        rc = -1;
    } else {
        *when = (time_t)t;
        *flags = (uint32_t)fl;
    }
    jfa_free_secret(buf);
    return rc;
}

/* --- rejected-password memory --- */
#define REJECTED_MAGIC "jellyfin-auth rejected 1"
#define REJECTED_KEY_FILE "rejected.key"
#define REJECTED_KEY_LEN 32
#define REJECTED_MAC_LEN 32

struct rejected_entry {
    unsigned char mac[REJECTED_MAC_LEN];
    uint64_t when;
};

struct rejected_set {
    struct rejected_entry e[JFA_REJECTED_MAX];
    size_t n;
};

static int hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t outlen)
{
    size_t i;

    if (hexlen != 2 * outlen)
        return -1;
    for (i = 0; i < outlen; i++) {
        int hi = jfa_hexval((unsigned char)hex[2 * i]),
            lo = jfa_hexval((unsigned char)hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return 0;
}

/* The per-machine key: created (random, 0600) the first time; whoever
 * wins a race of two creators, everyone uses what is on disk. */
static int rejected_key(const char *private_dir, unsigned char key[REJECTED_KEY_LEN], char *err,
                        size_t errlen)
{
    char path[PATH_MAX];
    char hex[2 * REJECTED_KEY_LEN + 2];
    unsigned char fresh[REJECTED_KEY_LEN];
    char *buf = NULL;
    size_t len = 0;
    int rc = -1, tries, r;

    if (jfa_ensure_dir(private_dir, 0700, err, errlen) != 0)
        return -1;
    if (snprintf(path, sizeof(path), "%s/%s", private_dir, REJECTED_KEY_FILE) >=
        (int)sizeof(path)) {
        jfa_set_err(err, errlen, "%s: path too long", private_dir);
        return -1;
    }
    for (tries = 0; tries < 2; tries++) {
        /* the open tells absence with the effective ids (access() would
         * ask with su's caller's real uid, who cannot search private/) */
        r = jfa_read_trusted(path, 077, 256, &buf, &len, err, errlen);
        if (r == JFA_ABSENT && tries == 0) {
            if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t)sizeof(fresh)) {
                jfa_set_err(err, errlen, "getrandom: %s", strerror(errno));
                goto out;
            }
            jfa_hex_encode(hex, fresh, REJECTED_KEY_LEN);
            hex[2 * REJECTED_KEY_LEN] = '\n';
            if (jfa_write_atomic(path, hex, 2 * REJECTED_KEY_LEN + 1, 0600, err, errlen) != 0)
                goto out;
            continue;
        }
        if (r != 0)
            goto out;
        if (len >= 2 * REJECTED_KEY_LEN &&
            hex_decode(buf, 2 * REJECTED_KEY_LEN, key, REJECTED_KEY_LEN) == 0) {
            rc = 0;
            goto out;
        }
        jfa_set_err(err, errlen, "%s: not a key file", path);
        jfa_free_secret(buf);
        buf = NULL;
        goto out;
    }
out:
    explicit_bzero(fresh, sizeof(fresh));
    explicit_bzero(hex, sizeof(hex));
    jfa_free_secret(buf);
    return rc;
}

/* HMAC-SHA256(key, "jellyfin-auth rejected\0" ID "\0" password) */
static int rejected_mac(const unsigned char key[REJECTED_KEY_LEN], const char *jf_id,
                        const char *password, unsigned char mac[REJECTED_MAC_LEN])
{
    static const char label[] = "jellyfin-auth rejected";
    size_t plen = strlen(password), idlen = strlen(jf_id);
    size_t len = sizeof(label) + idlen + 1 + plen;
    unsigned char *msg = malloc(len);
    unsigned int maclen = 0;
    int rc = -1;

    if (msg == NULL)
        return -1;
    memcpy(msg, label, sizeof(label));
    memcpy(msg + sizeof(label), jf_id, idlen + 1);
    memcpy(msg + sizeof(label) + idlen + 1, password, plen);
    if (HMAC(EVP_sha256(), key, REJECTED_KEY_LEN, msg, len, mac, &maclen) != NULL &&
        maclen == REJECTED_MAC_LEN)
        rc = 0;
    explicit_bzero(msg, len);
    free(msg);
    return rc;
}

/* Read a user's set, keeping only entries younger than window. */
static int rejected_read(const char *path, time_t now, long window, struct rejected_set *set,
                         char *err, size_t errlen)
{
    char *buf = NULL;
    const char *p;
    int rc;

    memset(set, 0, sizeof(*set));
    rc = read_record(path, REJECTED_MAGIC, &buf, err, errlen);
    if (rc != 0)
        return rc;
    p = strchr(buf, '\n');
    while (p != NULL && p[1] != '\0' && set->n < JFA_REJECTED_MAX) {
        const char *line = p + 1, *sp = strchr(line, ' ');
        struct rejected_entry *e = &set->e[set->n];
        char *end;
        unsigned long long t;

        p = strchr(line, '\n');
        if (sp == NULL || (p != NULL && sp > p))
            continue;
        errno = 0;
        t = strtoull(sp + 1, &end, 10);
        if (errno != 0 || end == sp + 1 || (*end != '\n' && *end != '\0'))
            continue;
        if (hex_decode(line, (size_t)(sp - line), e->mac, sizeof(e->mac)) != 0)
            continue;
        if ((time_t)t > now || now - (time_t)t >= window)
            continue;
        e->when = t;
        set->n++;
    }
    jfa_free_secret(buf);
    return 0;
}

static int rejected_path(const char *private_dir, const char *jf_id, bool create, char *path,
                         size_t len, char *err, size_t errlen)
{
    if (!jfa_guid_is_n(jf_id)) {
        jfa_set_err(err, errlen, "invalid user id");
        return -1;
    }
    return state_path(private_dir, "rejected", jf_id, create, path, len, err, errlen);
}

int jfa_state_rejected_check(const char *private_dir, const char *jf_id, const char *password,
                             time_t now, long window, long *age, char *err, size_t errlen)
{
    char path[PATH_MAX];
    unsigned char key[REJECTED_KEY_LEN], mac[REJECTED_MAC_LEN];
    struct rejected_set set;
    int rc = -1, r;
    size_t i;

    *age = 0;
    memset(&set, 0, sizeof(set));
    if (rejected_path(private_dir, jf_id, false, path, sizeof(path), err, errlen) != 0)
        return -1;
    r = rejected_read(path, now, window, &set, err, errlen);
    if (r == JFA_ABSENT)
        return 0;
    if (r != 0)
        return -1;
    if (set.n == 0)
        return 0;
    if (rejected_key(private_dir, key, err, errlen) != 0)
        goto out;
    if (rejected_mac(key, jf_id, password, mac) != 0) {
        jfa_set_err(err, errlen, "HMAC failed");
        goto out;
    }
    rc = 0;
    for (i = 0; i < set.n; i++) {
        if (CRYPTO_memcmp(mac, set.e[i].mac, sizeof(mac)) == 0) {
            *age = (long)(now - (time_t)set.e[i].when);
            rc = 1;
        }
    }
out:
    explicit_bzero(key, sizeof(key));
    explicit_bzero(mac, sizeof(mac));
    explicit_bzero(&set, sizeof(set));
    return rc;
}

int jfa_state_rejected_add(const char *private_dir, const char *jf_id, const char *password,
                           time_t now, long window, char *err, size_t errlen)
{
    char path[PATH_MAX];
    unsigned char key[REJECTED_KEY_LEN], mac[REJECTED_MAC_LEN];
    struct rejected_set set;
    char buf[64 + JFA_REJECTED_MAX * (2 * REJECTED_MAC_LEN + 24)];
    size_t i, off, first = 0;
    int rc = -1, r, n;

    memset(&set, 0, sizeof(set));
    if (rejected_path(private_dir, jf_id, true, path, sizeof(path), err, errlen) != 0)
        return -1;
    r = rejected_read(path, now, window, &set, err, errlen);
    if (r != 0 && r != JFA_ABSENT)
        memset(&set, 0, sizeof(set)); /* unreadable: start over */
    if (rejected_key(private_dir, key, err, errlen) != 0)
        goto out;
    if (rejected_mac(key, jf_id, password, mac) != 0) {
        jfa_set_err(err, errlen, "HMAC failed");
        goto out;
    }
    /* the oldest goes when full */
    if (set.n == JFA_REJECTED_MAX)
        first = 1;
    n = snprintf(buf, sizeof(buf), "%s\n", REJECTED_MAGIC);
    off = (size_t)n;
    for (i = first; i <= set.n; i++) {
        const unsigned char *m = i < set.n ? set.e[i].mac : mac;
        uint64_t when = i < set.n ? set.e[i].when : (uint64_t)now;

        if (i < set.n && CRYPTO_memcmp(m, mac, sizeof(mac)) == 0)
            continue; /* re-added below with the new time */
        jfa_hex_encode(buf + off, m, REJECTED_MAC_LEN);
        off += 2 * REJECTED_MAC_LEN;
        n = snprintf(buf + off, sizeof(buf) - off, " %" PRIu64 "\n", when);
        if (n < 0 || (size_t)n >= sizeof(buf) - off) {
            jfa_set_err(err, errlen, "rejected record too long");
            goto out;
        }
        off += (size_t)n;
    }
    rc = jfa_write_atomic(path, buf, off, 0600, err, errlen);
out:
    explicit_bzero(key, sizeof(key));
    explicit_bzero(mac, sizeof(mac));
    explicit_bzero(&set, sizeof(set));
    explicit_bzero(buf, sizeof(buf));
    return rc;
}

int jfa_state_rejected_clear(const char *private_dir, const char *jf_id)
{
    char path[PATH_MAX];
    char err[64];

    if (rejected_path(private_dir, jf_id, false, path, sizeof(path), err, sizeof(err)) != 0)
        return -1;
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

int jfa_state_rejected_count(const char *private_dir, const char *jf_id, time_t now, long window,
                             long *expires_in)
{
    char path[PATH_MAX];
    char err[JFA_ERRLEN];
    struct rejected_set set;
    uint64_t newest = 0;
    size_t i;
    int n;

    *expires_in = 0;
    if (rejected_path(private_dir, jf_id, false, path, sizeof(path), err, sizeof(err)) != 0 ||
        rejected_read(path, now, window, &set, err, sizeof(err)) != 0)
        return 0;
    for (i = 0; i < set.n; i++)
        if (set.e[i].when > newest)
            newest = set.e[i].when;
    if (set.n > 0)
        *expires_in = (long)((time_t)newest + window - now);
    n = (int)set.n;
    explicit_bzero(&set, sizeof(set));
    return n;
}
