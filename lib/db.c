/*
 * db.c - the users database: read side (libc only).
 *
 * Owns: the trusted open (O_NOFOLLOW, regular file, owner and mode checks)
 * and read-only mmap of the database, the O(1) header/section validation at
 * open (the cell block's tables included), bounds-checked hash lookups
 * (through the cell tables when the file has them, after the slot table's
 * tags) and indexed access to records (format
 * version 2; version 1 through a compact path of its own, so that a file
 * written before an upgrade answers until the next sync), the
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
_Static_assert(JFA_DB_MAX_FILE / 64 <= UINT32_MAX, "a cell table's count fits in u32");
_Static_assert(JFA_DB_CELLS_TABLES + 4 * JFA_DB_CELLS_ENTRY == JFA_DB_CELLS_END, "cell block");

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

/* Version-specific O(1) checks of the section sizes (db_format.h). */
static int validate_sections_v1(const struct jfa_db *db)
{
    if (db->sec_len[JFA_SEC_USERS] != (uint64_t)db->n_users * JFA_DB_USER_SIZE)
        return -EINVAL;
    if (db->sec_len[JFA_SEC_GROUPS] != (uint64_t)db->n_groups * JFA_DB_GROUP_SIZE)
        return -EINVAL;
    if (db->sec_len[JFA_SEC_GIDS] % 4 != 0)
        return -EINVAL;
    if (db->sec_len[JFA_SEC_MEMBERS] % JFA_DB_STRREF_SIZE != 0)
        return -EINVAL;
    return 0;
}

static int validate_sections_v2(const struct jfa_db *db)
{
    if (db->sec_len[JFA_SEC2_UNUSED] != 0)
        return -EINVAL;
    if (db->sec_len[JFA_SEC_USERS] % 8 != 0 || db->sec_len[JFA_SEC_GROUPS] % 8 != 0)
        return -EINVAL;
    if (db->sec_len[JFA_SEC2_UINDEX] != (uint64_t)db->n_users * 4 ||
        db->sec_len[JFA_SEC2_GINDEX] != (uint64_t)db->n_groups * 4)
        return -EINVAL;
    return 0;
}

/* Load a section table (9 x {u64 offset, u64 size}) into db: each section
 * 8-aligned, at or after min_off, inside the file; no two overlapping. */
static int load_sections(struct jfa_db *db, const unsigned char *table, uint64_t min_off,
                         uint64_t fsize)
{
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        uint64_t off = jfa_le64(table + 16 * s), len = jfa_le64(table + 16 * s + 8);
        if (off % 8 != 0 || off < min_off || off > fsize || len > fsize - off)
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
    return 0;
}

/* The sizes of the sections loaded into db suit db->version's layout. */
static int check_view(const struct jfa_db *db)
{
    uint64_t slot_size = db->version == JFA_DB_VERSION_1 ? 4 : JFA_DB2_SLOT_SIZE;
    int rc = db->version == JFA_DB_VERSION_1 ? validate_sections_v1(db) : validate_sections_v2(db);

    if (rc != 0)
        return rc;
    for (int s = JFA_SEC_H_UNAME; s <= JFA_SEC_H_GID; s++) {
        uint64_t slots = db->sec_len[s] / slot_size;
        uint64_t n = (s == JFA_SEC_H_UNAME || s == JFA_SEC_H_UID) ? db->n_users : db->n_groups;
        if (db->sec_len[s] % slot_size != 0 || !is_pow2(slots) || slots <= n || slots > UINT32_MAX)
            return -EINVAL;
    }
    return 0;
}

/* A version 1 header (its sections loaded into db) of a transitional file:
 * a version 2 directory at JFA_DB_DIR_OFF that no v1 section overlaps. */
static bool has_directory(const struct jfa_db *db, const unsigned char *h, size_t hlen)
{
    if (hlen < JFA_DB_DIR_OFF + JFA_DB_DIR_SIZE)
        return false;
    for (int s = 0; s < JFA_SEC_COUNT; s++)
        if (db->sec_off[s] < JFA_DB_DIR_OFF + JFA_DB_DIR_SIZE)
            return false;
    return memcmp(h + JFA_DB_DIR_OFF, JFA_DB_DIR_TAG, JFA_DB_DIR_TAG_LEN) == 0 &&
           jfa_le32(h + JFA_DB_DIR_OFF + 4) == JFA_DB_VERSION;
}

/* The lowest section offset of the table loaded into db. */
static uint64_t min_sec_off(const struct jfa_db *db)
{
    uint64_t m = UINT64_MAX;

    for (int s = 0; s < JFA_SEC_COUNT; s++)
        if (db->sec_off[s] < m)
            m = db->sec_off[s];
    return m;
}

/*
 * The cell block of a file read as version 2 whose sections (of every
 * table loaded) start at or after min_off: present iff min_off leaves room
 * for it and its tag and version match (an older file's section bytes are
 * never read as a block). Each table it lists is checked here, O(1): a
 * stride of 64, 128 or 256, a whole number of cells, more cells than
 * records (at most UINT32_MAX: the file size bounds it), 8-aligned,
 * inside its entry section, and no two overlapping. 0 (with or without a
 * block) or -EINVAL.
 */
