/*
 * lib/fileutil.c - trusted file access.
 *
 * Owns: opening files we trust (O_NOFOLLOW, regular file, owner root or the
 * effective user, no forbidden mode bits, all checked on the open fd),
 * bounded whole-file reads that never leave stray copies of the data in
 * freed memory, private directory creation with an exact mode, and atomic
 * replacement of a file (temp file in the same directory, fchmod, write,
 * fsync, rename, fsync of the directory).
 */
/* _GNU_SOURCE normally comes from configure (AC_USE_SYSTEM_EXTENSIONS, -D) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "fileutil.h"
#include "log.h"

/* "group/other writable", "other readable/executable", ... for the bits in `bad`. */
static void describe_bits(mode_t bad, char *buf, size_t buflen)
{
    const char *who[3];
    const char *what[3];
    size_t nwho = 0, nwhat = 0, i, used = 0;

    if (bad & 0700)
        who[nwho++] = "owner";
    if (bad & 0070)
        who[nwho++] = "group";
    if (bad & 0007)
        who[nwho++] = "other";
    if (bad & 0444)
        what[nwhat++] = "readable";
    if (bad & 0222)
        what[nwhat++] = "writable";
    if (bad & 0111)
        what[nwhat++] = "executable";
    buf[0] = '\0';
    if (nwho == 0) {
        snprintf(buf, buflen, "forbidden bits %04o", (unsigned)bad);
        return;
    }
    for (i = 0; i < nwho && used < buflen; i++)
        used += (size_t)snprintf(buf + used, buflen - used, "%s%s", i ? "/" : "", who[i]);
    for (i = 0; i < nwhat && used < buflen; i++)
        used += (size_t)snprintf(buf + used, buflen - used, "%s%s", i ? "/" : " ", what[i]);
}

/* Owner and mode checks shared by files and directories. */
static int check_owner_mode(const char *path, const struct stat *st, mode_t forbidden, char *err,
                            size_t errlen)
{
    uid_t euid = geteuid();
    mode_t bad;

    if (st->st_uid != 0 && st->st_uid != euid) {
        if (euid == 0)
            jfa_set_err(err, errlen, "%s: owned by uid %lu, expected root", path,
                        (unsigned long)st->st_uid);
        else
            jfa_set_err(err, errlen, "%s: owned by uid %lu, expected root or uid %lu", path,
                        (unsigned long)st->st_uid, (unsigned long)euid);
        return -1;
    }
    bad = st->st_mode & forbidden & 07777;
    if (bad != 0) {
        char what[64];

        describe_bits(bad, what, sizeof(what));
        jfa_set_err(err, errlen, "%s: mode %04o is too open (%s)", path,
                    (unsigned)(st->st_mode & 07777), what);
        return -1;
    }
    return 0;
}

/* jfa_open_trusted (acc O_RDONLY or O_RDWR); *absent (when not NULL) says
 * the path does not exist. */
