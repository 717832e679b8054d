/*
 * tests/unit/test_homecheck.c - unit tests for lib/homecheck.c.
 *
 * Owns: jfa_home_check's answers: an absent home (JFA_ABSENT), the user's
 * own home (accepted, a link to it too), a home owned by another uid (the
 * name changed hands), a home or a startup file writable by others or by a
 * group not the user's, a startup file (or a link planted as one) owned by
 * another uid, any other entry at the top (.vimrc, .gitconfig, bin) judged
 * alike; root-owned startup files are accepted. jfa_name_files: what is
 * kept under a login name (mail spool, crontab, lingering, subuid). "Another uid" is
 * played by asking for getuid()+1, so no root is needed; the startup file
 * of another owner needs chown (root) and skips otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "homecheck.h"
#include "util.h"

struct fx {
    char dir[64];
    char home[96];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    strcpy(f->dir, "/tmp/jfa-homecheck.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->home, sizeof(f->home), "%s/home", f->dir);
    assert_int_equal(mkdir(f->home, 0700), 0);
    assert_int_equal(chmod(f->home, 0700), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    free(f);
    return 0;
}

static void put(const struct fx *f, const char *name, mode_t mode)
{
    char p[160];
    int fd;

    snprintf(p, sizeof(p), "%s/%s", f->home, name);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "true\n", 5), 5);
    close(fd);
    assert_int_equal(chmod(p, mode), 0);
}

static void test_absent(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256], p[160];

    snprintf(p, sizeof(p), "%s/none", f->dir);
    assert_int_equal(jfa_home_check(p, getuid(), getgid(), &is, err, sizeof(err)), JFA_ABSENT);
    assert_int_equal(is.what, JFA_HOME_OK);
}

static void test_own_home(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256], link[160];

    put(f, ".profile", 0644);
    put(f, ".bashrc", 0600);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), 0);
    /* a link to it is followed, as the shell follows it */
    snprintf(link, sizeof(link), "%s/link", f->dir);
    assert_int_equal(symlink(f->home, link), 0);
    assert_int_equal(jfa_home_check(link, getuid(), getgid(), &is, err, sizeof(err)), 0);
    /* writable by the user's own group: accepted */
    assert_int_equal(chmod(f->home, 0770), 0);
    put(f, ".profile", 0664);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), 0);
}

static void test_other_owner(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256];

    put(f, ".profile", 0644);
    assert_int_equal(jfa_home_check(f->home, getuid() + 1, getgid(), &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_OWNER);
    assert_int_equal(is.owner, getuid());
    assert_non_null(strstr(err, f->home));
    assert_non_null(strstr(err, "is owned by uid"));
}

static void test_writable(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256];

    assert_int_equal(chmod(f->home, 0707), 0);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_WRITABLE);
    assert_non_null(strstr(err, "mode 0707"));
    /* group-writable, the group not the user's */
    assert_int_equal(chmod(f->home, 0770), 0);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid() + 1, &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_WRITABLE);
    /* a startup file writable by others */
    assert_int_equal(chmod(f->home, 0700), 0);
    put(f, ".bash_profile", 0646);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_WRITABLE);
    assert_non_null(strstr(err, "/.bash_profile is writable by others"));
}

static void test_file_owner(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256], p[160];

    if (geteuid() != 0)
        skip();
    /* the directory chowned alone: the old holder's .profile stays theirs */
    put(f, ".profile", 0644);
    snprintf(p, sizeof(p), "%s/.profile", f->home);
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_OWNER);
    assert_int_equal(is.owner, 65534);
    assert_non_null(strstr(err, "/.profile is owned by uid 65534"));
    /* a link planted as a startup file is judged itself, not its target */
    assert_int_equal(unlink(p), 0);
    assert_int_equal(symlink("/etc/profile", p), 0);
    assert_int_equal(lchown(p, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_OWNER);
    /* root's startup files are accepted in a user's home */
    assert_int_equal(lchown(p, 0, 0), 0);
    assert_int_equal(chown(f->home, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 65534, 65534, &is, err, sizeof(err)), 0);
}

/* Not only the shells' startup files: whatever the user's programs read
 * at the top of the home (vim's .vimrc runs commands, git's .gitconfig
 * names programs, ~/bin is on Debian's PATH). Before, only a fixed list
 * was judged: a home chowned alone, emptied of the listed files by its old
 * holder, passed with the old holder's .vimrc in it. */
