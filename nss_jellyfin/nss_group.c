/*
 * nss_group.c - group entry points of libnss_jellyfin.so.2.
 *
 * Owns: getgrnam_r, getgrgid_r and the setgrent/getgrent_r/endgrent
 * enumeration. Junk names and gid 0 are refused before the database is
 * touched; records with gid 0 are never returned. Enumeration walks the
 * mapping current at setgrent (or the first getgrent_r) and finishes
 * over that file even if the database is replaced meanwhile.
 */
#include <errno.h>

#include "nss_common.h"

static bool usable(const struct jfa_db_group *g)
{
    return g->gid != 0 && jfa_nss_name_ours_n(g->name, g->name_len);
}

/* The same for a record found by a name that passed jfa_nss_name_ours. */
static bool usable_by_name(const struct jfa_db_group *g)
{
    return g->gid != 0 && jfa_nss_found_name_ours(g->name, g->name_len);
}

enum nss_status _nss_jellyfin_getgrnam_r(const char *name, struct group *gr, char *buf,
                                         size_t buflen, int *errnop)
{
    enum nss_status st;
    const struct jfa_db *db;
    struct jfa_db_group g;
    struct jfa_db_query q;
    int rc;

    if (!jfa_nss_query(JFA_NSS_T_GNAME, name, &q)) {
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
    }
    jfa_nss_lock();
    db = jfa_nss_db(errnop);
    if (!db) {
        st = NSS_STATUS_UNAVAIL;
        goto out;
    }
    rc = jfa_db_group_by_query_ci(db, &q, &g);
    if (rc == 0 && !usable_by_name(&g))
        rc = -ENOENT;
    st = rc ? jfa_nss_status(rc, errnop) : jfa_nss_fill_group(db, &g, gr, buf, buflen, errnop);
out:
    jfa_nss_unlock();
    return st;
}

enum nss_status _nss_jellyfin_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                         int *errnop)
{
    enum nss_status st;
    const struct jfa_db *db;
    struct jfa_db_group g;
    int rc;

    jfa_nss_prefetch_id(JFA_NSS_T_GID, (uint32_t)gid);

    if (gid == 0) {
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
    }
    jfa_nss_lock();
    db = jfa_nss_db(errnop);
    if (!db) {
        st = NSS_STATUS_UNAVAIL;
        goto out;
    }
    rc = jfa_db_group_by_gid(db, (uint32_t)gid, &g);
    if (rc == 0 && !usable(&g))
        rc = -ENOENT;
    st = rc ? jfa_nss_status(rc, errnop) : jfa_nss_fill_group(db, &g, gr, buf, buflen, errnop);
out:
    jfa_nss_unlock();
    return st;
}

enum nss_status _nss_jellyfin_setgrent(void)
{
    return jfa_nss_setent(JFA_NSS_GR);
}

enum nss_status _nss_jellyfin_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
    enum nss_status st;
    struct jfa_nss_cursor *c;

    c = jfa_nss_cursor_walk(JFA_NSS_GR, errnop); /* no lock held by the walk */
    if (!c) {
        st = NSS_STATUS_UNAVAIL;
        goto out;
    }
    for (;;) {
        struct jfa_db_group g;
        if (c->next >= c->db->n_groups) {
            *errnop = ENOENT;
            st = NSS_STATUS_NOTFOUND;
            break;
        }
        if (jfa_db_group_at(c->db, c->next, &g) != 0 || !usable(&g)) {
            c->next++;
            continue;
        }
        st = jfa_nss_fill_group(c->db, &g, gr, buf, buflen, errnop);
        if (st == NSS_STATUS_UNAVAIL) { /* corrupt member list: skip the record */
            c->next++;
            continue;
        }
        if (st == NSS_STATUS_SUCCESS)
            c->next++;
        break;
    }
out:
    return st;
}

enum nss_status _nss_jellyfin_endgrent(void)
{
    return jfa_nss_endent(JFA_NSS_GR);
}
