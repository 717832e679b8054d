/*
 * db.h - the users database: read side (libc only; linked into the NSS
 * module, the PAM module and the tool).
 *
 * Owns: opening the database read-only with mmap after owner/mode checks,
 * O(1) validation of the header and section bounds at open, bounds-checked
 * O(1) hash lookups (format version 2 with or without cell tables, and
 * version 1 for files written before it) of users by name/uid and groups
 * by name/gid, indexed
 * enumeration, and a full integrity check for `doctor`. The binary format
 * is described in db_format.h and doc/design.md. A database file holds
 * public data only (what getent shows, plus the Jellyfin name and Id).
 */
#ifndef JFA_DB_H
#define JFA_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* flags of a user record */
#define JFA_DBU_ADMIN 0x1u     /* Jellyfin administrator */
#define JFA_DBU_DISABLED 0x2u  /* Policy.IsDisabled at last sync */
#define JFA_DBU_HIDDEN 0x4u    /* Policy.IsHidden */
#define JFA_DBU_NO_REMOTE 0x8u /* Policy.EnableRemoteAccess == false */
#define JFA_DBU_FOLD 0x10u     /* case_sensitive = no: found by any case of its name */
/* flags of a group record */
#define JFA_DBG_FOLD 0x1u /* case_sensitive = no: found by any case of its name */

struct jfa_db {
    const unsigned char *base; /* NULL when closed */
    size_t size;
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t st_size;
    /* validated section views, filled by jfa_db_open */
    uint32_t version; /* format version (db_format.h): 2, or 1 (older file) */
    uint32_t n_users, n_groups;
    uint64_t generation; /* sync time (unix seconds) */
    /* section offset/size, enum jfa_db_sec order (db_format.h), copied
     * from the header and validated at open: lookups never re-read the
     * header, so they trust only checked values */
    uint64_t sec_off[9], sec_len[9];
    /* the cell tables (db_format.h), in key order user name, uid, group
     * name, gid: file offset, cell count (0: none, the slot table is
     * probed) and stride, validated at open */
    uint64_t cell_off[4];
    uint32_t cell_n[4], cell_stride[4];
    /* the watch block's `replaced` word inside the mapping, or NULL when
     * the file has none (db_format.h) */
    const uint32_t *replaced;
    /* set by a caller that never reads jfa_db_user.jf_id (the NSS module):
     * records then come with jf_id empty, saving its hex formatting */
    bool no_jf_id;
};

struct jfa_db_user {
    uint32_t uid, gid;
    const char *name, *gecos, *home, *shell;
    /* their stored lengths (the byte at that length is NUL; a hostile file
     * may hide a NUL before it, so strlen can be shorter, never longer) */
    uint32_t name_len, gecos_len, home_len, shell_len;
    const char *jf_name; /* the Jellyfin spelling */
    uint32_t jf_name_len;
    char jf_id[33]; /* 32 lowercase hex ("" if db->no_jf_id) */
    uint32_t flags;
    uint32_t n_gids;           /* supplementary groups (not counting gid) */
    const unsigned char *gids; /* n_gids little-endian u32 (use jfa_db_user_gid) */
};

struct jfa_db_group {
    uint32_t gid;
    const char *name;
    uint32_t name_len; /* its stored length (as for jfa_db_user) */
    uint32_t n_members;
    uint32_t index; /* record index (version 1: for jfa_db_group_member) */
    uint32_t entry; /* version 2: entry offset in GROUPS, for jfa_db_group_member */
    uint32_t flags; /* JFA_DBG_* */
};

/*
 * Open and map path. require_root: the file must be owned by root (else it
 * may also be owned by geteuid(), for tests and non-system databases); in
 * both cases it must not be group/other writable and must not be a symlink.
 * Returns 0, -ENOENT (absent), -EPERM (unsafe owner/mode/type), -EINVAL
 * (bad magic, version or section bounds), or -errno.
 */
int jfa_db_open(struct jfa_db *db, const char *path, bool require_root);
void jfa_db_close(struct jfa_db *db);
/* Has the file at path been replaced or changed since db was opened?
 * (lstat: one system call) */
