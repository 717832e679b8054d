/*
 * tests/unit/test_fileutil.c - unit tests for lib/fileutil.c.
 *
 * Owns: the refusals of jfa_open_trusted / jfa_read_trusted (symlink, mode,
 * owner, not a regular file, missing, size cap), jfa_check_dir and
 * jfa_ensure_dir (exact modes whatever the umask), and jfa_write_atomic
 * (content, exact mode, no temp file left, failures leave nothing behind);
 * the "file absent" convention (JFA_ABSENT) of these and of the API key
 * reader (lib/apikey.c), which tells a sound key file it could not read now
 * (descriptors exhausted) from a bad one.
 * Ownership refusals need root (chown to 65534); they skip otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "apikey.h"
#include "fileutil.h"
#include "safepath.h"

struct fx {
    mode_t umask; /* restored by teardown even when a test fails midway */
    char dir[64];
    char path[256];
    char err[512];
};

static int rm_tree(const char *path)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
    return system(cmd);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/jfa-fileutil.XXXXXX");
    f->umask = umask(022);
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    umask(f->umask);
    rm_tree(f->dir);
    free(f);
    return 0;
}

static const char *in_dir(struct fx *f, const char *name)
{
    snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, name);
    return f->path;
}

static void make_file(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

/* number of entries in dir whose name contains needle */
static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, needle) != NULL)
            n++;
    closedir(d);
    return n;
}

/* ---- jfa_safe_path (the unsafe owner case needs root: pam-safepath.sh) ---- */

