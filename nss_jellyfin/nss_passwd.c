/*
 * nss_passwd.c - passwd entry points of libnss_jellyfin.so.2.
 *
 * Owns: getpwnam_r, getpwuid_r and the setpwent/getpwent_r/endpwent
 * enumeration. Junk names and uid 0 are refused before the database is
 * touched; records with uid or gid 0 are never returned (never answer for
 * root). Enumeration walks the mapping current at setpwent (or the
 * first getpwent_r), so a database replaced mid-enumeration does not
 * disturb it: the walk finishes over the old file; the next setpwent sees
 * the new one.
 */
#include <errno.h>

#include "nss_common.h"

static bool usable(const struct jfa_db_user *u)
{
    return u->uid != 0 && u->gid != 0 && jfa_nss_name_ours_n(u->name, u->name_len);
}

/* The same for a record found by a name that passed jfa_nss_name_ours. */
static bool usable_by_name(const struct jfa_db_user *u)
{
    return u->uid != 0 && u->gid != 0 && jfa_nss_found_name_ours(u->name, u->name_len);
}

enum nss_status _nss_jellyfin_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                         size_t buflen, int *errnop)
{
    enum nss_status st;
    const struct jfa_db *db;
    struct jfa_db_user u;
    struct jfa_db_query q;
    int rc;

    if (!jfa_nss_query(JFA_NSS_T_UNAME, name, &q)) {
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
    if (rc == 0 && !usable_by_name(&u))
        rc = -ENOENT;
    st = rc ? jfa_nss_status(rc, errnop) : jfa_nss_fill_passwd(&u, pw, buf, buflen, errnop);
out:
    jfa_nss_unlock();
    return st;
}

enum nss_status _nss_jellyfin_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                         int *errnop)
{
    enum nss_status st;
    const struct jfa_db *db;
    struct jfa_db_user u;
    int rc;

    jfa_nss_prefetch_id(JFA_NSS_T_UID, (uint32_t)uid);

    if (uid == 0) {
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
    }
    jfa_nss_lock();
    db = jfa_nss_db(errnop);
    if (!db) {
        st = NSS_STATUS_UNAVAIL;
        goto out;
    }
    rc = jfa_db_user_by_uid(db, (uint32_t)uid, &u);
    if (rc == 0 && !usable(&u))
        rc = -ENOENT;
    st = rc ? jfa_nss_status(rc, errnop) : jfa_nss_fill_passwd(&u, pw, buf, buflen, errnop);
out:
    jfa_nss_unlock();
    return st;
}

enum nss_status _nss_jellyfin_setpwent(void)
{
    return jfa_nss_setent(JFA_NSS_PW);
}

enum nss_status _nss_jellyfin_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
    enum nss_status st;
    struct jfa_nss_cursor *c;

    c = jfa_nss_cursor_walk(JFA_NSS_PW, errnop); /* no lock held by the walk */
    if (!c) {
        st = NSS_STATUS_UNAVAIL;
        goto out;
    }
    for (;;) {
        struct jfa_db_user u;
        if (c->next >= c->db->n_users) {
            *errnop = ENOENT;
            st = NSS_STATUS_NOTFOUND;
            break;
        }
        /* corrupt or forbidden records are skipped, not fatal */
        if (jfa_db_user_at(c->db, c->next, &u) != 0 || !usable(&u)) {
            c->next++;
            continue;
        }
        st = jfa_nss_fill_passwd(&u, pw, buf, buflen, errnop);
        if (st == NSS_STATUS_SUCCESS)
            c->next++;
        break;
    }
out:
    return st;
}

enum nss_status _nss_jellyfin_endpwent(void)
{
    return jfa_nss_endent(JFA_NSS_PW);
}
