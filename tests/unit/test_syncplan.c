/*
 * tests/unit/test_syncplan.c - unit tests of jfa_sync_plan (lib/syncplan.c)
 * and the sync report (lib/syncreport.c).
 *
 * Owns: the plan's rules with a scripted host (no NSS): listing order does
 * not change UIDs, collisions (held name wins, else all left out), local
 * accounts and groups, ids taken locally, tombstones and reactivation,
 * ledger UIDs outside the range, local users_group, group membership and
 * flags, exhaustion, duplicate Ids from the server, the report format, and
 * name claims: a name (and what the machine grants to it) never passes to
 * another Id after a delete or a rename until `names release`; reserved
 * names (built-in, reserved_names, earlier groups). Also jfa_shell_check
 * (lib/sync.c) against this machine's /etc/shells.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "sync.h"

#define ID(n) "000000000000000000000000000000" n

struct host {
    const char *local_names[4];
    uint32_t taken[4];
    const char *local_group;
    uint32_t local_group_gid;
};

static int h_name(void *ctx, const char *name, const char **what)
{
    struct host *h = ctx;
    for (int i = 0; i < 4 && h->local_names[i]; i++) {
        if (strcmp(h->local_names[i], name) == 0) {
            *what = "a local account";
            return 1;
        }
    }
    return 0;
}

static int h_id(void *ctx, uint32_t id)
{
    struct host *h = ctx;
    for (int i = 0; i < 4; i++)
        if (h->taken[i] == id)
            return 1;
    return 0;
}

static int h_group(void *ctx, const char *name, uint32_t *gid)
{
    struct host *h = ctx;
    if (h->local_group != NULL && strcmp(h->local_group, name) == 0) {
        *gid = h->local_group_gid;
        return 1;
    }
    return 0;
}

static void cfg_init(struct jfa_config *cfg, uint32_t min, uint32_t max)
{
    jfa_config_defaults(cfg);
    cfg->uid_min = min;
    cfg->uid_max = max;
}

static void user(struct jfa_user *u, const char *name, const char *id, bool admin)
{
    memset(u, 0, sizeof(*u));
    u->name = (char *)name;
    memcpy(u->id, id, 32);
    u->id[32] = '\0';
    u->policy.is_administrator = admin;
    u->policy.enable_remote_access = true;
}

static const struct jfa_dbw_user *find(const struct jfa_sync_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_users; i++)
        if (strcmp(p->users[i].name, name) == 0)
            return &p->users[i];
    return NULL;
}

static const struct jfa_omission *omitted(const struct jfa_sync_plan *p, const char *id)
{
    for (size_t i = 0; i < p->n_omitted; i++)
        if (strcmp(p->omitted[i].id, id) == 0)
            return &p->omitted[i];
    return NULL;
}

static int plan(struct jfa_config *cfg, struct jfa_ledger *l, struct jfa_user *users, size_t n,
                struct host *h, struct jfa_sync_plan *p, char *err)
{
    struct jfa_user_list list = {users, n};
    struct jfa_local local = {h_name, h_id, h_group, h};
    return jfa_sync_plan(cfg, l, &list, &local, 1000, p, err, 512);
}

static void test_order_independent(void **state)
{
    struct jfa_config cfg;
    struct jfa_user fwd[12], rev[12];
    struct jfa_ledger la, lb;
    struct jfa_sync_plan pa, pb;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512], names[12][16], ids[12][33], *ta, *tb;
    int i;

    (void)state;
    cfg_init(&cfg, 100000, 100019); /* 20 ids for 12 users + 2 groups: collisions */
    for (i = 0; i < 12; i++) {
        snprintf(names[i], sizeof(names[i]), "user%d", i);
        snprintf(ids[i], sizeof(ids[i]), "%08x%024x", (unsigned)(i * 2654435761u), i);
        user(&fwd[i], names[i], ids[i], false);
        user(&rev[11 - i], names[i], ids[i], false);
    }
    jfa_ledger_init(&la);
    jfa_ledger_init(&lb);
    assert_int_equal(plan(&cfg, &la, fwd, 12, &h, &pa, err), 0);
    assert_int_equal(plan(&cfg, &lb, rev, 12, &h, &pb, err), 0);
    ta = jfa_ledger_format(&la, NULL);
    tb = jfa_ledger_format(&lb, NULL);
    assert_string_equal(ta, tb);
    assert_int_equal(pa.n_users, 12);
    for (i = 0; i < 12; i++)
        assert_int_equal(find(&pa, names[i])->uid, find(&pb, names[i])->uid);
    free(ta);
    free(tb);
    jfa_sync_plan_free(&pa);
    jfa_sync_plan_free(&pb);
    jfa_ledger_free(&la);
    jfa_ledger_free(&lb);
}

