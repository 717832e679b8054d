/*
 * safepath.c - may root trust what a path leads to? (see safepath.h)
 *
 * Owns: jfa_safe_path, the walk from / to a trusted directory. libc only
 * (in libjfacore: the NSS module checks its database's directory with it).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "safepath.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define SAFE_PATH_MAX_LINKS 8

/* One directory: owner root or euid; no group/other write unless a
 * root-owned sticky directory that is not the trusted one itself. */
static int check_one(const char *path, const struct stat *st, bool last, char *err, size_t errlen)
{
    uid_t euid = geteuid();

    if (!S_ISDIR(st->st_mode)) {
        jfa_set_err(err, errlen, "%s: not a directory", path);
        return -1;
    }
    if (st->st_uid != 0 && st->st_uid != euid) {
        jfa_set_err(err, errlen, "%s: owned by uid %u, not root%s", path, (unsigned)st->st_uid,
                    euid == 0 ? "" : " or the running user");
        return -1;
    }
    if ((st->st_mode & 022) != 0 && (last || st->st_uid != 0 || !(st->st_mode & S_ISVTX))) {
        jfa_set_err(err, errlen, "%s: writable by group or others (mode %04o)%s", path,
                    (unsigned)(st->st_mode & 07777),
                    last ? "" : ", and not a root-owned sticky directory");
        return -1;
    }
    return 0;
}

/* Check the prefix path (NUL-terminated, a component of the walk). */
static int check_prefix(char *path, int links, bool last, char *err, size_t errlen);

/* path: a copy the walk may cut and mend. */
static int walk(char *path, int links, bool last, char *err, size_t errlen)
{
    size_t len = strlen(path), i;
    int rc;

    if (path[0] != '/') {
        jfa_set_err(err, errlen, "%s: not an absolute path", path);
        return -1;
    }
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    rc = check_prefix((char[]){"/"}, links, last && len == 1, err, errlen);
    /* i: the end of each further prefix ("/a", "/a/b", ...) */
    for (i = 2; rc == 0 && i <= len; i++) {
        char saved = path[i];

        if ((i < len && saved != '/') || path[i - 1] == '/')
            continue;
        path[i] = '\0';
        rc = check_prefix(path, links, last && i == len, err, errlen);
        path[i] = saved;
    }
    return rc;
}

static int check_prefix(char *path, int links, bool last, char *err, size_t errlen)
{
    struct stat st;
    char *next = NULL, *slash;
    size_t dlen;
    ssize_t n;
    int rc = -1;

    if (lstat(path, &st) != 0) {
        int e = errno;

        jfa_set_err(err, errlen, "%s: %s", path, strerror(e));
        return e == ENOENT ? JFA_ABSENT : -1;
    }
    if (!S_ISLNK(st.st_mode))
        return check_one(path, &st, last, err, errlen);
    /* The link sits in a directory checked already; now where it leads.
     * On the heap: this runs inside NSS lookups, on any thread's stack. */
    if (links >= SAFE_PATH_MAX_LINKS) {
        jfa_set_err(err, errlen, "%s: more than %d symbolic links", path, SAFE_PATH_MAX_LINKS);
        return -1;
    }
    next = malloc(PATH_MAX);
    if (next == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    /* a relative target starts in the link's directory */
    slash = strrchr(path, '/');
    dlen = (size_t)(slash - path) + 1;
    if (dlen >= PATH_MAX)
        goto toolong;
    memcpy(next, path, dlen);
    n = readlink(path, next + dlen, PATH_MAX - dlen - 1);
    if (n < 0) {
        jfa_set_err(err, errlen, "%s: readlink: %s", path, strerror(errno));
        goto out;
    }
    if ((size_t)n >= PATH_MAX - dlen - 1)
        goto toolong;
    next[dlen + (size_t)n] = '\0';
    if (next[dlen] == '/')
        memmove(next, next + dlen, (size_t)n + 1);
    rc = walk(next, links + 1, last, err, errlen);
    /* the walk goes on through the link */
    if (rc == 0 && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
        jfa_set_err(err, errlen, "%s: not a directory", path);
        rc = -1;
    }
    goto out;
toolong:
    jfa_set_err(err, errlen, "%s: symbolic link target too long", path);
out:
    free(next);
    return rc;
}

int jfa_safe_path(const char *dir, char *err, size_t errlen)
{
    char *copy;
    int rc;

    if (dir == NULL || dir[0] == '\0') {
        jfa_set_err(err, errlen, "empty directory name");
        return -1;
    }
    copy = strdup(dir);
    if (copy == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    rc = walk(copy, 0, true, err, errlen);
    free(copy);
    return rc;
}