static int load_cells(struct jfa_db *db, const unsigned char *h, size_t hlen, uint64_t min_off)
{
    const unsigned char *t = h + JFA_DB_CELLS_TABLES;

    if (hlen < JFA_DB_CELLS_END || min_off < JFA_DB_CELLS_END ||
        memcmp(h + JFA_DB_CELLS_OFF, JFA_DB_CELLS_TAG, JFA_DB_CELLS_TAG_LEN) != 0 ||
        jfa_le32(h + JFA_DB_CELLS_OFF + 4) != JFA_DB_CELLS_VERSION)
        return 0;
    for (int k = 0; k < 4; k++) {
        uint64_t off = jfa_le64(t + JFA_DB_CELLS_ENTRY * k);
        uint64_t size = jfa_le64(t + JFA_DB_CELLS_ENTRY * k + 8);
        uint32_t stride = jfa_le32(t + JFA_DB_CELLS_ENTRY * k + 16);
        enum jfa_db_sec s = k < 2 ? JFA_SEC_USERS : JFA_SEC_GROUPS;
        uint64_t n = k < 2 ? db->n_users : db->n_groups;
        uint64_t so = db->sec_off[s], sl = db->sec_len[s];

        if (size == 0)
            continue;
        if (stride != 64 && stride != 128 && stride != 256)
            return -EINVAL;
        /* (a table inside the file has fewer than UINT32_MAX cells:
         * JFA_DB_MAX_FILE / 64 does not reach it) */
        if (size % stride != 0 || size / stride <= n)
            return -EINVAL;
        /* off - so wraps when off < so: refused with the too-far ones */
        if (off % 8 != 0 || off - so > sl || size > sl - (off - so))
            return -EINVAL;
        db->cell_off[k] = off;
        db->cell_n[k] = (uint32_t)(size / stride);
        db->cell_stride[k] = stride;
    }
    for (int a = 0; a < 4; a++) {
        for (int b = a + 1; b < 4; b++) {
            uint64_t ao = db->cell_off[a], al = (uint64_t)db->cell_n[a] * db->cell_stride[a];
            uint64_t bo = db->cell_off[b], bl = (uint64_t)db->cell_n[b] * db->cell_stride[b];
            if (al != 0 && bl != 0 && ao < bo + bl && bo < ao + al)
                return -EINVAL;
        }
    }
    return 0;
}

/* Check the first hlen bytes h (the header, and the directory and cell
 * block when the file is that long) of a file of fsize bytes and fill
 * db's counts and section views; a transitional file is read through its
 * version 2 directory. Runs before the file is mapped. */