static int open_trusted(const char *path, int acc, mode_t forbidden_mode, bool *absent, char *err,
                        size_t errlen)
{
    struct stat st;
    int fd = -1, flags;

    if (absent != NULL)
        *absent = false;

    if (path == NULL || path[0] == '\0') {
        jfa_set_err(err, errlen, "empty file name");
        goto fail;
    }
    fd = open(path, acc | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (absent != NULL && errno == ENOENT)
            *absent = true;
        if (errno == ELOOP)
            jfa_set_err(err, errlen, "%s: is a symbolic link", path);
        else
            jfa_set_err(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (fstat(fd, &st) != 0) {
        jfa_set_err(err, errlen, "%s: fstat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        jfa_set_err(err, errlen, "%s: not a regular file", path);
        goto fail;
    }
    if (check_owner_mode(path, &st, forbidden_mode, err, errlen) != 0)
        goto fail;
    /* O_NONBLOCK only guarded the open against FIFOs; drop it now */
    flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        (void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

int jfa_open_trusted(const char *path, mode_t forbidden_mode, char *err, size_t errlen)
{
    return open_trusted(path, O_RDONLY, forbidden_mode, NULL, err, errlen);
}

int jfa_open_trusted_rw(const char *path, mode_t forbidden_mode, char *err, size_t errlen)
{
    return open_trusted(path, O_RDWR, forbidden_mode, NULL, err, errlen);
}

/* Grow a buffer that may hold secret bytes: copy, wipe the old one, free it. */
static char *grow_secret(char *old, size_t used, size_t newcap)
{
    char *n = malloc(newcap);

    if (n == NULL)
        return NULL;
    if (old != NULL) {
        memcpy(n, old, used);
        explicit_bzero(old, used);
        free(old);
    }
    return n;
}

int jfa_read_trusted(const char *path, mode_t forbidden_mode, size_t max, char **out, size_t *len,
                     char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t cap, used = 0;
    int fd, ret = -1;
    bool absent;

    if (out != NULL)
        *out = NULL;
    if (len != NULL)
        *len = 0;
    if (out == NULL || max >= SIZE_MAX - 1) {
        jfa_set_err(err, errlen, "%s: invalid read request", path ? path : "(null)");
        return -1;
    }
    fd = open_trusted(path, O_RDONLY, forbidden_mode, &absent, err, errlen);
    if (fd < 0)
        return absent ? JFA_ABSENT : -1;
    if (fstat(fd, &st) != 0) {
        jfa_set_err(err, errlen, "%s: fstat: %s", path, strerror(errno));
        goto out;
    }
    if (st.st_size > 0 && (unsigned long long)st.st_size > max) {
        jfa_set_err(err, errlen, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    /* room for the expected size, one byte to detect growth, and the NUL */
    cap = (st.st_size > 0 ? (size_t)st.st_size : 256) + 2;
    if (cap > max + 2)
        cap = max + 2;
    buf = grow_secret(NULL, 0, cap);
    if (buf == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n;

        if (used + 1 >= cap) {
            size_t ncap = cap * 2;
            char *nb;

            if (ncap > max + 2)
                ncap = max + 2;
            if (ncap <= cap) {
                /* cap == max + 2 and used == max + 1: too large */
                jfa_set_err(err, errlen, "%s: larger than %zu bytes", path, max);
                goto out;
            }
            nb = grow_secret(buf, used, ncap);
            if (nb == NULL) {
                jfa_set_err(err, errlen, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        n = read(fd, buf + used, cap - 1 - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            jfa_set_err(err, errlen, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            jfa_set_err(err, errlen, "%s: larger than %zu bytes", path, max);
            goto out;
        }
    }
    buf[used] = '\0';
    *out = buf;
    if (len != NULL)
        *len = used;
    buf = NULL;
    ret = 0;
out:
    if (buf != NULL) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    close(fd);
    return ret;
}

int jfa_read_trusted_resolved(const char *path, mode_t forbidden_mode, size_t max, char **out,
                              size_t *len, char *err, size_t errlen)
{
    char *real = NULL, e[512];
    int ret = -1;

    if (path == NULL || path[0] != '/') {
        jfa_set_err(err, errlen, "%s: not an absolute path", path != NULL ? path : "(null)");
        return -1;
    }
    real = realpath(path, NULL);
    if (real == NULL) {
        jfa_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    e[0] = '\0';
    /* the target itself must not be a link any more (O_NOFOLLOW) */
    if (jfa_read_trusted(real, forbidden_mode, max, out, len, e, sizeof(e)) != 0) {
        if (strcmp(real, path) == 0)
            jfa_set_err(err, errlen, "%s", e);
        else
            jfa_set_err(err, errlen, "%s (a link to %s): %s", path, real, e);
        goto out;
    }
    ret = 0;
out:
    free(real);
    return ret;
}

int jfa_check_dir(const char *path, mode_t forbidden_mode, char *err, size_t errlen)
{
    struct stat st;
    int fd = -1, ret = -1;

    if (path == NULL || path[0] == '\0') {
        jfa_set_err(err, errlen, "empty directory name");
        return -1;
    }
    /* check the object we can hold on to, not the name; the open tells
     * absence (O_DIRECTORY: a FIFO is refused without blocking) */
    fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;

        if (e == ENOENT) {
            jfa_set_err(err, errlen, "%s: does not exist", path);
            ret = JFA_ABSENT;
        } else if (e == ELOOP || (e == ENOTDIR && lstat(path, &st) == 0 && S_ISLNK(st.st_mode)))
            jfa_set_err(err, errlen, "%s: is a symbolic link", path);
        else if (e == ENOTDIR)
            jfa_set_err(err, errlen, "%s: not a directory", path);
        else
            jfa_set_err(err, errlen, "%s: %s", path, strerror(e));
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        jfa_set_err(err, errlen, "%s: fstat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        jfa_set_err(err, errlen, "%s: not a directory", path);
        goto out;
    }
    if (check_owner_mode(path, &st, forbidden_mode, err, errlen) != 0)
        goto out;
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

int jfa_ensure_dir(const char *path, mode_t mode, char *err, size_t errlen)
{
    mode_t forbidden = ~mode & 0777;
    char procpath[64];
    int fd, rc;

    if (path == NULL || path[0] == '\0') {
        jfa_set_err(err, errlen, "empty directory name");
        return -1;
    }
    mode &= 07777;
    if (mkdir(path, mode) != 0) {
        if (errno == EEXIST)
            return jfa_check_dir(path, forbidden, err, errlen) == 0 ? 0 : -1;
        jfa_set_err(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
        return -1;
    }
    /* We created it: set the exact mode, whatever the umask was. The umask
     * may have left us without read permission (a plain open would fail for
     * a non-root caller), so hold the directory with O_PATH and change the
     * mode through /proc/self/fd; without /proc, fall back to the name. */
    fd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        jfa_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (jfa_root_owned_fd(fd, path, err, errlen) != 0) {
        close(fd);
        return -1;
    }
    snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", fd);
    rc = chmod(procpath, mode);
    if (rc != 0 && errno == ENOENT)
        rc = chmod(path, mode);
    if (rc != 0) {
        jfa_set_err(err, errlen, "%s: chmod %04o: %s", path, (unsigned)mode, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    return jfa_check_dir(path, forbidden, err, errlen) == 0 ? 0 : -1;
}

/*
 * In a setuid-root program (su, passwd: euid 0, egid the caller's group) a
 * new file or directory gets the caller's group: give it to root:root.
 * fd may be an O_PATH descriptor (AT_EMPTY_PATH works on both kinds).
 */
int jfa_root_owned_fd(int fd, const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (geteuid() != 0)
        return 0;
    if (fstatat(fd, "", &st, AT_EMPTY_PATH) != 0) {
        jfa_set_err(err, errlen, "%s: fstat: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_uid == 0 && st.st_gid == 0)
        return 0;
    if (fchownat(fd, "", 0, 0, AT_EMPTY_PATH) != 0) {
        jfa_set_err(err, errlen, "%s: chown root:root: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* fsync the directory holding path so the rename is durable. */
static int fsync_parent(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path);
    char *slash;
    int fd = -1, ret = -1;

    if (dir == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        jfa_set_err(err, errlen, "%s: open directory %s: %s", path, dir, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        jfa_set_err(err, errlen, "%s: fsync of directory %s: %s", path, dir, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    free(dir);
    return ret;
}

int jfa_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                     size_t errlen)
{
    return jfa_write_atomic_hook(path, data, len, mode, NULL, NULL, err, errlen);
}

/* What jfa_write_atomic_unchanged expects to find at the path. */
struct expect {
    const char *text;
    size_t len;
    const struct stat *st;
};

/* Does path still hold exactly what was read (same file, same bytes)?
 * 0, JFA_WRITE_RACED, or -1 with err. */
static int still_unchanged(const char *path, const struct expect *x, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    ssize_t n;
    size_t got = 0;
    int fd, ret = -1;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            goto raced; /* removed or replaced by a link meanwhile */
        jfa_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        jfa_set_err(err, errlen, "%s: fstat: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_dev != x->st->st_dev || st.st_ino != x->st->st_ino ||
        st.st_size != x->st->st_size || st.st_mtim.tv_sec != x->st->st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != x->st->st_mtim.tv_nsec || (size_t)st.st_size != x->len)
        goto raced;
    /* the bytes too: an edit within the file system's timestamp
     * granularity keeps the identity */
    buf = malloc(x->len + 1);
    if (buf == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", path);
        goto out;
    }
    while (got <= x->len && (n = read(fd, buf + got, x->len + 1 - got)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            jfa_set_err(err, errlen, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        got += (size_t)n;
    }
    if (got != x->len || memcmp(buf, x->text, x->len) != 0)
        goto raced;
    ret = 0;
    goto out;
raced:
    jfa_set_err(err, errlen, "%s: changed by another program since it was read", path);
    ret = JFA_WRITE_RACED;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return ret;
}

static int write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                        void (*before_rename)(const char *path, void *arg), void *arg,
                        const struct expect *x, char *err, size_t errlen)
{
    static const char suffix[] = ".tmp.XXXXXX";
    char *tmp = NULL;
    size_t plen;
    int fd = -1, ret = -1;
    bool tmp_exists = false;

    if (path == NULL || path[0] == '\0' || (data == NULL && len > 0)) {
        jfa_set_err(err, errlen, "invalid atomic write request");
        return -1;
    }
    plen = strlen(path);
    tmp = malloc(plen + sizeof(suffix));
    if (tmp == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof(suffix));

    /* mkostemp opens with O_CREAT|O_EXCL (never follows a symlink), mode 0600 */
    fd = mkostemp(tmp, O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        jfa_set_err(err, errlen, "%s: cannot create temporary file: %s", path, strerror(errno));
        goto out;
    }
    tmp_exists = true;
    /* before the rename makes it visible under its name */
    if (jfa_root_owned_fd(fd, tmp, err, errlen) != 0)
        goto out;
    if (fchmod(fd, mode & 07777) != 0) {
        jfa_set_err(err, errlen, "%s: chmod %04o: %s", tmp, (unsigned)(mode & 07777),
                    strerror(errno));
        goto out;
    }
    if (write_all(fd, data, len) != 0) {
        jfa_set_err(err, errlen, "%s: write: %s", tmp, strerror(errno));
        goto out;
    }
    if (fsync(fd) != 0) {
        jfa_set_err(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        jfa_set_err(err, errlen, "%s: close: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    /* the new content is complete and durable: last chance to act on the
     * file about to be replaced (the users database marks it stale) */
    if (before_rename != NULL)
        before_rename(path, arg);
    /* compare before replace: as late as possible (the window left is
     * this check to the rename) */
    if (x != NULL) {
        int r = still_unchanged(path, x, err, errlen);

        if (r != 0) {
            ret = r;
            goto out;
        }
    }
    if (rename(tmp, path) != 0) {
        jfa_set_err(err, errlen, "%s: rename from %s: %s", path, tmp, strerror(errno));
        goto out;
    }
    tmp_exists = false;
    /* the new content is in place; report if it may not survive a crash */
    if (fsync_parent(path, err, errlen) != 0)
        goto out;
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp_exists)
        unlink(tmp);
    free(tmp);
    return ret;
}

int jfa_write_atomic_hook(const char *path, const void *data, size_t len, mode_t mode,
                          void (*before_rename)(const char *path, void *arg), void *arg, char *err,
                          size_t errlen)
{
    return write_atomic(path, data, len, mode, before_rename, arg, NULL, err, errlen);
}

int jfa_write_atomic_unchanged(const char *path, const void *data, size_t len, mode_t mode,
                               const char *was, size_t was_len, const struct stat *was_st,
                               char *err, size_t errlen)
{
    struct expect x = {was, was_len, was_st};

    return write_atomic(path, data, len, mode, NULL, NULL, &x, err, errlen);
}
