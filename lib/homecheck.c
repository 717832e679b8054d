/*
 * homecheck.c - is a Jellyfin user's home theirs (see homecheck.h)?
 *
 * Owns: the one rule for a home that may have changed hands. A login name
 * passes from one holder to another (`names release` then a sync, or a
 * deleted local account's name taken by a Jellyfin user) with a different
 * uid, while /home/NAME stays as the old holder left it: their .profile,
 * .bashrc or .ssh/rc would run as the new holder at each login. The PAM
 * module's account and session stages refuse such a home; `names release`
 * and `doctor` name it. Every entry at the top of the home is judged, not
 * a list of startup files: programs the user runs read their own (.vimrc,
 * .gitconfig, .tmux.conf, .bash_aliases, ~/bin on PATH), and a list always
 * misses one.
 */
#include "homecheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* Writable by someone else than uid? Group write counts unless the group
 * is the user's own (private) group. */
static bool writable_by_others(const struct stat *st, gid_t gid)
{
    return (st->st_mode & S_IWOTH) != 0 || ((st->st_mode & S_IWGRP) != 0 && st->st_gid != gid);
}

/* Judge one entry at the top of the home: 0 fine, 1 cannot be seen (root
 * squashed: what the user can see is theirs to judge), -1 refused (is->what
 * set) or not examined. Not followed: a link is judged by its own owner. */
static int check_entry(int dfd, const char *home, const char *name, uid_t uid, gid_t gid,
                       struct jfa_home_issue *is, char *err, size_t errlen)
{
    struct stat st;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) /* removed meanwhile */
            return 0;
        if (errno == EACCES)
            return 1;
        jfa_set_err(err, errlen, "%s/%s: %s", home, name, strerror(errno));
        return -1;
    }
    is->owner = st.st_uid;
    is->mode = st.st_mode & 07777;
    if (st.st_uid != uid && st.st_uid != 0) {
        is->what = JFA_HOME_FILE_OWNER;
        jfa_set_err(err, errlen, "%s/%s is owned by uid %u, not by the user (uid %u) or root", home,
                    name, (unsigned)st.st_uid, (unsigned)uid);
        return -1;
    }
    if (!S_ISLNK(st.st_mode) && writable_by_others(&st, gid)) {
        is->what = JFA_HOME_FILE_WRITABLE;
        jfa_set_err(err, errlen, "%s/%s is writable by others (mode %04o, group %u)", home, name,
                    (unsigned)is->mode, (unsigned)st.st_gid);
        return -1;
    }
    return 0;
}

int jfa_home_check(const char *home, uid_t uid, gid_t gid, struct jfa_home_issue *is, char *err,
                   size_t errlen)
{
    struct dirent *e;
    struct stat st;
    DIR *d = NULL;
    int fd = -1, dfd, r, ret = -1;

    memset(is, 0, sizeof(*is));
    /* Followed like the shell follows it; O_PATH needs no read right, so
     * a root-squashed NFS home can still be looked at. */
    fd = open(home, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        ret = JFA_ABSENT;
        jfa_set_err(err, errlen, "%s does not exist", home);
        goto out;
    }
    if (fd < 0 || fstat(fd, &st) != 0) {
        jfa_set_err(err, errlen, "%s: %s", home, strerror(errno));
        goto out;
    }
    is->owner = st.st_uid;
    is->mode = st.st_mode & 07777;
    if (st.st_uid != uid) {
        is->what = JFA_HOME_OWNER;
        jfa_set_err(err, errlen, "%s is owned by uid %u, not by the user (uid %u)", home,
                    (unsigned)st.st_uid, (unsigned)uid);
        goto out;
    }
    if (writable_by_others(&st, gid)) {
        is->what = JFA_HOME_WRITABLE;
        jfa_set_err(err, errlen, "%s is writable by others (mode %04o, group %u)", home,
                    (unsigned)is->mode, (unsigned)st.st_gid);
        goto out;
    }
    /* The very directory just judged (not the path again), read */
    dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && errno == EACCES) { /* root squashed: what the user can see is theirs */
        ret = 0;
        goto out;
    }
    if (dfd < 0 || (d = fdopendir(dfd)) == NULL) {
        jfa_set_err(err, errlen, "%s: cannot list it: %s", home, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        goto out;
    }
    for (errno = 0; (e = readdir(d)) != NULL; errno = 0) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        r = check_entry(dirfd(d), home, e->d_name, uid, gid, is, err, errlen);
        if (r < 0)
            goto out;
        if (r > 0)
            break;
    }
    if (e == NULL && errno != 0) {
        jfa_set_err(err, errlen, "%s: cannot list it: %s", home, strerror(errno));
        goto out;
    }
    ret = 0;
out:
    if (d != NULL)
        closedir(d);
    if (fd >= 0)
        close(fd);
    return ret;
}
