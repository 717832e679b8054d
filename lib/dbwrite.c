/*
 * dbwrite.c - the users database: write side.
 *
 * Owns: checking the users and groups handed over by sync (plausible unique
 * names, unique non-zero ids, strings that cannot break a passwd/group line,
 * well-formed Jellyfin Ids) and serialising them into the db_format.h image
 * in memory: deduplicated string table, records, gid and member arrays,
 * four hash indexes and the checksum. Writing the image to disk is
 * fileutil.h's job (jfa_write_atomic_hook); marking the file it replaces
 * (the watch block's `replaced` word, jfa_db_mark_replaced) is done here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "db_format.h"
#include "dbwrite.h"
#include "util.h"

/* Upper bounds that keep every offset inside u32 and the file inside
 * JFA_DB_MAX_FILE. */
#define MAX_RECORDS 4000000u
#define MAX_LIST 1000000u

struct strtab {
    unsigned char *buf;
    size_t len, cap;
    uint32_t *slots; /* intern table: offset + 1 of a string, 0 empty */
    size_t nslots, used;
};

struct builder {
    char *err;
    size_t errlen;
    struct strtab st;
};

__attribute__((format(printf, 2, 3))) static int bfail(struct builder *b, const char *fmt, ...)
{
    va_list ap;
    if (b->err && b->errlen) {
        va_start(ap, fmt);
        vsnprintf(b->err, b->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static size_t align8(size_t v)
{
    return (v + 7) & ~(size_t)7;
}

static uint32_t slots_for(size_t n)
{
    uint32_t s = JFA_DB_MIN_SLOTS;
    while (s < 2 * n)
        s <<= 1;
    return s;
}

/* ---- string table with interning ---- */

static int st_grow_slots(struct strtab *st)
{
    size_t nn = st->nslots ? st->nslots * 2 : 1024;
    uint32_t *ns = calloc(nn, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < st->nslots; i++) {
        uint32_t e = st->slots[i];
        if (!e)
            continue;
        const char *s = (const char *)st->buf + e - 1;
        size_t h = jfa_db_hash_name(s, strlen(s)) & (nn - 1);
        while (ns[h])
            h = (h + 1) & (nn - 1);
        ns[h] = e;
    }
    free(st->slots);
    st->slots = ns;
    st->nslots = nn;
    return 0;
}

/* Add s (len bytes, no NUL inside) and return its offset through *off. */
static int st_add(struct builder *b, const char *s, size_t len, uint32_t *off)
{
    struct strtab *st = &b->st;
    size_t h;

    if ((st->used + 1) * 2 > st->nslots && st_grow_slots(st) != 0)
        return bfail(b, "out of memory");
    h = jfa_db_hash_name(s, len) & (st->nslots - 1);
    while (st->slots[h]) {
        const char *c = (const char *)st->buf + st->slots[h] - 1;
        if (strlen(c) == len && memcmp(c, s, len) == 0) {
            *off = st->slots[h] - 1;
            return 0;
        }
        h = (h + 1) & (st->nslots - 1);
    }
    if (st->len + len + 1 > JFA_DB_MAX_FILE)
        return bfail(b, "string table too large");
    if (st->len + len + 1 > st->cap) {
        size_t nc = st->cap ? st->cap : 4096;
        unsigned char *nb;
        while (nc < st->len + len + 1)
            nc *= 2;
        nb = realloc(st->buf, nc);
        if (!nb)
            return bfail(b, "out of memory");
        st->buf = nb;
        st->cap = nc;
    }
    memcpy(st->buf + st->len, s, len);
    st->buf[st->len + len] = '\0';
    *off = (uint32_t)st->len;
    st->slots[h] = (uint32_t)st->len + 1;
    st->used++;
    st->len += len + 1;
    return 0;
}

static void put_ref(unsigned char *p, uint32_t off, size_t len)
{
    jfa_put32(p, off);
    jfa_put32(p + 4, (uint32_t)len);
}

/* ---- input checks ---- */

static bool str_ok(const char *s)
{
    return s && strlen(s) <= JFA_DB_MAX_STR && !strchr(s, ':') && !strchr(s, '\n');
}

/* A login or group name we are willing to publish. */
static bool name_ok(const char *s)
{
    return s && jfa_db_name_plausible(s) && !strchr(s, ',') && strcmp(s, "root") != 0;
}

static bool parse_jfid(const char *hex, unsigned char out[16])
{
    for (int i = 0; i < 16; i++) {
        int hi = jfa_hexval(hex[2 * i]), lo = hi < 0 ? -1 : jfa_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return hex[32] == '\0';
}

/* ---- hash index building with duplicate detection ---- */

/* Insert record idx into table; keyfn compares. Returns the index of an
 * existing equal record, or -1 after inserting. */
static long insert_name(unsigned char *tab, uint32_t nslots, const char *const *names, uint32_t idx)
{
    const char *name = names[idx];
    size_t len = strlen(name);
    uint32_t h = jfa_db_hash_name(name, len) & (nslots - 1);
    for (;;) {
        uint32_t e = jfa_le32(tab + 4 * (size_t)h);
        if (!e) {
            jfa_put32(tab + 4 * (size_t)h, idx + 1);
            return -1;
        }
        if (strcmp(names[e - 1], name) == 0)
            return (long)e - 1;
        h = (h + 1) & (nslots - 1);
    }
}

static long insert_id(unsigned char *tab, uint32_t nslots, const uint32_t *ids, uint32_t idx)
{
    uint32_t h = jfa_db_hash_id(ids[idx]) & (nslots - 1);
    for (;;) {
        uint32_t e = jfa_le32(tab + 4 * (size_t)h);
        if (!e) {
            jfa_put32(tab + 4 * (size_t)h, idx + 1);
            return -1;
        }
        if (ids[e - 1] == ids[idx])
            return (long)e - 1;
        h = (h + 1) & (nslots - 1);
    }
}

static int check_user(struct builder *b, const struct jfa_dbw_user *u, size_t i)
{
    const char *name = u->name ? u->name : "(null)";

    if (!name_ok(u->name))
        return bfail(b, "user %zu (\"%.40s\"): invalid login name", i, name);
    if (u->uid == 0 || u->gid == 0)
        return bfail(b, "user %s: uid and gid must not be 0", name);
    if (!str_ok(u->gecos) || !str_ok(u->home) || !str_ok(u->shell) || !str_ok(u->jf_name))
        return bfail(b,
                     "user %s: gecos, home, shell or Jellyfin name missing, too long, or "
                     "containing ':' or newline",
                     name);
    if (u->flags & ~(uint32_t)(JFA_DBU_ADMIN | JFA_DBU_DISABLED | JFA_DBU_HIDDEN |
                               JFA_DBU_NO_REMOTE | JFA_DBU_FOLD))
        return bfail(b, "user %s: unknown flags 0x%x", name, u->flags);
    if (u->n_gids > MAX_LIST || (u->n_gids && !u->gids))
        return bfail(b, "user %s: bad supplementary gid list", name);
    for (size_t k = 0; k < u->n_gids; k++)
        if (u->gids[k] == 0)
            return bfail(b, "user %s: supplementary gid 0", name);
    return 0;
}

static int check_group(struct builder *b, const struct jfa_dbw_group *g, size_t i)
{
    const char *name = g->name ? g->name : "(null)";

    if (!name_ok(g->name))
        return bfail(b, "group %zu (\"%.40s\"): invalid group name", i, name);
    if (g->gid == 0)
        return bfail(b, "group %s: gid must not be 0", name);
    if (g->n_members > MAX_LIST || (g->n_members && !g->members))
        return bfail(b, "group %s: bad member list", name);
    for (size_t k = 0; k < g->n_members; k++)
        if (!g->members[k] || !jfa_db_name_plausible(g->members[k]) || strchr(g->members[k], ','))
            return bfail(b, "group %s: member %zu is not a valid login name", name, k);
    return 0;
}

int jfa_db_build(const struct jfa_dbw_user *users, size_t n_users,
                 const struct jfa_dbw_group *groups, size_t n_groups, uint64_t generation,
                 unsigned char **out, size_t *out_len, char *err, size_t errlen)
{
    struct builder b = {.err = err, .errlen = errlen};
    uint32_t *uoff = NULL, *goff = NULL, *moff = NULL, *ids = NULL;
    const char **names = NULL;
    unsigned char *img = NULL;
    size_t n_gids = 0, n_mem = 0, size, off[JFA_SEC_COUNT], len[JFA_SEC_COUNT];
    uint32_t us, gs;
    int rc = -1;

    *out = NULL;
    *out_len = 0;
    if (err && errlen)
        err[0] = '\0';
    if (n_users > MAX_RECORDS || n_groups > MAX_RECORDS) {
        bfail(&b, "too many records (%zu users, %zu groups; limit %u)", n_users, n_groups,
              MAX_RECORDS);
        goto out;
    }
    if ((n_users && !users) || (n_groups && !groups)) {
        bfail(&b, "record array missing");
        goto out;
    }
    for (size_t i = 0; i < n_users; i++) {
        unsigned char id[16];
        if (check_user(&b, &users[i], i) != 0)
            goto out;
        if (!parse_jfid(users[i].jf_id, id)) {
            bfail(&b, "user %s: Jellyfin Id is not 32 hex digits", users[i].name);
            goto out;
        }
        n_gids += users[i].n_gids;
    }
    for (size_t i = 0; i < n_groups; i++) {
        if (check_group(&b, &groups[i], i) != 0)
            goto out;
        n_mem += groups[i].n_members;
    }
    if (n_gids > MAX_RECORDS * 4ull || n_mem > MAX_RECORDS * 4ull) {
        bfail(&b, "too many group memberships");
        goto out;
    }

    /* strings: 5 per user, 1 per group, 1 per member */
    uoff = calloc(n_users * 5 + 1, sizeof(*uoff));
    goff = calloc(n_groups + 1, sizeof(*goff));
    moff = calloc(n_mem + 1, sizeof(*moff));
    if (!uoff || !goff || !moff) {
        bfail(&b, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_users; i++) {
        const char *f[5] = {users[i].name, users[i].gecos, users[i].home, users[i].shell,
                            users[i].jf_name};
        for (int k = 0; k < 5; k++)
            if (st_add(&b, f[k], strlen(f[k]), &uoff[i * 5 + k]) != 0)
                goto out;
    }
    for (size_t i = 0, m = 0; i < n_groups; i++) {
        if (st_add(&b, groups[i].name, strlen(groups[i].name), &goff[i]) != 0)
            goto out;
        for (size_t k = 0; k < groups[i].n_members; k++, m++)
            if (st_add(&b, groups[i].members[k], strlen(groups[i].members[k]), &moff[m]) != 0)
                goto out;
    }

    /* layout */
    us = slots_for(n_users);
    gs = slots_for(n_groups);
    len[JFA_SEC_STRINGS] = b.st.len;
    len[JFA_SEC_USERS] = n_users * JFA_DB_USER_SIZE;
    len[JFA_SEC_GROUPS] = n_groups * JFA_DB_GROUP_SIZE;
    len[JFA_SEC_GIDS] = n_gids * 4;
    len[JFA_SEC_MEMBERS] = n_mem * JFA_DB_STRREF_SIZE;
    len[JFA_SEC_H_UNAME] = len[JFA_SEC_H_UID] = (size_t)us * 4;
    len[JFA_SEC_H_GNAME] = len[JFA_SEC_H_GID] = (size_t)gs * 4;
    /* the watch block sits between the header and the first section */
    size = JFA_DB_HDR_SIZE + JFA_DB_WATCH_SIZE;
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        off[s] = size;
        size = align8(size + len[s]);
    }
    if (size > JFA_DB_MAX_FILE) {
        bfail(&b, "database would be %zu bytes (limit %llu)", size,
              (unsigned long long)JFA_DB_MAX_FILE);
        goto out;
    }
    img = calloc(1, size);
    if (!img) {
        bfail(&b, "out of memory (%zu bytes)", size);
        goto out;
    }
    if (b.st.len)
        memcpy(img + off[JFA_SEC_STRINGS], b.st.buf, b.st.len);

    /* users, gids, and their indexes */
    names = calloc(n_users + n_groups + 1, sizeof(*names));
    ids = calloc(n_users + n_groups + 1, sizeof(*ids));
    if (!names || !ids) {
        bfail(&b, "out of memory");
        goto out;
    }
    for (size_t i = 0, g = 0; i < n_users; i++) {
        const struct jfa_dbw_user *u = &users[i];
        unsigned char *r = img + off[JFA_SEC_USERS] + i * JFA_DB_USER_SIZE;
        const char *f[5] = {u->name, u->gecos, u->home, u->shell, u->jf_name};
        long dup;
        jfa_put32(r + JFA_DBU_OFF_UID, u->uid);
        jfa_put32(r + JFA_DBU_OFF_GID, u->gid);
        jfa_put32(r + JFA_DBU_OFF_FLAGS, u->flags);
        jfa_put32(r + JFA_DBU_OFF_NGIDS, (uint32_t)u->n_gids);
        jfa_put32(r + JFA_DBU_OFF_GIDX, (uint32_t)g);
        for (int k = 0; k < 5; k++)
            put_ref(r + JFA_DBU_OFF_NAME + 8 * k, uoff[i * 5 + k], strlen(f[k]));
        parse_jfid(u->jf_id, r + JFA_DBU_OFF_JFID);
        for (size_t k = 0; k < u->n_gids; k++, g++)
            jfa_put32(img + off[JFA_SEC_GIDS] + 4 * g, u->gids[k]);
        names[i] = u->name;
        ids[i] = u->uid;
        dup = insert_name(img + off[JFA_SEC_H_UNAME], us, names, (uint32_t)i);
        if (dup >= 0) {
            bfail(&b, "duplicate user name %s (records %ld and %zu)", u->name, dup, i);
            goto out;
        }
        dup = insert_id(img + off[JFA_SEC_H_UID], us, ids, (uint32_t)i);
        if (dup >= 0) {
            bfail(&b, "duplicate uid %u (users %s and %s)", u->uid, users[dup].name, u->name);
            goto out;
        }
    }
    for (size_t i = 0, m = 0; i < n_groups; i++) {
        const struct jfa_dbw_group *gr = &groups[i];
        unsigned char *r = img + off[JFA_SEC_GROUPS] + i * JFA_DB_GROUP_SIZE;
        long dup;
        jfa_put32(r + JFA_DBG_OFF_GID, gr->gid);
        jfa_put32(r + JFA_DBG_OFF_NMEM, (uint32_t)gr->n_members);
        jfa_put32(r + JFA_DBG_OFF_MIDX, (uint32_t)m);
        put_ref(r + JFA_DBG_OFF_NAME, goff[i], strlen(gr->name));
        jfa_put32(r + JFA_DBG_OFF_FLAGS, gr->flags & JFA_DBG_FOLD);
        for (size_t k = 0; k < gr->n_members; k++, m++)
            put_ref(img + off[JFA_SEC_MEMBERS] + JFA_DB_STRREF_SIZE * m, moff[m],
                    strlen(gr->members[k]));
        names[i] = gr->name;
        ids[i] = gr->gid;
        dup = insert_name(img + off[JFA_SEC_H_GNAME], gs, names, (uint32_t)i);
        if (dup >= 0) {
            bfail(&b, "duplicate group name %s (records %ld and %zu)", gr->name, dup, i);
            goto out;
        }
        dup = insert_id(img + off[JFA_SEC_H_GID], gs, ids, (uint32_t)i);
        if (dup >= 0) {
            bfail(&b, "duplicate gid %u (groups %s and %s)", gr->gid, groups[dup].name, gr->name);
            goto out;
        }
    }

    /* header */
    memcpy(img + JFA_DBH_MAGIC, JFA_DB_MAGIC, JFA_DB_MAGIC_LEN);
    jfa_put32(img + JFA_DBH_VERSION, JFA_DB_VERSION);
    jfa_put32(img + JFA_DBH_HDRSIZE, JFA_DB_HDR_SIZE);
    jfa_put64(img + JFA_DBH_FILESIZE, size);
    jfa_put64(img + JFA_DBH_GENERATION, generation);
    jfa_put32(img + JFA_DBH_NUSERS, (uint32_t)n_users);
    jfa_put32(img + JFA_DBH_NGROUPS, (uint32_t)n_groups);
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        jfa_put64(img + JFA_DBH_SECTIONS + 16 * s, off[s]);
        jfa_put64(img + JFA_DBH_SECTIONS + 16 * s + 8, len[s]);
    }
    memcpy(img + JFA_DB_WATCH_OFF, JFA_DB_WATCH_TAG, JFA_DB_WATCH_TAG_LEN);
    jfa_put32(img + JFA_DBW_REPLACED, 0);
    jfa_put64(img + JFA_DBH_CHECKSUM, jfa_db_image_checksum(img, size, 1));
    *out = img;
    *out_len = size;
    img = NULL;
    rc = 0;
out:
    free(img);
    free(uoff);
    free(goff);
    free(moff);
    free(names);
    free(ids);
    free(b.st.buf);
    free(b.st.slots);
    return rc;
}

int jfa_db_mark_replaced(const char *path, char *err, size_t errlen)
{
    unsigned char h[JFA_DB_HDR_SIZE + JFA_DB_WATCH_SIZE];
    struct stat st;
    void *map = MAP_FAILED;
    int fd, rc = -1;

    if (err && errlen)
        err[0] = '\0';
    fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        jfa_set_err(err, errlen, "%s: open to mark it replaced: %s", path, strerror(errno));
        return -1;
    }
    /* the same checks as the reader's open: never write into a file that
     * is not a database we could have written (a hard link elsewhere) */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 022) != 0 ||
        (st.st_uid != 0 && st.st_uid != geteuid())) {
        jfa_set_err(err, errlen,
                    "%s: not a regular file owned by root, or group/other writable: "
                    "left unmarked",
                    path);
        goto out;
    }
    rc = 0; /* from here on, "nothing to mark" */
    if ((uint64_t)st.st_size < sizeof(h) || (uint64_t)st.st_size > JFA_DB_MAX_FILE ||
        pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
        goto out;
    if (memcmp(h + JFA_DBH_MAGIC, JFA_DB_MAGIC, JFA_DB_MAGIC_LEN) != 0 ||
        jfa_le32(h + JFA_DBH_VERSION) != JFA_DB_VERSION ||
        jfa_le32(h + JFA_DBH_HDRSIZE) != JFA_DB_HDR_SIZE ||
        jfa_le64(h + JFA_DBH_FILESIZE) != (uint64_t)st.st_size ||
        memcmp(h + JFA_DB_WATCH_OFF, JFA_DB_WATCH_TAG, JFA_DB_WATCH_TAG_LEN) != 0)
        goto out;
    for (int s = 0; s < JFA_SEC_COUNT; s++)
        if (jfa_le64(h + JFA_DBH_SECTIONS + 16 * s) < JFA_DB_WATCH_OFF + JFA_DB_WATCH_SIZE)
            goto out; /* no watch block: the bytes at 196 are data */
    /* one aligned 4-byte store into the page every reader maps */
    map = mmap(NULL, sizeof(h), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        jfa_set_err(err, errlen, "%s: mmap to mark it replaced: %s", path, strerror(errno));
        rc = -1;
        goto out;
    }
    __atomic_store_n((uint32_t *)(void *)((unsigned char *)map + JFA_DBW_REPLACED), (uint32_t)1,
                     __ATOMIC_RELEASE);
    rc = 1;
out:
    if (map != MAP_FAILED)
        munmap(map, sizeof(h));
    close(fd);
    return rc;
}