static void test_collisions(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[3];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "John", ID("01"), false);
    user(&u[1], "J\xc3\xb6hn", ID("02"), false);
    user(&u[2], "bob", ID("03"), false);
    /* nobody held "john": both are left out */
    assert_int_equal(plan(&cfg, &l, u, 3, &h, &p, err), 0);
    assert_int_equal(p.n_users, 1);
    assert_non_null(omitted(&p, ID("01")));
    assert_non_null(strstr(omitted(&p, ID("02"))->reason, "claimed by 2"));
    jfa_sync_plan_free(&p);
    /* the Id that holds it keeps it */
    assert_true(jfa_ledger_add_user(&l, ID("02"), 100500, "john", 1, err, sizeof(err)) >= 0);
    assert_int_equal(plan(&cfg, &l, u, 3, &h, &p, err), 0);
    assert_int_equal(p.n_users, 2);
    assert_non_null(find(&p, "john"));
    assert_string_equal(find(&p, "john")->jf_id, ID("02"));
    assert_int_equal(find(&p, "john")->uid, 100500);
    assert_non_null(strstr(omitted(&p, ID("01"))->reason, "held by"));
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

static void test_local_accounts(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[3];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{"alice", NULL}, {0}, NULL, 0};
    char err[512];
    uint32_t first;

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "Alice", ID("01"), false);
    user(&u[1], "root", ID("02"), false);
    user(&u[2], "carol", ID("03"), false);
    first = jfa_ledger_hash(ID("03"), 100000, 101000);
    h.taken[0] = first; /* carol's first candidate is a local uid */
    assert_int_equal(plan(&cfg, &l, u, 3, &h, &p, err), 0);
    assert_int_equal(p.n_users, 1);
    assert_non_null(strstr(omitted(&p, ID("01"))->reason, "local account"));
    assert_non_null(strstr(omitted(&p, ID("02"))->reason, "reserved"));
    assert_int_not_equal(find(&p, "carol")->uid, first);
    /* omitted users get no uid */
    assert_int_equal(jfa_ledger_find_user(&l, ID("01")), -1);
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

