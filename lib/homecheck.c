/*
 * homecheck.c - is a Jellyfin user's home theirs (see homecheck.h)?
 *
 * Owns: the one rule for a home that may have changed hands. A login name
 * passes from one holder to another (`names release` then a sync, or a
 * deleted local account's name taken by a Jellyfin user) with a different
 * uid, while /home/NAME stays as the old holder left it: their .profile,
 * .bashrc or .ssh/rc would run as the new holder at each login. The PAM
 * module's account and session stages refuse such a home; `names release`
 * and `doctor` name it. Every dot entry at the top of the home, and bin,
 * is judged, not a list of startup files: programs the user runs read
 * their own (.vimrc, .gitconfig, .tmux.conf, .bash_aliases, ~/bin on
 * PATH), and a list always misses one. Inside .ssh every entry is
 * judged as well: sshd runs .ssh/rc at every login. The user's data
 * (other names) is not judged. Also what other programs keep under the name itself
 * (jfa_name_files): named by `names release` and `doctor`.
 */
#include "homecheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/magic.h>

#include "util.h"

/* Writable by someone else than uid? Group write counts unless the group
 * is the user's own (private) group. */
static bool writable_by_others(const struct stat *st, gid_t gid)
{
    return (st->st_mode & S_IWOTH) != 0 || ((st->st_mode & S_IWGRP) != 0 && st->st_gid != gid);
}

int jfa_fuse_mounter(const char *mountinfo_path, dev_t dev, uid_t *owner)
{
    char want[32], *line = NULL;
    size_t cap = 0;
    int ret = 0;
    FILE *fp;

    fp = fopen(mountinfo_path, "re");
    if (fp == NULL)
        return -1;
    snprintf(want, sizeof(want), " %u:%u ", major(dev), minor(dev));
    /* ID PARENT MAJ:MIN ROOT POINT OPTIONS [TAGS] - FSTYPE SOURCE SUPER.
     * Whole lines (getline): a mounter may make its line long (fsname=),
     * and a line read in pieces would hide its super options. */
    while (ret == 0 && getline(&line, &cap, fp) >= 0) {
        char *dash, *type, *opts, *uid_opt, *end;
        unsigned long v;

        if (strstr(line, want) == NULL || (dash = strstr(line, " - ")) == NULL)
            continue;
        type = dash + 3;
        if (strncmp(type, "fuse ", 5) != 0 && strncmp(type, "fuse.", 5) != 0 &&
            strncmp(type, "fuseblk ", 8) != 0)
            continue;
        /* the super options are the last field */
        opts = strrchr(type, ' ');
        uid_opt = opts != NULL ? strstr(opts, "user_id=") : NULL;
        if (uid_opt == NULL || (uid_opt != opts + 1 && uid_opt[-1] != ','))
            continue;
        errno = 0;
        v = strtoul(uid_opt + 8, &end, 10);
        if (errno != 0 || end == uid_opt + 8 || v > (uid_t)-1)
            continue;
        *owner = (uid_t)v;
        ret = 1;
    }
    free(line);
    fclose(fp);
    return ret;
}

/* Is dev (path; fd, or -1) a FUSE file system mounted by another uid than
 * uid or root? (-1 set, is->what JFA_HOME_MOUNT, err naming path.) With a
 * descriptor, a file system the kernel says is not FUSE needs no list;
 * else a list that cannot be read refuses: there is no other way to know. */
static int check_mount(const char *path, int fd, dev_t dev, uid_t uid, struct jfa_home_issue *is,
                       char *err, size_t errlen)
{
    struct statfs sf;
    uid_t mounter = 0;
    int r;

    if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_type != FUSE_SUPER_MAGIC)
        return 0;
    r = jfa_fuse_mounter("/proc/self/mountinfo", dev, &mounter);
    if (r < 0) {
        jfa_set_err(err, errlen, "%s: cannot read /proc/self/mountinfo: %s", path, strerror(errno));
        return -1;
    }
    /* The kernel said FUSE (with a descriptor) and no FUSE line names its
     * mounter: who mounted it is unknown, so it is refused. */
    if (r == 0 && fd >= 0) {
        is->what = JFA_HOME_MOUNT;
        jfa_set_err(err, errlen,
                    "%s is a FUSE file system whose mounter /proc/self/mountinfo does not name",
                    path);
        return -1;
    }
    if (r == 0 || mounter == uid || mounter == 0)
        return 0;
    is->what = JFA_HOME_MOUNT;
    is->owner = mounter;
    jfa_set_err(err, errlen,
                "%s is a FUSE file system mounted by uid %u, not by the user (uid %u) or root: "
                "its daemon says who owns what in it",
                path, (unsigned)mounter, (unsigned)uid);
    return -1;
}

