/*
 * nss_common.h - shared state of libnss_jellyfin.so.2 (internal).
 *
 * Owns: the module's one lock, the lookup mapping of the users database
 * (reopened when the file is replaced), the passwd and group enumeration
 * cursors, fork safety, and copying records into caller buffers. Every
 * function here except jfa_nss_lock/jfa_nss_unlock, jfa_nss_cursor_walk and
 * the fill functions expects the lock held.
 */
#ifndef JFA_NSS_COMMON_H
#define JFA_NSS_COMMON_H

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "db.h"

/* An enumeration: a reference to the mapping that was current at set*ent
 * (or the first get*ent), and the next record index. The mapping stays
 * mapped until end*ent even if the database is replaced meanwhile, so the
 * walk finishes over one consistent file. */
struct jfa_nss_cursor {
    const struct jfa_db *db;
    uint32_t next;
};

enum jfa_nss_which { JFA_NSS_PW = 0, JFA_NSS_GR = 1 };

/* Start loading the hash slot that a lookup of id in table t will read
 * first; no lock needed, never faults (see nss_common.c). */
enum jfa_nss_table { JFA_NSS_T_UNAME = 0, JFA_NSS_T_UID, JFA_NSS_T_GNAME, JFA_NSS_T_GID };
void jfa_nss_prefetch_id(enum jfa_nss_table t, uint32_t id);
/* The same for a name query: prepares q (length and hash, computed once
 * for the prefetch, the checks and the lookup) and starts loading its
 * slot. false if the name cannot be ours (jfa_nss_name_ours): the caller
 * answers NOTFOUND without touching the database. */
bool jfa_nss_query(enum jfa_nss_table t, const char *name, struct jfa_db_query *q);

void jfa_nss_lock(void);
void jfa_nss_unlock(void);

/* Lock held: make the lookup mapping current (reopen when the database
 * file was replaced). Returns the mapping, or NULL with *errnop set (ENOENT
 * for a missing database, else EINVAL/EPERM/errno) meaning NSS_STATUS_UNAVAIL. */
const struct jfa_db *jfa_nss_db(int *errnop);

/* Lock held: the cursor, opened lazily. NULL with *errnop set if the
 * database cannot be opened (UNAVAIL). */
struct jfa_nss_cursor *jfa_nss_cursor_get(enum jfa_nss_which w, int *errnop);
/* Lock NOT held: the cursor for one get*ent call, opened (under the lock)
 * if needed; the walk then reads it without the lock. Callers must not
 * overlap set*ent/get*ent/end*ent of one database (glibc does not; see
 * nss_common.c). NULL with *errnop set as jfa_nss_cursor_get. */
struct jfa_nss_cursor *jfa_nss_cursor_walk(enum jfa_nss_which w, int *errnop);
/* Lock held: drop the cursor's mapping reference; the next get*ent starts
 * again at record 0 of the then-current database. */
void jfa_nss_cursor_close(enum jfa_nss_which w);
/* setpwent/setgrent and endpwent/endgrent: (re)start or drop a cursor,
 * taking the lock. */
enum nss_status jfa_nss_setent(enum jfa_nss_which w);
enum nss_status jfa_nss_endent(enum jfa_nss_which w);

/* Copy u into pw/buf. SUCCESS, or TRYAGAIN with *errnop = ERANGE. */
enum nss_status jfa_nss_fill_passwd(const struct jfa_db_user *u, struct passwd *pw, char *buf,
                                    size_t buflen, int *errnop);
/* Copy g (with member names) into gr/buf. SUCCESS, TRYAGAIN/ERANGE, or
 * UNAVAIL/EINVAL for a corrupt member list. */
enum nss_status jfa_nss_fill_group(const struct jfa_db *db, const struct jfa_db_group *g,
                                   struct group *gr, char *buf, size_t buflen, int *errnop);

/* The module's entry points (exported through nss_jellyfin.map). */
#define JFA_NSS_EXPORT __attribute__((visibility("default")))
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_getpwnam_r(const char *name, struct passwd *pw,
                                                        char *buf, size_t buflen, int *errnop);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_getpwuid_r(uid_t uid, struct passwd *pw, char *buf,
                                                        size_t buflen, int *errnop);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_setpwent(void);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
                                                        int *errnop);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_endpwent(void);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_getgrnam_r(const char *name, struct group *gr,
                                                        char *buf, size_t buflen, int *errnop);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_getgrgid_r(gid_t gid, struct group *gr, char *buf,
                                                        size_t buflen, int *errnop);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_setgrent(void);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_getgrent_r(struct group *gr, char *buf, size_t buflen,
                                                        int *errnop);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_endgrent(void);
JFA_NSS_EXPORT enum nss_status _nss_jellyfin_initgroups_dyn(const char *user, gid_t skipgroup,
                                                            long int *start, long int *size,
                                                            gid_t **groupsp, long int limit,
                                                            int *errnop);

/* A name that can be ours: plausible (jfa_db_name_plausible) and never
 * root. Checked on queries before the database is touched, and on records
 * before they are returned. */
static inline bool jfa_nss_name_ours(const char *name)
{
    return jfa_db_name_plausible(name) && strcmp(name, "root") != 0;
}

/* The same for a record's name of stored length len (the byte at len is
 * NUL, checked by the reader): no strlen, and a NUL hidden inside refuses
 * the record instead of shortening its name. */
static inline bool jfa_nss_name_ours_n(const char *name, uint32_t len)
{
    return jfa_db_name_plausible_n(name, len) && !(len == 4 && memcmp(name, "root", 4) == 0);
}

/* A record a by-name lookup found for a query that passed
 * jfa_nss_name_ours: the lookup compared the record's stored name with the
 * query's bytes (or their ASCII lower case, when folding), length and
 * bytes, and the decoder checked its NUL, so the name is plausible
 * already; only "root" (found for "ROOT" by folding) is left to refuse.
 * Saves the second plausibility check of the same bytes per lookup. */
static inline bool jfa_nss_found_name_ours(const char *name, uint32_t len)
{
    return !(len == 4 && memcmp(name, "root", 4) == 0);
}

/* Map a lookup result (0, -ENOENT, -EINVAL) to an NSS status. */
enum nss_status jfa_nss_status(int rc, int *errnop);

#endif
