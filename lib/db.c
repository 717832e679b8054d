/*
 * db.c - the users database: read side (libc only).
 *
 * Owns: the trusted open (O_NOFOLLOW, regular file, owner and mode checks)
 * and read-only mmap of the database, the O(1) header/section validation at
 * open, bounds-checked hash lookups and indexed access to records, the
 * replacement checks (jfa_db_stale by lstat; the watch block's word,
 * located at open for jfa_db_marked), the full integrity check for doctor
 * (jfa_db_verify), the name plausibility filter and the default path.
 * Layout: db_format.h. Nothing here allocates memory or writes to a file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* secure_getenv */
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jfaconf.h" /* JFA_DEFAULT_DB (macros only are used here) */
#include "db.h"
#include "db_format.h"
#include "util.h"

_Static_assert(JFA_SEC_COUNT == 9, "struct jfa_db section arrays have 9 entries");
_Static_assert(JFA_DBH_SECTIONS + JFA_SEC_COUNT * 16 == JFA_DB_HDR_SIZE, "header size");

/* ---- small helpers ---- */

static bool is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static const unsigned char *sec_ptr(const struct jfa_db *db, enum jfa_db_sec s)
{
    return db->base + db->sec_off[s];
}

/* Resolve a {u32 off, u32 len} string reference at p. NULL if it does not
 * lie inside the string table or is not NUL-terminated at off + len. */
static const char *get_str(const struct jfa_db *db, const unsigned char *ref, uint32_t *lenp)
{
    uint64_t off = jfa_le32(ref), len = jfa_le32(ref + 4);
    uint64_t tlen = db->sec_len[JFA_SEC_STRINGS];
    const unsigned char *t = sec_ptr(db, JFA_SEC_STRINGS);

    if (off >= tlen || len >= tlen - off)
        return NULL;
    if (t[off + len] != '\0')
        return NULL;
    if (lenp)
        *lenp = (uint32_t)len;
    return (const char *)t + off;
}

static const unsigned char *user_rec(const struct jfa_db *db, uint32_t i)
{
    return sec_ptr(db, JFA_SEC_USERS) + (uint64_t)i * JFA_DB_USER_SIZE;
}

static const unsigned char *group_rec(const struct jfa_db *db, uint32_t i)
{
    return sec_ptr(db, JFA_SEC_GROUPS) + (uint64_t)i * JFA_DB_GROUP_SIZE;
}

static void hex16(const unsigned char *in, char out[33])
{
    jfa_hex_encode(out, in, 16);
}

/* ---- open / close / stale ---- */

/* Check the header bytes h of a file of fsize bytes and fill db's counts
 * and section views. Runs before the file is mapped. */