static void test_tombstone_and_return(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[2];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];
    uint32_t uid_a;
    ssize_t i;

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "alice", ID("01"), false);
    user(&u[1], "bob", ID("02"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    uid_a = find(&p, "alice")->uid;
    jfa_sync_plan_free(&p);
    /* alice disappears: tombstone */
    assert_int_equal(plan(&cfg, &l, &u[1], 1, &h, &p, err), 0);
    i = jfa_ledger_find_user(&l, ID("01"));
    assert_true(i >= 0 && l.users[i].deleted);
    jfa_sync_plan_free(&p);
    /* a new "alice" (new Id) does not get the name: it stays claimed by
     * the deleted Id until the administrator releases it */
    user(&u[0], "alice", ID("09"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_null(find(&p, "alice"));
    assert_non_null(strstr(omitted(&p, ID("09"))->reason, "jellyfin-auth names release alice"));
    jfa_sync_plan_free(&p);
    assert_int_equal(jfa_ledger_release_name(&l, "alice", err, sizeof(err)), 0);
    /* released: the new Id gets the name, with a new uid */
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_int_not_equal(find(&p, "alice")->uid, uid_a);
    jfa_sync_plan_free(&p);
    /* the old Id coming back keeps its uid; the name belongs to the new one */
    {
        struct jfa_user v[3];
        user(&v[0], "alice", ID("09"), false);
        user(&v[1], "bob", ID("02"), false);
        user(&v[2], "alice2", ID("01"), false);
        assert_int_equal(plan(&cfg, &l, v, 3, &h, &p, err), 0);
        assert_int_equal(find(&p, "alice2")->uid, uid_a);
        assert_false(l.users[jfa_ledger_find_user(&l, ID("01"))].deleted);
        jfa_sync_plan_free(&p);
    }
    jfa_ledger_free(&l);
}

/* The reviewer's reproduction: bob (with local grants on "bob") is
 * deleted, dave renames himself "bob": dave must not get the name. */
static void test_claim_delete_then_rename(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[3];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];
    const struct jfa_omission *o;
    uint32_t uid_bob, uid_dave;
    ssize_t ci;

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "alice", ID("01"), false);
    user(&u[1], "bob", ID("02"), false);
    user(&u[2], "dave", ID("04"), false);
    assert_int_equal(plan(&cfg, &l, u, 3, &h, &p, err), 0);
    uid_bob = find(&p, "bob")->uid;
    uid_dave = find(&p, "dave")->uid;
    jfa_sync_plan_free(&p);
    /* bob deleted (he is no longer listed); dave renamed to "Bob" */
    user(&u[1], "Bob", ID("04"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_null(find(&p, "bob"));
    assert_null(find(&p, "dave"));
    assert_int_equal(p.n_users, 1);
    o = omitted(&p, ID("04"));
    assert_non_null(o);
    assert_non_null(strstr(o->reason, "deleted Jellyfin user Id " ID("02")));
    assert_non_null(strstr(o->reason, "jellyfin-auth names release bob"));
    jfa_sync_plan_free(&p);
    /* the claim stays with the tombstone, through any number of syncs */
    ci = jfa_ledger_find_claim(&l, "bob");
    assert_true(ci >= 0);
    assert_string_equal(l.claims[ci].id, ID("02"));
    assert_int_equal(jfa_ledger_claim_state(&l, (size_t)ci), JFA_CLAIM_DELETED);
    {
        char *text = jfa_ledger_format(&l, NULL);
        struct jfa_ledger m;
        jfa_ledger_init(&m);
        assert_int_equal(jfa_ledger_parse(&m, text, strlen(text), "ledger", err, 512), 0);
        assert_int_equal(plan(&cfg, &m, u, 2, &h, &p, err), 0);
        assert_null(find(&p, "bob"));
        jfa_sync_plan_free(&p);
        jfa_ledger_free(&m);
        free(text);
    }
    /* the administrator releases it: dave gets "bob" with his own uid */
    assert_int_equal(jfa_ledger_release_name(&l, "bob", err, sizeof(err)), 0);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_non_null(find(&p, "bob"));
    assert_string_equal(find(&p, "bob")->jf_id, ID("04"));
    assert_int_equal(find(&p, "bob")->uid, uid_dave);
    assert_int_not_equal(find(&p, "bob")->uid, uid_bob);
    assert_null(omitted(&p, ID("04")));
    ci = jfa_ledger_find_claim(&l, "bob");
    assert_string_equal(l.claims[ci].id, ID("04"));
    /* dave's old name stays his */
    assert_string_equal(l.claims[jfa_ledger_find_claim(&l, "dave")].id, ID("04"));
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

/* bob renames himself "robert" (keeps his uid); dave then renames himself
 * "bob": refused; bob renaming back gets his name back. */
static void test_claim_rename(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[2];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];
    const struct jfa_omission *o;
    uint32_t uid_bob;

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "bob", ID("02"), false);
    user(&u[1], "dave", ID("04"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    uid_bob = find(&p, "bob")->uid;
    jfa_sync_plan_free(&p);
    /* the rename: the uid follows the Id */
    user(&u[0], "robert", ID("02"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_int_equal(find(&p, "robert")->uid, uid_bob);
    assert_null(find(&p, "bob"));
    jfa_sync_plan_free(&p);
    assert_int_equal(jfa_ledger_claim_state(&l, (size_t)jfa_ledger_find_claim(&l, "bob")),
                     JFA_CLAIM_RENAMED);
    /* dave takes the freed-looking name: refused, with the command */
    user(&u[1], "bob", ID("04"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_null(find(&p, "bob"));
    assert_int_equal(find(&p, "robert")->uid, uid_bob);
    o = omitted(&p, ID("04"));
    assert_non_null(o);
    assert_non_null(strstr(o->reason, "Id " ID("02") ", renamed to \"robert\""));
    assert_non_null(strstr(o->reason, "jellyfin-auth names release bob"));
    jfa_sync_plan_free(&p);
    /* both in one sync: robert renames back to bob while dave asks for it */
    user(&u[0], "bob", ID("02"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_non_null(find(&p, "bob"));
    assert_string_equal(find(&p, "bob")->jf_id, ID("02"));
    assert_int_equal(find(&p, "bob")->uid, uid_bob);
    assert_non_null(strstr(omitted(&p, ID("04"))->reason, "held by Jellyfin user Id " ID("02")));
    jfa_sync_plan_free(&p);
    assert_int_equal(jfa_ledger_claim_state(&l, (size_t)jfa_ledger_find_claim(&l, "bob")),
                     JFA_CLAIM_ACTIVE);
    /* and "robert" stays bob's too */
    assert_string_equal(l.claims[jfa_ledger_find_claim(&l, "robert")].id, ID("02"));
    jfa_ledger_free(&l);
}

/* A v1 ledger (before claims): the tombstone's name is claimed on read. */
static void test_claim_from_v1_ledger(void **state)
{
    static const char v1[] = "jellyfin-auth-ledger 1\n"
                             "user " ID("02") " 100500 deleted bob 1 2\n";
    struct jfa_config cfg;
    struct jfa_user u[1];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    assert_int_equal(jfa_ledger_parse(&l, v1, strlen(v1), "ledger", err, sizeof(err)), 0);
    user(&u[0], "bob", ID("04"), false);
    assert_int_equal(plan(&cfg, &l, u, 1, &h, &p, err), 0);
    assert_int_equal(p.n_users, 0);
    assert_non_null(strstr(omitted(&p, ID("04"))->reason, "jellyfin-auth names release bob"));
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

/* Reserved names at the plan: the built-in list with its reason, the
 * configured reserved_names, and groups of an earlier configuration. */
static void test_reserved_names(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[4];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];
    char *extra[] = {(char *)"media", (char *)"john.smith"};

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    cfg.reserved_names = extra;
    cfg.n_reserved_names = 2;
    jfa_ledger_init(&l);
    assert_true(jfa_ledger_add_group(&l, "old-admins", 100900, 1, err, sizeof(err)) >= 0);
    user(&u[0], "Docker", ID("01"), false);
    user(&u[1], "Media", ID("02"), false);
    user(&u[2], "old-admins", ID("03"), false);
    user(&u[3], "John.Smith", ID("04"), false);
    assert_int_equal(plan(&cfg, &l, u, 4, &h, &p, err), 0);
    assert_int_equal(p.n_users, 0);
    assert_non_null(strstr(omitted(&p, ID("01"))->reason,
                           "reserved: a system group packages may create (docker)"));
    assert_non_null(strstr(omitted(&p, ID("02"))->reason, "reserved by reserved_names"));
    assert_non_null(strstr(omitted(&p, ID("03"))->reason, "a group jellyfin-auth defined"));
    assert_non_null(strstr(omitted(&p, ID("04"))->reason, "reserved by reserved_names"));
    /* nothing was claimed for them */
    assert_int_equal(l.n_claims, 0);
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

static void test_out_of_range_and_exhaustion(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[3];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];

    (void)state;
    cfg_init(&cfg, 100000, 100003); /* 2 groups + 2 users */
    jfa_ledger_init(&l);
    assert_true(jfa_ledger_add_user(&l, ID("01"), 5000, "old", 1, err, sizeof(err)) >= 0);
    user(&u[0], "old", ID("01"), false);
    user(&u[1], "b", ID("02"), false);
    user(&u[2], "c", ID("03"), false);
    assert_int_equal(plan(&cfg, &l, u, 3, &h, &p, err), 0);
    assert_non_null(strstr(omitted(&p, ID("01"))->reason, "outside"));
    assert_int_equal(p.n_users, 2);
    jfa_sync_plan_free(&p);
    /* one more user: the range is exhausted, a clear error */
    {
        struct jfa_user v[4];
        memcpy(v, u, sizeof(u));
        user(&v[3], "d", ID("04"), false);
        assert_int_equal(plan(&cfg, &l, v, 4, &h, &p, err), -1);
        assert_non_null(strstr(err, "no free id"));
    }
    jfa_ledger_free(&l);
}

/* ids of a reserved range in the ledger (a crafted import or a hand edit;
 * the allocator never picks them) are never published, even when the
 * configured range covers them */
static void test_reserved_ids_from_ledger(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[2];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];

    (void)state;
    cfg_init(&cfg, 1000, 100000); /* covers nobody and systemd's ranges */
    jfa_ledger_init(&l);
    assert_true(jfa_ledger_add_user(&l, ID("01"), 62000, "dyn", 1, err, sizeof(err)) >= 0);
    user(&u[0], "dyn", ID("01"), false);
    user(&u[1], "b", ID("02"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_null(find(&p, "dyn"));
    assert_non_null(strstr(omitted(&p, ID("01"))->reason, "reserved range"));
    assert_non_null(find(&p, "b"));
    jfa_sync_plan_free(&p);
    /* a configured group with a reserved gid: refused, nothing published */
    jfa_ledger_free(&l);
    jfa_ledger_init(&l);
    assert_true(jfa_ledger_add_group(&l, cfg.users_group, 65534, 1, err, sizeof(err)) >= 0);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), -1);
    assert_non_null(strstr(err, "reserved range"));
    jfa_ledger_free(&l);
}

static void test_groups_and_flags(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[2];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, "jellyfin-users", 4242};
    char err[512];
    const struct jfa_dbw_user *a, *b;

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "Boss", ID("01"), true);
    user(&u[1], "kid", ID("02"), false);
    u[1].policy.is_disabled = true;
    u[1].policy.is_hidden = true;
    u[1].policy.enable_remote_access = false;
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    a = find(&p, "boss");
    assert_non_null(a);
    b = find(&p, "kid");
    assert_non_null(b);
    assert_true(p.users_group_local);
    assert_int_equal(p.users_gid, 4242);
    assert_false(p.admin_group_local);
    /* case_sensitive = no (default): every record carries the fold flag */
    assert_int_equal(a->flags, JFA_DBU_ADMIN | JFA_DBU_FOLD);
    assert_int_equal(b->flags,
                     JFA_DBU_DISABLED | JFA_DBU_HIDDEN | JFA_DBU_NO_REMOTE | JFA_DBU_FOLD);
    for (size_t g = 0; g < p.n_groups; g++)
        assert_int_equal(p.groups[g].flags, JFA_DBG_FOLD);
    assert_int_equal(a->gid, a->uid);
    assert_int_equal(a->n_gids, 2);
    assert_int_equal(a->gids[0], 4242);
    assert_int_equal(a->gids[1], p.admin_gid);
    assert_int_equal(b->n_gids, 1);
    assert_string_equal(a->gecos, "Boss");
    assert_string_equal(a->home, "/home/boss");
    /* private groups + the admin group (the users group is the host's) */
    assert_int_equal(p.n_groups, 3);
    assert_string_equal(p.groups[2].name, "jellyfin-admins");
    assert_int_equal(p.groups[2].n_members, 1);
    assert_string_equal(p.groups[2].members[0], "boss");
    assert_int_equal(jfa_ledger_find_group(&l, "jellyfin-users"), -1);
    assert_true(jfa_ledger_find_group(&l, "jellyfin-admins") >= 0);
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

/* case_sensitive = yes: no fold flag anywhere */
static void test_case_sensitive(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[1];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    cfg.case_sensitive = true;
    jfa_ledger_init(&l);
    user(&u[0], "Boss", ID("01"), true);
    assert_int_equal(plan(&cfg, &l, u, 1, &h, &p, err), 0);
    assert_int_equal(find(&p, "boss")->flags, JFA_DBU_ADMIN);
    for (size_t g = 0; g < p.n_groups; g++)
        assert_int_equal(p.groups[g].flags, 0);
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

/*
 * The Admin rule and overrides: "Admin" gets jf-admin; an override names
 * the login whatever the Jellyfin name, wins over another user mapping to
 * it, and never takes a name another Id claims.
 */
static void test_admin_and_overrides(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[5];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];
    size_t i;

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "Admin", ID("01"), true);
    user(&u[1], "docker", ID("02"), false);
    user(&u[2], "Boxy", ID("03"), false);  /* maps to the override of 02 */
    user(&u[3], "carol", ID("04"), false); /* claims carol */
    user(&u[4], "Dave", ID("05"), false);  /* override to carol: refused */
    assert_int_equal(jfa_ledger_set_override(&l, ID("02"), "boxy", 1, err, sizeof(err)), 0);
    assert_int_equal(plan(&cfg, &l, u, 5, &h, &p, err), 0);
    assert_non_null(find(&p, "jf-admin"));
    assert_null(find(&p, "admin"));
    assert_non_null(find(&p, "boxy"));
    assert_string_equal(find(&p, "boxy")->jf_id, ID("02"));
    assert_non_null(strstr(omitted(&p, ID("03"))->reason, "by 'jellyfin-auth names set'"));
    for (i = 0; i < p.n_users; i++)
        if (strcmp(p.users[i].name, "jf-admin") == 0)
            assert_non_null(strstr(p.notes[i], "\"admin\" is reserved"));
        else if (strcmp(p.users[i].name, "boxy") == 0)
            assert_non_null(strstr(p.notes[i], "names set"));
        else
            assert_null(p.notes[i]);
    jfa_sync_plan_free(&p);
    /* carol is claimed by 04 now: an override of 05 to carol leaves 05 out */
    assert_int_equal(jfa_ledger_set_override(&l, ID("05"), "carol", 2, err, sizeof(err)), 0);
    assert_int_equal(plan(&cfg, &l, u, 5, &h, &p, err), 0);
    assert_string_equal(find(&p, "carol")->jf_id, ID("04"));
    assert_non_null(
        strstr(omitted(&p, ID("05"))->reason, "\"carol\" is held by Jellyfin user Id " ID("04")));
    jfa_sync_plan_free(&p);
    /* an override to a reserved name (configuration changed) is refused */
    assert_int_equal(jfa_ledger_unset_override(&l, ID("05")), 0);
    assert_int_equal(jfa_ledger_set_override(&l, ID("05"), "jellyfin-users", 3, err, sizeof(err)),
                     0);
    assert_int_equal(plan(&cfg, &l, u, 5, &h, &p, err), 0);
    assert_non_null(strstr(omitted(&p, ID("05"))->reason, "(names set) is reserved"));
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

/* the Admin rule is for Jellyfin administrators only: a user who renames
 * itself "Ädmin" (a different name for Jellyfin's uniqueness rule, the same
 * mapped name) does not get jf-admin, the login the documentation gives to
 * Jellyfin's Admin, nor make the real Admin collide with it */
static void test_admin_rule_needs_admin(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[2];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0],
         "\xc3\x84"
         "dmin",
         ID("01"), false);
    assert_int_equal(plan(&cfg, &l, u, 1, &h, &p, err), 0);
    assert_null(find(&p, "jf-admin"));
    assert_non_null(strstr(omitted(&p, ID("01"))->reason, "\"admin\" is reserved"));
    jfa_sync_plan_free(&p);
    /* with the real Admin listed too, the Admin gets it */
    user(&u[1], "Admin", ID("02"), true);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), 0);
    assert_string_equal(find(&p, "jf-admin")->jf_id, ID("02"));
    assert_non_null(omitted(&p, ID("01")));
    jfa_sync_plan_free(&p);
    jfa_ledger_free(&l);
}

static void test_duplicate_id(void **state)
{
    struct jfa_config cfg;
    struct jfa_user u[2];
    struct jfa_ledger l;
    struct jfa_sync_plan p;
    struct host h = {{NULL}, {0}, NULL, 0};
    char err[512];

    (void)state;
    cfg_init(&cfg, 100000, 101000);
    jfa_ledger_init(&l);
    user(&u[0], "a", ID("01"), false);
    user(&u[1], "b", ID("01"), false);
    assert_int_equal(plan(&cfg, &l, u, 2, &h, &p, err), -1);
    assert_non_null(strstr(err, "twice"));
    jfa_ledger_free(&l);
}

static void test_report_format(void **state)
{
    struct jfa_omission o[2] = {
        {ID("01"), (char *)"tab\there\\ \x01\x1b", (char *)"reason one"},
        {ID("02"), (char *)"J\xc3\xb6hn", (char *)"line\nbreak"},
    };
    struct jfa_sync_report rep;
    char dir[] = "/tmp/test_syncplan.XXXXXX", path[256], err[512];
    size_t len;
    char *text = jfa_report_format(o, 2, 77, &len);
    FILE *f;

    (void)state;
    assert_non_null(text);
    /* the file format, byte for byte: \\ \t \n named, other controls as
     * lower-case \xNN, UTF-8 and quotes as they are */
    assert_int_equal(len, strlen(text));
    assert_string_equal(text, JFA_REPORT_MAGIC
                        "\ngeneration 77\n"
                        "omit\t" ID("01") "\ttab\\there\\\\ \\x01\\x1b\treason one\n"
                                          "omit\t" ID("02") "\tJ\xc3\xb6hn\tline\\nbreak\n");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/sync-report", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
    assert_int_equal(jfa_report_read(path, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.generation, 77);
    assert_int_equal(rep.n, 2);
    assert_string_equal(rep.items[0].jf_name, o[0].jf_name);
    assert_string_equal(rep.items[1].reason, o[1].reason);
    assert_string_equal(rep.items[1].jf_name, o[1].jf_name);
    jfa_report_free(&rep);
    /* a corrupt report is an error with the line */
    f = fopen(path, "a");
    fputs("omit\tbad\n", f);
    fclose(f);
    assert_int_equal(jfa_report_read(path, &rep, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":5:"));
    unlink(path);
    assert_int_equal(jfa_report_read(path, &rep, err, sizeof(err)), 1);
    rmdir(dir);
    free(text);
}

/* Is line (exactly) in /etc/shells? Read here by hand, independently. */
static bool in_etc_shells(const char *shell)
{
    char line[512];
    bool found = false;
    FILE *f = fopen("/etc/shells", "r");

    if (f == NULL)
        return false;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        found = strcmp(line, shell) == 0;
    }
    fclose(f);
    return found;
}

static void test_shell_check(void **state)
{
    char err[512];

    (void)state;
    if (!in_etc_shells("/bin/sh") || in_etc_shells("/bin/true"))
        skip(); /* this machine's /etc/shells is unusual */
    assert_int_equal(jfa_shell_check("/bin/sh", err, sizeof(err)), 0);
    /* executable, not listed */
    assert_int_equal(jfa_shell_check("/bin/true", err, sizeof(err)), -1);
    assert_string_equal(err, "shell /bin/true: not listed in /etc/shells");
    /* a prefix of a listed shell is not listed */
    assert_int_equal(jfa_shell_check("/bin/s", err, sizeof(err)), -1);
    assert_int_equal(jfa_shell_check("sh", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "absolute path"));
    assert_int_equal(jfa_shell_check("/nonexistent/sh", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/sh"));
    assert_int_equal(jfa_shell_check("/etc/shells", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an executable file"));
    /* twice in a row: getusershell's state is reset */
    assert_int_equal(jfa_shell_check("/bin/sh", err, sizeof(err)), 0);
    assert_int_equal(jfa_shell_check("/bin/sh", err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_local_accounts),
        cmocka_unit_test(test_tombstone_and_return),
        cmocka_unit_test(test_claim_delete_then_rename),
        cmocka_unit_test(test_claim_rename),
        cmocka_unit_test(test_claim_from_v1_ledger),
        cmocka_unit_test(test_reserved_names),
        cmocka_unit_test(test_out_of_range_and_exhaustion),
        cmocka_unit_test(test_reserved_ids_from_ledger),
        cmocka_unit_test(test_groups_and_flags),
        cmocka_unit_test(test_duplicate_id),
        cmocka_unit_test(test_case_sensitive),
        cmocka_unit_test(test_admin_and_overrides),
        cmocka_unit_test(test_admin_rule_needs_admin),
        cmocka_unit_test(test_report_format),
        cmocka_unit_test(test_shell_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
