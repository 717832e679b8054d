/*
 * lib/syncplan.c - the sync plan: which Jellyfin users get which login
 * name, uid and groups.
 *
 * Owns: jfa_sync_plan (sync.h) and its numbered steps, each a static
 * function below: name mapping and overrides, name claims, collisions,
 * names the host already uses, ledger tombstones and reactivations, the
 * uid range, the configured groups, new allocations, held names, the
 * database contents and the omissions. Pure computation over the server's
 * list, the ledger (updated in memory) and a jfa_local oracle; it reads and
 * writes no file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikey.h"
#include "db.h"
#include "db_format.h"
#include "log.h"
#include "sync.h"

struct cand {
    const struct jfa_user *u;
    char name[JFA_NAME_MAX + 1];
    char *reason;     /* NULL: included */
    ssize_t lidx;     /* ledger entry, -1 none */
    bool mapped;      /* name is the valid mapping of the Jellyfin name */
    const char *note; /* how the name was chosen, when not by mapping */
};

struct plan_store {
    struct cand *c;
    size_t n;
    char **homes, **gecos;
    uint32_t *gids; /* 2 per included user */
    const char **users_members, **admin_members;
    char users_name[JFA_NAME_MAX + 1], admin_name[JFA_NAME_MAX + 1];
};

