/*
 * lib/ledger.c - the UID/GID ledger (state_dir/private/ledger).
 *
 * Owns: parsing and serialising the ledger text format described in
 * ledger.h, the in-memory indexes (ids in use, users by Id), and the
 * deterministic id allocator, and the name claims (who a login name
 * belongs to, for good). Parse errors are always fatal and name file:line:
 * a ledger is never silently reset, since that would change UIDs or hand
 * a name over.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "db_format.h"
#include "fileutil.h"
#include "jfjson.h"
#include "log.h"
#include "ledger.h"

#define HASH_PREFIX "jellyfin-auth uid" /* followed by a NUL byte in the hash input */

void jfa_ledger_init(struct jfa_ledger *l)
{
    memset(l, 0, sizeof(*l));
}

void jfa_ledger_free(struct jfa_ledger *l)
{
    free(l->users);
    free(l->groups);
    free(l->claims);
    free(l->overrides);
    free(l->id_slots);
    free(l->user_slots);
    free(l->claim_slots);
    jfa_ledger_init(l);
}

/* ---- indexes ---------------------------------------------------------- */

/* The users database's hash functions (db_format.h): FNV-1a 32 for
 * strings, lowbias32 for ids. */
static uint32_t hash_str(const char *s)
{
    return jfa_db_hash_name(s, strlen(s));
}

static void idset_put(uint32_t *slots, size_t cap, uint32_t id)
{
    size_t i = jfa_db_hash_id(id) & (cap - 1);

    while (slots[i] != 0 && slots[i] != id)
        i = (i + 1) & (cap - 1);
    slots[i] = id;
}

bool jfa_ledger_id_used(const struct jfa_ledger *l, uint32_t id)
{
    size_t i, n;

    if (l->id_cap == 0 || id == 0)
        return false;
    i = jfa_db_hash_id(id) & (l->id_cap - 1);
    for (n = 0; n < l->id_cap && l->id_slots[i] != 0; n++) {
        if (l->id_slots[i] == id)
            return true;
        i = (i + 1) & (l->id_cap - 1);
    }
    return false;
}

/* Add id to the in-use set; -1 on out of memory. */
static int idset_add(struct jfa_ledger *l, uint32_t id)
{
    if ((l->id_count + 1) * 2 > l->id_cap) {
        size_t ncap = l->id_cap ? l->id_cap * 2 : 64, i;
        uint32_t *ns = calloc(ncap, sizeof(*ns));

        if (ns == NULL)
            return -1;
        for (i = 0; i < l->id_cap; i++)
            if (l->id_slots[i] != 0)
                idset_put(ns, ncap, l->id_slots[i]);
        free(l->id_slots);
        l->id_slots = ns;
        l->id_cap = ncap;
    }
    idset_put(l->id_slots, l->id_cap, id);
    l->id_count++;
    return 0;
}

static void userix_put(uint32_t *slots, size_t cap, const struct jfa_ledger_user *users, size_t idx)
{
    size_t i = hash_str(users[idx].id) & (cap - 1);

    while (slots[i] != 0)
        i = (i + 1) & (cap - 1);
    slots[i] = (uint32_t)(idx + 1);
}

ssize_t jfa_ledger_find_user(const struct jfa_ledger *l, const char *id)
{
    size_t i, n;

    if (l->user_cap == 0)
        return -1;
    i = hash_str(id) & (l->user_cap - 1);
    for (n = 0; n < l->user_cap && l->user_slots[i] != 0; n++) {
        size_t idx = l->user_slots[i] - 1;
        if (strcmp(l->users[idx].id, id) == 0)
            return (ssize_t)idx;
        i = (i + 1) & (l->user_cap - 1);
    }
    return -1;
}

