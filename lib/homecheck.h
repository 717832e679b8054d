/*
 * homecheck.h - is a Jellyfin user's home theirs?
 */
#ifndef JFA_HOMECHECK_H
#define JFA_HOMECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum jfa_home_what {
    JFA_HOME_OK = 0,
    JFA_HOME_OWNER,         /* the home is not owned by the user */
    JFA_HOME_WRITABLE,      /* the home is writable by group (not the user's) or others */
    JFA_HOME_FILE_OWNER,    /* an entry at its top is owned by another uid than the user or root */
    JFA_HOME_FILE_WRITABLE, /* an entry at its top is writable by others */
    JFA_HOME_MOUNT, /* it, or an entry at its top, is a FUSE file system another uid mounted */
};

struct jfa_home_issue {
    enum jfa_home_what what; /* JFA_HOME_OK unless refused */
    uid_t owner;             /* of the home, or of the startup file at fault */
    mode_t mode;
};

/*
 * May the user uid (primary group gid, its private group) be given the
 * home `home`? It must be a directory (symbolic links followed, as the
 * shell follows them) owned by uid and not writable by others (by group
 * only when the group is gid), and every dot entry and bin at its top
 * (.profile, .bashrc, .ssh, .vimrc, ...; not followed; the user's other
 * entries are their data, not judged), and every entry of .ssh (sshd
 * runs .ssh/rc), owned by uid or root and
 * not writable by others (a link: its own owner only). Neither the home nor
 * an entry at its top may be a FUSE file system that another uid than
 * uid or root mounted: its daemon answers every owner and mode, and the
 * content, as it likes. 0 yes; JFA_ABSENT
 * (1) when the home does not exist; -1 with err naming the path and the
 * fault (is->what says which, JFA_HOME_OK when the home could not be
 * examined).
 */
int jfa_home_check(const char *home, uid_t uid, gid_t gid, struct jfa_home_issue *is, char *err,
                   size_t errlen);

/* What other programs keep under a login name rather than a uid (a
 * mail spool, a crontab, lingering, subordinate ids): it passes with the
 * name to its next holder. */
struct jfa_name_file {
    const char *path;   /* the file (for subordinate ids: /etc/subuid or /etc/subgid) */
    const char *what;   /* "mail spool", "crontab", ... */
    const char *effect; /* what it does for the next holder, and what to do */
    bool owned;         /* keyed by its owner too: owner says whose it is */
    uid_t owner;        /* of the file */
};

/*
 * Call fn for each such file that exists for name, under root ("" for the
 * machine; a directory for tests). Regular files only; a spool reached by
 * two paths (/var/spool/mail is /var/mail on Debian) once. Subordinate ids
 * count when /etc/subuid or /etc/subgid has a "name:" line. owned_only:
 * only the files whose program checks their owner (doctor, for every user:
 * no lingering, settings or subordinate-id lookups it would not report).
 */
void jfa_name_files(const char *root, const char *name, bool owned_only,
                    void (*fn)(void *ctx, const struct jfa_name_file *nf), void *ctx);

/*
 * The uid that mounted the FUSE file system of device dev, as
 * mountinfo_path (/proc/self/mountinfo) lists it: 1 and *owner set when
 * it is a FUSE mount (fuse, fuse.*, fuseblk; its user_id= option), 0 when
 * it is not one or not listed, -1 when the list cannot be read.
 */
int jfa_fuse_mounter(const char *mountinfo_path, dev_t dev, uid_t *owner);

#endif
