/*
 * tests/unit/test_ledger.c - unit tests of lib/ledger.c.
 *
 * Owns: the ledger text format (round trip, every parse error with its
 * line), the pinned hash scheme, allocation (collisions in a tiny range,
 * tombstones never reused, reserved ranges skipped, huge reserved ranges
 * skipped fast, ids taken locally, wrap-around, exhaustion), name hand-over
 * between entries, the name claims (version 2 lines, version 1 ledgers
 * read with derived claims, a claimed name never handed to another Id,
 * release), and load/save with the trust rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger.h"

#define ID1 "a11ce000000000000000000000000001"
#define ID2 "b0b00000000000000000000000000002"
#define ID3 "ca201000000000000000000000000003"
#define ID4 "da7e0000000000000000000000000004"

static int parse(struct jfa_ledger *l, const char *text, char *err, size_t errlen)
{
    jfa_ledger_init(l);
    return jfa_ledger_parse(l, text, strlen(text), "ledger", err, errlen);
}

static void test_round_trip(void **state)
{
    struct jfa_ledger l, m;
    char err[256], *a, *b;
    size_t alen, blen;
    ssize_t i;

    (void)state;
    jfa_ledger_init(&l);
    assert_true(jfa_ledger_add_group(&l, "jellyfin-users", 3000, 10, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_user(&l, ID2, 2001, "bob", 11, err, sizeof(err)) >= 0);
    i = jfa_ledger_add_user(&l, ID1, 2000, "alice", 12, err, sizeof(err));
    assert_true(i >= 0);
    l.users[i].last_seen = 99;
    i = jfa_ledger_add_user(&l, ID3, 2002, NULL, 13, err, sizeof(err));
    l.users[i].deleted = true;
    l.users[i].last_seen = 50;
    assert_true(jfa_ledger_add_claim(&l, "bob", ID2, 11, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_claim(&l, "alice", ID1, 12, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_claim(&l, "carl", ID3, 13, err, sizeof(err)) >= 0);
    a = jfa_ledger_format(&l, &alen);
    assert_non_null(a);
    assert_string_equal(a, "jellyfin-auth-ledger 2\n"
                           "group jellyfin-users 3000 10\n"
                           "user " ID1 " 2000 active alice 12 99\n"
                           "user " ID2 " 2001 active bob 11 11\n"
                           "user " ID3 " 2002 deleted - 13 50\n"
                           "name alice " ID1 " 12\n"
                           "name bob " ID2 " 11\n"
                           "name carl " ID3 " 13\n");
    assert_int_equal(parse(&m, a, err, sizeof(err)), 0);
    b = jfa_ledger_format(&m, &blen);
    assert_string_equal(a, b);
    assert_int_equal(alen, blen);
    i = jfa_ledger_find_user(&m, ID3);
    assert_true(i >= 0);
    assert_true(m.users[i].deleted);
    assert_int_equal(m.users[i].uid, 2002);
    assert_true(jfa_ledger_id_used(&m, 2002));
    assert_true(jfa_ledger_id_used(&m, 3000));
    assert_false(jfa_ledger_id_used(&m, 2003));
    assert_int_equal(jfa_ledger_find_group(&m, "jellyfin-users"), 0);
    assert_int_equal(jfa_ledger_find_user(&m, ID4), -1);
    assert_int_equal(m.n_claims, 3);
    i = jfa_ledger_find_claim(&m, "carl");
    assert_true(i >= 0);
    assert_string_equal(m.claims[i].id, ID3);
    assert_int_equal(jfa_ledger_claim_state(&m, (size_t)i), JFA_CLAIM_DELETED);
    assert_int_equal(jfa_ledger_claim_state(&m, (size_t)jfa_ledger_find_claim(&m, "bob")),
                     JFA_CLAIM_ACTIVE);
    free(a);
    free(b);
    jfa_ledger_free(&l);
    jfa_ledger_free(&m);
}

static void expect_error(const char *text, const char *where)
{
    struct jfa_ledger l;
    char err[256];

    err[0] = '\0';
    if (parse(&l, text, err, sizeof(err)) == 0)
        fail_msg("accepted: %s", text);
    if (strstr(err, where) == NULL)
        fail_msg("error \"%s\" does not name \"%s\"", err, where);
    jfa_ledger_free(&l);
}

#define HDR "jellyfin-auth-ledger 1\n"
#define HDR2 "jellyfin-auth-ledger 2\n"
#define HDR3 "jellyfin-auth-ledger 3\n"
#define U1 "user " ID1 " 2000 active alice 1 2\n"
#define U2 "user " ID2 " 2001 deleted bob 1 2\n"

static void test_parse_errors(void **state)
{
    (void)state;
    expect_error("", "ledger:");
    expect_error("jellyfin-auth-ledger 4\n", "ledger:1:");
    expect_error("jellyfin-auth-ledger 2 \n", "ledger:1:");
    expect_error("garbage\n" U1, "ledger:1:");
    expect_error(HDR U1 "user " ID2 " 2000 active bob 1 2\n", "ledger:3:"); /* uid reused */
    expect_error(HDR U1 "user " ID1 " 2001 active bob 1 2\n", "ledger:3:"); /* Id twice */
    expect_error(HDR "user " ID1 " 0 active alice 1 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 " -5 active alice 1 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 " 4294967296 active alice 1 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 " 02000 active alice 1 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 " abc active alice 1 2\n", "ledger:2:");
    expect_error(HDR "user A11CE000000000000000000000000001 2000 active alice 1 2\n", "ledger:2:");
    expect_error(HDR "user a11ce 2000 active alice 1 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 " 2000 gone alice 1 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 " 2000 active Alice 1 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 " 2000 active alice 1\n", "ledger:2:");
    expect_error(HDR "user " ID1 " 2000 active alice 1 2 3\n", "ledger:2:");
    expect_error(HDR "user " ID1 " 2000 active alice x 2\n", "ledger:2:");
    expect_error(HDR "user " ID1 "  2000 active alice 1 2\n", "ledger:2:");
    expect_error(HDR U1 "group users 2000 1\n", "ledger:3:"); /* gid = a uid */
    expect_error(HDR "group Bad 3000 1\n", "ledger:2:");
    expect_error(HDR "group g 3000\n", "ledger:2:");
    expect_error(HDR "group g 3000 1\ngroup g 3001 1\n", "ledger:3:");
    expect_error(HDR "frob x\n", "ledger:2:");
    expect_error(HDR "\n", "ledger:2:");
    expect_error(HDR U1 "user " ID2 " 2001 active alice 1 2\n", "alice"); /* name twice */
    expect_error(HDR "user " ID1 " 2000 active alice 1 2", "truncated");  /* no final newline */
    /* name claims (version 2 only) */
    expect_error(HDR U1 "name alice " ID1 " 1\n", "ledger:3:"); /* not in version 1 */
    expect_error(HDR2 U1 "name alice " ID1 "\n", "ledger:3:");  /* 3 fields */
    expect_error(HDR2 U1 "name alice " ID1 " 1 2\n", "ledger:3:");
    expect_error(HDR2 U1 "name Alice " ID1 " 1\n", "ledger:3:");
    expect_error(HDR2 U1 "name alice a11ce 1\n", "ledger:3:");
    expect_error(HDR2 U1 "name alice " ID1 " x\n", "ledger:3:");
    expect_error(HDR2 U1 "name alice " ID1 " 01\n", "ledger:3:");
    expect_error(HDR2 U1 "name alice " ID2 " 1\n", "ledger:3:"); /* Id without a user line */
    expect_error(HDR2 U1 U2 "name bob " ID2 " 1\nname bob " ID1 " 1\n", "ledger:5:"); /* twice */
    expect_error(HDR2 U1 "name bob " ID1 " 1\n" U2, "ledger:4:"); /* user after names */
    /* active alice's name claimed by someone else: the user line is named */
    expect_error(HDR2 U1 U2 "name alice " ID2 " 1\n", "ledger:2:");
    /* overrides (version 3 only) */
    expect_error(HDR2 U1 "override " ID1 " ally 5\n", "ledger:3:");
    expect_error(HDR3 U1 "override " ID1 " ally\n", "ledger:3:");
    expect_error(HDR3 U1 "override " ID1 " Ally 5\n", "ledger:3:");
    expect_error(HDR3 U1 "override a11ce ally 5\n", "ledger:3:");
    expect_error(HDR3 U1 "override " ID1 " ally x\n", "ledger:3:");
    expect_error(HDR3 U1 "override " ID1 " ally 5\noverride " ID1 " al 5\n", "ledger:4:");
    expect_error(HDR3 U1 "override " ID1 " ally 5\noverride " ID2 " ally 5\n", "ledger:4:");
    expect_error(HDR3 U1 "override " ID1 " ally 5\nname alice " ID1 " 1\n", "ledger:4:");
    {
        /* a NUL byte */
        struct jfa_ledger l;
        char err[256];
        static const char text[] = HDR "user \0";
        jfa_ledger_init(&l);
        assert_int_equal(jfa_ledger_parse(&l, text, sizeof(text) - 1, "ledger", err, sizeof(err)),
                         -1);
        jfa_ledger_free(&l);
    }
}