bool jfa_db_stale(const struct jfa_db *db, const char *path);
/* Has the writer marked this file replaced (its watch block's word is
 * nonzero)? One load from the mapping, no system call. false for a file
 * without a watch block, which only jfa_db_stale can tell. A marked file
 * may still be at the path for a moment (the writer marks just before its
 * rename): callers confirm with jfa_db_stale before dropping it. */
static inline bool jfa_db_marked(const struct jfa_db *db)
{
    return db->replaced != NULL && __atomic_load_n(db->replaced, __ATOMIC_ACQUIRE) != 0;
}

/* Lookups: 0 found, -ENOENT not found, -EINVAL corrupt record. */
int jfa_db_user_by_name(const struct jfa_db *db, const char *name, struct jfa_db_user *out);
int jfa_db_user_by_uid(const struct jfa_db *db, uint32_t uid, struct jfa_db_user *out);
int jfa_db_user_at(const struct jfa_db *db, uint32_t index, struct jfa_db_user *out);
uint32_t jfa_db_user_gid(const struct jfa_db_user *u, uint32_t i);
int jfa_db_group_by_name(const struct jfa_db *db, const char *name, struct jfa_db_group *out);
int jfa_db_group_by_gid(const struct jfa_db *db, uint32_t gid, struct jfa_db_group *out);
/* The same by name, case-insensitively when the database allows it: the
 * exact name first; else, if name has ASCII capitals, its lower-case form,
 * answered only if that record has the fold flag (JFA_DBU_FOLD,
 * JFA_DBG_FOLD). O(1): stored names are lower case. */
int jfa_db_user_by_name_ci(const struct jfa_db *db, const char *name, struct jfa_db_user *out);
int jfa_db_group_by_name_ci(const struct jfa_db *db, const char *name, struct jfa_db_group *out);
/* A name query prepared once: its length and hash, for a caller that
 * needs them before the lookup too (the NSS module checks the name by its
 * length and prefetches the hash slot). jfa_db_query_name: false for NULL
 * or a name longer than JFA_DB_NAME_MAX (never in the database); q keeps
 * the pointer, so name must outlive it. The _query_ci lookups answer
 * exactly as the _name_ci ones for the same name. */
struct jfa_db_query {
    const char *name;
    uint32_t len, hash;
};
bool jfa_db_query_name(struct jfa_db_query *q, const char *name);
int jfa_db_user_by_query_ci(const struct jfa_db *db, const struct jfa_db_query *q,
                            struct jfa_db_user *out);
int jfa_db_group_by_query_ci(const struct jfa_db *db, const struct jfa_db_query *q,
                             struct jfa_db_group *out);
int jfa_db_group_at(const struct jfa_db *db, uint32_t index, struct jfa_db_group *out);
/* i-th member's login name of a group, or NULL if corrupt/out of range. */
const char *jfa_db_group_member(const struct jfa_db *db, const struct jfa_db_group *g, uint32_t i);

/* Full check (checksum, every record, every string, index consistency);
 * 0 or -1 with a message in err. O(n): for doctor and tests, not for NSS. */
int jfa_db_verify(const struct jfa_db *db, char *err, size_t errlen);

/* Cheap syntactic filter: could `name` be in our database at all? (non-empty,
 * <= 32 bytes, no ':', '/', '*', whitespace or control bytes). */
bool jfa_db_name_plausible(const char *name);
/* The same for the len bytes at name (a stored name of known length): a
 * NUL among them fails, so a name hiding a NUL before its stored length is
 * refused rather than shortened. One table look-up per byte. */
bool jfa_db_name_plausible_n(const char *name, size_t len);

/* JELLYFIN_AUTH_DB via secure_getenv, else the compiled default. */
const char *jfa_db_default_path(void);
/* The compiled default alone (JFA_DEFAULT_DB): a database found there must
 * be owned by root (the NSS module and the PAM module's early checks). */
const char *jfa_db_builtin_path(void);

#endif