static int validate_header(struct jfa_db *db, const unsigned char *h, size_t hlen, uint64_t fsize)
{
    uint64_t min_off;
    int rc;

    if (fsize < JFA_DB_HDR_SIZE || hlen < JFA_DB_HDR_SIZE)
        return -EINVAL;
    if (memcmp(h + JFA_DBH_MAGIC, JFA_DB_MAGIC, JFA_DB_MAGIC_LEN) != 0)
        return -EINVAL;
    db->version = jfa_le32(h + JFA_DBH_VERSION);
    if (db->version != JFA_DB_VERSION && db->version != JFA_DB_VERSION_1)
        return -EINVAL;
    if (jfa_le32(h + JFA_DBH_HDRSIZE) != JFA_DB_HDR_SIZE)
        return -EINVAL;
    if (jfa_le64(h + JFA_DBH_FILESIZE) != fsize)
        return -EINVAL;
    db->generation = jfa_le64(h + JFA_DBH_GENERATION);
    db->n_users = jfa_le32(h + JFA_DBH_NUSERS);
    db->n_groups = jfa_le32(h + JFA_DBH_NGROUPS);
    rc = load_sections(db, h + JFA_DBH_SECTIONS, JFA_DB_HDR_SIZE, fsize);
    if (rc == 0)
        rc = check_view(db);
    min_off = min_sec_off(db);
    /* a transitional file: its version 1 view is checked as version 1
     * readers check it, then read through the version 2 directory */
    if (rc == 0 && db->version == JFA_DB_VERSION_1 && has_directory(db, h, hlen)) {
        db->version = JFA_DB_VERSION;
        rc = load_sections(db, h + JFA_DB_DIR_SECTIONS, JFA_DB_DIR_OFF + JFA_DB_DIR_SIZE, fsize);
        if (rc == 0)
            rc = check_view(db);
        if (min_sec_off(db) < min_off)
            min_off = min_sec_off(db);
    }
    if (rc == 0 && db->version == JFA_DB_VERSION)
        rc = load_cells(db, h, hlen, min_off);
    return rc;
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
    unsigned char hdr[JFA_DB_CELLS_END];
    size_t hlen;
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
    hlen = (uint64_t)st.st_size < sizeof(hdr) ? (size_t)st.st_size : sizeof(hdr);
    if (pread(fd, hdr, hlen, 0) != (ssize_t)hlen) {
        rc = -EINVAL;
        goto out;
    }
    rc = validate_header(db, hdr, hlen, (uint64_t)st.st_size);
    if (rc != 0)
        goto out;
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    /* the mapped header, directory and cell block must still be the ones
     * validated (an in-place edit); the watch block between them may have
     * been marked meanwhile */
    if (memcmp(map, hdr, JFA_DB_HDR_SIZE) != 0 ||
        (hlen > JFA_DB_DIR_OFF && memcmp((const unsigned char *)map + JFA_DB_DIR_OFF,
                                         hdr + JFA_DB_DIR_OFF, hlen - JFA_DB_DIR_OFF) != 0)) {
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

/* ---- version 1 records (older files) ---- */

static int user_at_v1(const struct jfa_db *db, uint32_t index, struct jfa_db_user *out)
{
    const unsigned char *r = user_rec(db, index);
    uint64_t gidx, ngids;

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
    out->jf_name = get_str(db, r + JFA_DBU_OFF_JFNAME, &out->jf_name_len);
    if (!out->name || !out->gecos || !out->home || !out->shell || !out->jf_name)
        return -EINVAL;
    if (!db->no_jf_id)
        hex16(r + JFA_DBU_OFF_JFID, out->jf_id);
    return 0;
}

/* The member list of v1 group record index: first ref and count. */
static const unsigned char *members_v1(const struct jfa_db *db, uint32_t index, uint32_t *n)
{
    const unsigned char *r = group_rec(db, index);
    uint64_t nmem = jfa_le32(r + JFA_DBG_OFF_NMEM), midx = jfa_le32(r + JFA_DBG_OFF_MIDX);
    uint64_t total = db->sec_len[JFA_SEC_MEMBERS] / JFA_DB_STRREF_SIZE;

    if (midx > total || nmem > total - midx)
        return NULL;
    *n = (uint32_t)nmem;
    return sec_ptr(db, JFA_SEC_MEMBERS) + midx * JFA_DB_STRREF_SIZE;
}

static int group_at_v1(const struct jfa_db *db, uint32_t index, struct jfa_db_group *out)
{
    const unsigned char *r = group_rec(db, index);

    out->gid = jfa_le32(r + JFA_DBG_OFF_GID);
    if (!members_v1(db, index, &out->n_members))
        return -EINVAL;
    out->flags = jfa_le32(r + JFA_DBG_OFF_FLAGS);
    out->name = get_str(db, r + JFA_DBG_OFF_NAME, &out->name_len);
    return out->name ? 0 : -EINVAL;
}

/* ---- version 2 entries ---- */

/* The entry at byte offset off of section s, whose fixed part is hdr
 * bytes and whose size field is at size_at: NULL unless the entry lies
 * inside the section (then *size is its size, >= hdr). */
static const unsigned char *entry_at(const struct jfa_db *db, enum jfa_db_sec s, uint64_t off,
                                     uint64_t hdr, uint64_t size_at, uint64_t *size)
{
    uint64_t len = db->sec_len[s];
    const unsigned char *e;

    if (off % 8 != 0 || off > len || len - off < hdr)
        return NULL;
    e = sec_ptr(db, s) + off;
    *size = jfa_le32(e + size_at);
    if (*size < hdr || *size > len - off)
        return NULL;
    return e;
}

static const unsigned char *user_entry(const struct jfa_db *db, uint64_t off, uint64_t *size)
{
    return entry_at(db, JFA_SEC_USERS, off, JFA_DBE_STRINGS, JFA_DBE_SIZE, size);
}

static const unsigned char *group_entry(const struct jfa_db *db, uint64_t off, uint64_t *size)
{
    return entry_at(db, JFA_SEC_GROUPS, off, JFA_DBF_NAME, JFA_DBF_SIZE, size);
}

/* Fill out from the user entry e of size bytes (as user_entry found it:
 * inside USERS, size >= its fixed part); every length is checked against
 * the size and every string's NUL is checked. */
static int user_decode(const struct jfa_db *db, const unsigned char *e, uint64_t size,
                       struct jfa_db_user *out)
{
    uint64_t pos, ngids;
    uint32_t l0, l1, l2, l3, l4;

    l0 = jfa_le16(e + JFA_DBE_LENS);
    l1 = jfa_le16(e + JFA_DBE_LENS + 2);
    l2 = jfa_le16(e + JFA_DBE_LENS + 4);
    l3 = jfa_le16(e + JFA_DBE_LENS + 6);
    l4 = jfa_le16(e + JFA_DBE_LENS + 8);
    out->name = (const char *)e + JFA_DBE_STRINGS;
    out->gecos = out->name + l0 + 1;
    out->home = out->gecos + l1 + 1;
    out->shell = out->home + l2 + 1;
    out->jf_name = out->shell + l3 + 1;
    /* the strings end inside the entry (then so does each one), and each
     * ends with its NUL */
    pos = (uint64_t)JFA_DBE_STRINGS + l0 + l1 + l2 + l3 + l4 + 5;
    if (pos > size || out->name[l0] || out->gecos[l1] || out->home[l2] || out->shell[l3] ||
        out->jf_name[l4])
        return -EINVAL;
    pos = (pos + 3) & ~(uint64_t)3;
    ngids = jfa_le32(e + JFA_DBE_NGIDS);
    if (pos + 4 * ngids + 16 != size)
        return -EINVAL;
    out->name_len = l0;
    out->gecos_len = l1;
    out->home_len = l2;
    out->shell_len = l3;
    out->jf_name_len = l4;
    out->uid = jfa_le32(e + JFA_DBE_UID);
    out->gid = jfa_le32(e + JFA_DBE_GID);
    out->flags = jfa_le32(e + JFA_DBE_FLAGS);
    out->n_gids = (uint32_t)ngids;
    out->gids = e + pos;
    if (!db->no_jf_id)
        hex16(e + pos + 4 * ngids, out->jf_id);
    else
        out->jf_id[0] = '\0';
    return 0;
}

/* The same from the user entry at offset off of USERS. */
static int user_from_entry(const struct jfa_db *db, uint64_t off, struct jfa_db_user *out)
{
    uint64_t size;
    const unsigned char *e = user_entry(db, off, &size);

    return e ? user_decode(db, e, size, out) : -EINVAL;
}

/* The member offsets of a group entry of the given size, and their count;
 * NULL if they do not fit. */
static const unsigned char *members_v2(const unsigned char *e, uint64_t size, uint32_t *n)
{
    uint64_t nl = jfa_le16(e + JFA_DBF_NAMELEN), at, nmem;

    if (nl >= size - JFA_DBF_NAME)
        return NULL;
    at = (JFA_DBF_NAME + nl + 1 + 3) & ~(uint64_t)3;
    nmem = jfa_le32(e + JFA_DBF_NMEM);
    if (at > size || nmem > (size - at) / 4)
        return NULL;
    *n = (uint32_t)nmem;
    return e + at;
}

/* Fill out from the group entry e of size bytes at offset off of GROUPS
 * (as group_entry found it). */
static int group_decode(const unsigned char *e, uint64_t size, uint64_t off,
                        struct jfa_db_group *out)
{
    if (!members_v2(e, size, &out->n_members) ||
        e[JFA_DBF_NAME + jfa_le16(e + JFA_DBF_NAMELEN)] != '\0')
        return -EINVAL;
    out->gid = jfa_le32(e + JFA_DBF_GID);
    out->flags = jfa_le32(e + JFA_DBF_FLAGS);
    out->index = jfa_le32(e + JFA_DBF_INDEX);
    out->entry = (uint32_t)off;
    out->name = (const char *)e + JFA_DBF_NAME;
    out->name_len = jfa_le16(e + JFA_DBF_NAMELEN);
    return 0;
}

static int group_from_entry(const struct jfa_db *db, uint64_t off, struct jfa_db_group *out)
{
    uint64_t size;
    const unsigned char *e = group_entry(db, off, &size);

    return e ? group_decode(e, size, off, out) : -EINVAL;
}

/* The entry offset of record i from an index section (UINDEX, GINDEX). */
static uint64_t index_entry(const struct jfa_db *db, enum jfa_db_sec s, uint32_t i)
{
    return jfa_le32(sec_ptr(db, s) + 4 * (uint64_t)i);
}

/* ---- records ---- */

int jfa_db_user_at(const struct jfa_db *db, uint32_t index, struct jfa_db_user *out)
{
    if (!db->base || index >= db->n_users)
        return -ENOENT;
    if (db->version == JFA_DB_VERSION_1) {
        memset(out, 0, sizeof(*out));
        return user_at_v1(db, index, out);
    }
    /* sets every field on success (no memset: enumeration calls this once
     * per entry) */
    return user_from_entry(db, index_entry(db, JFA_SEC2_UINDEX, index), out);
}

uint32_t jfa_db_user_gid(const struct jfa_db_user *u, uint32_t i)
{
    if (i >= u->n_gids || !u->gids)
        return 0;
    return jfa_le32(u->gids + 4 * (size_t)i);
}

int jfa_db_group_at(const struct jfa_db *db, uint32_t index, struct jfa_db_group *out)
{
    int rc;

    if (!db->base || index >= db->n_groups)
        return -ENOENT;
    memset(out, 0, sizeof(*out));
    if (db->version == JFA_DB_VERSION_1)
        rc = group_at_v1(db, index, out);
    else
        rc = group_from_entry(db, index_entry(db, JFA_SEC2_GINDEX, index), out);
    out->index = index;
    return rc;
}

const char *jfa_db_group_member(const struct jfa_db *db, const struct jfa_db_group *g, uint32_t i)
{
    const unsigned char *refs, *e;
    uint64_t size, moff;
    uint32_t n;

    if (!db->base)
        return NULL;
    if (db->version == JFA_DB_VERSION_1) {
        if (g->index >= db->n_groups)
            return NULL;
        refs = members_v1(db, g->index, &n);
        if (!refs || i >= n)
            return NULL;
        return get_str(db, refs + (uint64_t)i * JFA_DB_STRREF_SIZE, NULL);
    }
    e = group_entry(db, g->entry, &size);
    if (!e || !(refs = members_v2(e, size, &n)) || i >= n)
        return NULL;
    moff = jfa_le32(refs + 4 * (uint64_t)i);
    if (moff >= size ||
        !memchr(e + moff, '\0',
                size - moff < JFA_DB_NAME_MAX + 1 ? size - moff : JFA_DB_NAME_MAX + 1))
        return NULL;
    return (const char *)e + moff;
}

/* ---- hash lookups ---- */

enum key_kind { K_UNAME, K_UID, K_GNAME, K_GID };

static const enum jfa_db_sec hash_sec[] = {JFA_SEC_H_UNAME, JFA_SEC_H_UID, JFA_SEC_H_GNAME,
                                           JFA_SEC_H_GID};

/* A query key: a name (with its length) or an id, and its hash. */
struct key {
    enum key_kind kind;
    const char *name;
    uint32_t len, id, hash;
};

static inline __attribute__((always_inline)) bool make_key(struct key *k, enum key_kind kind,
                                                           const char *name, uint32_t id)
{
    k->kind = kind;
    k->name = name;
    k->id = id;
    k->len = 0;
    if (kind == K_UNAME || kind == K_GNAME) {
        size_t l = strnlen(name, JFA_DB_NAME_MAX + 1);
        if (l > JFA_DB_NAME_MAX)
            return false;
        k->len = (uint32_t)l;
        k->hash = jfa_db_hash_name(name, k->len);
    } else {
        k->hash = jfa_db_hash_id(id);
    }
    return true;
}

/* v1: does record e - 1 hold the key? 1 yes, 0 no, -EINVAL corrupt. */
static int match_v1(const struct jfa_db *db, const struct key *k, uint32_t e)
{
    uint32_t n = (k->kind == K_UNAME || k->kind == K_UID) ? db->n_users : db->n_groups;
    const unsigned char *r;
    const char *rn;
    uint32_t rlen;

    if (e - 1 >= n)
        return -EINVAL;
    switch (k->kind) {
    case K_UID:
        return jfa_le32(user_rec(db, e - 1) + JFA_DBU_OFF_UID) == k->id;
    case K_GID:
        return jfa_le32(group_rec(db, e - 1) + JFA_DBG_OFF_GID) == k->id;
    default:
        r = k->kind == K_UNAME ? user_rec(db, e - 1) + JFA_DBU_OFF_NAME
                               : group_rec(db, e - 1) + JFA_DBG_OFF_NAME;
        rn = get_str(db, r, &rlen);
        if (!rn)
            return -EINVAL;
        return rlen == k->len && memcmp(rn, k->name, k->len) == 0;
    }
}

/* Where find found a record: its index (v1), or its entry offset, and for
 * v2 the entry itself as user_entry/group_entry checked it (so that the
 * decoder does not locate and bound it a second time). */
struct found {
    uint64_t where;
    const unsigned char *e;
    uint64_t size;
};

/* v2: does the entry of slot reference ref hold the key? 1 yes (f filled),
 * 0 no, -EINVAL (the entry does not lie inside its section). Reads only
 * the entry's first bytes; the caller decodes (and checks) the rest. */
/* The name of a checked user (user) or group entry e of size bytes, its
 * length in *nl; NULL if the length leaves no room for its NUL. */
static inline const char *entry_name(const unsigned char *e, uint64_t size, bool user, uint64_t *nl)
{
    uint64_t at = user ? JFA_DBE_STRINGS : JFA_DBF_NAME;

    *nl = jfa_le16(e + (user ? JFA_DBE_LENS : JFA_DBF_NAMELEN));
    return *nl < size - at ? (const char *)e + at : NULL;
}

static int match_v2(const struct jfa_db *db, const struct key *k, uint32_t ref, struct found *f)
{
    uint64_t off = (uint64_t)(ref - 1) * 8, size, nl;
    bool user = k->kind == K_UNAME || k->kind == K_UID;
    const unsigned char *e = user ? user_entry(db, off, &size) : group_entry(db, off, &size);
    const char *name;
    int m;

    if (!e)
        return -EINVAL;
    switch (k->kind) {
    case K_UID:
        m = jfa_le32(e + JFA_DBE_UID) == k->id;
        break;
    case K_GID:
        m = jfa_le32(e + JFA_DBF_GID) == k->id;
        break;
    default:
        name = entry_name(e, size, user, &nl);
        if (!name)
            return -EINVAL;
        m = nl == k->len && memcmp(name, k->name, k->len) == 0;
        break;
    }
    if (m) {
        f->where = off;
        f->e = e;
        f->size = size;
    }
    return m;
}

/*
 * Probe a hash table; on a hit store where the record is: its index (v1)
 * or its entry offset and the checked entry (v2). 0 found, -ENOENT,
 * -EINVAL (a slot points outside the records or at a corrupt name). v2
 * slots carry the key's hash as a tag, so only a slot with the same tag
 * costs a read of its entry. The probe visits each slot at most once: a
 * full (hostile) table ends.
 */
static int find_slot(const struct jfa_db *db, const struct key *kp, struct found *f)
{
    const struct key k = *kp;
    enum jfa_db_sec s = hash_sec[k.kind];
    bool v1 = db->version == JFA_DB_VERSION_1;
    uint64_t slot_size = v1 ? 4 : JFA_DB2_SLOT_SIZE;
    const unsigned char *slots;
    uint32_t mask;

    if (!db->base)
        return -ENOENT;
    slots = sec_ptr(db, s);
    mask = (uint32_t)(db->sec_len[s] / slot_size - 1);
    for (uint64_t i = 0; i <= mask; i++) {
        const unsigned char *slot = slots + slot_size * ((k.hash + i) & mask);
        uint32_t ref = jfa_le32(slot + (v1 ? 0 : 4));
        int m;
        if (ref == 0)
            return -ENOENT;
        if (!v1 && jfa_le32(slot) != k.hash)
            continue;
        m = v1 ? match_v1(db, &k, ref) : match_v2(db, &k, ref, f);
        if (m < 0)
            return m;
        if (m) {
            if (v1)
                f->where = ref - 1;
            return 0;
        }
    }
    return -ENOENT;
}

/*
 * Probe the key's cell table (db_format.h): cells are slots whose tag and
 * ref are followed by room for the entry, so a hit whose entry is inline
 * reads one cell. Linear probing from the home cell, at most n cells (a
 * full hostile table ends), stopping at an empty cell, or at a cell whose
 * occupant sits nearer its own home than the probe is to the key's: the
 * writer places by Robin Hood, so the key cannot be further on (a hostile
 * file that breaks the order only gets "not found").
 */
static int find_cell(const struct jfa_db *db, const struct key *kp, struct found *f)
{
    const struct key k = *kp;
    uint32_t n = db->cell_n[k.kind], stride = db->cell_stride[k.kind];
    const unsigned char *cells = db->base + db->cell_off[k.kind];
    uint32_t i = jfa_db_cell_home(k.hash, n);

    for (uint32_t p = 0; p < n; p++) {
        const unsigned char *cell = cells + (uint64_t)stride * i;
        uint32_t ref = jfa_le32(cell + 4), tag = jfa_le32(cell);
        if (ref == 0)
            return -ENOENT;
        if (tag == k.hash) {
            int m = match_v2(db, &k, ref, f);
            if (m != 0)
                return m < 0 ? m : 0;
        } else if (jfa_db_cell_dist(tag, i, n) < p) {
            return -ENOENT;
        }
        if (++i == n)
            i = 0;
    }
    return -ENOENT;
}

/* Does the key's slot table hold a slot with the key's tag? A file with
 * cell tables is probed here first: a miss then reads one 8-byte slot, as
 * without cells (the home cell alone costs a miss 20-50 ns more at 100,000
 * users: a 10-20 MB table instead of 2 MB); a hit reads the slot and the
 * cell, both prefetched together before the lock (bench/README.md "Cell
 * tables"). The answer is only a filter: a hostile file whose two tables
 * disagree gets "not found" or the cell table's answer. */
static bool slot_has_tag(const struct jfa_db *db, const struct key *k)
{
    enum jfa_db_sec s = hash_sec[k->kind];
    const unsigned char *slots = sec_ptr(db, s);
    uint32_t mask = (uint32_t)(db->sec_len[s] / JFA_DB2_SLOT_SIZE - 1);

    for (uint64_t i = 0; i <= mask; i++) {
        const unsigned char *slot = slots + JFA_DB2_SLOT_SIZE * ((k->hash + i) & mask);
        if (jfa_le32(slot + 4) == 0)
            return false;
        if (jfa_le32(slot) == k->hash)
            return true;
    }
    return false;
}

/* A lookup: through the key's cell table when the file has one (after the
 * slot table's tags say the key may be there), else its slot table. */
static int find_key(const struct jfa_db *db, const struct key *k, struct found *f)
{
    if (db->cell_n[k->kind] != 0 && db->base) {
        if (!slot_has_tag(db, k))
            return -ENOENT;
        return find_cell(db, k, f);
    }
    return find_slot(db, k, f);
}

/* find_key for a name or an id (inline: the key stays in the caller's frame) */
static inline __attribute__((always_inline)) int
find(const struct jfa_db *db, enum key_kind kind, const char *name, uint32_t id, struct found *f)
{
    struct key k;

    if (!make_key(&k, kind, name, id))
        return -ENOENT;
    return find_key(db, &k, f);
}

/* A name key from a prepared query (user or group names). */
static int find_query(const struct jfa_db *db, enum key_kind kind, const struct jfa_db_query *q,
                      struct found *f)
{
    struct key k = {.kind = kind, .name = q->name, .len = q->len, .id = 0, .hash = q->hash};

    return find_key(db, &k, f);
}

static int user_found(const struct jfa_db *db, int rc, const struct found *f,
                      struct jfa_db_user *out)
{
    if (rc != 0)
        return rc;
    if (db->version == JFA_DB_VERSION_1)
        return jfa_db_user_at(db, (uint32_t)f->where, out);
    return user_decode(db, f->e, f->size, out);
}

static int group_found(const struct jfa_db *db, int rc, const struct found *f,
                       struct jfa_db_group *out)
{
    if (rc != 0)
        return rc;
    if (db->version == JFA_DB_VERSION_1)
        return jfa_db_group_at(db, (uint32_t)f->where, out);
    memset(out, 0, sizeof(*out));
    return group_decode(f->e, f->size, f->where, out);
}

int jfa_db_user_by_name(const struct jfa_db *db, const char *name, struct jfa_db_user *out)
{
    struct found f;
    int rc = find(db, K_UNAME, name, 0, &f);
    return user_found(db, rc, &f, out);
}

int jfa_db_user_by_uid(const struct jfa_db *db, uint32_t uid, struct jfa_db_user *out)
{
    struct found f;
    int rc = find(db, K_UID, NULL, uid, &f);
    return user_found(db, rc, &f, out);
}

int jfa_db_group_by_name(const struct jfa_db *db, const char *name, struct jfa_db_group *out)
{
    struct found f;
    int rc = find(db, K_GNAME, name, 0, &f);
    return group_found(db, rc, &f, out);
}

int jfa_db_group_by_gid(const struct jfa_db *db, uint32_t gid, struct jfa_db_group *out)
{
    struct found f;
    int rc = find(db, K_GID, NULL, gid, &f);
    return group_found(db, rc, &f, out);
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

bool jfa_db_query_name(struct jfa_db_query *q, const char *name)
{
    size_t len = name ? strnlen(name, JFA_DB_NAME_MAX + 1) : JFA_DB_NAME_MAX + 1;

    if (len > JFA_DB_NAME_MAX)
        return false;
    q->name = name;
    q->len = (uint32_t)len;
    q->hash = jfa_db_hash_name(name, len);
    return true;
}

int jfa_db_user_by_query_ci(const struct jfa_db *db, const struct jfa_db_query *q,
                            struct jfa_db_user *out)
{
    char low[JFA_DB_NAME_MAX + 1];
    struct jfa_db_query lq;
    struct found f;
    int rc = user_found(db, find_query(db, K_UNAME, q, &f), &f, out);

    if (rc != -ENOENT || !fold_name(q->name, low) || !jfa_db_query_name(&lq, low))
        return rc;
    rc = user_found(db, find_query(db, K_UNAME, &lq, &f), &f, out);
    if (rc == 0 && !(out->flags & JFA_DBU_FOLD))
        rc = -ENOENT;
    return rc;
}

int jfa_db_group_by_query_ci(const struct jfa_db *db, const struct jfa_db_query *q,
                             struct jfa_db_group *out)
{
    char low[JFA_DB_NAME_MAX + 1];
    struct jfa_db_query lq;
    struct found f;
    int rc = group_found(db, find_query(db, K_GNAME, q, &f), &f, out);

    if (rc != -ENOENT || !fold_name(q->name, low) || !jfa_db_query_name(&lq, low))
        return rc;
    rc = group_found(db, find_query(db, K_GNAME, &lq, &f), &f, out);
    if (rc == 0 && !(out->flags & JFA_DBG_FOLD))
        rc = -ENOENT;
    return rc;
}

int jfa_db_user_by_name_ci(const struct jfa_db *db, const char *name, struct jfa_db_user *out)
{
    struct jfa_db_query q;

    return jfa_db_query_name(&q, name) ? jfa_db_user_by_query_ci(db, &q, out) : -ENOENT;
}

int jfa_db_group_by_name_ci(const struct jfa_db *db, const char *name, struct jfa_db_group *out)
{
    struct jfa_db_query q;

    return jfa_db_query_name(&q, name) ? jfa_db_group_by_query_ci(db, &q, out) : -ENOENT;
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
static bool str_clean(const char *s, uint32_t len)
{
    return s && strlen(s) == len && !memchr(s, ':', len) && !memchr(s, '\n', len);
}

static int verify_table(const struct jfa_db *db, enum jfa_db_sec s, uint32_t n, const char *what,
                        char *err, size_t errlen)
{
    const unsigned char *slots = sec_ptr(db, s);
    bool v1 = db->version == JFA_DB_VERSION_1;
    uint64_t slot_size = v1 ? 4 : JFA_DB2_SLOT_SIZE;
    uint64_t nslots = db->sec_len[s] / slot_size, used = 0;
    uint64_t limit = v1 ? n
                        : db->sec_len[s == JFA_SEC_H_UNAME || s == JFA_SEC_H_UID ? JFA_SEC_USERS
                                                                                 : JFA_SEC_GROUPS] /
                              8;

    for (uint64_t i = 0; i < nslots; i++) {
        uint32_t e = jfa_le32(slots + slot_size * i + (v1 ? 0 : 4));
        if (e == 0)
            continue;
        if (e - 1 >= limit)
            return fail(err, errlen, "%s index: slot %llu points at record %u of %llu", what,
                        (unsigned long long)i, e - 1, (unsigned long long)limit);
        used++;
    }
    if (used != n)
        return fail(err, errlen, "%s index: %llu entries for %u records", what,
                    (unsigned long long)used, n);
    return 0;
}

/* Cell table k (db_format.h): every non-empty cell's ref is an entry
 * inside its section whose key hashes to the cell's tag, as many cells
 * are used as there are records, and the Robin Hood order holds: an
 * occupant away from its home follows a used cell whose occupant is at
 * most one cell nearer its own (else find_cell may stop before it). */
static int verify_cells(const struct jfa_db *db, int k, char *err, size_t errlen)
{
    static const char *const what[4] = {"user name", "uid", "group name", "gid"};
    uint32_t n = db->cell_n[k], stride = db->cell_stride[k], used = 0;
    bool user = k == K_UNAME || k == K_UID;
    const unsigned char *cells = db->base + db->cell_off[k];
    uint32_t want = user ? db->n_users : db->n_groups;

    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *c = cells + (uint64_t)stride * i, *e, *pc;
        uint32_t tag = jfa_le32(c), ref = jfa_le32(c + 4), d, hash, p;
        uint64_t size, nl;
        const char *name;
        if (ref == 0)
            continue;
        used++;
        /* its predecessor (cell 0's is the last cell) */
        d = jfa_db_cell_dist(tag, i, n);
        p = i > 0 ? i - 1 : n - 1;
        pc = cells + (uint64_t)stride * p;
        if (d > 0 && (jfa_le32(pc + 4) == 0 || jfa_db_cell_dist(jfa_le32(pc), p, n) + 1 < d))
            return fail(err, errlen, "%s cell table: cell %u out of Robin Hood order", what[k], i);
        /* the entry lies inside its section and its key hashes to the tag */
        e = user ? user_entry(db, (uint64_t)(ref - 1) * 8, &size)
                 : group_entry(db, (uint64_t)(ref - 1) * 8, &size);
        if (!e)
            return fail(err, errlen, "%s cell table: cell %u refers outside its section", what[k],
                        i);
        if (k == K_UID || k == K_GID) {
            hash = jfa_db_hash_id(jfa_le32(e)); /* uid and gid: both at offset 0 */
        } else {
            name = entry_name(e, size, user, &nl);
            if (!name)
                return fail(err, errlen, "%s cell table: cell %u refers to a bad entry", what[k],
                            i);
            hash = jfa_db_hash_name(name, nl);
        }
        if (hash != tag)
            return fail(err, errlen, "%s cell table: cell %u tag does not match its entry", what[k],
                        i);
    }
    if (used != want)
        return fail(err, errlen, "%s cell table: %u cells used for %u records", what[k], used,
                    want);
    return 0;
}

/* Where record i is, as find reports it: its index (v1) or entry offset. */
static uint64_t record_where(const struct jfa_db *db, enum jfa_db_sec index_sec, uint32_t i)
{
    return db->version == JFA_DB_VERSION_1 ? i : index_entry(db, index_sec, i);
}

/* Does a lookup of key k through the slot table, and through the cell
 * table when there is one, find record self (its entry offset in section
 * s: v2; its index: v1), or in a cell a byte-identical copy of its entry?
 * Names which one failed in *which. */
static bool found_self(const struct jfa_db *db, enum key_kind kind, const char *name, uint32_t id,
                       uint64_t self, const char **which)
{
    struct key k;
    struct found f;
    enum jfa_db_sec s = kind == K_UNAME || kind == K_UID ? JFA_SEC_USERS : JFA_SEC_GROUPS;
    const unsigned char *p;
    uint64_t psize;

    *which = "slot";
    if (!make_key(&k, kind, name, id) || find_slot(db, &k, &f) != 0 || f.where != self)
        return false;
    if (db->cell_n[kind] == 0)
        return true;
    *which = "cell";
    if (find_cell(db, &k, &f) != 0)
        return false;
    if (f.where == self)
        return true;
    p = entry_at(db, s, self, 0, s == JFA_SEC_USERS ? JFA_DBE_SIZE : JFA_DBF_SIZE, &psize);
    return p && psize == f.size && memcmp(p, f.e, psize) == 0;
}

static int verify_users(const struct jfa_db *db, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < db->n_users; i++) {
        struct jfa_db_user u;
        const char *which;
        uint64_t self = record_where(db, JFA_SEC2_UINDEX, i);
        if (jfa_db_user_at(db, i, &u) != 0)
            return fail(err, errlen, "user record %u: string or gid list out of bounds", i);
        if (!str_clean(u.name, u.name_len) || !str_clean(u.gecos, u.gecos_len) ||
            !str_clean(u.home, u.home_len) || !str_clean(u.shell, u.shell_len) ||
            !str_clean(u.jf_name, u.jf_name_len))
            return fail(err, errlen, "user record %u: a string holds NUL, ':' or newline", i);
        if (!jfa_db_name_plausible(u.name))
            return fail(err, errlen, "user record %u: implausible name", i);
        if (u.uid == 0 || u.gid == 0)
            return fail(err, errlen, "user %s: uid or gid 0", u.name);
        for (uint32_t k = 0; k < u.n_gids; k++)
            if (jfa_db_user_gid(&u, k) == 0)
                return fail(err, errlen, "user %s: supplementary gid 0", u.name);
        if (!found_self(db, K_UNAME, u.name, 0, self, &which))
            return fail(err, errlen,
                        "user %s: not found by name in its %s table (index or duplicate)", u.name,
                        which);
        if (!found_self(db, K_UID, NULL, u.uid, self, &which))
            return fail(err, errlen,
                        "user %s: uid %u not found in its %s table (index or duplicate)", u.name,
                        u.uid, which);
    }
    return 0;
}

static int verify_groups(const struct jfa_db *db, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < db->n_groups; i++) {
        struct jfa_db_group g;
        const char *which;
        uint64_t self = record_where(db, JFA_SEC2_GINDEX, i);
        if (jfa_db_group_at(db, i, &g) != 0)
            return fail(err, errlen, "group record %u: name or member list out of bounds", i);
        if (!str_clean(g.name, g.name_len) || !jfa_db_name_plausible(g.name))
            return fail(err, errlen, "group record %u: bad name", i);
        if (db->version != JFA_DB_VERSION_1) {
            struct jfa_db_group e = {0};
            if (group_from_entry(db, self, &e) != 0 || e.index != i)
                return fail(err, errlen, "group record %u: its entry names index %u", i, e.index);
        }
        if (g.gid == 0)
            return fail(err, errlen, "group %s: gid 0", g.name);
        for (uint32_t k = 0; k < g.n_members; k++) {
            const char *m = jfa_db_group_member(db, &g, k);
            if (!m || !jfa_db_name_plausible(m))
                return fail(err, errlen, "group %s: member %u bad", g.name, k);
        }
        if (!found_self(db, K_GNAME, g.name, 0, self, &which))
            return fail(err, errlen,
                        "group %s: not found by name in its %s table (index or duplicate)", g.name,
                        which);
        if (!found_self(db, K_GID, NULL, g.gid, self, &which))
            return fail(err, errlen,
                        "group %s: gid %u not found in its %s table (index or duplicate)", g.name,
                        g.gid, which);
    }
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
    for (int k = 0; k < 4; k++)
        if (db->cell_n[k] != 0 && verify_cells(db, k, err, errlen) != 0)
            return -1;
    /* A mark is no damage: a sync killed between marking and renaming
     * leaves the live file marked, and readers then check the path at each
     * lookup until the next sync (doctor warns, see jfa_db_marked). */
    if (verify_users(db, err, errlen) != 0 || verify_groups(db, err, errlen) != 0)
        return -1;
    return 0;
}

/* ---- names and paths ---- */

/* Names are checked 8 bytes at a time (SWAR): a byte is allowed iff it is
 * above 0x20 and none of 0x7f, ':', '/' and '*'. The classic tests
 *   HAS_LESS(v, n) = (v - REP8(n)) & ~v & REP8(0x80)  (some byte < n)
 *   HAS_BYTE(v, c) = HAS_LESS(v ^ REP8(c), 1)          (some byte == c)
 * are exact for "some byte of v is ..." (bytes >= 0x80 never count as
 * less). word_ok ORs HAS_LESS(v, 0x21) and HAS_BYTE(v, c) for the four
 * bytes with their common factor taken out: for c < 0x80 the top bit of
 * each byte of v ^ REP8(c) is that of v, so every term ends in the same
 * "& ~v & REP8(0x80)", and (a & m) | (b & m) = (a | b) & m. Same value,
 * 8 fewer operations per word (tests/unit/test_db.c checks every byte at
 * every position against the rule). */
#define REP8(c) (0x0101010101010101ull * (uint8_t)(c))

static bool word_ok(uint64_t v)
{
    uint64_t t = (v - REP8(0x21)) | ((v ^ REP8(0x7f)) - REP8(1)) | ((v ^ REP8(':')) - REP8(1)) |
                 ((v ^ REP8('/')) - REP8(1)) | ((v ^ REP8('*')) - REP8(1));
    return !(t & ~v & REP8(0x80));
}

bool jfa_db_name_plausible_n(const char *name, size_t len)
{
    uint64_t v;

    if (!name || len == 0 || len > JFA_DB_NAME_MAX)
        return false;
    if (len < 8) { /* assembled byte by byte, padded with an allowed one */
        v = REP8('a');
        for (size_t i = 0; i < len; i++)
            v = (v << 8) | (unsigned char)name[i];
        return word_ok(v);
    }
    /* whole words but the last, then the last 8 bytes (overlapping the
     * word before unless len is a multiple of 8): no read past len, and
     * a name of 8 bytes (jbu12345, most names) costs one word */
    for (size_t i = 0; i + 8 < len; i += 8) {
        memcpy(&v, name + i, 8);
        if (!word_ok(v))
            return false;
    }
    memcpy(&v, name + len - 8, 8);
    return word_ok(v);
}

bool jfa_db_name_plausible(const char *name)
{
    return name && jfa_db_name_plausible_n(name, strnlen(name, JFA_DB_NAME_MAX + 1));
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