static void test_any_entry(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256], p[160];

    /* writable by others (no root needed) */
    put(f, ".vimrc", 0646);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_WRITABLE);
    assert_non_null(strstr(err, "/.vimrc is writable by others"));
    put(f, ".vimrc", 0644);
    snprintf(p, sizeof(p), "%s/bin", f->home);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(chmod(p, 0777), 0);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_WRITABLE);
    assert_non_null(strstr(err, "/bin is writable by others (mode 0777"));
    assert_int_equal(chmod(p, 0755), 0);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), 0);
    /* the user's data is not judged: a directory shared with others */
    snprintf(p, sizeof(p), "%s/shared", f->home);
    assert_int_equal(mkdir(p, 0700), 0);
    assert_int_equal(chmod(p, 0777), 0);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), 0);
    if (geteuid() != 0)
        skip();
    /* nor a media library of the server's uid (a bind mount, ~/Movies) */
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), 0);
    /* owned by the old holder, the directory chowned alone */
    snprintf(p, sizeof(p), "%s/.gitconfig", f->home);
    put(f, ".gitconfig", 0644);
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_OWNER);
    assert_int_equal(is.owner, 65534);
    assert_non_null(strstr(err, "/.gitconfig is owned by uid 65534"));
    assert_int_equal(unlink(p), 0);
    snprintf(p, sizeof(p), "%s/bin", f->home);
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_OWNER);
    assert_non_null(strstr(err, "/bin is owned by uid 65534"));
    assert_int_equal(chown(p, 0, 0), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), 0);
}

/* sshd runs ~/.ssh/rc as the user: what is inside .ssh is judged too, so
 * a .ssh chowned with the home but not its content is refused. */
static void test_ssh_dir(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256], p[160];

    snprintf(p, sizeof(p), "%s/.ssh", f->home);
    assert_int_equal(mkdir(p, 0700), 0);
    put(f, ".ssh/rc", 0644);
    put(f, ".ssh/authorized_keys", 0600);
    put(f, ".ssh/notes", 0644); /* any name inside .ssh */
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), 0);
    snprintf(p, sizeof(p), "%s/.ssh/notes", f->home);
    assert_int_equal(chmod(p, 0666), 0);
    assert_int_equal(jfa_home_check(f->home, getuid(), getgid(), &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_WRITABLE);
    assert_non_null(strstr(err, "/.ssh/notes is writable by others (mode 0666"));
    assert_int_equal(chmod(p, 0644), 0);
    if (geteuid() != 0)
        skip();
    /* the old holder's rc in a .ssh the administrator chowned alone */
    snprintf(p, sizeof(p), "%s/.ssh/rc", f->home);
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_FILE_OWNER);
    assert_int_equal(is.owner, 65534);
    assert_non_null(strstr(err, "/.ssh/rc is owned by uid 65534"));
    /* root's is fine (an administrator's authorized_keys) */
    assert_int_equal(chown(p, 0, 0), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), 0);
    /* only .ssh is looked into: the user's data below other dot entries
     * is not (a subdirectory of the old holder under .config passes) */
    snprintf(p, sizeof(p), "%s/.config", f->home);
    assert_int_equal(mkdir(p, 0700), 0);
    put(f, ".config/x", 0644);
    snprintf(p, sizeof(p), "%s/.config/x", f->home);
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(jfa_home_check(f->home, 0, 0, &is, err, sizeof(err)), 0);
}

struct seen {
    char lines[8][512];
    size_t n;
};

static void collect(void *ctx, const struct jfa_name_file *nf)
{
    struct seen *sn = ctx;

    assert_true(sn->n < 8);
    snprintf(sn->lines[sn->n++], sizeof(sn->lines[0]), "%s|%s|%d|%u", nf->path, nf->what,
             (int)nf->owned, (unsigned)nf->owner);
}