static int omit(struct cand *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int omit(struct cand *c, const char *fmt, ...)
{
    va_list ap;
    char *r = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&r, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    free(c->reason);
    c->reason = r;
    return 0;
}

/* qsort_r comparators over candidate indexes; arg: the candidates */
static int cmp_by_id(const void *a, const void *b, void *arg)
{
    const struct cand *c = arg;
    const size_t *x = a, *y = b;
    return strcmp(c[*x].u->id, c[*y].u->id);
}

static int cmp_by_name(const void *a, const void *b, void *arg)
{
    const struct cand *c = arg;
    const size_t *x = a, *y = b;
    int r = strcmp(c[*x].name, c[*y].name);
    return r ? r : strcmp(c[*x].u->id, c[*y].u->id);
}

/* The candidate with this Id (order: indexes sorted by Id), or NULL. */
static const struct cand *cand_by_id(const struct cand *c, const size_t *order, size_t n,
                                     const char *id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c[order[mid]].u->id, id);
        if (r == 0)
            return &c[order[mid]];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct taken_ctx {
    const struct jfa_local *local;
    bool failed;
};

static bool taken_cb(void *ctx, uint32_t id)
{
    struct taken_ctx *t = ctx;
    int r = t->local->id_taken(t->local->ctx, id);

    if (r < 0) {
        t->failed = true;
        return true;
    }
    return r == 1;
}

void jfa_sync_plan_free(struct jfa_sync_plan *plan)
{
    struct plan_store *st = plan->priv;
    size_t i;

    if (st != NULL) {
        for (i = 0; i < st->n; i++)
            free(st->c[i].reason);
        for (i = 0; st->homes != NULL && i < plan->n_users; i++)
            free(st->homes[i]);
        for (i = 0; st->gecos != NULL && i < plan->n_users; i++)
            free(st->gecos[i]);
        free(st->homes);
        free(st->gecos);
        free(st->gids);
        free(st->users_members);
        free(st->admin_members);
        free(st->c);
        free(st);
    }
    free(plan->users);
    free(plan->notes);
    free(plan->groups);
    jfa_omissions_free(plan->omitted, plan->n_omitted);
    memset(plan, 0, sizeof(*plan));
}

/* Resolve one of the configured groups: the host's gid, or ours from the
 * ledger (allocated once). */
static int plan_group(const struct jfa_config *cfg, struct jfa_ledger *ledger,
                      const struct jfa_local *local, const char *name, int64_t now, uint32_t *gid,
                      bool *is_local, char *err, size_t errlen)
{
    struct taken_ctx tc = {local, false};
    ssize_t li;
    int r;

    *gid = 0;
    *is_local = false;
    if (name == NULL || name[0] == '\0')
        return 0;
    r = local->group_gid(local->ctx, name, gid);
    if (r < 0) {
        jfa_set_err(err, errlen, "group %s: local lookup failed", name);
        return -1;
    }
    if (r == 1) {
        *is_local = true;
        return 0;
    }
    li = jfa_ledger_find_group(ledger, name);
    if (li < 0) {
        char sub[JFA_ERRLEN];
        li = jfa_ledger_alloc_group(ledger, name, cfg->uid_min, cfg->uid_max, taken_cb, &tc, now,
                                    sub, sizeof(sub));
        if (tc.failed) {
            jfa_set_err(err, errlen, "group %s: local id lookup failed", name);
            return -1;
        }
        if (li < 0) {
            jfa_set_err(err, errlen, "group %s: %s", name, sub);
            return -1;
        }
    }
    if (jfa_ledger_id_reserved(ledger->groups[li].gid)) {
        /* only a crafted or hand-edited ledger has one */
        jfa_set_err(err, errlen,
                    "group %s: gid %" PRIu32 " (from the ledger) is in a reserved range; "
                    "refusing to sync",
                    name, ledger->groups[li].gid);
        return -1;
    }
    *gid = ledger->groups[li].gid;
    return 0;
}

/* One plan in the making: the inputs, the candidates and the scratch
 * arrays the steps share. */
struct plan_ctx {
    const struct jfa_config *cfg;
    struct jfa_ledger *ledger;
    const struct jfa_local *local;
    int64_t now;
    const char *admin_group; /* NULL when equal to users_group */
    struct jfa_sync_plan *plan;
    struct plan_store *st;
    size_t n;      /* candidates: one per listed user */
    size_t *order; /* candidate indexes sorted by Id */
    size_t *inc;   /* included candidates sorted by name (steps 3 and 9) */
    size_t n_inc;
    char *err;
    size_t errlen;
};

static int plan_oom(struct plan_ctx *p)
{
    jfa_set_err(p->err, p->errlen, "out of memory");
    return -1;
}

/* The included candidates (no reason yet), sorted by name, into p->inc. */
static void collect_included(struct plan_ctx *p)
{
    size_t i;

    for (i = 0, p->n_inc = 0; i < p->n; i++)
        if (p->st->c[i].reason == NULL)
            p->inc[p->n_inc++] = i;
    qsort_r(p->inc, p->n_inc, sizeof(*p->inc), cmp_by_name, p->st->c);
}

/*
 * The Jellyfin name goes into the database as it is (the PAM module sends it
 * back to the server) and, sanitised, as the gecos; the database refuses
 * ':', a newline and strings over JFA_DB_MAX_STR bytes, and a refusal there
 * fails the whole sync. Jellyfin's name rule lets a user rename itself to a
 * name ending in a newline (.NET's '$') and does not enforce its length, and
 * a user with an override ('names set') skips the mapping that would refuse
 * such names. Returns false, with why, for a name the database cannot hold.
 */
static bool jf_name_storable(const char *s, char *why, size_t whylen)
{
    size_t i, n = strlen(s);

    if (n > JFA_DB_MAX_STR) {
        snprintf(why, whylen, "the Jellyfin name cannot be stored: %zu bytes, more than %u", n,
                 JFA_DB_MAX_STR);
        return false;
    }
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == ':') {
            snprintf(why, whylen,
                     "the Jellyfin name cannot be stored: character U+%04X at byte %zu",
                     (unsigned)ch, i);
            return false;
        }
    }
    return true;
}