ssize_t jfa_ledger_find_group(const struct jfa_ledger *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n_groups; i++)
        if (strcmp(l->groups[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

/* ---- entries ---------------------------------------------------------- */

ssize_t jfa_ledger_add_user(struct jfa_ledger *l, const char *id, uint32_t uid, const char *name,
                            int64_t now, char *err, size_t errlen)
{
    struct jfa_ledger_user *u;

    if (!jfa_guid_is_n(id)) {
        jfa_set_err(err, errlen, "invalid user Id");
        return -1;
    }
    if (uid == 0 || jfa_ledger_id_used(l, uid)) {
        jfa_set_err(err, errlen, "id %" PRIu32 " is already in the ledger", uid);
        return -1;
    }
    if (jfa_ledger_find_user(l, id) >= 0) {
        jfa_set_err(err, errlen, "user Id %s is already in the ledger", id);
        return -1;
    }
    if (name != NULL && name[0] != '\0' && !jfa_name_valid(name)) {
        jfa_set_err(err, errlen, "invalid login name");
        return -1;
    }
    if (l->n_users == l->cap_users) {
        size_t ncap = l->cap_users ? l->cap_users * 2 : 64;
        struct jfa_ledger_user *nu = realloc(l->users, ncap * sizeof(*nu));
        if (nu == NULL)
            goto oom;
        l->users = nu;
        l->cap_users = ncap;
    }
    if ((l->n_users + 1) * 2 > l->user_cap) {
        size_t ncap = l->user_cap ? l->user_cap * 2 : 128, i;
        uint32_t *ns = calloc(ncap, sizeof(*ns));
        if (ns == NULL)
            goto oom;
        for (i = 0; i < l->n_users; i++)
            userix_put(ns, ncap, l->users, i);
        free(l->user_slots);
        l->user_slots = ns;
        l->user_cap = ncap;
    }
    if (idset_add(l, uid) != 0)
        goto oom;
    u = &l->users[l->n_users];
    memset(u, 0, sizeof(*u));
    memcpy(u->id, id, 33);
    u->uid = uid;
    if (name != NULL)
        snprintf(u->name, sizeof(u->name), "%s", name);
    u->first_seen = now;
    u->last_seen = now;
    userix_put(l->user_slots, l->user_cap, l->users, l->n_users);
    return (ssize_t)l->n_users++;
oom:
    jfa_set_err(err, errlen, "out of memory");
    return -1;
}

ssize_t jfa_ledger_add_group(struct jfa_ledger *l, const char *name, uint32_t gid, int64_t now,
                             char *err, size_t errlen)
{
    struct jfa_ledger_group *g;

    if (!jfa_name_valid(name)) {
        jfa_set_err(err, errlen, "invalid group name");
        return -1;
    }
    if (gid == 0 || jfa_ledger_id_used(l, gid)) {
        jfa_set_err(err, errlen, "id %" PRIu32 " is already in the ledger", gid);
        return -1;
    }
    if (jfa_ledger_find_group(l, name) >= 0) {
        jfa_set_err(err, errlen, "group %s is already in the ledger", name);
        return -1;
    }
    if (l->n_groups == l->cap_groups) {
        size_t ncap = l->cap_groups ? l->cap_groups * 2 : 4;
        struct jfa_ledger_group *ng = realloc(l->groups, ncap * sizeof(*ng));
        if (ng == NULL)
            goto oom;
        l->groups = ng;
        l->cap_groups = ncap;
    }
    if (idset_add(l, gid) != 0)
        goto oom;
    g = &l->groups[l->n_groups];
    memset(g, 0, sizeof(*g));
    snprintf(g->name, sizeof(g->name), "%s", name);
    g->gid = gid;
    g->first_seen = now;
    return (ssize_t)l->n_groups++;
oom:
    jfa_set_err(err, errlen, "out of memory");
    return -1;
}

struct name_ix {
    const char *name;
    size_t idx;
};

static int cmp_name_ix(const void *a, const void *b)
{
    const struct name_ix *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int jfa_ledger_assign_names(struct jfa_ledger *l, const size_t *idx, const char *const *names,
                            size_t n, int64_t now, char *err, size_t errlen)
{
    struct name_ix *ix = calloc(l->n_users + 1, sizeof(*ix));
    size_t m = 0, i;
    int ret = -1;

    if (ix == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    /* never hand a claimed name to another Id: check all before changing any */
    for (i = 0; i < n; i++) {
        ssize_t ci = jfa_ledger_find_claim(l, names[i]);
        if (ci >= 0 && strcmp(l->claims[ci].id, l->users[idx[i]].id) != 0) {
            jfa_set_err(err, errlen, "login name %s is claimed by Jellyfin user Id %s, not %s",
                        names[i], l->claims[ci].id, l->users[idx[i]].id);
            free(ix);
            return -1;
        }
    }
    /* the names held before any change, sorted: who has to give one up */
    for (i = 0; i < l->n_users; i++) {
        if (!l->users[i].deleted && l->users[i].name[0] != '\0') {
            ix[m].name = l->users[i].name;
            ix[m].idx = i;
            m++;
        }
    }
    /* ix[].name points into the entries and may change below: copy first */
    for (i = 0; i < m; i++) {
        char *dup = strdup(ix[i].name);
        if (dup == NULL) {
            m = i;
            jfa_set_err(err, errlen, "out of memory");
            goto out;
        }
        ix[i].name = dup;
    }
    qsort(ix, m, sizeof(*ix), cmp_name_ix);
    for (i = 0; i < n; i++) {
        struct name_ix key = {names[i], 0};
        struct name_ix *hit = bsearch(&key, ix, m, sizeof(*ix), cmp_name_ix);
        struct jfa_ledger_user *u = &l->users[idx[i]];

        if (hit != NULL) {
            /* widen to the run of equal names (at most one active holder,
             * but be safe), then take the name from the others: only
             * possible when the administrator released it */
            struct name_ix *lo = hit, *hi = hit;
            while (lo > ix && strcmp(lo[-1].name, names[i]) == 0)
                lo--;
            while (hi + 1 < ix + m && strcmp(hi[1].name, names[i]) == 0)
                hi++;
            for (; lo <= hi; lo++) {
                struct jfa_ledger_user *o = &l->users[lo->idx];
                if (lo->idx != idx[i] && strcmp(o->name, names[i]) == 0)
                    o->name[0] = '\0';
            }
        }
        snprintf(u->name, sizeof(u->name), "%s", names[i]);
        if (jfa_ledger_find_claim(l, names[i]) < 0 &&
            jfa_ledger_add_claim(l, names[i], u->id, now, err, errlen) < 0)
            goto out;
    }
    ret = 0;
out:
    for (i = 0; i < m; i++)
        free((char *)ix[i].name);
    free(ix);
    return ret;
}

/* ---- name claims -------------------------------------------------------- */

static void claimix_put(uint32_t *slots, size_t cap, const struct jfa_ledger_claim *claims,
                        size_t idx)
{
    size_t i = hash_str(claims[idx].name) & (cap - 1);

    while (slots[i] != 0)
        i = (i + 1) & (cap - 1);
    slots[i] = (uint32_t)(idx + 1);
}

/* (Re)build the claim index with room for at least `want` claims. */
static int claimix_rebuild(struct jfa_ledger *l, size_t want)
{
    size_t ncap = l->claim_cap ? l->claim_cap : 128, i;
    uint32_t *ns;

    while (want * 2 > ncap)
        ncap *= 2;
    ns = calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return -1;
    for (i = 0; i < l->n_claims; i++)
        claimix_put(ns, ncap, l->claims, i);
    free(l->claim_slots);
    l->claim_slots = ns;
    l->claim_cap = ncap;
    return 0;
}

ssize_t jfa_ledger_find_claim(const struct jfa_ledger *l, const char *name)
{
    size_t i, n;

    if (l->claim_cap == 0)
        return -1;
    i = hash_str(name) & (l->claim_cap - 1);
    for (n = 0; n < l->claim_cap && l->claim_slots[i] != 0; n++) {
        size_t idx = l->claim_slots[i] - 1;
        if (strcmp(l->claims[idx].name, name) == 0)
            return (ssize_t)idx;
        i = (i + 1) & (l->claim_cap - 1);
    }
    return -1;
}

ssize_t jfa_ledger_add_claim(struct jfa_ledger *l, const char *name, const char *id, int64_t now,
                             char *err, size_t errlen)
{
    struct jfa_ledger_claim *c;
    ssize_t held;

    if (!jfa_name_valid(name)) {
        jfa_set_err(err, errlen, "invalid login name");
        return -1;
    }
    if (jfa_ledger_find_user(l, id) < 0) {
        jfa_set_err(err, errlen, "name %s: user Id %s has no user entry", name, id);
        return -1;
    }
    held = jfa_ledger_find_claim(l, name);
    if (held >= 0) {
        jfa_set_err(err, errlen, "name %s is already claimed by Id %s", name, l->claims[held].id);
        return -1;
    }
    if (l->n_claims == l->cap_claims) {
        size_t ncap = l->cap_claims ? l->cap_claims * 2 : 64;
        struct jfa_ledger_claim *nc = realloc(l->claims, ncap * sizeof(*nc));
        if (nc == NULL)
            goto oom;
        l->claims = nc;
        l->cap_claims = ncap;
    }
    if ((l->n_claims + 1) * 2 > l->claim_cap && claimix_rebuild(l, l->n_claims + 1) != 0)
        goto oom;
    c = &l->claims[l->n_claims];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    memcpy(c->id, id, 33);
    c->first_seen = now;
    claimix_put(l->claim_slots, l->claim_cap, l->claims, l->n_claims);
    return (ssize_t)l->n_claims++;
oom:
    jfa_set_err(err, errlen, "out of memory");
    return -1;
}

int jfa_ledger_release_name(struct jfa_ledger *l, const char *name, char *err, size_t errlen)
{
    ssize_t ci = jfa_ledger_find_claim(l, name);

    if (ci < 0) {
        jfa_set_err(err, errlen, "name %s is not claimed", name);
        return -1;
    }
    l->claims[ci] = l->claims[l->n_claims - 1];
    l->n_claims--;
    /* open addressing: rebuild rather than delete in place */
    if (claimix_rebuild(l, l->n_claims) != 0) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* ---- overrides ------------------------------------------------------ */

ssize_t jfa_ledger_find_override(const struct jfa_ledger *l, const char *id)
{
    for (size_t i = 0; i < l->n_overrides; i++)
        if (strcmp(l->overrides[i].id, id) == 0)
            return (ssize_t)i;
    return -1;
}

ssize_t jfa_ledger_find_override_name(const struct jfa_ledger *l, const char *name)
{
    for (size_t i = 0; i < l->n_overrides; i++)
        if (strcmp(l->overrides[i].name, name) == 0)
            return (ssize_t)i;
    return -1;
}

int jfa_ledger_set_override(struct jfa_ledger *l, const char *id, const char *name, int64_t now,
                            char *err, size_t errlen)
{
    struct jfa_ledger_override *o;
    ssize_t oi;

    if (!jfa_guid_is_n(id)) {
        jfa_set_err(err, errlen, "invalid user Id");
        return -1;
    }
    if (!jfa_name_valid(name)) {
        jfa_set_err(err, errlen, "invalid login name");
        return -1;
    }
    oi = jfa_ledger_find_override_name(l, name);
    if (oi >= 0 && strcmp(l->overrides[oi].id, id) != 0) {
        jfa_set_err(err, errlen, "login name %s is already the override of Id %s", name,
                    l->overrides[oi].id);
        return -1;
    }
    oi = jfa_ledger_find_override(l, id);
    if (oi < 0) {
        if (l->n_overrides == l->cap_overrides) {
            size_t ncap = l->cap_overrides ? l->cap_overrides * 2 : 8;
            struct jfa_ledger_override *no = realloc(l->overrides, ncap * sizeof(*no));
            if (no == NULL) {
                jfa_set_err(err, errlen, "out of memory");
                return -1;
            }
            l->overrides = no;
            l->cap_overrides = ncap;
        }
        oi = (ssize_t)l->n_overrides++;
    }
    o = &l->overrides[oi];
    memset(o, 0, sizeof(*o));
    memcpy(o->id, id, 33);
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->set_time = now;
    return 0;
}

int jfa_ledger_unset_override(struct jfa_ledger *l, const char *id)
{
    ssize_t oi = jfa_ledger_find_override(l, id);

    if (oi < 0)
        return -1;
    l->overrides[oi] = l->overrides[l->n_overrides - 1];
    l->n_overrides--;
    return 0;
}

enum jfa_claim_state jfa_ledger_claim_state(const struct jfa_ledger *l, size_t ci)
{
    ssize_t ui = jfa_ledger_find_user(l, l->claims[ci].id);

    if (ui < 0 || l->users[ui].deleted)
        return JFA_CLAIM_DELETED;
    if (strcmp(l->users[ui].name, l->claims[ci].name) == 0)
        return JFA_CLAIM_ACTIVE;
    return JFA_CLAIM_RENAMED;
}

const char *jfa_claim_state_str(enum jfa_claim_state st)
{
    switch (st) {
    case JFA_CLAIM_ACTIVE:
        return "active";
    case JFA_CLAIM_DELETED:
        return "deleted";
    case JFA_CLAIM_RENAMED:
        return "renamed-away";
    }
    return "?";
}

/*
 * Version 1 ledgers have no claims: each name a user line holds becomes a
 * claim of that Id. An active holder wins over deleted ones (version 1
 * let a tombstone keep the name an active user holds now); among deleted
 * holders the latest deleted wins (ties: the smaller Id).
 */
static int derive_claims(struct jfa_ledger *l, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < l->n_users; i++) {
        const struct jfa_ledger_user *u = &l->users[i];
        ssize_t ci, hi;
        const struct jfa_ledger_user *h;

        if (u->name[0] == '\0')
            continue;
        ci = jfa_ledger_find_claim(l, u->name);
        if (ci < 0) {
            if (jfa_ledger_add_claim(l, u->name, u->id, u->first_seen, err, errlen) < 0)
                return -1;
            continue;
        }
        hi = jfa_ledger_find_user(l, l->claims[ci].id);
        h = &l->users[hi];
        if (!h->deleted)
            continue; /* at most one active holder (checked before) */
        if (!u->deleted || u->last_seen > h->last_seen ||
            (u->last_seen == h->last_seen && strcmp(u->id, h->id) < 0)) {
            memcpy(l->claims[ci].id, u->id, 33);
            l->claims[ci].first_seen = u->first_seen;
        }
    }
    return 0;
}

/* ---- allocation ------------------------------------------------------- */

static const struct {
    uint32_t lo, hi;
} reserved_ranges[] = {
    {0, 999},                   /* root and system accounts */
    {60001, 60577},             /* systemd: nspawn --private-users=pick below 65536, ... */
    {61184, 65519},             /* systemd DynamicUser= */
    {65534, 65535},             /* nobody, (uid_t)-1 as 16 bit */
    {524288, 1879048191},       /* systemd-nspawn container ranges */
    {2147483648u, 4294967295u}, /* stay below 2^31 */
};

/* If id is reserved, the last id of its range; else 0 (never a range end). */
static uint32_t reserved_end(uint32_t id)
{
    size_t i;

    for (i = 0; i < sizeof(reserved_ranges) / sizeof(reserved_ranges[0]); i++)
        if (id >= reserved_ranges[i].lo && id <= reserved_ranges[i].hi)
            return reserved_ranges[i].hi;
    return 0;
}

bool jfa_ledger_id_reserved(uint32_t id)
{
    return reserved_end(id) != 0;
}

uint32_t jfa_ledger_hash(const char *key, uint32_t min, uint32_t max)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t klen = strlen(key), plen = sizeof(HASH_PREFIX); /* includes the NUL */
    unsigned char buf[256];
    uint64_t v = 0, range;
    int i;

    if (max < min)
        return min;
    if (klen > sizeof(buf) - plen)
        klen = sizeof(buf) - plen;
    memcpy(buf, HASH_PREFIX, plen);
    memcpy(buf + plen, key, klen);
    if (EVP_Digest(buf, plen + klen, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
        return min;
    for (i = 0; i < 8; i++)
        v = (v << 8) | md[i];
    range = (uint64_t)max - min + 1;
    return (uint32_t)(min + v % range);
}

int jfa_ledger_alloc(const struct jfa_ledger *l, const char *key, uint32_t min, uint32_t max,
                     jfa_id_taken_fn taken, void *ctx, uint32_t *out, char *err, size_t errlen)
{
    uint64_t range, tried = 0;
    uint32_t cand;

    if (max < min || min == 0) {
        jfa_set_err(err, errlen, "invalid id range %" PRIu32 "-%" PRIu32, min, max);
        return -1;
    }
    range = (uint64_t)max - min + 1;
    cand = jfa_ledger_hash(key, min, max);
    while (tried < range) {
        uint32_t end = reserved_end(cand);

        if (end != 0 || cand == 0) {
            /* skip the whole reserved range at once (it may be huge) */
            uint32_t last = end < max ? end : max;
            tried += (uint64_t)last - cand + 1;
            cand = last == max ? min : last + 1;
            continue;
        }
        if (!jfa_ledger_id_used(l, cand) && (taken == NULL || !taken(ctx, cand))) {
            *out = cand;
            return 0;
        }
        tried++;
        cand = cand == max ? min : cand + 1;
    }
    jfa_set_err(err, errlen,
                "no free id left in uid_min-uid_max (%" PRIu32 "-%" PRIu32
                "): every id is reserved, in the ledger or used locally; widen the range",
                min, max);
    return -1;
}

ssize_t jfa_ledger_alloc_user(struct jfa_ledger *l, const char *id, const char *name, uint32_t min,
                              uint32_t max, jfa_id_taken_fn taken, void *ctx, int64_t now,
                              char *err, size_t errlen)
{
    uint32_t uid;

    if (jfa_ledger_alloc(l, id, min, max, taken, ctx, &uid, err, errlen) != 0)
        return -1;
    return jfa_ledger_add_user(l, id, uid, name, now, err, errlen);
}

ssize_t jfa_ledger_alloc_group(struct jfa_ledger *l, const char *name, uint32_t min, uint32_t max,
                               jfa_id_taken_fn taken, void *ctx, int64_t now, char *err,
                               size_t errlen)
{
    char key[8 + JFA_NAME_MAX];
    uint32_t gid;

    snprintf(key, sizeof(key), "group:%s", name);
    if (jfa_ledger_alloc(l, key, min, max, taken, ctx, &gid, err, errlen) != 0)
        return -1;
    return jfa_ledger_add_group(l, name, gid, now, err, errlen);
}

/* ---- text format ------------------------------------------------------ */

/* Split line (NUL-terminated, modified) into at most max fields on single
 * spaces; returns the count, or -1 on empty fields / too many. */
static int split_fields(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;

    for (;;) {
        char *sp = strchr(p, ' ');
        if (n == max)
            return -1;
        f[n++] = p;
        if (sp == NULL)
            break;
        *sp = '\0';
        p = sp + 1;
    }
    for (int i = 0; i < n; i++)
        if (f[i][0] == '\0')
            return -1;
    return n;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v = 0;

    if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

static int parse_time(const char *s, int64_t *out)
{
    int64_t v = 0;

    if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return 0;
}

static int cmp_name_ptr(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* At most one active entry may hold a login name. */
static int check_active_names(const struct jfa_ledger *l, const char *name, char *err,
                              size_t errlen)
{
    const char **names = calloc(l->n_users + 1, sizeof(*names));
    size_t n = 0, i;
    int ret = 0;

    if (names == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", name);
        return -1;
    }
    for (i = 0; i < l->n_users; i++)
        if (!l->users[i].deleted && l->users[i].name[0] != '\0')
            names[n++] = l->users[i].name;
    qsort(names, n, sizeof(*names), cmp_name_ptr);
    for (i = 1; i < n; i++) {
        if (strcmp(names[i - 1], names[i]) == 0) {
            jfa_set_err(err, errlen, "%s: login name %s is held by two active users", name,
                        names[i]);
            ret = -1;
            break;
        }
    }
    free(names);
    return ret;
}

int jfa_ledger_parse(struct jfa_ledger *l, const char *buf, size_t len, const char *name, char *err,
                     size_t errlen)
{
    char *copy = NULL, *line, *next;
    size_t lineno = 0, *user_line = NULL, cap_lines = 0;
    int ret = -1, version = 0;
    bool seen_name = false, seen_override = false;
    char sub[256];

    if (memchr(buf, '\0', len) != NULL) {
        jfa_set_err(err, errlen, "%s: contains a NUL byte", name);
        return -1;
    }
    copy = malloc(len + 1);
    if (copy == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", name);
        return -1;
    }
    memcpy(copy, buf, len);
    copy[len] = '\0';
    if (len == 0 || copy[len - 1] != '\n') {
        jfa_set_err(err, errlen, "%s: truncated (no final newline)", name);
        goto out;
    }
    for (line = copy; *line != '\0'; line = next) {
        char *f[8];
        int nf;

        next = strchr(line, '\n');
        *next++ = '\0';
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, JFA_LEDGER_MAGIC_V3) == 0) {
                version = 3;
            } else if (strcmp(line, JFA_LEDGER_MAGIC) == 0) {
                version = 2;
            } else if (strcmp(line, JFA_LEDGER_MAGIC_V1) == 0) {
                version = 1;
            } else {
                jfa_set_err(err, errlen,
                            "%s:1: not a ledger of version 1, 2 or 3 (expected \"%s\")", name,
                            JFA_LEDGER_MAGIC);
                goto out;
            }
            continue;
        }
        nf = split_fields(line, f, 8);
        if (nf < 1) {
            jfa_set_err(err, errlen, "%s:%zu: malformed line", name, lineno);
            goto out;
        }
        if (strcmp(f[0], "user") == 0) {
            uint32_t uid;
            int64_t first, last;
            bool deleted;
            ssize_t idx;

            if (seen_name || seen_override) {
                jfa_set_err(err, errlen, "%s:%zu: a user entry after the name entries", name,
                            lineno);
                goto out;
            }
            if (nf != 7) {
                jfa_set_err(err, errlen, "%s:%zu: a user entry has 7 fields, found %d", name,
                            lineno, nf);
                goto out;
            }
            if (!jfa_guid_is_n(f[1])) {
                jfa_set_err(err, errlen, "%s:%zu: invalid user Id", name, lineno);
                goto out;
            }
            if (parse_u32(f[2], &uid) != 0 || uid == 0) {
                jfa_set_err(err, errlen, "%s:%zu: invalid uid", name, lineno);
                goto out;
            }
            if (strcmp(f[3], "active") == 0) {
                deleted = false;
            } else if (strcmp(f[3], "deleted") == 0) {
                deleted = true;
            } else {
                jfa_set_err(err, errlen, "%s:%zu: state must be active or deleted", name, lineno);
                goto out;
            }
            if (strcmp(f[4], "-") != 0 && !jfa_name_valid(f[4])) {
                jfa_set_err(err, errlen, "%s:%zu: invalid login name", name, lineno);
                goto out;
            }
            if (parse_time(f[5], &first) != 0 || parse_time(f[6], &last) != 0) {
                jfa_set_err(err, errlen, "%s:%zu: invalid time", name, lineno);
                goto out;
            }
            idx = jfa_ledger_add_user(l, f[1], uid, strcmp(f[4], "-") == 0 ? NULL : f[4], first,
                                      sub, sizeof(sub));
            if (idx < 0) {
                jfa_set_err(err, errlen, "%s:%zu: %s", name, lineno, sub);
                goto out;
            }
            l->users[idx].deleted = deleted;
            l->users[idx].last_seen = last;
            if ((size_t)idx >= cap_lines) {
                size_t ncap = cap_lines ? cap_lines * 2 : 64;
                size_t *nl = realloc(user_line, ncap * sizeof(*nl));
                if (nl == NULL) {
                    jfa_set_err(err, errlen, "%s: out of memory", name);
                    goto out;
                }
                user_line = nl;
                cap_lines = ncap;
            }
            user_line[idx] = lineno;
        } else if (strcmp(f[0], "override") == 0 && version >= 3) {
            int64_t set;

            seen_override = true;
            if (nf != 4) {
                jfa_set_err(err, errlen, "%s:%zu: an override entry has 4 fields, found %d", name,
                            lineno, nf);
                goto out;
            }
            if (!jfa_guid_is_n(f[1]) || !jfa_name_valid(f[2]) || parse_time(f[3], &set) != 0) {
                jfa_set_err(err, errlen, "%s:%zu: invalid override (override ID NAME TIME)", name,
                            lineno);
                goto out;
            }
            if (jfa_ledger_find_override(l, f[1]) >= 0) {
                jfa_set_err(err, errlen, "%s:%zu: a second override for Id %s", name, lineno, f[1]);
                goto out;
            }
            if (jfa_ledger_set_override(l, f[1], f[2], set, sub, sizeof(sub)) != 0) {
                jfa_set_err(err, errlen, "%s:%zu: %s", name, lineno, sub);
                goto out;
            }
        } else if (strcmp(f[0], "name") == 0 && version >= 2) {
            int64_t first;

            if (seen_override) {
                jfa_set_err(err, errlen, "%s:%zu: a name entry after the override entries", name,
                            lineno);
                goto out;
            }
            seen_name = true;
            if (nf != 4) {
                jfa_set_err(err, errlen, "%s:%zu: a name entry has 4 fields, found %d", name,
                            lineno, nf);
                goto out;
            }
            if (!jfa_name_valid(f[1])) {
                jfa_set_err(err, errlen, "%s:%zu: invalid login name", name, lineno);
                goto out;
            }
            if (!jfa_guid_is_n(f[2])) {
                jfa_set_err(err, errlen, "%s:%zu: invalid user Id", name, lineno);
                goto out;
            }
            if (parse_time(f[3], &first) != 0) {
                jfa_set_err(err, errlen, "%s:%zu: invalid time", name, lineno);
                goto out;
            }
            if (jfa_ledger_find_user(l, f[2]) < 0) {
                jfa_set_err(err, errlen, "%s:%zu: name %s: user Id %s has no user entry before it",
                            name, lineno, f[1], f[2]);
                goto out;
            }
            if (jfa_ledger_add_claim(l, f[1], f[2], first, sub, sizeof(sub)) < 0) {
                jfa_set_err(err, errlen, "%s:%zu: %s", name, lineno, sub);
                goto out;
            }
        } else if (strcmp(f[0], "group") == 0) {
            uint32_t gid;
            int64_t first;

            if (nf != 4) {
                jfa_set_err(err, errlen, "%s:%zu: a group entry has 4 fields, found %d", name,
                            lineno, nf);
                goto out;
            }
            if (!jfa_name_valid(f[1])) {
                jfa_set_err(err, errlen, "%s:%zu: invalid group name", name, lineno);
                goto out;
            }
            if (parse_u32(f[2], &gid) != 0 || gid == 0) {
                jfa_set_err(err, errlen, "%s:%zu: invalid gid", name, lineno);
                goto out;
            }
            if (parse_time(f[3], &first) != 0) {
                jfa_set_err(err, errlen, "%s:%zu: invalid time", name, lineno);
                goto out;
            }
            if (jfa_ledger_add_group(l, f[1], gid, first, sub, sizeof(sub)) < 0) {
                jfa_set_err(err, errlen, "%s:%zu: %s", name, lineno, sub);
                goto out;
            }
        } else {
            jfa_set_err(err, errlen, "%s:%zu: unknown entry type", name, lineno);
            goto out;
        }
    }
    if (lineno == 0) {
        jfa_set_err(err, errlen, "%s: empty file", name);
        goto out;
    }
    if (check_active_names(l, name, err, errlen) != 0)
        goto out;
    /* an active user's login name is claimed by that user, if at all */
    for (size_t ui = 0; version >= 2 && ui < l->n_users; ui++) {
        const struct jfa_ledger_user *u = &l->users[ui];
        ssize_t ci;

        if (u->deleted || u->name[0] == '\0')
            continue;
        ci = jfa_ledger_find_claim(l, u->name);
        if (ci >= 0 && strcmp(l->claims[ci].id, u->id) != 0) {
            jfa_set_err(err, errlen,
                        "%s:%zu: active user holds login name %s, which is claimed by Id %s", name,
                        user_line[ui], u->name, l->claims[ci].id);
            goto out;
        }
    }
    if (version == 1 && derive_claims(l, sub, sizeof(sub)) != 0) {
        jfa_set_err(err, errlen, "%s: deriving the name claims: %s", name, sub);
        goto out;
    }
    ret = 0;
out:
    free(user_line);
    free(copy);
    return ret;
}

static int cmp_user(const void *a, const void *b)
{
    const struct jfa_ledger_user *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

static int cmp_group(const void *a, const void *b)
{
    const struct jfa_ledger_group *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int cmp_claim(const void *a, const void *b)
{
    const struct jfa_ledger_claim *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int cmp_override(const void *a, const void *b)
{
    const struct jfa_ledger_override *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

char *jfa_ledger_format(const struct jfa_ledger *l, size_t *len)
{
    /* longest user line: 5 + 33 + 11 + 8 + 33 + 2 * 21 < 160 */
    size_t cap = 64 + (l->n_users + l->n_groups + l->n_claims + l->n_overrides) * 160, used = 0, i;
    char *buf = malloc(cap);
    const struct jfa_ledger_user **us = calloc(l->n_users + 1, sizeof(*us));
    const struct jfa_ledger_group **gs = calloc(l->n_groups + 1, sizeof(*gs));
    const struct jfa_ledger_claim **cs = calloc(l->n_claims + 1, sizeof(*cs));
    const struct jfa_ledger_override **os = NULL;

    if (buf == NULL || us == NULL || gs == NULL || cs == NULL) {
        free(buf);
        buf = NULL;
        goto out;
    }
    for (i = 0; i < l->n_users; i++)
        us[i] = &l->users[i];
    for (i = 0; i < l->n_groups; i++)
        gs[i] = &l->groups[i];
    qsort(us, l->n_users, sizeof(*us), cmp_user);
    qsort(gs, l->n_groups, sizeof(*gs), cmp_group);
    for (i = 0; i < l->n_claims; i++)
        cs[i] = &l->claims[i];
    qsort(cs, l->n_claims, sizeof(*cs), cmp_claim);
    used += (size_t)snprintf(buf + used, cap - used, "%s\n",
                             l->n_overrides > 0 ? JFA_LEDGER_MAGIC_V3 : JFA_LEDGER_MAGIC);
    for (i = 0; i < l->n_groups; i++)
        used += (size_t)snprintf(buf + used, cap - used, "group %s %" PRIu32 " %" PRId64 "\n",
                                 gs[i]->name, gs[i]->gid, gs[i]->first_seen);
    for (i = 0; i < l->n_users; i++)
        used += (size_t)snprintf(
            buf + used, cap - used, "user %s %" PRIu32 " %s %s %" PRId64 " %" PRId64 "\n",
            us[i]->id, us[i]->uid, us[i]->deleted ? "deleted" : "active",
            us[i]->name[0] ? us[i]->name : "-", us[i]->first_seen, us[i]->last_seen);
    for (i = 0; i < l->n_claims; i++)
        used += (size_t)snprintf(buf + used, cap - used, "name %s %s %" PRId64 "\n", cs[i]->name,
                                 cs[i]->id, cs[i]->first_seen);
    os = calloc(l->n_overrides + 1, sizeof(*os));
    if (os == NULL) {
        free(buf);
        buf = NULL;
        goto out;
    }
    for (i = 0; i < l->n_overrides; i++)
        os[i] = &l->overrides[i];
    qsort(os, l->n_overrides, sizeof(*os), cmp_override);
    for (i = 0; i < l->n_overrides; i++)
        used += (size_t)snprintf(buf + used, cap - used, "override %s %s %" PRId64 "\n", os[i]->id,
                                 os[i]->name, os[i]->set_time);
    if (len != NULL)
        *len = used;
out:
    free(us);
    free(gs);
    free(cs);
    free(os);
    return buf;
}

int jfa_ledger_load(struct jfa_ledger *l, const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int ret;

    ret = jfa_read_trusted(path, 077, JFA_LEDGER_MAX_FILE, &buf, &len, err, errlen);
    if (ret != 0)
        return ret == JFA_ABSENT ? JFA_ABSENT : -1;
    ret = jfa_ledger_parse(l, buf, len, path, err, errlen);
    free(buf);
    return ret;
}

int jfa_ledger_save(const struct jfa_ledger *l, const char *path, char *err, size_t errlen)
{
    size_t len = 0;
    char *buf = jfa_ledger_format(l, &len);
    int ret;

    if (buf == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    ret = jfa_write_atomic(path, buf, len, 0600, err, errlen);
    free(buf);
    return ret;
}

/* ---- merge (ledger import) -------------------------------------------- */

/* Which entry of l holds id (user or group), for conflict lines. */
static void id_holder(const struct jfa_ledger *l, uint32_t id, char *buf, size_t len)
{
    for (size_t i = 0; i < l->n_users; i++)
        if (l->users[i].uid == id) {
            snprintf(buf, len, "Jellyfin user Id %s", l->users[i].id);
            return;
        }
    for (size_t i = 0; i < l->n_groups; i++)
        if (l->groups[i].gid == id) {
            snprintf(buf, len, "group %s", l->groups[i].name);
            return;
        }
    snprintf(buf, len, "an entry");
}

int jfa_ledger_merge(struct jfa_ledger *dst, const struct jfa_ledger *src, jfa_id_taken_fn taken,
                     void *ctx, void (*report)(void *rctx, const char *line), void *rctx,
                     size_t *added, char *err, size_t errlen)
{
    char line[512], who[128];
    size_t conflicts = 0, i, n = 0;

#define CONFLICT(...)                                                                              \
    do {                                                                                           \
        snprintf(line, sizeof(line), __VA_ARGS__);                                                 \
        report(rctx, line);                                                                        \
        conflicts++;                                                                               \
    } while (0)

    *added = 0;
    /* 1. check everything */
    for (i = 0; i < src->n_users; i++) {
        const struct jfa_ledger_user *u = &src->users[i];
        ssize_t di = jfa_ledger_find_user(dst, u->id);
        if (di >= 0) {
            if (dst->users[di].uid != u->uid)
                CONFLICT("Jellyfin user Id %s: uid %" PRIu32 " here, %" PRIu32 " in the import",
                         u->id, dst->users[di].uid, u->uid);
            continue;
        }
        if (jfa_ledger_id_reserved(u->uid)) {
            CONFLICT("Jellyfin user Id %s: uid %" PRIu32 " is in a reserved range", u->id, u->uid);
        } else if (jfa_ledger_id_used(dst, u->uid)) {
            id_holder(dst, u->uid, who, sizeof(who));
            CONFLICT("Jellyfin user Id %s: uid %" PRIu32 " is held here by %s", u->id, u->uid, who);
        } else if (taken != NULL && taken(ctx, u->uid)) {
            CONFLICT("Jellyfin user Id %s: uid %" PRIu32 " is a local user or group here", u->id,
                     u->uid);
        }
    }
    for (i = 0; i < src->n_groups; i++) {
        const struct jfa_ledger_group *g = &src->groups[i];
        ssize_t di = jfa_ledger_find_group(dst, g->name);
        if (di >= 0) {
            if (dst->groups[di].gid != g->gid)
                CONFLICT("group %s: gid %" PRIu32 " here, %" PRIu32 " in the import", g->name,
                         dst->groups[di].gid, g->gid);
            continue;
        }
        if (jfa_ledger_id_reserved(g->gid)) {
            CONFLICT("group %s: gid %" PRIu32 " is in a reserved range", g->name, g->gid);
        } else if (jfa_ledger_id_used(dst, g->gid)) {
            id_holder(dst, g->gid, who, sizeof(who));
            CONFLICT("group %s: gid %" PRIu32 " is held here by %s", g->name, g->gid, who);
        } else if (taken != NULL && taken(ctx, g->gid)) {
            CONFLICT("group %s: gid %" PRIu32 " is a local user or group here", g->name, g->gid);
        }
    }
    for (i = 0; i < src->n_claims; i++) {
        const struct jfa_ledger_claim *c = &src->claims[i];
        ssize_t di = jfa_ledger_find_claim(dst, c->name);
        if (di >= 0 && strcmp(dst->claims[di].id, c->id) != 0)
            CONFLICT("login name %s: claimed here by Jellyfin user Id %s, in the import by %s",
                     c->name, dst->claims[di].id, c->id);
    }
    for (i = 0; i < src->n_overrides; i++) {
        const struct jfa_ledger_override *o = &src->overrides[i];
        ssize_t a = jfa_ledger_find_override(dst, o->id);
        ssize_t b = jfa_ledger_find_override_name(dst, o->name);
        if (a >= 0 && strcmp(dst->overrides[a].name, o->name) != 0)
            CONFLICT("override of Jellyfin user Id %s: %s here, %s in the import", o->id,
                     dst->overrides[a].name, o->name);
        else if (b >= 0 && strcmp(dst->overrides[b].id, o->id) != 0)
            CONFLICT("override %s: for Jellyfin user Id %s here, for %s in the import", o->name,
                     dst->overrides[b].id, o->id);
    }
#undef CONFLICT
    if (conflicts > 0)
        return (int)(conflicts > INT32_MAX ? INT32_MAX : conflicts);

    /* 2. apply (nothing above can fail half-way but memory) */
    for (i = 0; i < src->n_groups; i++) {
        const struct jfa_ledger_group *g = &src->groups[i];
        ssize_t ni;
        if (jfa_ledger_find_group(dst, g->name) >= 0)
            continue;
        ni = jfa_ledger_add_group(dst, g->name, g->gid, g->first_seen, err, errlen);
        if (ni < 0)
            return -1;
        n++;
    }
    for (i = 0; i < src->n_users; i++) {
        const struct jfa_ledger_user *u = &src->users[i];
        const char *name = u->name;
        ssize_t ni;
        if (jfa_ledger_find_user(dst, u->id) >= 0)
            continue;
        /* a login name an active entry holds here stays with it */
        for (size_t k = 0; name[0] != '\0' && k < dst->n_users; k++)
            if (!dst->users[k].deleted && strcmp(dst->users[k].name, name) == 0)
                name = "";
        ni = jfa_ledger_add_user(dst, u->id, u->uid, name[0] ? name : NULL, u->first_seen, err,
                                 errlen);
        if (ni < 0)
            return -1;
        dst->users[ni].deleted = u->deleted;
        dst->users[ni].last_seen = u->last_seen;
        n++;
    }
    for (i = 0; i < src->n_claims; i++) {
        const struct jfa_ledger_claim *c = &src->claims[i];
        if (jfa_ledger_find_claim(dst, c->name) >= 0)
            continue;
        if (jfa_ledger_add_claim(dst, c->name, c->id, c->first_seen, err, errlen) < 0)
            return -1;
        n++;
    }
    for (i = 0; i < src->n_overrides; i++) {
        const struct jfa_ledger_override *o = &src->overrides[i];
        if (jfa_ledger_find_override(dst, o->id) >= 0)
            continue;
        if (jfa_ledger_set_override(dst, o->id, o->name, o->set_time, err, errlen) != 0)
            return -1;
        n++;
    }
    *added = n;
    return 0;
}
