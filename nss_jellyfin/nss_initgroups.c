/*
 * nss_initgroups.c - initgroups_dyn of libnss_jellyfin.so.2.
 *
 * Owns: _nss_jellyfin_initgroups_dyn, which answers initgroups(3) and
 * getgrouplist(3) from the user's own record in O(1) (its primary gid and
 * the supplementary gids sync stored), instead of glibc walking every
 * group. Gids equal to skipgroup, gid 0 and gids already in the array are
 * not added; the array grows with realloc up to `limit` (when > 0).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nss_common.h"

/* Add gid to the caller's array. 0 ok (added, present, or limit reached),
 * -1 out of memory. */
static int add_gid(gid_t gid, gid_t skip, long int *start, long int *size, gid_t **groupsp,
                   long int limit)
{
    gid_t *groups = *groupsp;

    if (gid == 0 || gid == skip)
        return 0;
    for (long int i = 0; i < *start; i++)
        if (groups[i] == gid)
            return 0;
    if (*start >= *size) {
        long int nsize;
        gid_t *ng;
        if (limit > 0 && *size >= limit)
            return 0; /* full: glibc's convention is to stop silently */
        nsize = *size > 0 ? 2 * *size : 16;
        if (limit > 0 && nsize > limit)
            nsize = limit;
        ng = realloc(groups, (size_t)nsize * sizeof(*ng));
        if (!ng)
            return -1;
        *groupsp = groups = ng;
        *size = nsize;
    }
    groups[(*start)++] = gid;
    return 0;
}

enum nss_status _nss_jellyfin_initgroups_dyn(const char *user, gid_t skipgroup, long int *start,
                                             long int *size, gid_t **groupsp, long int limit,
                                             int *errnop)
{
    enum nss_status st;
    const struct jfa_db *db;
    struct jfa_db_user u;
    struct jfa_db_query q;
    int rc;

    if (!jfa_nss_query(JFA_NSS_T_UNAME, user, &q)) {
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
    }
    jfa_nss_lock();
    db = jfa_nss_db(errnop);
    if (!db) {
        st = NSS_STATUS_UNAVAIL;
        goto out;
    }
    rc = jfa_db_user_by_query_ci(db, &q, &u);
    if (rc == 0 && (u.uid == 0 || u.gid == 0 || !jfa_nss_found_name_ours(u.name, u.name_len)))
        rc = -ENOENT;
    if (rc != 0) {
        st = jfa_nss_status(rc, errnop);
        goto out;
    }
    st = NSS_STATUS_SUCCESS;
    if (add_gid(u.gid, skipgroup, start, size, groupsp, limit) != 0)
        goto nomem;
    for (uint32_t i = 0; i < u.n_gids; i++)
        if (add_gid(jfa_db_user_gid(&u, i), skipgroup, start, size, groupsp, limit) != 0)
            goto nomem;
    goto out;
nomem:
    *errnop = ENOMEM;
    st = NSS_STATUS_TRYAGAIN;
out:
    jfa_nss_unlock();
    return st;
}