/* Is this entry at the top of a home one that programs read or run on
 * their own? Every dot entry (startup files, .ssh, .config, .vimrc,
 * .gitconfig, ...: a list always misses one) and bin (on Debian's PATH
 * through .profile). Other entries are the user's data: a bind mount of a
 * media library owned by the server's uid (~/Movies), or a directory
 * shared through a group (~/shared, g+w), is no sign of a handed-over
 * home, and refusing them would lock their users out. */
static bool read_by_programs(const char *name)
{
    return name[0] == '.' || strcmp(name, "bin") == 0;
}

static int check_dir(int dfd, dev_t dev, const char *dir, bool every, uid_t uid, gid_t gid,
                     struct jfa_home_issue *is, char *err, size_t errlen);

/* Judge one entry of dir (the home, or its .ssh when every): 0 fine, 1
 * cannot be seen (root squashed: what the user can see is theirs to
 * judge), -1 refused (is->what set) or not examined. Not followed: a link
 * is judged by its own owner. At the top of the home, only what programs
 * read (read_by_programs); there, .ssh is also judged entry by entry:
 * sshd runs .ssh/rc as the user at every login, and an administrator who
 * chowned the home and its .ssh, not what is in it, would leave the old
 * holder's rc to run as the new one. */
static int check_entry(int dfd, dev_t home_dev, const char *dir, const char *name, bool every,
                       uid_t uid, gid_t gid, struct jfa_home_issue *is, char *err, size_t errlen)
{
    char path[4096];
    struct stat st;
    int sub, r;

    if (!every && !read_by_programs(name))
        return 0;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) /* removed meanwhile */
            return 0;
        if (errno == EACCES)
            return 1;
        jfa_set_err(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
        return -1;
    }
    is->owner = st.st_uid;
    is->mode = st.st_mode & 07777;
    if (st.st_uid != uid && st.st_uid != 0) {
        is->what = JFA_HOME_FILE_OWNER;
        jfa_set_err(err, errlen, "%s/%s is owned by uid %u, not by the user (uid %u) or root", dir,
                    name, (unsigned)st.st_uid, (unsigned)uid);
        return -1;
    }
    if (!S_ISLNK(st.st_mode) && writable_by_others(&st, gid)) {
        is->what = JFA_HOME_FILE_WRITABLE;
        jfa_set_err(err, errlen, "%s/%s is writable by others (mode %04o, group %u)", dir, name,
                    (unsigned)is->mode, (unsigned)st.st_gid);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (st.st_dev != home_dev) /* a mount point */
        return check_mount(path, -1, st.st_dev, uid, is, err, errlen);
    if (every || !S_ISDIR(st.st_mode) || strcmp(name, ".ssh") != 0)
        return 0;
    sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) /* replaced meanwhile */
            return 0;
        if (errno == EACCES)
            return 1;
        jfa_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    r = check_dir(sub, home_dev, path, true, uid, gid, is, err, errlen); /* closes sub */
    return r < 0 ? -1 : 0;
}

/* Judge the entries of the directory open at dfd (its path dir), which
 * this function closes: 0 fine, 1 stopped at an entry that cannot be seen,
 * -1 refused or not examined (err set). */
static int check_dir(int dfd, dev_t dev, const char *dir, bool every, uid_t uid, gid_t gid,
                     struct jfa_home_issue *is, char *err, size_t errlen)
{
    struct dirent *e;
    DIR *d = fdopendir(dfd);
    int r = 0;

    if (d == NULL) {
        jfa_set_err(err, errlen, "%s: cannot list it: %s", dir, strerror(errno));
        close(dfd);
        return -1;
    }
    for (errno = 0; (e = readdir(d)) != NULL; errno = 0) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        r = check_entry(dirfd(d), dev, dir, e->d_name, every, uid, gid, is, err, errlen);
        if (r != 0)
            break;
    }
    if (r == 0 && e == NULL && errno != 0) {
        jfa_set_err(err, errlen, "%s: cannot list it: %s", dir, strerror(errno));
        r = -1;
    }
    closedir(d);
    return r;
}