static void test_parse_ok_cases(void **state)
{
    struct jfa_ledger l;
    char err[256];

    (void)state;
    /* a deleted entry may keep a name an active one holds now */
    assert_int_equal(parse(&l, HDR U1 "user " ID2 " 2001 deleted alice 1 2\n", err, sizeof(err)),
                     0);
    jfa_ledger_free(&l);
    /* header only: an empty ledger */
    assert_int_equal(parse(&l, HDR, err, sizeof(err)), 0);
    assert_int_equal(l.n_users, 0);
    jfa_ledger_free(&l);
    assert_int_equal(parse(&l, HDR2, err, sizeof(err)), 0);
    assert_int_equal(l.n_claims, 0);
    jfa_ledger_free(&l);
    /* version 2: an active user's name may be unclaimed (released) */
    assert_int_equal(parse(&l, HDR2 U1, err, sizeof(err)), 0);
    assert_int_equal(jfa_ledger_find_claim(&l, "alice"), -1);
    jfa_ledger_free(&l);
    /* a deleted user's old names and a renamed user's old names stay claimed */
    assert_int_equal(
        parse(&l, HDR2 U1 U2 "name alice " ID1 " 1\nname bob " ID2 " 1\nname al " ID1 " 1\n", err,
              sizeof(err)),
        0);
    assert_int_equal(l.n_claims, 3);
    assert_int_equal(jfa_ledger_claim_state(&l, (size_t)jfa_ledger_find_claim(&l, "al")),
                     JFA_CLAIM_RENAMED);
    assert_int_equal(jfa_ledger_claim_state(&l, (size_t)jfa_ledger_find_claim(&l, "bob")),
                     JFA_CLAIM_DELETED);
    jfa_ledger_free(&l);
}