static int validate_header(struct jfa_db *db, const unsigned char *h, uint64_t fsize)
{

    if (fsize < JFA_DB_HDR_SIZE)
        return -EINVAL;
    if (memcmp(h + JFA_DBH_MAGIC, JFA_DB_MAGIC, JFA_DB_MAGIC_LEN) != 0)
        return -EINVAL;
    if (jfa_le32(h + JFA_DBH_VERSION) != JFA_DB_VERSION)
        return -EINVAL;
    if (jfa_le32(h + JFA_DBH_HDRSIZE) != JFA_DB_HDR_SIZE)
        return -EINVAL;
    if (jfa_le64(h + JFA_DBH_FILESIZE) != fsize)
        return -EINVAL;
    db->generation = jfa_le64(h + JFA_DBH_GENERATION);
    db->n_users = jfa_le32(h + JFA_DBH_NUSERS);
    db->n_groups = jfa_le32(h + JFA_DBH_NGROUPS);
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        uint64_t off = jfa_le64(h + JFA_DBH_SECTIONS + 16 * s);
        uint64_t len = jfa_le64(h + JFA_DBH_SECTIONS + 16 * s + 8);
        if (off % 8 != 0 || off < JFA_DB_HDR_SIZE || off > fsize || len > fsize - off)
            return -EINVAL;
        db->sec_off[s] = off;
        db->sec_len[s] = len;
    }
    for (int a = 0; a < JFA_SEC_COUNT; a++) {
        for (int b = a + 1; b < JFA_SEC_COUNT; b++) {
            uint64_t ao = db->sec_off[a], al = db->sec_len[a];
            uint64_t bo = db->sec_off[b], bl = db->sec_len[b];
            if (al != 0 && bl != 0 && ao < bo + bl && bo < ao + al)
                return -EINVAL;
        }
    }
    if (db->sec_len[JFA_SEC_USERS] != (uint64_t)db->n_users * JFA_DB_USER_SIZE)
        return -EINVAL;
    if (db->sec_len[JFA_SEC_GROUPS] != (uint64_t)db->n_groups * JFA_DB_GROUP_SIZE)
        return -EINVAL;
    if (db->sec_len[JFA_SEC_GIDS] % 4 != 0)
        return -EINVAL;
    if (db->sec_len[JFA_SEC_MEMBERS] % JFA_DB_STRREF_SIZE != 0)
        return -EINVAL;
    for (int s = JFA_SEC_H_UNAME; s <= JFA_SEC_H_GID; s++) {
        uint64_t slots = db->sec_len[s] / 4;
        uint64_t n = (s == JFA_SEC_H_UNAME || s == JFA_SEC_H_UID) ? db->n_users : db->n_groups;
        if (db->sec_len[s] % 4 != 0 || !is_pow2(slots) || slots <= n || slots > UINT32_MAX)
            return -EINVAL;
    }
    return 0;
}

/* Does the mapped file of db carry a watch block (db_format.h)? Only when
 * no section starts before its end, so that older files, whose first
 * section begins at 192, never have string or table bytes read as one. */
static bool has_watch_block(const struct jfa_db *db, const unsigned char *map)
{
    for (int s = 0; s < JFA_SEC_COUNT; s++)
        if (db->sec_off[s] < JFA_DB_WATCH_OFF + JFA_DB_WATCH_SIZE)
            return false;
    /* every section offset is <= the file size: the block lies inside */
    return memcmp(map + JFA_DB_WATCH_OFF, JFA_DB_WATCH_TAG, JFA_DB_WATCH_TAG_LEN) == 0;
}

int jfa_db_open(struct jfa_db *db, const char *path, bool require_root)
{
    struct stat st;
    unsigned char hdr[JFA_DB_HDR_SIZE];
    int fd = -1, rc = 0;
    void *map = MAP_FAILED;

    memset(db, 0, sizeof(*db));
    if (!path || !*path)
        return -EINVAL;
    /* O_NONBLOCK: a FIFO planted at the path must not block the caller. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        rc = errno == ELOOP ? -EPERM : -errno;
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 022) != 0) {
        rc = -EPERM;
        goto out;
    }
    if (st.st_uid != 0 && (require_root || st.st_uid != geteuid())) {
        rc = -EPERM;
        goto out;
    }
    if (st.st_size < (off_t)JFA_DB_HDR_SIZE || (uint64_t)st.st_size > JFA_DB_MAX_FILE) {
        rc = -EINVAL;
        goto out;
    }
    /* validate the header before mapping: a bad file costs no mmap */
    if (pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
        rc = -EINVAL;
        goto out;
    }
    rc = validate_header(db, hdr, (uint64_t)st.st_size);
    if (rc != 0)
        goto out;
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    /* the mapped header must still be the one validated (in-place edit) */
    if (memcmp(map, hdr, sizeof(hdr)) != 0) {
        rc = -EINVAL;
        goto out;
    }
    db->base = map;
    if (has_watch_block(db, map))
        db->replaced =
            (const uint32_t *)(const void *)((const unsigned char *)map + JFA_DBW_REPLACED);
    db->size = (size_t)st.st_size;
    db->dev = st.st_dev;
    db->ino = st.st_ino;
    db->mtime = st.st_mtim;
    db->st_size = st.st_size;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0) {
        if (map != MAP_FAILED)
            munmap(map, (size_t)st.st_size);
        memset(db, 0, sizeof(*db));
    }
    return rc;
}

