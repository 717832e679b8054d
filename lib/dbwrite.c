/*
 * dbwrite.c - the users database: write side.
 *
 * Owns: checking the users and groups handed over by sync (plausible unique
 * names, unique non-zero ids, strings that cannot break a passwd/group line,
 * well-formed Jellyfin Ids) and serialising them into the db_format.h
 * version 2 image in memory, in named steps (check_input, plan_layout with
 * plan_cells, write_users, write_groups, write_cells, build_indexes,
 * write_header): one entry per record holding its own strings, gids or
 * member names, two index arrays, four tagged hash indexes, the optional
 * cell tables (Robin Hood placement, stride and load factor chosen here,
 * left out for a kind whose keys cluster)
 * and the checksum. Writing the image to disk is
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

/* The image being built: section offsets and sizes, and where each entry
 * lies inside its section. */
struct builder {
    char *err;
    size_t errlen;
    const struct jfa_dbw_user *users;
    const struct jfa_dbw_group *groups;
    size_t n_users, n_groups;
    uint64_t generation;
    uint32_t *uoff, *goff; /* entry offsets within USERS / GROUPS */
    uint32_t us, gs;       /* slot counts of the user and group tables */
    /* the cell tables (db_format.h), key order user name, uid, group name,
     * gid: n cells (0: none) of stride bytes at off within the entry
     * section; rec[c] = record index + 1 placed in cell c (0: empty) and
     * tag[c] its key's hash, as Robin Hood placement left them */
    bool cells;
    struct cell_table {
        uint32_t n, stride;
        size_t off;
        uint32_t *rec, *tag;
    } ct[4];
    size_t off[JFA_SEC_COUNT], len[JFA_SEC_COUNT], size;
    /* the version 1 view (db_format.h "Transitional files"), if written */
    bool v1_view;
    size_t off1[JFA_SEC_COUNT], len1[JFA_SEC_COUNT];
    unsigned char *img;
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

static size_t align4(size_t v)
{
    return (v + 3) & ~(size_t)3;
}

static uint32_t slots_for(size_t n)
{
    uint32_t s = JFA_DB_MIN_SLOTS;
    while (s < 2 * n)
        s <<= 1;
    return s;
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

static int check_user(struct builder *b, const struct jfa_dbw_user *u, size_t i)
{
    const char *name = u->name ? u->name : "(null)";
    unsigned char id[16];

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
    if (!parse_jfid(u->jf_id, id))
        return bfail(b, "user %s: Jellyfin Id is not 32 hex digits", name);
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

/* Step 1: every record is one we are willing to publish. */
static int check_input(struct builder *b)
{
    if (b->n_users > MAX_RECORDS || b->n_groups > MAX_RECORDS)
        return bfail(b, "too many records (%zu users, %zu groups; limit %u)", b->n_users,
                     b->n_groups, MAX_RECORDS);
    if ((b->n_users && !b->users) || (b->n_groups && !b->groups))
        return bfail(b, "record array missing");
    for (size_t i = 0; i < b->n_users; i++)
        if (check_user(b, &b->users[i], i) != 0)
            return -1;
    for (size_t i = 0; i < b->n_groups; i++)
        if (check_group(b, &b->groups[i], i) != 0)
            return -1;
    return 0;
}

/* ---- entries (db_format.h, version 2) ---- */

static size_t user_entry_size(const struct jfa_dbw_user *u)
{
    size_t s = JFA_DBE_STRINGS + strlen(u->name) + strlen(u->gecos) + strlen(u->home) +
               strlen(u->shell) + strlen(u->jf_name) + 5;
    return align4(s) + 4 * u->n_gids + 16;
}

static size_t group_members_at(const struct jfa_dbw_group *g)
{
    return align4(JFA_DBF_NAME + strlen(g->name) + 1);
}

static size_t group_entry_size(const struct jfa_dbw_group *g)
{
    size_t s = group_members_at(g) + 4 * g->n_members;
    for (size_t k = 0; k < g->n_members; k++)
        s += strlen(g->members[k]) + 1;
    return s;
}

static void plan_v1_view(struct builder *b);

/* ---- cell tables ---- */

/* The load factor of a cell table, in percent. Measured at 100,000 users
 * (bench/README.md "Cell tables"): 75, 80 and 85% give the same hits and
 * misses within noise; 50-67% make user hits slower (at 50% they gain
 * nothing: the larger table costs more than the shorter probes save), 90%
 * group hits. 80%: the middle of the best range. */
#define JFA_CELL_LOAD 80u

/* The farthest a record may sit from its home cell, and a table's
 * placement budget in cell steps per record. FNV-1a is not keyed and
 * names are chosen by their users: names picked to share a home cell
 * (about n hash trials each: a minute for 100,000) make one cluster that
 * placement walks quadratically and each of their lookups walks through
 * (100,000 such users: 14.6 s to place, 234 us a lookup, where random
 * names take 0.4 s and 0.4 us). The distance bounds every probe of the
 * reader (find_cell stops past it); the budget bounds placement whatever
 * the distances. Random keys stay far below both: at 100,000 users the
 * farthest record is 17 cells from its home by name, 26 by uid, and
 * placing the names takes 2.1 steps per record. Beyond them a kind is
 * written without cell tables: its lookups then probe the slot tables,
 * as in files without cells. */
#define JFA_CELL_MAX_PROBE 256u

static size_t align_cell(size_t v)
{
    return (v + JFA_DB_CELL_ALIGN - 1) & ~(size_t)(JFA_DB_CELL_ALIGN - 1);
}

/* The entry size of record i of the kind of table k (users for 0 and 1). */
static size_t rec_size(const struct builder *b, int k, size_t i)
{
    return k < 2 ? user_entry_size(&b->users[i]) : group_entry_size(&b->groups[i]);
}

/* The key hash of record i in table k (the tag the reader compares). */
static uint32_t rec_tag(const struct builder *b, int k, size_t i)
{
    switch (k) {
    case 0:
        return jfa_db_hash_name(b->users[i].name, strlen(b->users[i].name));
    case 1:
        return jfa_db_hash_id(b->users[i].uid);
    case 2:
        return jfa_db_hash_name(b->groups[i].name, strlen(b->groups[i].name));
    default:
        return jfa_db_hash_id(b->groups[i].gid);
    }
}

/* The stride of the cell tables of a kind of n records: the smallest of
 * 64, 128 and 256 whose cells hold at least 90% of its entries after their
 * 8-byte {tag, ref}; 0 (no cell tables) when none does, or no records. */
static uint32_t choose_stride(const struct builder *b, int k, size_t n)
{
    static const uint32_t strides[] = {64, 128, 256};

    for (int s = 0; s < 3 && n > 0; s++) {
        size_t fit = 0;
        for (size_t i = 0; i < n; i++)
            fit += rec_size(b, k, i) <= strides[s] - 8;
        if (fit * 10 >= n * 9)
            return strides[s];
    }
    return 0;
}

/* Place record rec (tag) in table t by Robin Hood: walking from its home,
 * it takes the first empty cell, or the first cell whose occupant is
 * nearer its own home than rec is, and the occupant walks on. Then along
 * any probe the occupants' distances never drop by more than one from a
 * cell to the next, which lets the reader stop early (db.c find_cell).
 * The table has more cells than records: an empty cell is always found.
 * false when a record would sit more than JFA_CELL_MAX_PROBE cells from
 * its home, or the table's walks would take more than *budget steps. */
static bool cell_place(struct cell_table *t, uint32_t tag, uint32_t rec, uint64_t *budget)
{
    uint32_t i = jfa_db_cell_home(tag, t->n), d = 0;

    for (;;) {
        uint32_t od;
        if (t->rec[i] == 0) {
            t->rec[i] = rec + 1;
            t->tag[i] = tag;
            return true;
        }
        if (d >= JFA_CELL_MAX_PROBE || *budget == 0)
            return false;
        --*budget;
        od = jfa_db_cell_dist(t->tag[i], i, t->n);
        if (od < d) {
            uint32_t r = t->rec[i] - 1, g = t->tag[i];
            t->rec[i] = rec + 1;
            t->tag[i] = tag;
            rec = r;
            tag = g;
            d = od;
        }
        if (++i == t->n)
            i = 0;
        d++;
    }
}

static void free_cells(struct builder *b)
{
    for (int k = 0; k < 4; k++) {
        free(b->ct[k].rec);
        free(b->ct[k].tag);
        memset(&b->ct[k], 0, sizeof(b->ct[k]));
    }
}

/* Size and fill the four cell tables (placement only: cells are written
 * by write_cells once the entries are). A kind whose placement goes past
 * JFA_CELL_MAX_PROBE (distance or budget) in either of its tables gets
 * none (its lookups use the slot tables, as in a file without cells). */
static int plan_cells(struct builder *b)
{
    for (int k = 0; k < 4; k++) {
        struct cell_table *t = &b->ct[k];
        size_t n = k < 2 ? b->n_users : b->n_groups;
        uint64_t budget = (uint64_t)JFA_CELL_MAX_PROBE * n;
        t->stride = (k == 0 || k == 2) ? choose_stride(b, k, n) : b->ct[k - 1].stride;
        if (t->stride == 0)
            continue;
        t->n = (uint32_t)((n * 100 + JFA_CELL_LOAD - 1) / JFA_CELL_LOAD);
        if (t->n <= n)
            t->n = (uint32_t)n + 1;
        t->rec = calloc(t->n, sizeof(*t->rec));
        t->tag = calloc(t->n, sizeof(*t->tag));
        if (!t->rec || !t->tag)
            return bfail(b, "out of memory");
        for (size_t i = 0; i < n; i++) {
            if (!cell_place(t, rec_tag(b, k, i), (uint32_t)i, &budget)) {
                /* both tables of the kind go (plan_entries lays out both
                 * or none); a name table dropped takes its id table's
                 * stride with it, so the loop skips that one */
                int k0 = k & ~1;
                for (int j = k0; j < k0 + 2; j++) {
                    free(b->ct[j].rec);
                    free(b->ct[j].tag);
                    memset(&b->ct[j], 0, sizeof(b->ct[j]));
                }
                break;
            }
        }
    }
    return 0;
}

/* The entry offsets of one entry section (USERS: tables 0 and 1, GROUPS: 2
 * and 3) and its size. With cell tables the section holds them first,
 * each 128-aligned, then every record's primary entry, in input order as
 * without them: enumeration walks them in that order, so its reads stay
 * sequential (primaries inline in their by-name cells, in hash order,
 * made getpwent 4.5 times slower at 100,000 users: bench/README.md "Cell
 * tables"). The section's size is then a multiple of 128, so that the next
 * one (GROUPS after USERS) is aligned as well and the two stay adjacent. */
static int plan_entries(struct builder *b, int k0, uint32_t *off, size_t n, size_t *lenp)
{
    struct cell_table *byname = &b->ct[k0], *byid = &b->ct[k0 + 1];
    size_t pos = 0;

    if (byname->n) {
        byname->off = 0;
        byid->off = align_cell((size_t)byname->n * byname->stride);
        pos = align_cell(byid->off + (size_t)byid->n * byid->stride);
    }
    for (size_t i = 0; i < n; i++) {
        if (pos > JFA_DB_MAX_FILE)
            return bfail(b, "%s entries exceed %llu bytes", k0 < 2 ? "user" : "group",
                         (unsigned long long)JFA_DB_MAX_FILE);
        off[i] = (uint32_t)pos;
        pos = align8(pos + rec_size(b, k0, i));
    }
    *lenp = byname->n ? align_cell(pos) : pos;
    return 0;
}

static int plan_layout(struct builder *b);

/* The file would be too large with cell tables: plan it without. */
static int plan_without_cells(struct builder *b)
{
    b->cells = false;
    free_cells(b);
    free(b->uoff);
    free(b->goff);
    b->uoff = b->goff = NULL;
    return plan_layout(b);
}

/* Step 2: where every entry and section goes; allocate the image. Entry
 * offsets are kept for the index sections and the hash slots. Files too
 * large with cell tables are written without them. */
static int plan_layout(struct builder *b)
{
    b->uoff = calloc(b->n_users + 1, sizeof(*b->uoff));
    b->goff = calloc(b->n_groups + 1, sizeof(*b->goff));
    if (!b->uoff || !b->goff)
        return bfail(b, "out of memory");
    if (b->cells && plan_cells(b) != 0)
        return -1;
    if (plan_entries(b, 0, b->uoff, b->n_users, &b->len[JFA_SEC_USERS]) != 0 ||
        plan_entries(b, 2, b->goff, b->n_groups, &b->len[JFA_SEC_GROUPS]) != 0)
        return b->cells ? plan_without_cells(b) : -1;
    b->us = slots_for(b->n_users);
    b->gs = slots_for(b->n_groups);
    b->len[JFA_SEC2_UNUSED] = 0;
    b->len[JFA_SEC2_UINDEX] = 4 * b->n_users;
    b->len[JFA_SEC2_GINDEX] = 4 * b->n_groups;
    b->len[JFA_SEC_H_UNAME] = b->len[JFA_SEC_H_UID] = (size_t)b->us * JFA_DB2_SLOT_SIZE;
    b->len[JFA_SEC_H_GNAME] = b->len[JFA_SEC_H_GID] = (size_t)b->gs * JFA_DB2_SLOT_SIZE;
    /* the watch block sits between the header and the first section; a
     * transitional file has the version 2 directory after it */
    b->size = b->v1_view ? JFA_DB_DIR_OFF + JFA_DB_DIR_SIZE : JFA_DB_HDR_SIZE + JFA_DB_WATCH_SIZE;
    /* the cell block follows (in a plain version 2 file after 152 zero
     * bytes where a transitional one has its directory), and the entry
     * sections, which hold the cell tables, start 128-aligned */
    if (b->cells)
        b->size = JFA_DB_CELLS_END;
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        if (b->size > JFA_DB_MAX_FILE)
            break;
        if (b->cells && s == JFA_SEC_USERS)
            b->size = align_cell(b->size);
        b->off[s] = b->size;
        b->size = align8(b->size + b->len[s]);
    }
    if (b->v1_view)
        plan_v1_view(b);
    if (b->size > JFA_DB_MAX_FILE && b->cells)
        return plan_without_cells(b);
    if (b->size > JFA_DB_MAX_FILE)
        return bfail(b, "database would be more than %llu bytes",
                     (unsigned long long)JFA_DB_MAX_FILE);
    b->img = calloc(1, b->size);
    if (!b->img)
        return bfail(b, "out of memory (%zu bytes)", b->size);
    return 0;
}

/* Append s and its NUL at *p. */
static void put_str(unsigned char **p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(*p, s, n);
    *p += n;
}

/* Step 3: the user entries and their index, in input order. */
static void write_users(struct builder *b)
{
    for (size_t i = 0; i < b->n_users; i++) {
        const struct jfa_dbw_user *u = &b->users[i];
        const char *f[5] = {u->name, u->gecos, u->home, u->shell, u->jf_name};
        unsigned char *e = b->img + b->off[JFA_SEC_USERS] + b->uoff[i], *p;

        jfa_put32(e + JFA_DBE_UID, u->uid);
        jfa_put32(e + JFA_DBE_GID, u->gid);
        jfa_put32(e + JFA_DBE_FLAGS, u->flags);
        jfa_put32(e + JFA_DBE_NGIDS, (uint32_t)u->n_gids);
        jfa_put32(e + JFA_DBE_SIZE, (uint32_t)user_entry_size(u));
        p = e + JFA_DBE_STRINGS;
        for (int k = 0; k < 5; k++) {
            jfa_put16(e + JFA_DBE_LENS + 2 * k, (uint32_t)strlen(f[k]));
            put_str(&p, f[k]);
        }
        p = e + align4((size_t)(p - e));
        for (size_t k = 0; k < u->n_gids; k++, p += 4)
            jfa_put32(p, u->gids[k]);
        parse_jfid(u->jf_id, p);
        jfa_put32(b->img + b->off[JFA_SEC2_UINDEX] + 4 * i, b->uoff[i]);
    }
}

/* Step 4: the group entries (member names inline) and their index. */
static void write_groups(struct builder *b)
{
    for (size_t i = 0; i < b->n_groups; i++) {
        const struct jfa_dbw_group *g = &b->groups[i];
        unsigned char *e = b->img + b->off[JFA_SEC_GROUPS] + b->goff[i], *p;
        size_t at = group_members_at(g), name = at + 4 * g->n_members;

        jfa_put32(e + JFA_DBF_GID, g->gid);
        jfa_put32(e + JFA_DBF_FLAGS, g->flags & JFA_DBG_FOLD);
        jfa_put32(e + JFA_DBF_NMEM, (uint32_t)g->n_members);
        jfa_put32(e + JFA_DBF_INDEX, (uint32_t)i);
        jfa_put32(e + JFA_DBF_SIZE, (uint32_t)group_entry_size(g));
        jfa_put16(e + JFA_DBF_NAMELEN, (uint32_t)strlen(g->name));
        p = e + JFA_DBF_NAME;
        put_str(&p, g->name);
        for (size_t k = 0; k < g->n_members; k++) {
            jfa_put32(e + at + 4 * k, (uint32_t)name);
            p = e + name;
            put_str(&p, g->members[k]);
            name = (size_t)(p - e);
        }
        jfa_put32(b->img + b->off[JFA_SEC2_GINDEX] + 4 * i, b->goff[i]);
    }
}

/* Step 4b: the cells, once the entries are written. A cell holds a
 * byte-identical copy of the record's primary entry when it fits, and
 * refers to that copy, else to the primary. */
static void write_cells(struct builder *b)
{
    for (int k = 0; k < 4; k++) {
        const struct cell_table *t = &b->ct[k];
        enum jfa_db_sec s = k < 2 ? JFA_SEC_USERS : JFA_SEC_GROUPS;
        const uint32_t *prim = k < 2 ? b->uoff : b->goff;
        unsigned char *sec = b->img + b->off[s];

        for (uint32_t c = 0; c < t->n; c++) {
            size_t at = t->off + (size_t)c * t->stride, ref;
            uint32_t r = t->rec[c];
            if (r == 0)
                continue;
            ref = prim[r - 1];
            if (rec_size(b, k, r - 1) <= t->stride - 8) {
                memcpy(sec + at + 8, sec + ref, rec_size(b, k, r - 1));
                ref = at + 8;
            }
            jfa_put32(sec + at, t->tag[c]);
            jfa_put32(sec + at + 4, (uint32_t)(ref / 8 + 1));
        }
    }
}

/* ---- step 5: hash indexes, with duplicate detection ---- */

enum key { KEY_UNAME, KEY_UID, KEY_GNAME, KEY_GID };

/* The key of the entry at off of section s, as the table of kind k sees
 * it: a name (with its length) or an id. */
static const char *entry_name(const struct builder *b, enum key k, uint32_t off, size_t *len)
{
    const unsigned char *e;
    if (k == KEY_UNAME) {
        e = b->img + b->off[JFA_SEC_USERS] + off;
        *len = jfa_le16(e + JFA_DBE_LENS);
        return (const char *)e + JFA_DBE_STRINGS;
    }
    e = b->img + b->off[JFA_SEC_GROUPS] + off;
    *len = jfa_le16(e + JFA_DBF_NAMELEN);
    return (const char *)e + JFA_DBF_NAME;
}

/* Insert the entry at off under key (name, or id when name is NULL) into
 * the table of kind k. Returns -1 after inserting, or the entry offset of
 * an existing record with the same key. */
static int64_t insert(struct builder *b, enum key k, const char *name, uint32_t id, uint32_t off)
{
    static const enum jfa_db_sec sec[] = {JFA_SEC_H_UNAME, JFA_SEC_H_UID, JFA_SEC_H_GNAME,
                                          JFA_SEC_H_GID};
    unsigned char *tab = b->img + b->off[sec[k]];
    uint32_t mask = (uint32_t)(b->len[sec[k]] / JFA_DB2_SLOT_SIZE - 1);
    size_t nlen = name ? strlen(name) : 0;
    uint32_t tag = name ? jfa_db_hash_name(name, nlen) : jfa_db_hash_id(id);

    for (uint32_t h = tag & mask;; h = (h + 1) & mask) {
        unsigned char *slot = tab + (size_t)h * JFA_DB2_SLOT_SIZE;
        uint32_t ref = jfa_le32(slot + 4);
        if (ref == 0) {
            jfa_put32(slot, tag);
            jfa_put32(slot + 4, off / 8 + 1);
            return -1;
        }
        if (jfa_le32(slot) != tag)
            continue;
        if (!name)
            return (int64_t)(ref - 1) * 8; /* the id hash is a bijection */
        {
            size_t elen;
            const char *en = entry_name(b, k, (ref - 1) * 8, &elen);
            if (elen == nlen && memcmp(en, name, nlen) == 0)
                return (int64_t)(ref - 1) * 8;
        }
    }
}

static int build_indexes(struct builder *b)
{
    for (size_t i = 0; i < b->n_users; i++) {
        const struct jfa_dbw_user *u = &b->users[i];
        int64_t dup;
        if (insert(b, KEY_UNAME, u->name, 0, b->uoff[i]) >= 0)
            return bfail(b, "duplicate user name %s (record %zu)", u->name, i);
        dup = insert(b, KEY_UID, NULL, u->uid, b->uoff[i]);
        if (dup >= 0)
            return bfail(b, "duplicate uid %u (users %s and %s)", u->uid,
                         (const char *)b->img + b->off[JFA_SEC_USERS] + dup + JFA_DBE_STRINGS,
                         u->name);
    }
    for (size_t i = 0; i < b->n_groups; i++) {
        const struct jfa_dbw_group *g = &b->groups[i];
        int64_t dup;
        if (insert(b, KEY_GNAME, g->name, 0, b->goff[i]) >= 0)
            return bfail(b, "duplicate group name %s (record %zu)", g->name, i);
        dup = insert(b, KEY_GID, NULL, g->gid, b->goff[i]);
        if (dup >= 0)
            return bfail(b, "duplicate gid %u (groups %s and %s)", g->gid,
                         (const char *)b->img + b->off[JFA_SEC_GROUPS] + dup + JFA_DBF_NAME,
                         g->name);
    }
    return 0;
}

/* ---- the version 1 view of a transitional file ---- */

/* Its sections: STRINGS is the byte range of the version 2 entries (their
 * strings are NUL-terminated, so v1 string refs point into them), then
 * the fixed-size v1 records, gid and member arrays and u32-slot tables. */
static void plan_v1_view(struct builder *b)
{
    size_t n_gids = 0, n_mem = 0;

    for (size_t i = 0; i < b->n_users; i++)
        n_gids += b->users[i].n_gids;
    for (size_t i = 0; i < b->n_groups; i++)
        n_mem += b->groups[i].n_members;
    b->off1[JFA_SEC_STRINGS] = b->off[JFA_SEC_USERS];
    b->len1[JFA_SEC_STRINGS] = b->len[JFA_SEC_USERS] + b->len[JFA_SEC_GROUPS];
    b->len1[JFA_SEC_USERS] = b->n_users * JFA_DB_USER_SIZE;
    b->len1[JFA_SEC_GROUPS] = b->n_groups * JFA_DB_GROUP_SIZE;
    b->len1[JFA_SEC_GIDS] = 4 * n_gids;
    b->len1[JFA_SEC_MEMBERS] = JFA_DB_STRREF_SIZE * n_mem;
    b->len1[JFA_SEC_H_UNAME] = b->len1[JFA_SEC_H_UID] = 4 * (size_t)b->us;
    b->len1[JFA_SEC_H_GNAME] = b->len1[JFA_SEC_H_GID] = 4 * (size_t)b->gs;
    for (int s = JFA_SEC_USERS; s < JFA_SEC_COUNT; s++) {
        if (b->size > JFA_DB_MAX_FILE)
            return;
        b->off1[s] = b->size;
        b->size = align8(b->size + b->len1[s]);
    }
}

/* A v1 string ref to the string at byte offset at of section s (USERS or
 * GROUPS entries), of len bytes. */
static void put_ref_v1(struct builder *b, unsigned char *p, enum jfa_db_sec s, size_t at,
                       size_t len)
{
    jfa_put32(p, (uint32_t)(b->off[s] + at - b->off1[JFA_SEC_STRINGS]));
    jfa_put32(p + 4, (uint32_t)len);
}

/* Linear probing of a v1 table of nslots u32 slots (record index + 1);
 * keys are unique (build_indexes checked them). */
static void insert_v1(unsigned char *tab, uint32_t nslots, uint32_t hash, uint32_t idx)
{
    uint32_t h = hash & (nslots - 1);
    while (jfa_le32(tab + 4 * (size_t)h) != 0)
        h = (h + 1) & (nslots - 1);
    jfa_put32(tab + 4 * (size_t)h, idx + 1);
}

/* Step 6 of a transitional file: the version 1 records and tables. */
static void write_v1_view(struct builder *b)
{
    unsigned char *img = b->img;
    size_t g = 0, m = 0;

    for (size_t i = 0; i < b->n_users; i++) {
        const struct jfa_dbw_user *u = &b->users[i];
        const char *f[5] = {u->name, u->gecos, u->home, u->shell, u->jf_name};
        unsigned char *r = img + b->off1[JFA_SEC_USERS] + i * JFA_DB_USER_SIZE;
        const unsigned char *e = img + b->off[JFA_SEC_USERS] + b->uoff[i];
        size_t at = b->uoff[i] + JFA_DBE_STRINGS;

        jfa_put32(r + JFA_DBU_OFF_UID, u->uid);
        jfa_put32(r + JFA_DBU_OFF_GID, u->gid);
        jfa_put32(r + JFA_DBU_OFF_FLAGS, u->flags);
        jfa_put32(r + JFA_DBU_OFF_NGIDS, (uint32_t)u->n_gids);
        jfa_put32(r + JFA_DBU_OFF_GIDX, (uint32_t)g);
        for (int k = 0; k < 5; k++) {
            put_ref_v1(b, r + JFA_DBU_OFF_NAME + 8 * k, JFA_SEC_USERS, at, strlen(f[k]));
            at += strlen(f[k]) + 1;
        }
        /* the Id: the last 16 bytes of the entry */
        memcpy(r + JFA_DBU_OFF_JFID, e + jfa_le32(e + JFA_DBE_SIZE) - 16, 16);
        for (size_t k = 0; k < u->n_gids; k++, g++)
            jfa_put32(img + b->off1[JFA_SEC_GIDS] + 4 * g, u->gids[k]);
        insert_v1(img + b->off1[JFA_SEC_H_UNAME], b->us, jfa_db_hash_name(u->name, strlen(u->name)),
                  (uint32_t)i);
        insert_v1(img + b->off1[JFA_SEC_H_UID], b->us, jfa_db_hash_id(u->uid), (uint32_t)i);
    }
    for (size_t i = 0; i < b->n_groups; i++) {
        const struct jfa_dbw_group *gr = &b->groups[i];
        unsigned char *r = img + b->off1[JFA_SEC_GROUPS] + i * JFA_DB_GROUP_SIZE;
        const unsigned char *e = img + b->off[JFA_SEC_GROUPS] + b->goff[i];
        size_t at = group_members_at(gr);

        jfa_put32(r + JFA_DBG_OFF_GID, gr->gid);
        jfa_put32(r + JFA_DBG_OFF_NMEM, (uint32_t)gr->n_members);
        jfa_put32(r + JFA_DBG_OFF_MIDX, (uint32_t)m);
        put_ref_v1(b, r + JFA_DBG_OFF_NAME, JFA_SEC_GROUPS, b->goff[i] + JFA_DBF_NAME,
                   strlen(gr->name));
        jfa_put32(r + JFA_DBG_OFF_FLAGS, gr->flags & JFA_DBG_FOLD);
        for (size_t k = 0; k < gr->n_members; k++, m++)
            put_ref_v1(b, img + b->off1[JFA_SEC_MEMBERS] + JFA_DB_STRREF_SIZE * m, JFA_SEC_GROUPS,
                       b->goff[i] + jfa_le32(e + at + 4 * k), strlen(gr->members[k]));
        insert_v1(img + b->off1[JFA_SEC_H_GNAME], b->gs,
                  jfa_db_hash_name(gr->name, strlen(gr->name)), (uint32_t)i);
        insert_v1(img + b->off1[JFA_SEC_H_GID], b->gs, jfa_db_hash_id(gr->gid), (uint32_t)i);
    }
}

/* Step 7: header (with the version 1 view: version 1, its section table,
 * and the version 2 directory), watch block (unmarked) and checksum. */
static void write_header(struct builder *b)
{
    unsigned char *img = b->img;
    const size_t *off = b->v1_view ? b->off1 : b->off, *len = b->v1_view ? b->len1 : b->len;

    memcpy(img + JFA_DBH_MAGIC, JFA_DB_MAGIC, JFA_DB_MAGIC_LEN);
    jfa_put32(img + JFA_DBH_VERSION, b->v1_view ? JFA_DB_VERSION_1 : JFA_DB_VERSION);
    jfa_put32(img + JFA_DBH_HDRSIZE, JFA_DB_HDR_SIZE);
    jfa_put64(img + JFA_DBH_FILESIZE, b->size);
    jfa_put64(img + JFA_DBH_GENERATION, b->generation);
    jfa_put32(img + JFA_DBH_NUSERS, (uint32_t)b->n_users);
    jfa_put32(img + JFA_DBH_NGROUPS, (uint32_t)b->n_groups);
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        jfa_put64(img + JFA_DBH_SECTIONS + 16 * s, off[s]);
        jfa_put64(img + JFA_DBH_SECTIONS + 16 * s + 8, len[s]);
    }
    memcpy(img + JFA_DB_WATCH_OFF, JFA_DB_WATCH_TAG, JFA_DB_WATCH_TAG_LEN);
    jfa_put32(img + JFA_DBW_REPLACED, 0);
    if (b->v1_view) {
        memcpy(img + JFA_DB_DIR_OFF, JFA_DB_DIR_TAG, JFA_DB_DIR_TAG_LEN);
        jfa_put32(img + JFA_DB_DIR_OFF + 4, JFA_DB_VERSION);
        for (int s = 0; s < JFA_SEC_COUNT; s++) {
            jfa_put64(img + JFA_DB_DIR_SECTIONS + 16 * s, b->off[s]);
            jfa_put64(img + JFA_DB_DIR_SECTIONS + 16 * s + 8, b->len[s]);
        }
    }
    if (b->cells) {
        memcpy(img + JFA_DB_CELLS_OFF, JFA_DB_CELLS_TAG, JFA_DB_CELLS_TAG_LEN);
        jfa_put32(img + JFA_DB_CELLS_OFF + 4, JFA_DB_CELLS_VERSION);
        for (int k = 0; k < 4; k++) {
            const struct cell_table *t = &b->ct[k];
            unsigned char *p = img + JFA_DB_CELLS_TABLES + JFA_DB_CELLS_ENTRY * k;
            enum jfa_db_sec s = k < 2 ? JFA_SEC_USERS : JFA_SEC_GROUPS;
            if (t->n == 0)
                continue;
            jfa_put64(p, b->off[s] + t->off);
            jfa_put64(p + 8, (uint64_t)t->n * t->stride);
            jfa_put32(p + 16, t->stride);
        }
    }
    jfa_put64(img + JFA_DBH_CHECKSUM, jfa_db_image_checksum(img, b->size, 1));
}

int jfa_db_build_flags(const struct jfa_dbw_user *users, size_t n_users,
                       const struct jfa_dbw_group *groups, size_t n_groups, uint64_t generation,
                       unsigned flags, unsigned char **out, size_t *out_len, char *err,
                       size_t errlen)
{
    struct builder b = {.err = err,
                        .errlen = errlen,
                        .users = users,
                        .groups = groups,
                        .n_users = n_users,
                        .n_groups = n_groups,
                        .generation = generation,
                        .v1_view = !(flags & JFA_DBW_NO_V1_VIEW),
                        .cells = !(flags & JFA_DBW_NO_CELLS)};
    int rc = -1;

    *out = NULL;
    *out_len = 0;
    if (err && errlen)
        err[0] = '\0';
    if (check_input(&b) != 0 || plan_layout(&b) != 0)
        goto out;
    write_users(&b);
    write_groups(&b);
    write_cells(&b);
    if (build_indexes(&b) != 0)
        goto out;
    if (b.v1_view)
        write_v1_view(&b);
    write_header(&b);
    *out = b.img;
    *out_len = b.size;
    b.img = NULL;
    rc = 0;
out:
    free(b.img);
    free(b.uoff);
    free(b.goff);
    free_cells(&b);
    return rc;
}

int jfa_db_build(const struct jfa_dbw_user *users, size_t n_users,
                 const struct jfa_dbw_group *groups, size_t n_groups, uint64_t generation,
                 unsigned char **out, size_t *out_len, char *err, size_t errlen)
{
    return jfa_db_build_flags(users, n_users, groups, n_groups, generation, 0, out, out_len, err,
                              errlen);
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
        (jfa_le32(h + JFA_DBH_VERSION) != JFA_DB_VERSION &&
         jfa_le32(h + JFA_DBH_VERSION) != JFA_DB_VERSION_1) ||
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