/* A version 1 ledger: claims derived from the user lines, written back as
 * version 2, which reads back identically. */
static void test_v1_upgrade(void **state)
{
    struct jfa_ledger l, m;
    char err[256], *a, *b;
    ssize_t ci;

    (void)state;
    /* alice active; bob deleted (at 50) and "bob" again deleted later (at
     * 70, ID4); a deleted ID3 that once held "alice" (active wins) */
    assert_int_equal(parse(&l,
                           HDR "group jellyfin-users 3000 5\n"
                               "user " ID1 " 2000 active alice 10 99\n"
                               "user " ID2 " 2001 deleted bob 11 50\n"
                               "user " ID3 " 2002 deleted alice 12 60\n"
                               "user " ID4 " 2003 deleted bob 13 70\n",
                           err, sizeof(err)),
                     0);
    assert_int_equal(l.n_claims, 2);
    ci = jfa_ledger_find_claim(&l, "alice");
    assert_true(ci >= 0);
    assert_string_equal(l.claims[ci].id, ID1);
    assert_int_equal(l.claims[ci].first_seen, 10);
    ci = jfa_ledger_find_claim(&l, "bob");
    assert_true(ci >= 0);
    assert_string_equal(l.claims[ci].id, ID4); /* the latest holder */
    a = jfa_ledger_format(&l, NULL);
    assert_non_null(a);
    assert_string_equal(a, "jellyfin-auth-ledger 2\n"
                           "group jellyfin-users 3000 5\n"
                           "user " ID1 " 2000 active alice 10 99\n"
                           "user " ID2 " 2001 deleted bob 11 50\n"
                           "user " ID3 " 2002 deleted alice 12 60\n"
                           "user " ID4 " 2003 deleted bob 13 70\n"
                           "name alice " ID1 " 10\n"
                           "name bob " ID4 " 13\n");
    assert_int_equal(parse(&m, a, err, sizeof(err)), 0);
    b = jfa_ledger_format(&m, NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
    jfa_ledger_free(&l);
    jfa_ledger_free(&m);
}

static void test_claims(void **state)
{
    struct jfa_ledger l;
    char err[256];
    ssize_t a, b;
    size_t idx[1];
    const char *names[1];

    (void)state;
    jfa_ledger_init(&l);
    a = jfa_ledger_add_user(&l, ID1, 2000, NULL, 1, err, sizeof(err));
    b = jfa_ledger_add_user(&l, ID2, 2001, NULL, 1, err, sizeof(err));
    assert_true(a >= 0 && b >= 0);
    idx[0] = (size_t)a;
    names[0] = "bob";
    assert_int_equal(jfa_ledger_assign_names(&l, idx, names, 1, 5, err, sizeof(err)), 0);
    assert_true(jfa_ledger_find_claim(&l, "bob") >= 0);
    /* bob (ID1) is deleted: his name is never handed to ID2, nothing changes */
    l.users[a].deleted = true;
    idx[0] = (size_t)b;
    err[0] = '\0';
    assert_int_equal(jfa_ledger_assign_names(&l, idx, names, 1, 6, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ID1));
    assert_string_equal(l.users[b].name, "");
    assert_string_equal(l.claims[jfa_ledger_find_claim(&l, "bob")].id, ID1);
    /* claims: one per name, only for a known Id, only valid names */
    assert_true(jfa_ledger_add_claim(&l, "bob", ID2, 6, err, sizeof(err)) < 0);
    assert_true(jfa_ledger_add_claim(&l, "carl", ID3, 6, err, sizeof(err)) < 0);
    assert_true(jfa_ledger_add_claim(&l, "Carl", ID2, 6, err, sizeof(err)) < 0);
    /* release: then ID2 may have it */
    assert_int_equal(jfa_ledger_release_name(&l, "bob", err, sizeof(err)), 0);
    assert_int_equal(jfa_ledger_find_claim(&l, "bob"), -1);
    assert_int_equal(jfa_ledger_release_name(&l, "bob", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not claimed"));
    assert_int_equal(jfa_ledger_assign_names(&l, idx, names, 1, 7, err, sizeof(err)), 0);
    assert_string_equal(l.users[b].name, "bob");
    assert_string_equal(l.claims[jfa_ledger_find_claim(&l, "bob")].id, ID2);
    assert_int_equal(l.claims[jfa_ledger_find_claim(&l, "bob")].first_seen, 7);
    jfa_ledger_free(&l);
}

/* Many claims: the index survives growth and releases. */
static void test_claims_many(void **state)
{
    struct jfa_ledger l;
    char err[256], id[33], name[16];
    int i;

    (void)state;
    jfa_ledger_init(&l);
    for (i = 0; i < 500; i++) {
        snprintf(id, sizeof(id), "%032x", i + 1);
        snprintf(name, sizeof(name), "u%d", i);
        assert_true(jfa_ledger_add_user(&l, id, 100000 + (uint32_t)i, name, 1, err, sizeof(err)) >=
                    0);
        assert_true(jfa_ledger_add_claim(&l, name, id, 1, err, sizeof(err)) >= 0);
    }
    for (i = 0; i < 500; i += 2) {
        snprintf(name, sizeof(name), "u%d", i);
        assert_int_equal(jfa_ledger_release_name(&l, name, err, sizeof(err)), 0);
    }
    assert_int_equal(l.n_claims, 250);
    for (i = 0; i < 500; i++) {
        ssize_t ci;
        snprintf(name, sizeof(name), "u%d", i);
        snprintf(id, sizeof(id), "%032x", i + 1);
        ci = jfa_ledger_find_claim(&l, name);
        if (i % 2 == 0) {
            assert_int_equal(ci, -1);
        } else {
            assert_true(ci >= 0);
            assert_string_equal(l.claims[ci].id, id);
        }
    }
    jfa_ledger_free(&l);
}

/* The hash scheme is part of the on-disk contract: pin it. Values from
 * Python: min + int.from_bytes(sha256(b"jellyfin-auth uid\0" + key)[:8],
 * "big") % (max - min + 1). */
static void test_hash_pinned(void **state)
{
    (void)state;
    assert_int_equal(jfa_ledger_hash(ID1, 1879048192u, 2147352575u), 2014792917u);
    assert_int_equal(jfa_ledger_hash("group:jellyfin-users", 1879048192u, 2147352575u),
                     2116252090u);
    assert_int_equal(jfa_ledger_hash(ID1, 5000, 5000), 5000);
}

/* The reserved ranges as documented (ledger.h, doc/design.md): the test's
 * own oracle, independent of lib/ledger.c's table. */
static bool reserved(uint32_t id)
{
    return id <= 999 || (id >= 60001 && id <= 60577) || (id >= 61184 && id <= 65519) ||
           id == 65534 || id == 65535 || (id >= 524288 && id <= 1879048191u) || id >= 2147483648u;
}

/* A one-id range: allocated exactly when that id is not reserved. */
static void test_reserved(void **state)
{
    static const uint32_t yes[] = {0,     1,     999,    60001,      60577,       61184,      65519,
                                   65534, 65535, 524288, 1879048191, 2147483648u, 4294967295u};
    static const uint32_t no[] = {1000,  60000, 60578,  61183,       65520,
                                  65533, 65536, 524287, 1879048192u, 2147483647u};
    struct jfa_ledger l;
    char err[256];
    uint32_t out;
    size_t i;

    (void)state;
    jfa_ledger_init(&l);
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        assert_true(reserved(yes[i]));
        assert_int_equal(
            jfa_ledger_alloc(&l, ID1, yes[i], yes[i], NULL, NULL, &out, err, sizeof(err)), -1);
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        assert_false(reserved(no[i]));
        assert_int_equal(
            jfa_ledger_alloc(&l, ID1, no[i], no[i], NULL, NULL, &out, err, sizeof(err)), 0);
        assert_int_equal(out, no[i]);
    }
    jfa_ledger_free(&l);
}

static void test_tiny_range(void **state)
{
    struct jfa_ledger l;
    char err[256];
    static const char *const ids[] = {ID1, ID2, ID3};
    bool seen[3] = {false, false, false};
    size_t i;
    uint32_t out;

    (void)state;
    jfa_ledger_init(&l);
    for (i = 0; i < 3; i++) {
        ssize_t k = jfa_ledger_alloc_user(&l, ids[i], NULL, 100000, 100002, NULL, NULL, 1, err,
                                          sizeof(err));
        assert_true(k >= 0);
        assert_true(l.users[k].uid >= 100000 && l.users[k].uid <= 100002);
        assert_false(seen[l.users[k].uid - 100000]);
        seen[l.users[k].uid - 100000] = true;
    }
    /* exhausted: a clear error, nothing added */
    err[0] = '\0';
    assert_true(
        jfa_ledger_alloc_user(&l, ID4, NULL, 100000, 100002, NULL, NULL, 1, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "no free id"));
    assert_int_equal(l.n_users, 3);
    assert_int_equal(jfa_ledger_alloc(&l, ID4, 100000, 100002, NULL, NULL, &out, err, sizeof(err)),
                     -1);
    jfa_ledger_free(&l);
}

static void test_tombstone_never_reused(void **state)
{
    struct jfa_ledger l;
    char err[256];
    ssize_t a, b;

    (void)state;
    jfa_ledger_init(&l);
    a = jfa_ledger_alloc_user(&l, ID1, "alice", 100000, 100001, NULL, NULL, 1, err, sizeof(err));
    assert_true(a >= 0);
    l.users[a].deleted = true; /* alice was deleted */
    /* a new user (new Id, even with the same name) gets the other id */
    b = jfa_ledger_alloc_user(&l, ID2, "alice", 100000, 100001, NULL, NULL, 2, err, sizeof(err));
    assert_true(b >= 0);
    assert_int_not_equal(l.users[a].uid, l.users[b].uid);
    /* and then the range is full: the tombstone's id is never handed out */
    assert_true(
        jfa_ledger_alloc_user(&l, ID3, NULL, 100000, 100001, NULL, NULL, 3, err, sizeof(err)) < 0);
    /* adding a used id directly is refused too */
    assert_true(jfa_ledger_add_user(&l, ID3, l.users[a].uid, NULL, 3, err, sizeof(err)) < 0);
    jfa_ledger_free(&l);
}

static void test_reserved_skipped(void **state)
{
    struct jfa_ledger l;
    char err[256];
    uint32_t out;
    int n = 0;

    (void)state;
    jfa_ledger_init(&l);
    /* [65530, 65540] minus 65534, 65535: 9 usable ids */
    for (;;) {
        char id[33];
        snprintf(id, sizeof(id), "%032x", n + 1);
        if (jfa_ledger_alloc(&l, id, 65530, 65540, NULL, NULL, &out, err, sizeof(err)) != 0)
            break;
        assert_false(reserved(out));
        assert_true(jfa_ledger_add_user(&l, id, out, NULL, 1, err, sizeof(err)) >= 0);
        n++;
        assert_true(n < 20);
    }
    assert_int_equal(n, 9);
    jfa_ledger_free(&l);

    /* [59999, 60002]: 60001-60577 is systemd's; 2 usable */
    jfa_ledger_init(&l);
    assert_int_equal(
        jfa_ledger_alloc_user(&l, ID1, NULL, 59999, 60002, NULL, NULL, 1, err, sizeof(err)), 0);
    assert_true(
        jfa_ledger_alloc_user(&l, ID2, NULL, 59999, 60002, NULL, NULL, 1, err, sizeof(err)) >= 0);
    assert_true(
        jfa_ledger_alloc_user(&l, ID3, NULL, 59999, 60002, NULL, NULL, 1, err, sizeof(err)) < 0);
    jfa_ledger_free(&l);
}

static bool taken_all(void *ctx, uint32_t id)
{
    (*(uint64_t *)ctx)++;
    (void)id;
    return true;
}

static void test_huge_reserved_fast(void **state)
{
    struct jfa_ledger l;
    char err[256];
    uint32_t out;
    uint64_t calls = 0;

    (void)state;
    jfa_ledger_init(&l);
    /* a range that is almost all the nspawn block: only 524280-524287 and
     * 1879048192-1879048200 are usable; exhaustion must be found without
     * walking 1.35e9 reserved ids one by one */
    assert_int_equal(
        jfa_ledger_alloc(&l, ID1, 524280, 1879048200u, taken_all, &calls, &out, err, sizeof(err)),
        -1);
    assert_int_equal(calls, 8 + 9);
    assert_int_equal(
        jfa_ledger_alloc(&l, ID1, 524280, 1879048200u, NULL, NULL, &out, err, sizeof(err)), 0);
    assert_false(reserved(out));
    jfa_ledger_free(&l);
}

static uint32_t taken_one;

static bool taken_that(void *ctx, uint32_t id)
{
    (void)ctx;
    return id == taken_one;
}

static bool taken_all_but_min(void *ctx, uint32_t id)
{
    (void)ctx;
    return id != 100000;
}

static void test_taken_and_wrap(void **state)
{
    struct jfa_ledger l;
    char err[256];
    uint32_t first, out;

    (void)state;
    jfa_ledger_init(&l);
    first = jfa_ledger_hash(ID1, 100000, 100999);
    assert_int_equal(jfa_ledger_alloc(&l, ID1, 100000, 100999, NULL, NULL, &out, err, sizeof(err)),
                     0);
    assert_int_equal(out, first);
    taken_one = first; /* a local account has it: probe +1 (with wrap) */
    assert_int_equal(
        jfa_ledger_alloc(&l, ID1, 100000, 100999, taken_that, NULL, &out, err, sizeof(err)), 0);
    assert_int_equal(out, first == 100999 ? 100000 : first + 1);
    /* only the lowest id is free: found by wrapping around */
    assert_int_equal(
        jfa_ledger_alloc(&l, ID1, 100000, 100999, taken_all_but_min, NULL, &out, err, sizeof(err)),
        0);
    assert_int_equal(out, 100000);
    /* a bad range */
    assert_int_equal(jfa_ledger_alloc(&l, ID1, 200, 100, NULL, NULL, &out, err, sizeof(err)), -1);
    jfa_ledger_free(&l);
}

/* Same set of Ids allocated in ascending Id order gives the same result
 * however the caller received them (sync sorts by Id before allocating). */
static void test_determinism(void **state)
{
    struct jfa_ledger a, b;
    char err[256], *ta, *tb;
    char ids[40][33];
    int i;

    (void)state;
    for (i = 0; i < 40; i++)
        snprintf(ids[i], sizeof(ids[i]), "%08x%024x", (unsigned)(i * 2654435761u), i);
    jfa_ledger_init(&a);
    jfa_ledger_init(&b);
    /* a tiny range forces collisions and probing */
    for (i = 0; i < 40; i++)
        assert_true(jfa_ledger_alloc_user(&a, ids[i], NULL, 100000, 100049, NULL, NULL, 1, err,
                                          sizeof(err)) >= 0);
    for (i = 0; i < 40; i++)
        assert_true(jfa_ledger_alloc_user(&b, ids[i], NULL, 100000, 100049, NULL, NULL, 1, err,
                                          sizeof(err)) >= 0);
    ta = jfa_ledger_format(&a, NULL);
    tb = jfa_ledger_format(&b, NULL);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    jfa_ledger_free(&a);
    jfa_ledger_free(&b);
}

static void test_assign_names(void **state)
{
    struct jfa_ledger l;
    char err[256];
    ssize_t a, b, c;
    size_t idx[2];
    const char *names[2];

    (void)state;
    jfa_ledger_init(&l);
    a = jfa_ledger_add_user(&l, ID1, 2000, "john", 1, err, sizeof(err));
    b = jfa_ledger_add_user(&l, ID2, 2001, "jack", 1, err, sizeof(err));
    c = jfa_ledger_add_user(&l, ID3, 2002, NULL, 1, err, sizeof(err));
    assert_true(a >= 0 && b >= 0 && c >= 0);
    /* swap-like: c takes "john" from a, a takes "jack" from b */
    idx[0] = (size_t)c;
    names[0] = "john";
    idx[1] = (size_t)a;
    names[1] = "jack";
    assert_int_equal(jfa_ledger_assign_names(&l, idx, names, 2, 1, err, sizeof(err)), 0);
    assert_string_equal(l.users[c].name, "john");
    assert_string_equal(l.users[a].name, "jack");
    assert_string_equal(l.users[b].name, "");
    jfa_ledger_free(&l);
}

/* Overrides: kept by Id, one Id per name, version 3 only while there are
 * any, round trip. */
static void test_overrides(void **state)
{
    struct jfa_ledger l, m;
    char err[256], *a, *b;
    size_t alen, blen;

    (void)state;
    jfa_ledger_init(&l);
    assert_true(jfa_ledger_add_user(&l, ID1, 2000, "alice", 1, err, sizeof(err)) >= 0);
    assert_int_equal(jfa_ledger_set_override(&l, ID1, "ally", 7, err, sizeof(err)), 0);
    assert_int_equal(jfa_ledger_set_override(&l, ID2, "bee", 8, err, sizeof(err)), 0);
    /* another Id's override name */
    assert_int_equal(jfa_ledger_set_override(&l, ID3, "ally", 9, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ID1));
    assert_int_equal(jfa_ledger_set_override(&l, ID3, "Bad", 9, err, sizeof(err)), -1);
    assert_int_equal(jfa_ledger_set_override(&l, "a11ce", "ok", 9, err, sizeof(err)), -1);
    /* replacing one's own */
    assert_int_equal(jfa_ledger_set_override(&l, ID1, "al", 10, err, sizeof(err)), 0);
    assert_int_equal(l.n_overrides, 2);
    assert_int_equal(jfa_ledger_find_override_name(&l, "ally"), -1);
    assert_string_equal(l.overrides[jfa_ledger_find_override(&l, ID1)].name, "al");
    a = jfa_ledger_format(&l, &alen);
    assert_non_null(a);
    assert_non_null(strstr(a, "jellyfin-auth-ledger 3\n"));
    assert_non_null(strstr(a, "override " ID1 " al 10\noverride " ID2 " bee 8\n"));
    assert_int_equal(parse(&m, a, err, sizeof(err)), 0);
    b = jfa_ledger_format(&m, &blen);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    jfa_ledger_free(&m);
    assert_int_equal(jfa_ledger_unset_override(&l, ID1), 0);
    assert_int_equal(jfa_ledger_unset_override(&l, ID1), -1);
    assert_int_equal(jfa_ledger_unset_override(&l, ID2), 0);
    a = jfa_ledger_format(&l, &alen);
    assert_non_null(a);
    assert_non_null(strstr(a, "jellyfin-auth-ledger 2\n"));
    assert_null(strstr(a, "override"));
    free(a);
    jfa_ledger_free(&l);
}

static void count_line(void *ctx, const char *line)
{
    (void)line;
    (*(int *)ctx)++;
}

static bool taken_3000(void *ctx, uint32_t id)
{
    (void)ctx;
    return id == 3000;
}

/* merging b into a reports `conflicts` conflicts, one line each, and
 * leaves a as it was */
static void assert_merge_refused(struct jfa_ledger *a, const struct jfa_ledger *b,
                                 jfa_id_taken_fn taken, int conflicts)
{
    char err[256], *before = jfa_ledger_format(a, NULL), *after;
    size_t added = 0;
    int lines = 0;

    assert_int_equal(
        jfa_ledger_merge(a, b, taken, NULL, count_line, &lines, &added, err, sizeof(err)),
        conflicts);
    assert_int_equal(lines, conflicts);
    after = jfa_ledger_format(a, NULL);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

/* Merge (ledger import): all or nothing; each kind of conflict counted. */
static void test_merge(void **state)
{
    struct jfa_ledger a, b;
    char err[256];
    size_t added = 0;
    int lines = 0;

    (void)state;
    jfa_ledger_init(&a);
    jfa_ledger_init(&b);
    assert_true(jfa_ledger_add_user(&a, ID1, 2000, "alice", 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_claim(&a, "alice", ID1, 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_group(&a, "jfu", 2500, 1, err, sizeof(err)) >= 0);
    /* b: alice the same, bob new, group the same, a new claim, an override */
    assert_true(jfa_ledger_add_user(&b, ID1, 2000, "alice", 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_user(&b, ID2, 2001, "bob", 2, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_claim(&b, "bob", ID2, 2, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_group(&b, "jfu", 2500, 1, err, sizeof(err)) >= 0);
    assert_int_equal(jfa_ledger_set_override(&b, ID2, "bobby", 3, err, sizeof(err)), 0);
    assert_int_equal(
        jfa_ledger_merge(&a, &b, NULL, NULL, count_line, &lines, &added, err, sizeof(err)), 0);
    assert_int_equal(lines, 0);
    assert_int_equal(added, 3); /* bob, his claim, the override */
    assert_int_equal(a.users[jfa_ledger_find_user(&a, ID2)].uid, 2001);
    assert_true(jfa_ledger_find_claim(&a, "bob") >= 0);
    assert_true(jfa_ledger_find_override(&a, ID2) >= 0);
    /* merging again adds nothing */
    assert_int_equal(
        jfa_ledger_merge(&a, &b, NULL, NULL, count_line, &lines, &added, err, sizeof(err)), 0);
    assert_int_equal(added, 0);
    jfa_ledger_free(&b);

    /* conflicts: Id with another uid, uid held by another Id, a local uid,
     * group gid, claim, override; nothing applied */
    jfa_ledger_init(&b);
    assert_true(jfa_ledger_add_user(&b, ID1, 2005, "alice", 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_user(&b, ID3, 2001, "carl", 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_user(&b, "c0000000000000000000000000000004", 3000, NULL, 1, err,
                                    sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_group(&b, "jfu", 2600, 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_claim(&b, "alice", ID3, 1, err, sizeof(err)) >= 0);
    assert_int_equal(jfa_ledger_set_override(&b, ID2, "robert", 3, err, sizeof(err)), 0);
    assert_merge_refused(&a, &b, taken_3000, 6);
    jfa_ledger_free(&a);
    jfa_ledger_free(&b);
}

/* An import never brings an id of a reserved range (systemd's DynamicUser
 * and nspawn ranges, nobody, system ids): free on this host today, taken by
 * a service tomorrow. The allocator never picks them; a crafted ledger can. */
static void test_merge_reserved(void **state)
{
    struct jfa_ledger a, b;
    char err[256];

    (void)state;
    jfa_ledger_init(&a);
    jfa_ledger_init(&b);
    assert_true(jfa_ledger_add_user(&a, ID1, 2000, "alice", 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_user(&b, ID2, 62000, "bob", 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_user(&b, ID3, 998, "carl", 1, err, sizeof(err)) >= 0);
    assert_true(jfa_ledger_add_group(&b, "jfu", 65534, 1, err, sizeof(err)) >= 0);
    assert_merge_refused(&a, &b, NULL, 3);
    assert_true(jfa_ledger_id_reserved(62000) && jfa_ledger_id_reserved(65534) &&
                jfa_ledger_id_reserved(998) && jfa_ledger_id_reserved(2147483648u));
    assert_false(jfa_ledger_id_reserved(2000) || jfa_ledger_id_reserved(1879048192u));
    jfa_ledger_free(&a);
    jfa_ledger_free(&b);
}

static void test_load_save(void **state)
{
    struct jfa_ledger l, m;
    char dir[] = "/tmp/test_ledger.XXXXXX", path[256], err[512];
    int fd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/ledger", dir);
    jfa_ledger_init(&m);
    assert_int_equal(jfa_ledger_load(&m, path, err, sizeof(err)), 1); /* absent */
    jfa_ledger_init(&l);
    assert_true(jfa_ledger_add_user(&l, ID1, 2000, "alice", 1, err, sizeof(err)) >= 0);
    assert_int_equal(jfa_ledger_save(&l, path, err, sizeof(err)), 0);
    {
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
    }
    assert_int_equal(jfa_ledger_load(&m, path, err, sizeof(err)), 0);
    assert_int_equal(m.n_users, 1);
    assert_int_equal(m.users[0].uid, 2000);
    jfa_ledger_free(&m);
    /* group/other readable: refused, not silently reset */
    assert_int_equal(chmod(path, 0644), 0);
    jfa_ledger_init(&m);
    assert_int_equal(jfa_ledger_load(&m, path, err, sizeof(err)), -1);
    jfa_ledger_free(&m);
    assert_int_equal(chmod(path, 0600), 0);
    /* corrupt: the error names the file and line */
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "bogus\n", 6), 6);
    close(fd);
    jfa_ledger_init(&m);
    assert_int_equal(jfa_ledger_load(&m, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":3:"));
    assert_non_null(strstr(err, path));
    jfa_ledger_free(&m);
    jfa_ledger_free(&l);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_ok_cases),   cmocka_unit_test(test_v1_upgrade),
        cmocka_unit_test(test_claims),           cmocka_unit_test(test_claims_many),
        cmocka_unit_test(test_hash_pinned),      cmocka_unit_test(test_reserved),
        cmocka_unit_test(test_tiny_range),       cmocka_unit_test(test_tombstone_never_reused),
        cmocka_unit_test(test_reserved_skipped), cmocka_unit_test(test_huge_reserved_fast),
        cmocka_unit_test(test_taken_and_wrap),   cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_assign_names),     cmocka_unit_test(test_load_save),
        cmocka_unit_test(test_overrides),        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_reserved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