void jfa_db_close(struct jfa_db *db)
{
    if (db->base)
        munmap((void *)db->base, db->size);
    memset(db, 0, sizeof(*db));
}

bool jfa_db_stale(const struct jfa_db *db, const char *path)
{
    struct stat st;

    if (!db->base || !path)
        return true;
    if (lstat(path, &st) != 0)
        return true;
    return st.st_dev != db->dev || st.st_ino != db->ino || st.st_size != db->st_size ||
           st.st_mtim.tv_sec != db->mtime.tv_sec || st.st_mtim.tv_nsec != db->mtime.tv_nsec;
}

/* ---- records ---- */

int jfa_db_user_at(const struct jfa_db *db, uint32_t index, struct jfa_db_user *out)
{
    const unsigned char *r;
    uint64_t gidx, ngids;

    if (!db->base || index >= db->n_users)
        return -ENOENT;
    r = user_rec(db, index);
    memset(out, 0, sizeof(*out));
    out->uid = jfa_le32(r + JFA_DBU_OFF_UID);
    out->gid = jfa_le32(r + JFA_DBU_OFF_GID);
    out->flags = jfa_le32(r + JFA_DBU_OFF_FLAGS);
    ngids = jfa_le32(r + JFA_DBU_OFF_NGIDS);
    gidx = jfa_le32(r + JFA_DBU_OFF_GIDX);
    if (gidx > db->sec_len[JFA_SEC_GIDS] / 4 || ngids > db->sec_len[JFA_SEC_GIDS] / 4 - gidx)
        return -EINVAL;
    out->n_gids = (uint32_t)ngids;
    out->gids = sec_ptr(db, JFA_SEC_GIDS) + gidx * 4;
    out->name = get_str(db, r + JFA_DBU_OFF_NAME, &out->name_len);
    out->gecos = get_str(db, r + JFA_DBU_OFF_GECOS, &out->gecos_len);
    out->home = get_str(db, r + JFA_DBU_OFF_HOME, &out->home_len);
    out->shell = get_str(db, r + JFA_DBU_OFF_SHELL, &out->shell_len);
    out->jf_name = get_str(db, r + JFA_DBU_OFF_JFNAME, NULL);
    if (!out->name || !out->gecos || !out->home || !out->shell || !out->jf_name)
        return -EINVAL;
    if (!db->no_jf_id)
        hex16(r + JFA_DBU_OFF_JFID, out->jf_id);
    return 0;
}

uint32_t jfa_db_user_gid(const struct jfa_db_user *u, uint32_t i)
{
    if (i >= u->n_gids || !u->gids)
        return 0;
    return jfa_le32(u->gids + 4 * (size_t)i);
}

int jfa_db_group_at(const struct jfa_db *db, uint32_t index, struct jfa_db_group *out)
{
    const unsigned char *r;
    uint64_t midx, nmem;

    if (!db->base || index >= db->n_groups)
        return -ENOENT;
    r = group_rec(db, index);
    memset(out, 0, sizeof(*out));
    out->gid = jfa_le32(r + JFA_DBG_OFF_GID);
    out->index = index;
    nmem = jfa_le32(r + JFA_DBG_OFF_NMEM);
    midx = jfa_le32(r + JFA_DBG_OFF_MIDX);
    if (midx > db->sec_len[JFA_SEC_MEMBERS] / JFA_DB_STRREF_SIZE ||
        nmem > db->sec_len[JFA_SEC_MEMBERS] / JFA_DB_STRREF_SIZE - midx)
        return -EINVAL;
    out->n_members = (uint32_t)nmem;
    out->flags = jfa_le32(r + JFA_DBG_OFF_FLAGS);
    out->name = get_str(db, r + JFA_DBG_OFF_NAME, NULL);
    if (!out->name)
        return -EINVAL;
    return 0;
}

