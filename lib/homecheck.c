/*
 * homecheck.c - is a Jellyfin user's home theirs (see homecheck.h)?
 *
 * Owns: the one rule for a home that may have changed hands. A login name
 * passes from one holder to another (`names release` then a sync, or a
 * deleted local account's name taken by a Jellyfin user) with a different
 * uid, while /home/NAME stays as the old holder left it: their .profile,
 * .bashrc or .ssh/rc would run as the new holder at each login. The PAM
 * module's account and session stages refuse such a home; `names release`
 * and `doctor` name it.
 */
#include "homecheck.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* What shells, sshd, PAM and desktop sessions run or read from the top of
 * a home at login. A home chowned without -R keeps them as their writer
 * left them. */
static const char *const startup_files[] = {
    ".profile",         ".bash_profile", ".bash_login", ".bashrc",   ".bash_logout", ".zshenv",
    ".zprofile",        ".zshrc",        ".zlogin",     ".zlogout",  ".login",       ".logout",
    ".cshrc",           ".tcshrc",       ".kshrc",      ".mkshrc",   ".inputrc",     ".ssh",
    ".pam_environment", ".config",       ".local",      ".xsession", ".xsessionrc",  ".xprofile",
    ".xinitrc",         ".forward",
};

/* Writable by someone else than uid? Group write counts unless the group
 * is the user's own (private) group. */
static bool writable_by_others(const struct stat *st, gid_t gid)
{
    return (st->st_mode & S_IWOTH) != 0 || ((st->st_mode & S_IWGRP) != 0 && st->st_gid != gid);
}

int jfa_home_check(const char *home, uid_t uid, gid_t gid, struct jfa_home_issue *is, char *err,
                   size_t errlen)
{
    struct stat st;
    size_t i;
    int fd = -1, ret = -1;

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
    for (i = 0; i < sizeof(startup_files) / sizeof(startup_files[0]); i++) {
        const char *f = startup_files[i];

        if (fstatat(fd, f, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT)
                continue;
            if (errno == EACCES) /* root squashed: what the user can see is theirs to judge */
                break;
            jfa_set_err(err, errlen, "%s/%s: %s", home, f, strerror(errno));
            goto out;
        }
        is->owner = st.st_uid;
        is->mode = st.st_mode & 07777;
        if (st.st_uid != uid && st.st_uid != 0) {
            is->what = JFA_HOME_FILE_OWNER;
            jfa_set_err(err, errlen, "%s/%s is owned by uid %u, not by the user (uid %u) or root",
                        home, f, (unsigned)st.st_uid, (unsigned)uid);
            goto out;
        }
        if (!S_ISLNK(st.st_mode) && writable_by_others(&st, gid)) {
            is->what = JFA_HOME_FILE_WRITABLE;
            jfa_set_err(err, errlen, "%s/%s is writable by others (mode %04o, group %u)", home, f,
                        (unsigned)is->mode, (unsigned)st.st_gid);
            goto out;
        }
    }
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    return ret;
}