/* mkdir -p under the fixture, then a file there (content: text) */
static void put_at(const struct fx *f, const char *rel, const char *text)
{
    char p[256], *slash;
    FILE *fp;

    snprintf(p, sizeof(p), "%s/%s", f->dir, rel);
    for (slash = strchr(p + strlen(f->dir) + 1, '/'); slash != NULL;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
        *slash = '/';
    }
    fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* What other programs keep under a login name (not a uid) and so hand to
 * the name's next holder: found under a root, a spool reached by two
 * paths once, only regular files, a subordinate id line for exactly the
 * name. */
static void test_name_files(void **state)
{
    struct fx *f = *state;
    struct seen sn;
    char p[256], want[512];

    memset(&sn, 0, sizeof(sn));
    jfa_name_files(f->dir, "bob", false, collect, &sn);
    assert_int_equal(sn.n, 0);
    put_at(f, "var/mail/bob", "From old holder\n");
    put_at(f, "var/spool/cron/crontabs/bob", "* * * * * true\n");
    put_at(f, "var/lib/systemd/linger/bob", "");
    put_at(f, "etc/subuid", "bobby:100000:65536\nbob:165536:65536\n");
    put_at(f, "etc/subgid", "bobby:100000:65536\n");
    /* Debian: /var/spool/mail is a link to /var/mail */
    snprintf(p, sizeof(p), "%s/var/spool/mail", f->dir);
    assert_int_equal(symlink("../mail", p), 0);
    jfa_name_files(f->dir, "bob", false, collect, &sn);
    assert_int_equal(sn.n, 4);
    snprintf(want, sizeof(want), "%s/var/mail/bob|mail spool|1|%u", f->dir, (unsigned)getuid());
    assert_string_equal(sn.lines[0], want);
    snprintf(want, sizeof(want), "%s/var/spool/cron/crontabs/bob|crontab|1|%u", f->dir,
             (unsigned)getuid());
    assert_string_equal(sn.lines[1], want);
    snprintf(want, sizeof(want), "%s/var/lib/systemd/linger/bob|lingering|0|%u", f->dir,
             (unsigned)getuid());
    assert_string_equal(sn.lines[2], want);
    snprintf(want, sizeof(want), "%s/etc/subuid|subordinate uids|0|0", f->dir);
    assert_string_equal(sn.lines[3], want);
    /* owned_only (doctor): the mail spool and the crontab, nothing else */
    memset(&sn, 0, sizeof(sn));
    jfa_name_files(f->dir, "bob", true, collect, &sn);
    assert_int_equal(sn.n, 2);
    assert_non_null(strstr(sn.lines[0], "|mail spool|1|"));
    assert_non_null(strstr(sn.lines[1], "|crontab|1|"));
    /* the crontabs directory is not a crontab of a user named "crontabs" */
    memset(&sn, 0, sizeof(sn));
    jfa_name_files(f->dir, "crontabs", false, collect, &sn);
    assert_int_equal(sn.n, 0);
    /* "bobby" is another name */
    jfa_name_files(f->dir, "bobb", false, collect, &sn);
    assert_int_equal(sn.n, 0);
}

/* The FUSE line of a mountinfo: user_id= of the mount of that device only */
static void test_fuse_mounter(void **state)
{
    struct fx *f = *state;
    char p[160];
    uid_t owner = 7;
    FILE *fp;

    snprintf(p, sizeof(p), "%s/mountinfo", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
          "40 22 0:50 / /home/bob rw,nosuid,nodev shared:9 - fuse.rclone bob: "
          "rw,user_id=1001,group_id=1001,allow_other\n"
          "41 22 0:51 / /home/x\\040user_id=5 rw shared:10 - fuse sshfs rw,group_id=0,user_id=0\n"
          "42 22 0:52 / /mnt rw shared:11 - tmpfs tmpfs rw,user_id=99\n",
          fp);
    fclose(fp);
    assert_int_equal(jfa_fuse_mounter(p, makedev(8, 1), &owner), 0);
    assert_int_equal(jfa_fuse_mounter(p, makedev(0, 50), &owner), 1);
    assert_int_equal(owner, 1001);
    assert_int_equal(jfa_fuse_mounter(p, makedev(0, 51), &owner), 1);
    assert_int_equal(owner, 0);
    assert_int_equal(jfa_fuse_mounter(p, makedev(0, 52), &owner), 0); /* not FUSE */
    assert_int_equal(jfa_fuse_mounter(p, makedev(0, 53), &owner), 0); /* not listed */
    /* a line longer than any fixed buffer (the mounter chose a long
     * fsname): its super options, at the end, are still read */
    fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("43 22 0:54 / /home/bob rw,nosuid shared:12 - fuse.sshfs ", fp);
    for (int i = 0; i < 9000; i++)
        fputc('a', fp);
    fputs(" rw,user_id=1001,group_id=1001,allow_other\n", fp);
    fclose(fp);
    owner = 7;
    assert_int_equal(jfa_fuse_mounter(p, makedev(0, 54), &owner), 1);
    assert_int_equal(owner, 1001);
    snprintf(p, sizeof(p), "%s/none", f->dir);
    assert_int_equal(jfa_fuse_mounter(p, makedev(0, 50), &owner), -1);
}

/* A FUSE server that answers as an old holder's daemon would: the root is
 * a directory owned by `claim` (the new holder), mode 0700, empty. */
static void fuse_serve(int fd, uid_t claim)
{
    static char buf[FUSE_MIN_READ_BUFFER + 65536];

    for (;;) {
        struct fuse_in_header *in = (struct fuse_in_header *)buf;
        struct {
            struct fuse_out_header h;
            union {
                struct fuse_init_out init;
                struct fuse_attr_out attr;
                struct fuse_open_out open;
                struct fuse_statfs_out statfs;
            } u;
        } out;
        ssize_t n = read(fd, buf, sizeof(buf));
        size_t len = sizeof(out.h);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)sizeof(*in))
            _exit(0); /* unmounted */
        memset(&out, 0, sizeof(out));
        out.h.unique = in->unique;
        switch (in->opcode) {
        case FUSE_INIT: {
            const struct fuse_init_in *ii = (const void *)(in + 1);

            out.u.init.major = FUSE_KERNEL_VERSION;
            out.u.init.minor =
                ii->minor < FUSE_KERNEL_MINOR_VERSION ? ii->minor : FUSE_KERNEL_MINOR_VERSION;
            out.u.init.max_readahead = ii->max_readahead;
            out.u.init.max_write = 4096;
            out.u.init.time_gran = 1;
            len += sizeof(out.u.init);
            break;
        }
        case FUSE_GETATTR:
            out.u.attr.attr.ino = in->nodeid;
            out.u.attr.attr.mode = S_IFDIR | 0700;
            out.u.attr.attr.nlink = 2;
            out.u.attr.attr.uid = claim;
            out.u.attr.attr.gid = claim;
            len += sizeof(out.u.attr);
            break;
        case FUSE_STATFS: /* the kernel sets f_type (FUSE) itself */
            out.u.statfs.st.bsize = 4096;
            out.u.statfs.st.namelen = 255;
            len += sizeof(out.u.statfs);
            break;
        case FUSE_OPENDIR:
            out.u.open.fh = 1;
            len += sizeof(out.u.open);
            break;
        case FUSE_READDIR:    /* empty: the end at once */
        case FUSE_RELEASEDIR: /* nothing to free */
            break;
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
            continue; /* no answer */
        case FUSE_LOOKUP:
            out.h.error = -ENOENT;
            break;
        default:
            out.h.error = -ENOSYS;
        }
        out.h.len = (uint32_t)len;
        if (write(fd, &out, len) < 0 && errno == ENODEV)
            _exit(0);
    }
}

