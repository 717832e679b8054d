/*
 * dbwrite.h - the users database: write side (used only by jellyfin-auth).
 *
 * Owns: serialising users and groups into the binary format of db_format.h
 * (version 2: one entry per record, index arrays, tagged hash indexes,
 * optional cell tables, checksum) in memory. Writing the result to disk atomically is
 * fileutil.h's job.
 */
#ifndef JFA_DBWRITE_H
#define JFA_DBWRITE_H

#include <stddef.h>
#include <stdint.h>

struct jfa_dbw_user {
    uint32_t uid, gid;
    const char *name, *gecos, *home, *shell, *jf_name;
    char jf_id[33];
    uint32_t flags;       /* JFA_DBU_* */
    const uint32_t *gids; /* supplementary gids */
    size_t n_gids;
};

struct jfa_dbw_group {
    uint32_t gid;
    const char *name;
    const char *const *members; /* login names */
    size_t n_members;
    uint32_t flags; /* JFA_DBG_* */
};

/*
 * Build a database image. Names and ids must be unique (checked: -1 with a
 * message on duplicates or invalid strings: ':' or '\n' in any field, names
 * failing jfa_db_name_plausible). *out is malloc'd.
 */
int jfa_db_build(const struct jfa_dbw_user *users, size_t n_users,
                 const struct jfa_dbw_group *groups, size_t n_groups, uint64_t generation,
                 unsigned char **out, size_t *out_len, char *err, size_t errlen);

/* The same with flags: JFA_DBW_NO_V1_VIEW writes a plain version 2 file
 * (header version 2), which readers older than version 2 cannot read.
 * Without it (jfa_db_build) the file is transitional: version 2 sections
 * plus a version 1 view of the same records (db_format.h). */
#define JFA_DBW_NO_V1_VIEW 0x1u
/* JFA_DBW_NO_CELLS: no cell tables (db_format.h), the layout of files
 * written before them (for A/B measurement and compatibility tests). */
#define JFA_DBW_NO_CELLS 0x2u
int jfa_db_build_flags(const struct jfa_dbw_user *users, size_t n_users,
                       const struct jfa_dbw_group *groups, size_t n_groups, uint64_t generation,
                       unsigned flags, unsigned char **out, size_t *out_len, char *err,
                       size_t errlen);

/*
 * Mark the database file at path as replaced: store 1 into its watch
 * block's `replaced` word (db_format.h) through a shared mapping, so that
 * every process mapping that file sees it at its next lookup. Call it
 * just before renaming a new database over path (after the new file is
 * written and fsynced). Returns 1 marked, 0 nothing to mark (absent, not a
 * database, or an older file without a watch block: readers of those
 * check the path by lstat), -1 with err set (cannot open or map it, or it
 * is not root's / is group or other writable: left alone).
 */
int jfa_db_mark_replaced(const char *path, char *err, size_t errlen);

#endif