const char *jfa_db_group_member(const struct jfa_db *db, const struct jfa_db_group *g, uint32_t i)
{
    const unsigned char *r;
    uint64_t midx, nmem;

    if (!db->base || g->index >= db->n_groups)
        return NULL;
    r = group_rec(db, g->index);
    nmem = jfa_le32(r + JFA_DBG_OFF_NMEM);
    midx = jfa_le32(r + JFA_DBG_OFF_MIDX);
    if (i >= nmem || midx > db->sec_len[JFA_SEC_MEMBERS] / JFA_DB_STRREF_SIZE ||
        nmem > db->sec_len[JFA_SEC_MEMBERS] / JFA_DB_STRREF_SIZE - midx)
        return NULL;
    return get_str(db, sec_ptr(db, JFA_SEC_MEMBERS) + (midx + i) * JFA_DB_STRREF_SIZE, NULL);
}

/* ---- hash lookups ---- */

enum key_kind { K_UNAME, K_UID, K_GNAME, K_GID };

/*
 * Probe a hash table; on a hit store the record index. 0 found, -ENOENT,
 * -EINVAL (an entry points outside the records or at a corrupt name). The
 * probe visits each slot at most once, so a full (hostile) table ends.
 */
static int find(const struct jfa_db *db, enum key_kind kind, const char *name, uint32_t id,
                uint32_t *index)
{
    static const enum jfa_db_sec tab[] = {JFA_SEC_H_UNAME, JFA_SEC_H_UID, JFA_SEC_H_GNAME,
                                          JFA_SEC_H_GID};
    enum jfa_db_sec s = tab[kind];
    const unsigned char *slots;
    uint32_t mask, h, n, nlen = 0;
    bool by_name = kind == K_UNAME || kind == K_GNAME;

    if (!db->base)
        return -ENOENT;
    slots = sec_ptr(db, s);
    mask = (uint32_t)(db->sec_len[s] / 4 - 1);
    n = (kind == K_UNAME || kind == K_UID) ? db->n_users : db->n_groups;
    if (by_name) {
        size_t l = strnlen(name, JFA_DB_NAME_MAX + 1);
        if (l > JFA_DB_NAME_MAX)
            return -ENOENT;
        nlen = (uint32_t)l;
        h = jfa_db_hash_name(name, nlen);
    } else {
        h = jfa_db_hash_id(id);
    }
    for (uint64_t i = 0; i <= mask; i++) {
        uint32_t e = jfa_le32(slots + 4 * (size_t)((h + i) & mask));
        const unsigned char *r;
        if (e == 0)
            return -ENOENT;
        if (e - 1 >= n)
            return -EINVAL;
        if (kind == K_UNAME || kind == K_GNAME) {
            uint32_t rlen;
            const char *rn;
            r = kind == K_UNAME ? user_rec(db, e - 1) + JFA_DBU_OFF_NAME
                                : group_rec(db, e - 1) + JFA_DBG_OFF_NAME;
            rn = get_str(db, r, &rlen);
            if (!rn)
                return -EINVAL;
            if (rlen == nlen && memcmp(rn, name, nlen) == 0) {
                *index = e - 1;
                return 0;
            }
        } else {
            r = kind == K_UID ? user_rec(db, e - 1) + JFA_DBU_OFF_UID
                              : group_rec(db, e - 1) + JFA_DBG_OFF_GID;
            if (jfa_le32(r) == id) {
                *index = e - 1;
                return 0;
            }
        }
    }
    return -ENOENT;
}

int jfa_db_user_by_name(const struct jfa_db *db, const char *name, struct jfa_db_user *out)
{
    uint32_t i;
    int rc = find(db, K_UNAME, name, 0, &i);
    return rc ? rc : jfa_db_user_at(db, i, out);
}

int jfa_db_user_by_uid(const struct jfa_db *db, uint32_t uid, struct jfa_db_user *out)
{
    uint32_t i;
    int rc = find(db, K_UID, NULL, uid, &i);
    return rc ? rc : jfa_db_user_at(db, i, out);
}