/* 1. one entry per Id; map the names */
static int step_map_names(struct plan_ctx *p)
{
    const struct jfa_config *cfg = p->cfg;
    struct jfa_ledger *ledger = p->ledger;
    struct plan_store *st = p->st;
    size_t i;

    for (i = 0; i < p->n; i++) {
        struct cand *c = &st->c[i];
        char why[256];
        ssize_t oi;
        enum jfa_name_status st_name;

        c->lidx = -1;
        if (c->u->name == NULL || !jfa_hex32(c->u->id)) {
            if (omit(c, "the server sent no valid Id or name") != 0)
                return plan_oom(p);
            continue;
        }
        c->lidx = jfa_ledger_find_user(ledger, c->u->id);
        /* listed (so not a tombstone), but left out */
        if (!jf_name_storable(c->u->name, why, sizeof(why))) {
            if (omit(c, "%s", why) != 0)
                return plan_oom(p);
            continue;
        }
        oi = jfa_ledger_find_override(ledger, c->u->id);
        if (oi >= 0) {
            /* the administrator's choice (names set), checked again here:
             * the configuration may have changed since */
            snprintf(c->name, sizeof(c->name), "%s", ledger->overrides[oi].name);
            c->note = "set by 'jellyfin-auth names set'";
            if (jfa_name_reserved_why(c->name, cfg->users_group, p->admin_group, why,
                                      sizeof(why)) != NULL) {
                if (omit(c, "login name \"%s\" (names set) is reserved: %s", c->name, why) != 0)
                    return plan_oom(p);
                continue;
            }
        } else if ((st_name = jfa_name_map(c->u->name, cfg->users_group, p->admin_group, c->name,
                                           why, sizeof(why))) != JFA_NAME_OK) {
            if (st_name == JFA_NAME_RESERVED && strcmp(c->name, "admin") == 0 &&
                c->u->policy.is_administrator) {
                /* Jellyfin's first account (an administrator): a login with
                 * no manual step. Not for others: "Ädmin" is another name
                 * for Jellyfin's uniqueness rule but maps to admin too */
                snprintf(c->name, sizeof(c->name), "%s", JFA_ADMIN_LOGIN);
                c->note = "\"admin\" is reserved; the rule for Jellyfin's Admin";
            } else {
                if (omit(c, "%s", why) != 0)
                    return plan_oom(p);
                continue;
            }
        }
        c->mapped = true;
        if (jfa_config_name_reserved(cfg, c->name)) {
            if (omit(c, "mapped name \"%s\" is reserved by reserved_names in %s", c->name,
                     cfg->path != NULL ? cfg->path : "the configuration") != 0)
                return plan_oom(p);
        } else if (jfa_ledger_find_group(ledger, c->name) >= 0) {
            /* a users_group or admin_group of an earlier configuration:
             * sudoers rules like %jellyfin-admins may still name it */
            if (omit(c,
                     "mapped name \"%s\" is reserved: a group jellyfin-auth defined "
                     "(users_group or admin_group, now or before)",
                     c->name) != 0)
                return plan_oom(p);
        }
    }
    qsort_r(p->order, p->n, sizeof(*p->order), cmp_by_id, st->c);
    for (i = 1; i < p->n; i++) {
        if (strcmp(st->c[p->order[i - 1]].u->id, st->c[p->order[i]].u->id) == 0) {
            jfa_set_err(p->err, p->errlen, "the server listed user Id %s twice; refusing to sync",
                        st->c[p->order[i]].u->id);
            return -1;
        }
    }
    return 0;
}

/* 2. claims: a name once given to an Id never passes to another Id
 * (local grants attach to names); only `names release` frees it */