int jfa_home_check(const char *home, uid_t uid, gid_t gid, struct jfa_home_issue *is, char *err,
                   size_t errlen)
{
    struct stat st;
    int fd = -1, dfd, ret = -1;

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
    if (check_mount(home, fd, st.st_dev, uid, is, err, errlen) != 0)
        goto out;
    /* The very directory just judged (not the path again), read */
    dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 && errno == EACCES) { /* root squashed: what the user can see is theirs */
        ret = 0;
        goto out;
    }
    if (dfd < 0) {
        jfa_set_err(err, errlen, "%s: cannot list it: %s", home, strerror(errno));
        goto out;
    }
    if (check_dir(dfd, st.st_dev, home, false, uid, gid, is, err, errlen) < 0)
        goto out;
    ret = 0;
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

/* Where programs key on the login name (Debian's paths first; cronie's
 * /var/spool/cron/NAME for RHEL-like layouts). owned: the program checks
 * the file's owner against the name's uid, so a file of the old holder's
 * uid is skipped (cron: "WRONG FILE OWNER"; Postfix
 * strict_mailbox_ownership, Exim's check_owner defer the delivery). */
static const char mail_effect[] =
    "mail to the name is deferred while the spool is another uid's, and that uid reads what is in "
    "it: move it away";
static const char cron_effect[] =
    "cron skips it while it is another uid's, runs it as the name's holder once chowned: remove it";
static const struct {
    const char *dir, *what, *effect;
    bool owned;
} name_files[] = {
    {"/var/mail/", "mail spool", mail_effect, true},
    {"/var/spool/mail/", "mail spool", mail_effect, true},
    {"/var/spool/cron/crontabs/", "crontab", cron_effect, true},
    {"/var/spool/cron/", "crontab", cron_effect, true},
    {"/var/lib/systemd/linger/", "lingering",
     "logind starts the name's user manager at boot, the next holder's too: disable it "
     "(loginctl disable-linger)",
     false},
    {"/var/lib/AccountsService/users/", "desktop account settings",
     "the display manager applies them to the next holder: remove it", false},
};

/* Has the subordinate id file path a line for name? */
static bool subid_listed(const char *path, const char *name)
{
    char line[512];
    size_t n = strlen(name);
    bool found = false;
    FILE *fp;
    int fd;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    fp = fdopen(fd, "r");
    if (fp == NULL) {
        close(fd);
        return false;
    }
    while (!found && fgets(line, sizeof(line), fp) != NULL)
        found = strncmp(line, name, n) == 0 && line[n] == ':';
    fclose(fp);
    return found;
}

void jfa_name_files(const char *root, const char *name, bool owned_only,
                    void (*fn)(void *ctx, const struct jfa_name_file *nf), void *ctx)
{
    static const char *const subid[] = {"/etc/subuid", "/etc/subgid"};
    struct jfa_name_file nf;
    struct stat st, seen[sizeof(name_files) / sizeof(name_files[0])];
    char path[4096];
    size_t i, j, n_seen = 0;

    for (i = 0; i < sizeof(name_files) / sizeof(name_files[0]); i++) {
        bool dup = false;

        if (owned_only && !name_files[i].owned)
            continue;
        snprintf(path, sizeof(path), "%s%s%s", root, name_files[i].dir, name);
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        for (j = 0; j < n_seen; j++)
            dup = dup || (seen[j].st_dev == st.st_dev && seen[j].st_ino == st.st_ino);
        if (dup)
            continue;
        seen[n_seen++] = st;
        nf.path = path;
        nf.what = name_files[i].what;
        nf.effect = name_files[i].effect;
        nf.owned = name_files[i].owned;
        nf.owner = st.st_uid;
        fn(ctx, &nf);
    }
    for (i = 0; i < 2 && !owned_only; i++) {
        snprintf(path, sizeof(path), "%s%s", root, subid[i]);
        if (!subid_listed(path, name))
            continue;
        nf.path = path;
        nf.what = i == 0 ? "subordinate uids" : "subordinate gids";
        nf.effect = "newuidmap/newgidmap give the old holder's range to the next holder, with "
                    "the files its containers made: remove the line";
        nf.owned = false;
        nf.owner = 0;
        fn(ctx, &nf);
    }
}