int jfa_db_group_by_name(const struct jfa_db *db, const char *name, struct jfa_db_group *out)
{
    uint32_t i;
    int rc = find(db, K_GNAME, name, 0, &i);
    return rc ? rc : jfa_db_group_at(db, i, out);
}

/*
 * Case folding (case_sensitive = no): login and group names in the database
 * are lower case ([a-z0-9_.-]), so a case-insensitive lookup is the exact
 * lookup of the query folded to ASCII lower case, O(1) like any other. It
 * answers only when the exact name is not there and the record found
 * carries the fold flag, which sync sets from the configuration.
 */
static bool fold_name(const char *name, char out[JFA_DB_NAME_MAX + 1])
{
    bool changed = false;
    size_t i;

    for (i = 0; name[i] != '\0'; i++) {
        char c = name[i];
        if (i >= JFA_DB_NAME_MAX)
            return false;
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
            changed = true;
        }
        out[i] = c;
    }
    out[i] = '\0';
    return changed;
}

int jfa_db_user_by_name_ci(const struct jfa_db *db, const char *name, struct jfa_db_user *out)
{
    char low[JFA_DB_NAME_MAX + 1];
    int rc = jfa_db_user_by_name(db, name, out);

    if (rc != -ENOENT || !fold_name(name, low))
        return rc;
    rc = jfa_db_user_by_name(db, low, out);
    if (rc == 0 && !(out->flags & JFA_DBU_FOLD))
        rc = -ENOENT;
    return rc;
}

int jfa_db_group_by_name_ci(const struct jfa_db *db, const char *name, struct jfa_db_group *out)
{
    char low[JFA_DB_NAME_MAX + 1];
    int rc = jfa_db_group_by_name(db, name, out);

    if (rc != -ENOENT || !fold_name(name, low))
        return rc;
    rc = jfa_db_group_by_name(db, low, out);
    if (rc == 0 && !(out->flags & JFA_DBG_FOLD))
        rc = -ENOENT;
    return rc;
}

int jfa_db_group_by_gid(const struct jfa_db *db, uint32_t gid, struct jfa_db_group *out)
{
    uint32_t i;
    int rc = find(db, K_GID, NULL, gid, &i);
    return rc ? rc : jfa_db_group_at(db, i, out);
}