static int step_claims(struct plan_ctx *p)
{
    struct jfa_ledger *ledger = p->ledger;
    size_t i;

    for (i = 0; i < p->n; i++) {
        struct cand *c = &p->st->c[i];
        const struct cand *h;
        ssize_t ci, oi;
        int r;

        if (c->reason != NULL)
            continue;
        /* a claim comes first (an override never takes a claimed name);
         * an unclaimed name another Id's override names goes to that Id */
        ci = jfa_ledger_find_claim(ledger, c->name);
        oi = ci < 0 ? jfa_ledger_find_override_name(ledger, c->name) : -1;
        if (oi >= 0 && strcmp(ledger->overrides[oi].id, c->u->id) != 0) {
            if (omit(c,
                     "login name \"%s\" is given to Jellyfin user Id %s by 'jellyfin-auth names "
                     "set'",
                     c->name, ledger->overrides[oi].id) != 0)
                return plan_oom(p);
            continue;
        }
        if (ci < 0 || strcmp(ledger->claims[ci].id, c->u->id) == 0)
            continue;
        h = cand_by_id(p->st->c, p->order, p->n, ledger->claims[ci].id);
        if (h != NULL && h->mapped && strcmp(h->name, c->name) == 0)
            r = omit(c, "login name \"%s\" is held by Jellyfin user Id %s", c->name,
                     ledger->claims[ci].id);
        else if (h != NULL && h->mapped)
            r = omit(c,
                     "login name \"%s\" is claimed by Jellyfin user Id %s, renamed to \"%s\" "
                     "(a name and the local grants on it never pass to another user); to give "
                     "it to this user: jellyfin-auth names release %s",
                     c->name, ledger->claims[ci].id, h->name, c->name);
        else
            r = omit(c,
                     "login name \"%s\" is claimed by %s Jellyfin user Id %s (a name and the "
                     "local grants on it never pass to another user); to give it to this user: "
                     "jellyfin-auth names release %s",
                     c->name, h != NULL ? "renamed" : "deleted", ledger->claims[ci].id, c->name);
        if (r != 0)
            return plan_oom(p);
    }
    return 0;
}

/* 3. collisions: several users mapping to one name */
static int step_collisions(struct plan_ctx *p)
{
    struct plan_store *st = p->st;
    size_t i, j, k;

    collect_included(p);
    k = p->n_inc;
    for (i = 0; i < k; i = j) {
        ssize_t holder = -1;

        for (j = i + 1; j < k && strcmp(st->c[p->inc[i]].name, st->c[p->inc[j]].name) == 0; j++)
            ;
        if (j - i < 2)
            continue;
        for (size_t m = i; m < j; m++) {
            const struct cand *c = &st->c[p->inc[m]];
            if (c->lidx >= 0 && !p->ledger->users[c->lidx].deleted &&
                strcmp(p->ledger->users[c->lidx].name, c->name) == 0)
                holder = (ssize_t)p->inc[m];
        }
        for (size_t m = i; m < j; m++) {
            struct cand *c = &st->c[p->inc[m]];
            int r;
            if ((ssize_t)p->inc[m] == holder)
                continue;
            if (holder >= 0)
                r = omit(c, "login name \"%s\" is held by Jellyfin user Id %s", c->name,
                         st->c[holder].u->id);
            else
                r = omit(c, "login name \"%s\" is claimed by %zu Jellyfin users", c->name, j - i);
            if (r != 0)
                return plan_oom(p);
        }
    }
    return 0;
}

/* 4. names the host already uses */
static int step_local_names(struct plan_ctx *p)
{
    size_t i;

    for (i = 0; i < p->n; i++) {
        struct cand *c = &p->st->c[i];
        const char *what = NULL;
        int r;

        if (c->reason != NULL)
            continue;
        r = p->local->name_conflict(p->local->ctx, c->name, &what);
        if (r < 0) {
            jfa_set_err(p->err, p->errlen, "local lookup of \"%s\" failed; refusing to sync",
                        c->name);
            return -1;
        }
        if (r == 1 && omit(c, "login name \"%s\" is %s", c->name, what) != 0)
            return plan_oom(p);
    }
    return 0;
}