/* A home that another uid mounted as a FUSE file system (an old holder
 * who mounted one on the home while it was theirs, with user_allow_other:
 * rclone mounts of media libraries): its daemon says the new holder owns
 * it, mode 0700, nothing in it. Before, that passed every check, and the
 * daemon served the new holder's .profile. */
static void test_fuse_home(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[512], opts[160], mp[160];
    uid_t claim = 4242;
    pid_t pid;
    int fd, status;

    if (geteuid() != 0)
        skip();
    /* in a mount namespace of this test's own: nothing outlives it */
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        skip();
    fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        skip();
    snprintf(mp, sizeof(mp), "%s/fusehome", f->dir);
    assert_int_equal(mkdir(mp, 0700), 0);
    snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=65534,group_id=65534,allow_other",
             fd);
    if (mount("jfa-test", mp, "fuse.jfa-test", MS_NOSUID | MS_NODEV, opts) != 0) {
        close(fd);
        skip();
    }
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* dies with the test, and holds none of its output pipes */
        int null = open("/dev/null", O_RDWR);

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1 || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
            _exit(1);
        fuse_serve(fd, claim);
    }
    close(fd);
    /* the daemon's word: owned by the new holder, 0700 */
    {
        struct stat st;

        assert_int_equal(stat(mp, &st), 0);
        assert_int_equal(st.st_uid, claim);
    }
    assert_int_equal(jfa_home_check(mp, claim, claim, &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_MOUNT);
    assert_int_equal(is.owner, 65534);
    assert_non_null(strstr(err, "is a FUSE file system mounted by uid 65534"));
    /* an entry at the top mounted so: judged alike */
    {
        char home2[160], link_mp[200];

        snprintf(home2, sizeof(home2), "%s/home2", f->dir);
        snprintf(link_mp, sizeof(link_mp), "%s/.config", home2);
        assert_int_equal(mkdir(home2, 0700), 0);
        assert_int_equal(mkdir(link_mp, 0700), 0);
        assert_int_equal(chown(home2, claim, claim), 0);
        assert_int_equal(mount(mp, link_mp, NULL, MS_BIND, NULL), 0);
        assert_int_equal(jfa_home_check(home2, claim, claim, &is, err, sizeof(err)), -1);
        assert_int_equal(is.what, JFA_HOME_MOUNT);
        assert_non_null(strstr(err, "/home2/.config is a FUSE file system mounted by uid 65534"));
        assert_int_equal(umount2(link_mp, MNT_DETACH), 0);
        assert_int_equal(jfa_home_check(home2, claim, claim, &is, err, sizeof(err)), 0);
    }
    assert_int_equal(umount2(mp, MNT_DETACH), 0);
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void test_not_directory(void **state)
{
    struct fx *f = *state;
    struct jfa_home_issue is;
    char err[256], p[160];

    put(f, "file", 0644);
    snprintf(p, sizeof(p), "%s/file", f->home);
    assert_int_equal(jfa_home_check(p, getuid(), getgid(), &is, err, sizeof(err)), -1);
    assert_int_equal(is.what, JFA_HOME_OK); /* could not be examined */
    assert_non_null(strstr(err, p));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_any_entry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssh_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fuse_mounter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fuse_home, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