static void test_safe_path(void **state)
{
    struct fx *f = *state;
    char d[256], sub[256], l[512], err2[512];

    snprintf(d, sizeof(d), "%s/d", f->dir);
    snprintf(sub, sizeof(sub), "%s/d/s", f->dir);
    assert_int_equal(jfa_safe_path(sub, f->err, sizeof(f->err)), JFA_ABSENT);
    assert_non_null(strstr(f->err, d));
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_int_equal(jfa_safe_path(sub, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_safe_path("relative/dir", f->err, sizeof(f->err)), -1);
    assert_int_equal(jfa_safe_path("", f->err, sizeof(f->err)), -1);
    /* a parent writable by its group: named, with its mode */
    assert_int_equal(chmod(d, 0775), 0);
    assert_int_equal(jfa_safe_path(sub, f->err, sizeof(f->err)), -1);
    snprintf(err2, sizeof(err2), "%s: writable by group or others (mode 0775)", d);
    assert_non_null(strstr(f->err, err2));
    /* sticky: only a root-owned one above the trusted directory */
    assert_int_equal(chmod(d, 01777), 0);
    assert_int_equal(jfa_safe_path(sub, f->err, sizeof(f->err)), geteuid() == 0 ? 0 : -1);
    assert_int_equal(jfa_safe_path(d, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "mode 1777"));
    assert_int_equal(chmod(d, 0755), 0);
    /* a link on the way: its target's directories count, relative too */
    snprintf(l, sizeof(l), "%s/l", f->dir);
    assert_int_equal(symlink("d", l), 0);
    snprintf(err2, sizeof(err2), "%s/l/s", f->dir);
    assert_int_equal(jfa_safe_path(err2, f->err, sizeof(f->err)), 0);
    assert_int_equal(chmod(d, 0777), 0);
    assert_int_equal(jfa_safe_path(err2, f->err, sizeof(f->err)), -1);
    snprintf(l, sizeof(l), "%s: writable by group or others (mode 0777)", d);
    assert_non_null(strstr(f->err, l));
    snprintf(l, sizeof(l), "%s/l", f->dir);
    assert_int_equal(chmod(d, 0755), 0);
    /* a loop of links ends */
    assert_int_equal(unlink(l), 0);
    assert_int_equal(symlink("l2", l), 0);
    assert_int_equal(symlink("l", in_dir(f, "l2")), 0);
    snprintf(err2, sizeof(err2), "%s/l/s", f->dir);
    assert_int_equal(jfa_safe_path(err2, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "symbolic links"));
    /* a file on the way */
    make_file(in_dir(f, "file"), "x", 0644);
    snprintf(err2, sizeof(err2), "%s/file/x", f->dir);
    assert_int_equal(jfa_safe_path(err2, f->err, sizeof(f->err)), -1);
}

/* ---- jfa_write_atomic_unchanged: compare before replace ---- */

static void test_write_atomic_unchanged(void **state)
{
    struct fx *f = *state;
    struct stat st, st2;
    struct timespec ts[2];
    char buf[64];
    int fd;

    make_file(in_dir(f, "ns"), "passwd: files\n", 0644);
    assert_int_equal(stat(f->path, &st), 0);
    /* unchanged: replaced */
    assert_int_equal(jfa_write_atomic_unchanged(f->path, "passwd: files x\n", 16, 0644,
                                                "passwd: files\n", 14, &st, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(stat(f->path, &st), 0);
    /* another writer appended meanwhile: nothing written, nothing left */
    make_file(f->path, "passwd: files x\nhosts: dns\n", 0644);
    assert_int_equal(jfa_write_atomic_unchanged(f->path, "new\n", 4, 0644, "passwd: files x\n", 16,
                                                &st, f->err, sizeof(f->err)),
                     JFA_WRITE_RACED);
    assert_non_null(strstr(f->err, "changed by another program"));
    fd = open(f->path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, buf, sizeof(buf)), 27);
    close(fd);
    assert_int_equal(count_entries(f->dir, ".tmp."), 0);
    /* same file, size and mtime, other bytes (an edit within the time
     * stamp's granularity): the bytes decide */
    make_file(f->path, "passwd: files y\n", 0644);
    assert_int_equal(stat(f->path, &st2), 0);
    ts[0] = st2.st_atim;
    ts[1] = st2.st_mtim;
    make_file(f->path, "passwd: files z\n", 0644);
    assert_int_equal(utimensat(AT_FDCWD, f->path, ts, 0), 0);
    assert_int_equal(jfa_write_atomic_unchanged(f->path, "new\n", 4, 0644, "passwd: files y\n", 16,
                                                &st2, f->err, sizeof(f->err)),
                     JFA_WRITE_RACED);
    /* removed meanwhile: raced too */
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(jfa_write_atomic_unchanged(f->path, "new\n", 4, 0644, "passwd: files z\n", 16,
                                                &st2, f->err, sizeof(f->err)),
                     JFA_WRITE_RACED);
    assert_int_equal(count_entries(f->dir, ".tmp."), 0);
}

/* ---- jfa_open_trusted ---- */

static void test_open_ok(void **state)
{
    struct fx *f = *state;
    const char *p = in_dir(f, "ok.conf");
    int fd;

    make_file(p, "x", 0644);
    fd = jfa_open_trusted(p, 022, f->err, sizeof(f->err));
    assert_true(fd >= 0);
    /* O_CLOEXEC set, O_NONBLOCK cleared */
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
    close(fd);
}

static void test_open_mode_too_open(void **state)
{
    struct fx *f = *state;
    const char *p = in_dir(f, "open.conf");

    make_file(p, "x", 0666);
    assert_int_equal(jfa_open_trusted(p, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, p));
    assert_non_null(strstr(f->err, "mode 0666"));
    assert_non_null(strstr(f->err, "too open"));
    assert_non_null(strstr(f->err, "group/other writable"));

    make_file(p, "x", 0602);
    assert_int_equal(jfa_open_trusted(p, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "mode 0602"));
    assert_non_null(strstr(f->err, "other writable"));

    /* private file: 0640 fails 077, 0600 passes */
    make_file(p, "x", 0640);
    assert_int_equal(jfa_open_trusted(p, 077, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "mode 0640"));
    assert_non_null(strstr(f->err, "group readable"));
    make_file(p, "x", 0600);
    int fd = jfa_open_trusted(p, 077, f->err, sizeof(f->err));
    assert_true(fd >= 0);
    close(fd);
}

static void test_open_symlink(void **state)
{
    struct fx *f = *state;
    char target[256], link[256];

    snprintf(target, sizeof(target), "%s/target", f->dir);
    snprintf(link, sizeof(link), "%s/link", f->dir);
    make_file(target, "x", 0644);
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(jfa_open_trusted(link, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, link));
    assert_non_null(strstr(f->err, "is a symbolic link"));
}

static void test_open_missing(void **state)
{
    struct fx *f = *state;
    const char *p = in_dir(f, "missing");

    assert_int_equal(jfa_open_trusted(p, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, p));
    assert_non_null(strstr(f->err, strerror(ENOENT)));
}

static void test_open_not_regular(void **state)
{
    struct fx *f = *state;
    const char *p;

    assert_int_equal(jfa_open_trusted(f->dir, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "not a regular file"));

    /* a FIFO must be refused without blocking */
    p = in_dir(f, "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(jfa_open_trusted(p, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "not a regular file"));
}

static void test_open_owner(void **state)
{
    struct fx *f = *state;
    const char *p = in_dir(f, "owned");
    int fd;

    make_file(p, "x", 0644);
    if (geteuid() != 0) {
        /* positive case only: owned by us */
        fd = jfa_open_trusted(p, 022, f->err, sizeof(f->err));
        assert_true(fd >= 0);
        close(fd);
        skip();
    }
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(jfa_open_trusted(p, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, p));
    assert_non_null(strstr(f->err, "owned by uid 65534, expected root"));
}

/* ---- jfa_read_trusted ---- */

static void test_read_ok(void **state)
{
    struct fx *f = *state;
    const char *p = in_dir(f, "data");
    char *out = NULL;
    size_t len = 99;

    make_file(p, "hello\nworld", 0644);
    assert_int_equal(jfa_read_trusted(p, 022, 1024, &out, &len, f->err, sizeof(f->err)), 0);
    assert_non_null(out);
    assert_int_equal(len, 11);
    assert_string_equal(out, "hello\nworld");
    free(out);

    /* exactly max bytes is fine */
    assert_int_equal(jfa_read_trusted(p, 022, 11, &out, &len, f->err, sizeof(f->err)), 0);
    assert_int_equal(len, 11);
    free(out);

    /* empty file */
    make_file(p, "", 0600);
    assert_int_equal(jfa_read_trusted(p, 077, 0, &out, &len, f->err, sizeof(f->err)), 0);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_read_too_large(void **state)
{
    struct fx *f = *state;
    const char *p = in_dir(f, "big");
    char *out = (char *)1;
    size_t len = 7;
    char *big = malloc(100001);

    assert_non_null(big);
    memset(big, 'a', 100000);
    big[100000] = '\0';
    make_file(p, big, 0644);
    free(big);
    assert_int_equal(jfa_read_trusted(p, 022, 65536, &out, &len, f->err, sizeof(f->err)), -1);
    assert_null(out);
    assert_int_equal(len, 0);
    assert_non_null(strstr(f->err, p));
    assert_non_null(strstr(f->err, "larger than 65536 bytes"));

    make_file(p, "123456789012", 0644);
    assert_int_equal(jfa_read_trusted(p, 022, 11, &out, &len, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "larger than 11 bytes"));
}

static void test_read_refusals(void **state)
{
    struct fx *f = *state;
    const char *p = in_dir(f, "wide");
    char *out = (char *)1;

    make_file(p, "secret", 0644);
    assert_int_equal(jfa_read_trusted(p, 077, 100, &out, NULL, f->err, sizeof(f->err)), -1);
    assert_null(out);
    assert_non_null(strstr(f->err, "mode 0644"));
    /* absent: 1, the one convention for "file absent"; err still names it */
    assert_int_equal(
        jfa_read_trusted(in_dir(f, "nope"), 077, 100, &out, NULL, f->err, sizeof(f->err)), 1);
    assert_null(out);
    assert_non_null(strstr(f->err, "nope"));
}

/* ---- jfa_check_dir / jfa_ensure_dir ---- */

static void test_check_dir(void **state)
{
    struct fx *f = *state;
    char d[256], l[256];

    snprintf(d, sizeof(d), "%s/d", f->dir);
    snprintf(l, sizeof(l), "%s/l", f->dir);
    assert_int_equal(jfa_check_dir(d, 077, f->err, sizeof(f->err)), JFA_ABSENT);
    assert_non_null(strstr(f->err, d));
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(chmod(d, 0700), 0);
    assert_int_equal(jfa_check_dir(d, 077, f->err, sizeof(f->err)), 0);
    assert_int_equal(chmod(d, 0755), 0);
    assert_int_equal(jfa_check_dir(d, 077, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "mode 0755"));
    assert_int_equal(jfa_check_dir(d, 022, f->err, sizeof(f->err)), 0);
    assert_int_equal(chmod(d, 0777), 0);
    assert_int_equal(jfa_check_dir(d, 022, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "group/other writable"));
    assert_int_equal(chmod(d, 0700), 0);

    assert_int_equal(symlink(d, l), 0);
    assert_int_equal(jfa_check_dir(l, 077, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "is a symbolic link"));

    make_file(in_dir(f, "file"), "x", 0600);
    assert_int_equal(jfa_check_dir(f->path, 077, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "not a directory"));
    /* below a file: an error, not "absent" */
    assert_int_equal(jfa_check_dir(in_dir(f, "file/sub"), 077, f->err, sizeof(f->err)), -1);
    /* a FIFO is refused without blocking, a dangling symlink is not absent */
    assert_int_equal(mkfifo(in_dir(f, "fifo"), 0600), 0);
    assert_int_equal(jfa_check_dir(f->path, 077, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "not a directory"));
    assert_int_equal(symlink("/nonexistent/x", in_dir(f, "dangling")), 0);
    assert_int_equal(jfa_check_dir(f->path, 077, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "is a symbolic link"));
}

static void test_check_dir_owner(void **state)
{
    struct fx *f = *state;
    char d[256];

    snprintf(d, sizeof(d), "%s/d", f->dir);
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(jfa_check_dir(d, 077, f->err, sizeof(f->err)), 0);
    if (geteuid() != 0)
        skip(); /* only the positive case (owned by us) without root */
    assert_int_equal(chown(d, 65534, 65534), 0);
    assert_int_equal(jfa_check_dir(d, 077, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "owned by uid 65534"));
}

static void test_ensure_dir_modes(void **state)
{
    struct fx *f = *state;
    char d[256];
    mode_t old = umask(0777);

    /* umask 0777 would give 0000: the mode must still be exact */
    snprintf(d, sizeof(d), "%s/private", f->dir);
    assert_int_equal(jfa_ensure_dir(d, 0700, f->err, sizeof(f->err)), 0);
    assert_int_equal(mode_of(d), 0700);
    /* umask 0 would give 0777 from a naive mkdir */
    umask(0);
    snprintf(d, sizeof(d), "%s/shared", f->dir);
    assert_int_equal(jfa_ensure_dir(d, 0755, f->err, sizeof(f->err)), 0);
    assert_int_equal(mode_of(d), 0755);
    umask(old);
    /* already there with the right mode: fine, idempotent */
    assert_int_equal(jfa_ensure_dir(d, 0755, f->err, sizeof(f->err)), 0);
    /* already there but too open for what is asked */
    assert_int_equal(jfa_ensure_dir(d, 0700, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "mode 0755"));
    assert_int_equal(mode_of(d), 0755);
}

static void test_ensure_dir_errors(void **state)
{
    struct fx *f = *state;
    char d[256], l[256];

    snprintf(d, sizeof(d), "%s/no/such", f->dir);
    assert_int_equal(jfa_ensure_dir(d, 0700, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, d));
    assert_non_null(strstr(f->err, strerror(ENOENT)));

    /* a symlink in place of the directory is refused */
    snprintf(d, sizeof(d), "%s/real", f->dir);
    snprintf(l, sizeof(l), "%s/fake", f->dir);
    assert_int_equal(mkdir(d, 0700), 0);
    assert_int_equal(symlink(d, l), 0);
    assert_int_equal(jfa_ensure_dir(l, 0700, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "is a symbolic link"));

    /* a file in place of the directory is refused */
    make_file(in_dir(f, "plain"), "x", 0600);
    assert_int_equal(jfa_ensure_dir(f->path, 0700, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "not a directory"));
}

/* ---- jfa_write_atomic ---- */

static void read_back(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;

    assert_true(fd >= 0);
    n = read(fd, buf, len - 1);
    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
}

static void test_write_atomic_new_and_replace(void **state)
{
    struct fx *f = *state;
    char p[256], buf[64];
    mode_t old = umask(0077);

    snprintf(p, sizeof(p), "%s/users.db", f->dir);
    assert_int_equal(jfa_write_atomic(p, "first", 5, 0644, f->err, sizeof(f->err)), 0);
    read_back(p, buf, sizeof(buf));
    assert_string_equal(buf, "first");
    assert_int_equal(mode_of(p), 0644); /* exact despite umask 077 */

    make_file(p, "old content that is longer", 0600);
    assert_int_equal(jfa_write_atomic(p, "second", 6, 0640, f->err, sizeof(f->err)), 0);
    read_back(p, buf, sizeof(buf));
    assert_string_equal(buf, "second");
    assert_int_equal(mode_of(p), 0640);

    /* empty content */
    assert_int_equal(jfa_write_atomic(p, "", 0, 0600, f->err, sizeof(f->err)), 0);
    read_back(p, buf, sizeof(buf));
    assert_string_equal(buf, "");
    umask(old);

    assert_int_equal(count_entries(f->dir, ".tmp."), 0);
}

/* jfa_write_atomic_hook: the hook runs once, with the new content complete
 * in a temporary file of the same directory and the old file still at the
 * path (the users database marks the file it replaces there). */
struct hook_seen {
    int calls;
    char at_path[64];
    int tmp_files;
    const char *dir;
};

static void before_rename_hook(const char *path, void *arg)
{
    struct hook_seen *h = arg;
    h->calls++;
    read_back(path, h->at_path, sizeof(h->at_path));
    h->tmp_files = count_entries(h->dir, ".tmp.");
}

static void test_write_atomic_hook(void **state)
{
    struct fx *f = *state;
    char p[256], buf[64];
    struct hook_seen h = {.dir = f->dir};

    snprintf(p, sizeof(p), "%s/users.db", f->dir);
    make_file(p, "old", 0644);
    assert_int_equal(
        jfa_write_atomic_hook(p, "new", 3, 0644, before_rename_hook, &h, f->err, sizeof(f->err)),
        0);
    assert_int_equal(h.calls, 1);
    assert_string_equal(h.at_path, "old");
    assert_int_equal(h.tmp_files, 1);
    read_back(p, buf, sizeof(buf));
    assert_string_equal(buf, "new");
    assert_int_equal(count_entries(f->dir, ".tmp."), 0);
    /* no hook: plain jfa_write_atomic */
    assert_int_equal(jfa_write_atomic_hook(p, "x", 1, 0644, NULL, NULL, f->err, sizeof(f->err)), 0);
    read_back(p, buf, sizeof(buf));
    assert_string_equal(buf, "x");
}

static void test_write_atomic_missing_dir(void **state)
{
    struct fx *f = *state;
    char p[256];
    struct stat st;

    snprintf(p, sizeof(p), "%s/gone/users.db", f->dir);
    assert_int_equal(jfa_write_atomic(p, "x", 1, 0644, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, p));
    assert_int_equal(lstat(p, &st), -1);
    assert_int_equal(count_entries(f->dir, ".tmp."), 0);
}

static void test_write_atomic_failure_keeps_original(void **state)
{
    struct fx *f = *state;
    char p[256], inner[256];
    struct stat st;

    /* renaming a file over a non-empty directory fails after the temp file
     * was written: the directory must be intact and no temp file left */
    snprintf(p, sizeof(p), "%s/isdir", f->dir);
    snprintf(inner, sizeof(inner), "%s/isdir/keep", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    make_file(inner, "keep", 0600);
    assert_int_equal(jfa_write_atomic(p, "x", 1, 0644, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, p));
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(lstat(inner, &st), 0);
    assert_int_equal(count_entries(f->dir, ".tmp."), 0);
}

static void test_write_atomic_symlink_not_followed(void **state)
{
    struct fx *f = *state;
    char p[256], target[256], buf[64];
    struct stat st;

    /* a symlink at the destination is replaced, its target is untouched */
    snprintf(target, sizeof(target), "%s/victim", f->dir);
    snprintf(p, sizeof(p), "%s/db", f->dir);
    make_file(target, "victim", 0644);
    assert_int_equal(symlink(target, p), 0);
    assert_int_equal(jfa_write_atomic(p, "new", 3, 0644, f->err, sizeof(f->err)), 0);
    assert_int_equal(lstat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    read_back(target, buf, sizeof(buf));
    assert_string_equal(buf, "victim");
    read_back(p, buf, sizeof(buf));
    assert_string_equal(buf, "new");
}

static void test_write_atomic_large(void **state)
{
    struct fx *f = *state;
    char p[256], *out = NULL;
    size_t n = 3u * 1024u * 1024u + 7u, len = 0, i;
    unsigned char *data = malloc(n);

    assert_non_null(data);
    for (i = 0; i < n; i++)
        data[i] = (unsigned char)(i * 31u + 7u);
    snprintf(p, sizeof(p), "%s/large", f->dir);
    assert_int_equal(jfa_write_atomic(p, data, n, 0600, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_read_trusted(p, 077, n, &out, &len, f->err, sizeof(f->err)), 0);
    assert_int_equal(len, n);
    assert_memory_equal(out, data, n);
    free(out);
    free(data);
}

/* ---- the API key file ---- */

#define KEY32 "0123456789abcdef0123456789ABCDEF"

/* jfa_api_key_read of path in a child whose descriptors are all taken: the
 * child's result, or 100 + errno-ish codes for setup failures. */
static int key_read_without_fds(const char *path)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct jfa_config cfg;
        struct rlimit rl = {16, 16};
        char key[33], err[256];
        int r;

        jfa_config_defaults(&cfg);
        cfg.api_key_file = strdup(path);
        if (cfg.api_key_file == NULL || setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(101);
        for (int i = 0; i < 64 && dup(0) >= 0; i++)
            ;
        if (dup(0) >= 0 || errno != EMFILE)
            _exit(102);
        r = jfa_api_key_read(&cfg, key, err, sizeof(err));
        _exit(r == JFA_APIKEY_NOT_NOW ? 2 : r == JFA_ABSENT ? 1 : r == 0 ? 0 : 3);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_api_key_read(void **state)
{
    struct fx *f = *state;
    struct jfa_config cfg;
    char key[33], path[256], link[256];

    snprintf(path, sizeof(path), "%s/key", f->dir);
    snprintf(link, sizeof(link), "%s/link", f->dir);
    jfa_config_defaults(&cfg);
    cfg.api_key_file = strdup(path);
    assert_non_null(cfg.api_key_file);

    /* absent: JFA_ABSENT, err names the file */
    assert_int_equal(jfa_api_key_read(&cfg, key, f->err, sizeof(f->err)), JFA_ABSENT);
    assert_non_null(strstr(f->err, path));
    assert_non_null(strstr(f->err, "no API key file"));
    assert_int_equal(key_read_without_fds(path), 1); /* absent even without descriptors */

    make_file(path, "  " KEY32 "\n", 0600);
    assert_int_equal(jfa_api_key_read(&cfg, key, f->err, sizeof(f->err)), 0);
    assert_string_equal(key, KEY32);
    /* a sound file that cannot be read now is not "absent" nor "bad" */
    assert_int_equal(key_read_without_fds(path), 2);

    /* unsafe or wrong: -1 */
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(jfa_api_key_read(&cfg, key, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "mode 0640"));
    assert_int_equal(key_read_without_fds(path), 3);
    assert_int_equal(chmod(path, 0600), 0);
    make_file(path, "short\n", 0600);
    assert_int_equal(jfa_api_key_read(&cfg, key, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "32 hex digits"));
    /* a symlink, even to a good key, and a dangling one: -1, not absent */
    make_file(in_dir(f, "real"), KEY32, 0600);
    assert_int_equal(symlink(f->path, link), 0);
    free(cfg.api_key_file);
    cfg.api_key_file = strdup(link);
    assert_int_equal(jfa_api_key_read(&cfg, key, f->err, sizeof(f->err)), -1);
    assert_int_equal(unlink(f->path), 0);
    assert_int_equal(jfa_api_key_read(&cfg, key, f->err, sizeof(f->err)), -1);
    jfa_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_mode_too_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_not_regular, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_key_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_dir_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safe_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ensure_dir_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ensure_dir_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_new_and_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_hook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_missing_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_failure_keeps_original, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_symlink_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_atomic_large, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