/* 5. ledger: tombstones, reactivations */
static int step_tombstones(struct plan_ctx *p)
{
    struct jfa_ledger *ledger = p->ledger;
    size_t i, n_ledger = ledger->n_users;
    bool *present = calloc(n_ledger + 1, sizeof(*present));

    if (present == NULL)
        return plan_oom(p);
    for (i = 0; i < p->n; i++) {
        struct cand *c = &p->st->c[i];
        struct jfa_ledger_user *lu;

        if (c->lidx < 0)
            continue;
        lu = &ledger->users[c->lidx];
        present[c->lidx] = true;
        if (lu->deleted) {
            lu->deleted = false;
            lu->name[0] = '\0'; /* someone may hold it now; reassigned below */
        }
        lu->last_seen = p->now;
    }
    for (i = 0; i < n_ledger; i++) {
        if (!present[i] && !ledger->users[i].deleted) {
            ledger->users[i].deleted = true;
            ledger->users[i].last_seen = p->now;
        }
    }
    free(present);
    return 0;
}

/* 6. ledger uids outside the configured range are never used */
static int step_uid_range(struct plan_ctx *p)
{
    size_t i;

    for (i = 0; i < p->n; i++) {
        struct cand *c = &p->st->c[i];
        uint32_t uid;

        if (c->reason != NULL || c->lidx < 0)
            continue;
        uid = p->ledger->users[c->lidx].uid;
        if ((uid < p->cfg->uid_min || uid > p->cfg->uid_max) &&
            omit(c, "uid %" PRIu32 " (from the ledger) is outside uid_min-uid_max", uid) != 0)
            return plan_oom(p);
        else if (c->reason == NULL && jfa_ledger_id_reserved(uid) &&
                 omit(c, "uid %" PRIu32 " (from the ledger) is in a reserved range", uid) != 0)
            return plan_oom(p);
    }
    return 0;
}

/* 7. groups */
static int step_groups(struct plan_ctx *p)
{
    struct jfa_sync_plan *plan = p->plan;

    if (plan_group(p->cfg, p->ledger, p->local, p->cfg->users_group, p->now, &plan->users_gid,
                   &plan->users_group_local, p->err, p->errlen) != 0)
        return -1;
    return plan_group(p->cfg, p->ledger, p->local, p->admin_group, p->now, &plan->admin_gid,
                      &plan->admin_group_local, p->err, p->errlen);
}

/* 8. new users, in ascending Id order (independent of listing order) */
static int step_allocate(struct plan_ctx *p)
{
    struct taken_ctx tc = {p->local, false};
    char sub[JFA_ERRLEN];
    size_t i;

    for (i = 0; i < p->n; i++) {
        struct cand *c = &p->st->c[p->order[i]];

        if (c->reason != NULL || c->lidx >= 0)
            continue;
        c->lidx = jfa_ledger_alloc_user(p->ledger, c->u->id, NULL, p->cfg->uid_min, p->cfg->uid_max,
                                        taken_cb, &tc, p->now, sub, sizeof(sub));
        if (tc.failed) {
            jfa_set_err(p->err, p->errlen, "local uid/gid lookup failed; refusing to sync");
            return -1;
        }
        if (c->lidx < 0) {
            jfa_set_err(p->err, p->errlen, "cannot allocate a uid for Jellyfin user Id %s: %s",
                        c->u->id, sub);
            return -1;
        }
    }
    return 0;
}

/* 9. held names, claimed for good */
static int step_hold_names(struct plan_ctx *p)
{
    size_t *lix, i;
    const char **names;
    char sub[JFA_ERRLEN];
    int ret = 0;

    collect_included(p);
    lix = calloc(p->n_inc + 1, sizeof(*lix));
    names = calloc(p->n_inc + 1, sizeof(*names));
    if (lix == NULL || names == NULL) {
        ret = plan_oom(p);
        goto out;
    }
    for (i = 0; i < p->n_inc; i++) {
        lix[i] = (size_t)p->st->c[p->inc[i]].lidx;
        names[i] = p->st->c[p->inc[i]].name;
    }
    if (jfa_ledger_assign_names(p->ledger, lix, names, p->n_inc, p->now, sub, sizeof(sub)) != 0) {
        jfa_set_err(p->err, p->errlen, "assigning login names: %s", sub);
        ret = -1;
    }
out:
    free(lix);
    free(names);
    return ret;
}