/* ---- verify ---- */

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;

    va_start(ap, fmt);
    jfa_set_errv(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* A stored string is clean: no embedded NUL (strlen == stored length), and
 * no ':' or '\n' (they would break getent's line format). */
static bool str_clean(const struct jfa_db *db, const unsigned char *ref)
{
    uint32_t len;
    const char *s = get_str(db, ref, &len);
    return s && strlen(s) == len && !memchr(s, ':', len) && !memchr(s, '\n', len);
}

static int verify_table(const struct jfa_db *db, enum jfa_db_sec s, uint32_t n, const char *what,
                        char *err, size_t errlen)
{
    const unsigned char *slots = sec_ptr(db, s);
    uint64_t nslots = db->sec_len[s] / 4, used = 0;

    for (uint64_t i = 0; i < nslots; i++) {
        uint32_t e = jfa_le32(slots + 4 * i);
        if (e == 0)
            continue;
        if (e - 1 >= n)
            return fail(err, errlen, "%s index: slot %llu points at record %u of %u", what,
                        (unsigned long long)i, e - 1, n);
        used++;
    }
    if (used != n)
        return fail(err, errlen, "%s index: %llu entries for %u records", what,
                    (unsigned long long)used, n);
    return 0;
}

int jfa_db_verify(const struct jfa_db *db, char *err, size_t errlen)
{
    uint64_t sum;

    if (!db->base)
        return fail(err, errlen, "database is not open");
    sum = jfa_db_image_checksum(db->base, db->size, db->replaced != NULL);
    if (sum != jfa_le64(db->base + JFA_DBH_CHECKSUM))
        return fail(err, errlen, "checksum mismatch (stored %016llx, computed %016llx)",
                    (unsigned long long)jfa_le64(db->base + JFA_DBH_CHECKSUM),
                    (unsigned long long)sum);
    if (verify_table(db, JFA_SEC_H_UNAME, db->n_users, "user name", err, errlen) ||
        verify_table(db, JFA_SEC_H_UID, db->n_users, "uid", err, errlen) ||
        verify_table(db, JFA_SEC_H_GNAME, db->n_groups, "group name", err, errlen) ||
        verify_table(db, JFA_SEC_H_GID, db->n_groups, "gid", err, errlen))
        return -1;
    /* A mark is no damage: a sync killed between marking and renaming
     * leaves the live file marked, and readers then check the path at each
     * lookup until the next sync (doctor warns, see jfa_db_marked). */
    for (uint32_t i = 0; i < db->n_users; i++) {
        struct jfa_db_user u;
        const unsigned char *r = user_rec(db, i);
        uint32_t idx;
        if (jfa_db_user_at(db, i, &u) != 0)
            return fail(err, errlen, "user record %u: string or gid list out of bounds", i);
        for (int f = JFA_DBU_OFF_NAME; f <= JFA_DBU_OFF_JFNAME; f += 8)
            if (!str_clean(db, r + f))
                return fail(err, errlen, "user record %u: bad string at field offset %d", i, f);
        if (!jfa_db_name_plausible(u.name))
            return fail(err, errlen, "user record %u: implausible name", i);
        if (u.uid == 0 || u.gid == 0)
            return fail(err, errlen, "user %s: uid or gid 0", u.name);
        for (uint32_t k = 0; k < u.n_gids; k++)
            if (jfa_db_user_gid(&u, k) == 0)
                return fail(err, errlen, "user %s: supplementary gid 0", u.name);
        if (find(db, K_UNAME, u.name, 0, &idx) != 0 || idx != i)
            return fail(err, errlen, "user %s: not found by name (index or duplicate)", u.name);
        if (find(db, K_UID, NULL, u.uid, &idx) != 0 || idx != i)
            return fail(err, errlen, "user %s: uid %u not found (index or duplicate)", u.name,
                        u.uid);
    }
    for (uint32_t i = 0; i < db->n_groups; i++) {
        struct jfa_db_group g;
        uint32_t idx;
        if (jfa_db_group_at(db, i, &g) != 0)
            return fail(err, errlen, "group record %u: name or member list out of bounds", i);
        if (!str_clean(db, group_rec(db, i) + JFA_DBG_OFF_NAME) || !jfa_db_name_plausible(g.name))
            return fail(err, errlen, "group record %u: bad name", i);
        if (g.gid == 0)
            return fail(err, errlen, "group %s: gid 0", g.name);
        for (uint32_t k = 0; k < g.n_members; k++) {
            const char *m = jfa_db_group_member(db, &g, k);
            if (!m || !jfa_db_name_plausible(m))
                return fail(err, errlen, "group %s: member %u bad", g.name, k);
        }
        if (find(db, K_GNAME, g.name, 0, &idx) != 0 || idx != i)
            return fail(err, errlen, "group %s: not found by name (index or duplicate)", g.name);
        if (find(db, K_GID, NULL, g.gid, &idx) != 0 || idx != i)
            return fail(err, errlen, "group %s: gid %u not found (index or duplicate)", g.name,
                        g.gid);
    }
    return 0;
}

/* ---- names and paths ---- */

bool jfa_db_name_plausible(const char *name)
{
    size_t i;

    if (!name || !name[0])
        return false;
    for (i = 0; name[i]; i++) {
        unsigned char c = (unsigned char)name[i];
        if (i >= JFA_DB_NAME_MAX)
            return false;
        if (c <= 0x20 || c == 0x7f || c == ':' || c == '/' || c == '*')
            return false;
    }
    return true;
}

const char *jfa_db_default_path(void)
{
    const char *env = secure_getenv("JELLYFIN_AUTH_DB");
    return env && *env ? env : JFA_DEFAULT_DB;
}

const char *jfa_db_builtin_path(void)
{
    return JFA_DEFAULT_DB;
}