/* 10a. one user and its private group */
static void fill_user(struct plan_ctx *p, size_t i, const struct cand *c, size_t *n_umem,
                      size_t *n_amem)
{
    const struct jfa_config *cfg = p->cfg;
    struct jfa_sync_plan *plan = p->plan;
    struct plan_store *st = p->st;
    const struct jfa_policy *pol = &c->u->policy;
    struct jfa_dbw_user *du = &plan->users[i];
    struct jfa_dbw_group *dg = &plan->groups[i];

    du->uid = p->ledger->users[c->lidx].uid;
    du->gid = du->uid;
    du->name = c->name;
    du->gecos = st->gecos[i];
    du->home = st->homes[i];
    du->shell = cfg->shell;
    du->jf_name = c->u->name;
    memcpy(du->jf_id, c->u->id, 33);
    du->flags = (pol->is_administrator ? JFA_DBU_ADMIN : 0) |
                (pol->is_disabled ? JFA_DBU_DISABLED : 0) | (pol->is_hidden ? JFA_DBU_HIDDEN : 0) |
                (pol->enable_remote_access ? 0 : JFA_DBU_NO_REMOTE) |
                (cfg->case_sensitive ? 0 : JFA_DBU_FOLD);
    plan->notes[i] = c->note;
    du->gids = &st->gids[2 * i];
    du->n_gids = 0;
    if (plan->users_gid != 0)
        st->gids[2 * i + du->n_gids++] = plan->users_gid;
    if (plan->admin_gid != 0 && pol->is_administrator)
        st->gids[2 * i + du->n_gids++] = plan->admin_gid;
    /* the private group: same id and name, no members */
    dg->gid = du->uid;
    dg->name = c->name;
    dg->flags = cfg->case_sensitive ? 0 : JFA_DBG_FOLD;
    if (plan->users_gid != 0 && !plan->users_group_local)
        st->users_members[(*n_umem)++] = c->name;
    if (plan->admin_gid != 0 && !plan->admin_group_local && pol->is_administrator)
        st->admin_members[(*n_amem)++] = c->name;
}

/* 10b. a configured group we define (not the host's) */
static void add_shared_group(struct plan_ctx *p, uint32_t gid, char *name_store, size_t name_len,
                             const char *name, const char **members, size_t n_members)
{
    struct jfa_dbw_group *g = &p->plan->groups[p->plan->n_groups++];

    snprintf(name_store, name_len, "%s", name);
    g->gid = gid;
    g->name = name_store;
    g->members = members;
    g->n_members = n_members;
    g->flags = p->cfg->case_sensitive ? 0 : JFA_DBG_FOLD;
}

/* 10. the database contents */
static int step_contents(struct plan_ctx *p)
{
    struct jfa_sync_plan *plan = p->plan;
    struct plan_store *st = p->st;
    size_t n_inc = p->n_inc, n_umem = 0, n_amem = 0, i;

    plan->users = calloc(n_inc + 1, sizeof(*plan->users));
    plan->notes = calloc(n_inc + 1, sizeof(*plan->notes));
    plan->groups = calloc(n_inc + 3, sizeof(*plan->groups));
    st->homes = calloc(n_inc + 1, sizeof(*st->homes));
    st->gecos = calloc(n_inc + 1, sizeof(*st->gecos));
    st->gids = calloc(2 * n_inc + 2, sizeof(*st->gids));
    st->users_members = calloc(n_inc + 1, sizeof(*st->users_members));
    st->admin_members = calloc(n_inc + 1, sizeof(*st->admin_members));
    if (plan->users == NULL || plan->notes == NULL || plan->groups == NULL || st->homes == NULL ||
        st->gecos == NULL || st->gids == NULL || st->users_members == NULL ||
        st->admin_members == NULL)
        return plan_oom(p);
    for (i = 0; i < n_inc; i++) {
        const struct cand *c = &st->c[p->inc[i]];
        size_t glen = strlen(c->u->name) + 1;

        plan->n_users = i + 1;
        st->homes[i] = jfa_config_home(p->cfg, c->name);
        st->gecos[i] = malloc(glen);
        if (st->homes[i] == NULL || st->gecos[i] == NULL)
            return plan_oom(p);
        jfa_gecos_sanitize(st->gecos[i], glen, c->u->name);
        fill_user(p, i, c, &n_umem, &n_amem);
    }
    plan->n_groups = n_inc;
    if (plan->users_gid != 0 && !plan->users_group_local)
        add_shared_group(p, plan->users_gid, st->users_name, sizeof(st->users_name),
                         p->cfg->users_group, st->users_members, n_umem);
    if (plan->admin_gid != 0 && !plan->admin_group_local)
        add_shared_group(p, plan->admin_gid, st->admin_name, sizeof(st->admin_name), p->admin_group,
                         st->admin_members, n_amem);
    return 0;
}

/* 11. omissions, in server order */
static int step_omissions(struct plan_ctx *p)
{
    struct jfa_sync_plan *plan = p->plan;
    size_t i, k;

    for (i = 0, k = 0; i < p->n; i++)
        if (p->st->c[i].reason != NULL)
            k++;
    plan->omitted = calloc(k + 1, sizeof(*plan->omitted));
    if (plan->omitted == NULL)
        return plan_oom(p);
    for (i = 0; i < p->n; i++) {
        struct cand *c = &p->st->c[i];
        struct jfa_omission *o;

        if (c->reason == NULL)
            continue;
        o = &plan->omitted[plan->n_omitted++];
        snprintf(o->id, sizeof(o->id), "%s", jfa_hex32(c->u->id) ? c->u->id : "-");
        o->jf_name = strdup(c->u->name ? c->u->name : "");
        o->reason = strdup(c->reason);
        if (o->jf_name == NULL || o->reason == NULL)
            return plan_oom(p);
    }
    return 0;
}

int jfa_sync_plan(const struct jfa_config *cfg, struct jfa_ledger *ledger,
                  const struct jfa_user_list *list, const struct jfa_local *local, int64_t now,
                  struct jfa_sync_plan *plan, char *err, size_t errlen)
{
    static int (*const steps[])(struct plan_ctx *) = {
        step_map_names,  step_claims,    step_collisions, step_local_names,
        step_tombstones, step_uid_range, step_groups,     step_allocate,
        step_hold_names, step_contents,  step_omissions,
    };
    struct plan_ctx p = {
        .cfg = cfg,
        .ledger = ledger,
        .local = local,
        .now = now,
        .admin_group = cfg->admin_group,
        .plan = plan,
        .n = list->n,
        .err = err,
        .errlen = errlen,
    };
    size_t i;
    int ret = -1;

    memset(plan, 0, sizeof(*plan));
    p.st = calloc(1, sizeof(*p.st));
    if (p.st == NULL) {
        plan_oom(&p);
        goto out;
    }
    plan->priv = p.st;
    p.st->c = calloc(p.n + 1, sizeof(*p.st->c));
    p.order = calloc(p.n + 1, sizeof(*p.order));
    p.inc = calloc(p.n + 1, sizeof(*p.inc));
    if (p.st->c == NULL || p.order == NULL || p.inc == NULL) {
        plan_oom(&p);
        goto out;
    }
    p.st->n = p.n;
    for (i = 0; i < p.n; i++) {
        p.st->c[i].u = &list->users[i];
        p.order[i] = i;
    }
    if (p.admin_group != NULL && cfg->users_group != NULL &&
        strcmp(p.admin_group, cfg->users_group) == 0)
        p.admin_group = NULL;
    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (steps[i](&p) != 0)
            goto out;
    ret = 0;
out:
    free(p.order);
    free(p.inc);
    if (ret != 0)
        jfa_sync_plan_free(plan);
    return ret;
}
