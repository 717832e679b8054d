/*
 * test_db.c - cmocka tests of the users database writer (dbwrite.c) and
 * reader (db.c).
 *
 * Owns: round trips of every field, hits and misses, the empty database,
 * sizes around the hash table boundaries, 100k users, full hash-tag
 * collisions, writer input checks (duplicates, bad strings), trust checks
 * at open (owner/mode/symlink/FIFO), replacement detection (lstat and the
 * watch word, older files without one), jfa_db_verify on flipped bytes,
 * every truncation of a small database, a fixed-seed random corruption
 * loop, hand-made hostile files of both versions (offsets past the end,
 * entries and strings past their bounds, full hash tables whose tags all
 * match, huge counts), version 1 files written by the version-1 writer
 * (tests/data) answering exactly as version 2, and the cell tables:
 * inline and overflowing entries by every key, the same answers through
 * the slot tables and the version 1 view (older readers), colliding homes
 * (Robin Hood), names clustered past the writer's limit (no user cells),
 * every rule of the cell block at open, hostile cells, and
 * verify naming the table and cell at fault.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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

#include "db.h"
#include "db_format.h"
#include "dbwrite.h"
#include "../../nss_jellyfin/nss_common.h" /* jfa_nss_name_ours_n (inline) */

static char tmpdir[64];
static char dbpath[128];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_db.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(dbpath, sizeof(dbpath), "%s/users.db", tmpdir);
    return 0;
}

static int teardown_dir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd;
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

/* ---- the fixture database ---- */

static const uint32_t alice_gids[] = {100000, 100100};
static const uint32_t bob_gids[] = {100000};
static const char *const jf_members[] = {"alice", "bob"};
static const char *const adm_members[] = {"alice"};
static const char *const alice_members[] = {"alice"};

static void fixture(struct jfa_dbw_user u[3], struct jfa_dbw_group g[4])
{
    memset(u, 0, 3 * sizeof(*u));
    memset(g, 0, 4 * sizeof(*g));
    u[0] = (struct jfa_dbw_user){.uid = 100001,
                                 .gid = 100001,
                                 .name = "alice",
                                 .gecos = "Alice A,,,",
                                 .home = "/home/alice",
                                 .shell = "/bin/bash",
                                 .jf_name = "Alice",
                                 .flags = JFA_DBU_ADMIN,
                                 .gids = alice_gids,
                                 .n_gids = 2};
    strcpy(u[0].jf_id, "0123456789abcdef0123456789ABCDEF");
    u[1] = (struct jfa_dbw_user){.uid = 100002,
                                 .gid = 100002,
                                 .name = "bob",
                                 .gecos = "",
                                 .home = "/home/bob",
                                 .shell = "/bin/sh",
                                 .jf_name = "Bob Smith",
                                 .flags = JFA_DBU_DISABLED | JFA_DBU_HIDDEN,
                                 .gids = bob_gids,
                                 .n_gids = 1};
    strcpy(u[1].jf_id, "ffffffffffffffffffffffffffffffff");
    u[2] = (struct jfa_dbw_user){.uid = 100003,
                                 .gid = 100000,
                                 .name = "carol.d-x_y@z",
                                 .gecos = "Carol",
                                 .home = "/home/carol",
                                 .shell = "/bin/bash",
                                 .jf_name = "carol.d-x_y@z",
                                 .flags = JFA_DBU_NO_REMOTE};
    strcpy(u[2].jf_id, "00000000000000000000000000000003");
    g[0] = (struct jfa_dbw_group){
        .gid = 100001, .name = "alice", .members = alice_members, .n_members = 1};
    g[1] = (struct jfa_dbw_group){.gid = 100002, .name = "bob"};
    g[2] = (struct jfa_dbw_group){
        .gid = 100000, .name = "jellyfin", .members = jf_members, .n_members = 2};
    g[3] = (struct jfa_dbw_group){
        .gid = 100100, .name = "jfadmin", .members = adm_members, .n_members = 1};
}

/* The fixture as sync writes it: a transitional file (version 2 sections
 * and a version 1 view). */
static void build_fixture(unsigned char **img, size_t *len)
{
    struct jfa_dbw_user u[3];
    struct jfa_dbw_group g[4];
    char err[256];
    fixture(u, g);
    assert_int_equal(jfa_db_build(u, 3, g, 4, 1700000000, img, len, err, sizeof(err)), 0);
}

/* The fixture written with writer flags (dbwrite.h). */
static void build_fixture_flags(unsigned flags, unsigned char **img, size_t *len)
{
    struct jfa_dbw_user u[3];
    struct jfa_dbw_group g[4];
    char err[256];
    fixture(u, g);
    assert_int_equal(jfa_db_build_flags(u, 3, g, 4, 1700000000, flags, img, len, err, sizeof(err)),
                     0);
}

/* The fixture as a plain version 2 file (header version 2, no v1 view). */
static void build_fixture_v2(unsigned char **img, size_t *len)
{
    build_fixture_flags(JFA_DBW_NO_V1_VIEW, img, len);
}

static void open_image(struct jfa_db *db, const unsigned char *img, size_t len)
{
    write_file(dbpath, img, len, 0644);
    assert_int_equal(jfa_db_open(db, dbpath, false), 0);
}

/* A file of tests/data (version 1 databases written by the version-1
 * writer: see tests/data/README), read into memory. */
static unsigned char *load_data(const char *name, size_t *len)
{
    const char *top = getenv("top_srcdir");
    char path[512];
    struct stat st;
    unsigned char *buf;
    int fd;

    snprintf(path, sizeof(path), "%s/tests/data/%s", top && *top ? top : "..", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail_msg("cannot open %s (set top_srcdir)", path);
    assert_int_equal(fstat(fd, &st), 0);
    buf = malloc((size_t)st.st_size);
    assert_non_null(buf);
    assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
    close(fd);
    *len = (size_t)st.st_size;
    return buf;
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    char err[256];
    (void)state;

    build_fixture(&img, &len);
    assert_int_equal(len % 8, 0);
    open_image(&db, img, len);
    assert_int_equal(db.n_users, 3);
    assert_int_equal(db.n_groups, 4);
    assert_int_equal(db.generation, 1700000000);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);

    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), 0);
    assert_int_equal(u.uid, 100001);
    assert_int_equal(u.gid, 100001);
    assert_string_equal(u.name, "alice");
    assert_string_equal(u.gecos, "Alice A,,,");
    assert_string_equal(u.home, "/home/alice");
    assert_string_equal(u.shell, "/bin/bash");
    assert_string_equal(u.jf_name, "Alice");
    assert_string_equal(u.jf_id, "0123456789abcdef0123456789abcdef");
    assert_int_equal(u.flags, JFA_DBU_ADMIN);
    assert_int_equal(u.n_gids, 2);
    assert_int_equal(jfa_db_user_gid(&u, 0), 100000);
    assert_int_equal(jfa_db_user_gid(&u, 1), 100100);
    assert_int_equal(jfa_db_user_gid(&u, 2), 0);

    assert_int_equal(jfa_db_user_by_uid(&db, 100002, &u), 0);
    assert_string_equal(u.name, "bob");
    assert_string_equal(u.gecos, "");
    assert_string_equal(u.jf_name, "Bob Smith");
    assert_string_equal(u.jf_id, "ffffffffffffffffffffffffffffffff");
    assert_int_equal(u.flags, JFA_DBU_DISABLED | JFA_DBU_HIDDEN);
    assert_int_equal(u.n_gids, 1);

    assert_int_equal(jfa_db_user_by_name(&db, "carol.d-x_y@z", &u), 0);
    assert_int_equal(u.uid, 100003);
    assert_int_equal(u.n_gids, 0);
    assert_int_equal(u.flags, JFA_DBU_NO_REMOTE);

    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), 0);
    assert_int_equal(g.gid, 100000);
    assert_int_equal(g.n_members, 2);
    assert_string_equal(jfa_db_group_member(&db, &g, 0), "alice");
    assert_string_equal(jfa_db_group_member(&db, &g, 1), "bob");
    assert_null(jfa_db_group_member(&db, &g, 2));
    assert_int_equal(jfa_db_group_by_gid(&db, 100100, &g), 0);
    assert_string_equal(g.name, "jfadmin");
    assert_int_equal(jfa_db_group_by_gid(&db, 100002, &g), 0);
    assert_string_equal(g.name, "bob");
    assert_int_equal(g.n_members, 0);

    /* enumeration in stored order */
    assert_int_equal(jfa_db_user_at(&db, 0, &u), 0);
    assert_string_equal(u.name, "alice");
    assert_int_equal(jfa_db_user_at(&db, 2, &u), 0);
    assert_string_equal(u.name, "carol.d-x_y@z");
    assert_int_equal(jfa_db_user_at(&db, 3, &u), -ENOENT);
    assert_int_equal(jfa_db_group_at(&db, 3, &g), 0);
    assert_string_equal(g.name, "jfadmin");
    assert_int_equal(jfa_db_group_at(&db, 4, &g), -ENOENT);

    jfa_db_close(&db);
    assert_null(db.base);
    free(img);
}

static void test_misses(void **state)
{
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    (void)state;

    build_fixture(&img, &len);
    open_image(&db, img, len);
    assert_int_equal(jfa_db_user_by_name(&db, "mallory", &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_name(&db, "Alice", &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_name(&db, "alic", &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_name(&db, "", &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_name(&db, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &u),
                     -ENOENT);
    assert_int_equal(jfa_db_user_by_uid(&db, 0, &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_uid(&db, 100000, &u), -ENOENT);
    assert_int_equal(jfa_db_group_by_name(&db, "carol", &g), -ENOENT);
    assert_int_equal(jfa_db_group_by_gid(&db, 100003, &g), -ENOENT);
    assert_int_equal(jfa_db_group_by_gid(&db, 0, &g), -ENOENT);
    jfa_db_close(&db);
    /* a closed handle answers nothing */
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -ENOENT);
    assert_int_equal(jfa_db_group_by_gid(&db, 100000, &g), -ENOENT);
    free(img);
}

/* Case folding: only records with the fold flag answer a folded query;
 * the exact name always wins; an over-long or capital-free name is not
 * folded; root stays out. */
static void test_case_fold(void **state)
{
    struct jfa_dbw_user u[3];
    struct jfa_dbw_group g[4];
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user du;
    struct jfa_db_group dg;
    char err[256];
    (void)state;

    fixture(u, g);
    u[0].flags |= JFA_DBU_FOLD; /* alice folds, bob does not */
    g[0].flags = JFA_DBG_FOLD;
    assert_int_equal(jfa_db_build(u, 3, g, 4, 1700000000, &img, &len, err, sizeof(err)), 0);
    open_image(&db, img, len);
    assert_true(db.cell_n[0] != 0 && db.cell_n[2] != 0); /* folding through the cell tables */
    assert_int_equal(jfa_db_user_by_name_ci(&db, "Alice", &du), 0);
    assert_string_equal(du.name, "alice");
    assert_int_equal(jfa_db_user_by_name_ci(&db, "ALICE", &du), 0);
    assert_int_equal(jfa_db_user_by_name_ci(&db, "alice", &du), 0);
    assert_int_equal(jfa_db_user_by_name(&db, "Alice", &du), -ENOENT);
    assert_int_equal(jfa_db_user_by_name_ci(&db, "Bob", &du), -ENOENT); /* no flag */
    assert_int_equal(jfa_db_user_by_name_ci(&db, "bob", &du), 0);
    assert_int_equal(jfa_db_user_by_name_ci(&db, "AliceAliceAliceAliceAliceAliceAli", &du),
                     -ENOENT);
    assert_int_equal(jfa_db_group_by_name_ci(&db, "ALICE", &dg), 0);
    assert_string_equal(dg.name, "alice");
    assert_int_equal(dg.flags, JFA_DBG_FOLD);
    assert_int_equal(jfa_db_group_by_name_ci(&db, "Bob", &dg), -ENOENT);
    assert_int_equal(jfa_db_group_by_name_ci(&db, "JELLYFIN", &dg), -ENOENT);

    /* a prepared query: its length and hash, the same answers */
    struct jfa_db_query q;
    assert_false(jfa_db_query_name(&q, NULL));
    assert_false(jfa_db_query_name(&q, "AliceAliceAliceAliceAliceAliceAli")); /* 33 */
    assert_true(jfa_db_query_name(&q, "ALICE"));
    assert_int_equal(q.len, 5);
    assert_int_equal(q.hash, jfa_db_hash_name("ALICE", 5));
    assert_int_equal(jfa_db_user_by_query_ci(&db, &q, &du), 0);
    assert_string_equal(du.name, "alice");
    assert_int_equal(jfa_db_group_by_query_ci(&db, &q, &dg), 0);
    assert_true(jfa_db_query_name(&q, "Bob"));
    assert_int_equal(jfa_db_user_by_query_ci(&db, &q, &du), -ENOENT);
    assert_true(jfa_db_query_name(&q, "bob"));
    assert_int_equal(jfa_db_user_by_query_ci(&db, &q, &du), 0);
    assert_int_equal(du.uid, u[1].uid);
    jfa_db_close(&db);
    free(img);
}

static void test_empty_db(void **state)
{
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    char err[256];
    (void)state;

    assert_int_equal(jfa_db_build(NULL, 0, NULL, 0, 7, &img, &len, err, sizeof(err)), 0);
    open_image(&db, img, len);
    assert_int_equal(db.n_users, 0);
    assert_int_equal(db.n_groups, 0);
    assert_int_equal(db.generation, 7);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_uid(&db, 1000, &u), -ENOENT);
    assert_int_equal(jfa_db_group_by_name(&db, "alice", &g), -ENOENT);
    assert_int_equal(jfa_db_group_by_gid(&db, 1000, &g), -ENOENT);
    assert_int_equal(jfa_db_user_at(&db, 0, &u), -ENOENT);
    assert_int_equal(jfa_db_group_at(&db, 0, &g), -ENOENT);
    jfa_db_close(&db);
    free(img);
}

static void test_100k(void **state)
{
    enum { N = 100000 };
    struct jfa_dbw_user *users = calloc(N, sizeof(*users));
    struct jfa_dbw_group *groups = calloc(N + 1, sizeof(*groups));
    const char **members = calloc(N, sizeof(*members));
    char(*names)[16] = calloc(N, sizeof(*names));
    char(*homes)[32] = calloc(N, sizeof(*homes));
    static const uint32_t common_gid[] = {60000};
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    char err[256];
    (void)state;

    assert_non_null(users);
    assert_non_null(groups);
    assert_non_null(members);
    assert_non_null(names);
    assert_non_null(homes);
    for (uint32_t i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "u%u", i);
        snprintf(homes[i], sizeof(homes[i]), "/home/u%u", i);
        users[i] = (struct jfa_dbw_user){.uid = 200000 + i,
                                         .gid = 200000 + i,
                                         .name = names[i],
                                         .gecos = "bulk user",
                                         .home = homes[i],
                                         .shell = "/bin/bash",
                                         .jf_name = names[i],
                                         .gids = common_gid,
                                         .n_gids = 1};
        snprintf(users[i].jf_id, sizeof(users[i].jf_id), "%032x", i);
        groups[i] = (struct jfa_dbw_group){.gid = 200000 + i, .name = names[i]};
        members[i] = names[i];
    }
    groups[N] = (struct jfa_dbw_group){
        .gid = 60000, .name = "everyone", .members = members, .n_members = N};
    assert_int_equal(jfa_db_build(users, N, groups, N + 1, 1, &img, &len, err, sizeof(err)), 0);
    open_image(&db, img, len);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
    for (uint32_t i = 0; i < N; i++) {
        struct jfa_db_user u;
        struct jfa_db_group g;
        assert_int_equal(jfa_db_user_by_name(&db, names[i], &u), 0);
        assert_int_equal(u.uid, 200000 + i);
        assert_int_equal(jfa_db_user_by_uid(&db, 200000 + i, &u), 0);
        assert_string_equal(u.home, homes[i]);
        assert_int_equal(jfa_db_group_by_gid(&db, 200000 + i, &g), 0);
        assert_string_equal(g.name, names[i]);
    }
    {
        struct jfa_db_group g;
        struct jfa_db_user u;
        assert_int_equal(jfa_db_group_by_name(&db, "everyone", &g), 0);
        assert_int_equal(g.n_members, N);
        assert_string_equal(jfa_db_group_member(&db, &g, N - 1), names[N - 1]);
        assert_int_equal(jfa_db_user_by_name(&db, "u100000", &u), -ENOENT);
        assert_int_equal(jfa_db_user_by_uid(&db, 200000 + N, &u), -ENOENT);
    }
    jfa_db_close(&db);
    free(img);
    free(users);
    free(groups);
    free(members);
    free(names);
    free(homes);
}

/* ---- writer checks ---- */

static void expect_build_fail(struct jfa_dbw_user *u, size_t nu, struct jfa_dbw_group *g, size_t ng,
                              const char *needle)
{
    unsigned char *img = (unsigned char *)"x";
    size_t len = 1;
    char err[256] = "";
    assert_int_equal(jfa_db_build(u, nu, g, ng, 0, &img, &len, err, sizeof(err)), -1);
    assert_null(img);
    assert_int_equal(len, 0);
    if (!strstr(err, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_duplicates(void **state)
{
    struct jfa_dbw_user u[3];
    struct jfa_dbw_group g[4];
    (void)state;

    fixture(u, g);
    u[1].name = "alice";
    expect_build_fail(u, 3, g, 4, "duplicate user name alice");
    fixture(u, g);
    u[2].uid = 100001;
    expect_build_fail(u, 3, g, 4, "duplicate uid 100001");
    fixture(u, g);
    g[3].name = "jellyfin";
    expect_build_fail(u, 3, g, 4, "duplicate group name jellyfin");
    fixture(u, g);
    g[1].gid = 100000;
    expect_build_fail(u, 3, g, 4, "duplicate gid 100000");
}

static void test_invalid_input(void **state)
{
    struct jfa_dbw_user u[3];
    struct jfa_dbw_group g[4];
    static const char *const bad_members[] = {"alice", "a,b"};
    static const uint32_t zero_gid[] = {0};
    static const char *const bad_names[] = {
        "",      "*",    "a b",
        "a:b",   "a/b",  "a\tb",
        "a\x01", "root", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" /* 33 */,
        "a,b"};
    (void)state;

    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        fixture(u, g);
        u[0].name = bad_names[i];
        expect_build_fail(u, 3, g, 4, "invalid login name");
        fixture(u, g);
        g[0].name = bad_names[i];
        expect_build_fail(u, 3, g, 4, "invalid group name");
    }
    fixture(u, g);
    u[0].name = NULL;
    expect_build_fail(u, 3, g, 4, "invalid login name");
    fixture(u, g);
    u[0].gecos = "a:b";
    expect_build_fail(u, 3, g, 4, "alice: gecos");
    fixture(u, g);
    u[0].home = "/home/a\nb";
    expect_build_fail(u, 3, g, 4, "alice: gecos");
    fixture(u, g);
    u[0].shell = NULL;
    expect_build_fail(u, 3, g, 4, "alice: gecos");
    fixture(u, g);
    u[0].jf_name = "x:y";
    expect_build_fail(u, 3, g, 4, "alice: gecos");
    fixture(u, g);
    u[0].uid = 0;
    expect_build_fail(u, 3, g, 4, "must not be 0");
    fixture(u, g);
    u[0].gid = 0;
    expect_build_fail(u, 3, g, 4, "must not be 0");
    fixture(u, g);
    g[0].gid = 0;
    expect_build_fail(u, 3, g, 4, "gid must not be 0");
    fixture(u, g);
    strcpy(u[0].jf_id, "0123456789abcdef0123456789abcdeg");
    expect_build_fail(u, 3, g, 4, "not 32 hex");
    fixture(u, g);
    strcpy(u[0].jf_id, "0123");
    expect_build_fail(u, 3, g, 4, "not 32 hex");
    fixture(u, g);
    u[0].flags = 0x100;
    expect_build_fail(u, 3, g, 4, "unknown flags");
    fixture(u, g);
    u[0].gids = zero_gid;
    u[0].n_gids = 1;
    expect_build_fail(u, 3, g, 4, "supplementary gid 0");
    fixture(u, g);
    g[2].members = bad_members;
    expect_build_fail(u, 3, g, 4, "member 1");
}

/* ---- trust checks at open, staleness ---- */

static void test_open_trust(void **state)
{
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    char link[160], fifo[160], dir[160];
    (void)state;

    build_fixture(&img, &len);
    unlink(dbpath);
    assert_int_equal(jfa_db_open(&db, dbpath, false), -ENOENT);
    assert_null(db.base);
    assert_int_equal(jfa_db_open(&db, NULL, false), -EINVAL);
    assert_int_equal(jfa_db_open(&db, "", false), -EINVAL);

    write_file(dbpath, img, len, 0664);
    assert_int_equal(jfa_db_open(&db, dbpath, false), -EPERM);
    write_file(dbpath, img, len, 0646);
    assert_int_equal(jfa_db_open(&db, dbpath, false), -EPERM);
    write_file(dbpath, img, len, 0600);
    assert_int_equal(jfa_db_open(&db, dbpath, false), 0);
    jfa_db_close(&db);
    if (geteuid() != 0) { /* owned by us, not root */
        assert_int_equal(jfa_db_open(&db, dbpath, true), -EPERM);
    } else {
        assert_int_equal(jfa_db_open(&db, dbpath, true), 0);
        jfa_db_close(&db);
        /* root requires root: a file owned by someone else is refused */
        assert_int_equal(chown(dbpath, 1, 1), 0);
        assert_int_equal(jfa_db_open(&db, dbpath, true), -EPERM);
        assert_int_equal(jfa_db_open(&db, dbpath, false), -EPERM);
    }

    snprintf(link, sizeof(link), "%s/link.db", tmpdir);
    unlink(link);
    assert_int_equal(symlink(dbpath, link), 0);
    assert_int_equal(jfa_db_open(&db, link, false), -EPERM);

    snprintf(fifo, sizeof(fifo), "%s/fifo.db", tmpdir);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(jfa_db_open(&db, fifo, false), -EPERM); /* and does not block */

    snprintf(dir, sizeof(dir), "%s/dir.db", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(jfa_db_open(&db, dir, false), -EPERM);

    write_file(dbpath, "", 0, 0644);
    assert_int_equal(jfa_db_open(&db, dbpath, false), -EINVAL);
    free(img);
}

static void test_stale(void **state)
{
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    char tmp[160];
    (void)state;

    build_fixture(&img, &len);
    open_image(&db, img, len);
    assert_false(jfa_db_stale(&db, dbpath));
    /* replaced by rename: new inode */
    snprintf(tmp, sizeof(tmp), "%s/new.db", tmpdir);
    write_file(tmp, img, len, 0644);
    assert_int_equal(rename(tmp, dbpath), 0);
    assert_true(jfa_db_stale(&db, dbpath));
    jfa_db_close(&db);
    assert_true(jfa_db_stale(&db, dbpath)); /* closed */
    assert_int_equal(jfa_db_open(&db, dbpath, false), 0);
    assert_false(jfa_db_stale(&db, dbpath));
    unlink(dbpath);
    assert_true(jfa_db_stale(&db, dbpath)); /* removed */
    jfa_db_close(&db);
    free(img);
}

static uint64_t sec_off_of(const unsigned char *img, int s)
{
    return jfa_le64(img + JFA_DBH_SECTIONS + 16 * s);
}

/* The fixture as a writer without the watch block made it: sections from
 * offset 192, no tag (every database written before the block existed). */
static unsigned char *old_format(const unsigned char *img, size_t len, size_t *old_len)
{
    unsigned char *o = malloc(len - JFA_DB_WATCH_SIZE);
    assert_non_null(o);
    memcpy(o, img, JFA_DB_HDR_SIZE);
    memcpy(o + JFA_DB_HDR_SIZE, img + JFA_DB_HDR_SIZE + JFA_DB_WATCH_SIZE,
           len - JFA_DB_HDR_SIZE - JFA_DB_WATCH_SIZE);
    *old_len = len - JFA_DB_WATCH_SIZE;
    for (int s = 0; s < JFA_SEC_COUNT; s++)
        jfa_put64(o + JFA_DBH_SECTIONS + 16 * s,
                  jfa_le64(o + JFA_DBH_SECTIONS + 16 * s) - JFA_DB_WATCH_SIZE);
    jfa_put64(o + JFA_DBH_FILESIZE, *old_len);
    jfa_put64(o + JFA_DBH_CHECKSUM,
              jfa_db_checksum(o + JFA_DB_HDR_SIZE, *old_len - JFA_DB_HDR_SIZE));
    return o;
}

static void read_back(const char *path, unsigned char *out, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, out, len), (ssize_t)len);
    close(fd);
}

/* The watch block: written by the writer, found at open, set by
 * jfa_db_mark_replaced and seen through a mapping opened before; older
 * files (no block) still open and are never written to. */
static void test_watch(void **state)
{
    unsigned char *img, *old, *back;
    size_t len, old_len;
    struct jfa_db db, db2;
    struct jfa_db_user u;
    char err[256], link[160];
    (void)state;

    build_fixture(&img, &len);
    assert_memory_equal(img + JFA_DB_WATCH_OFF, JFA_DB_WATCH_TAG, JFA_DB_WATCH_TAG_LEN);
    assert_int_equal(jfa_le32(img + JFA_DBW_REPLACED), 0);
    for (int s = 0; s < JFA_SEC_COUNT; s++)
        assert_true(sec_off_of(img, s) >= JFA_DB_WATCH_OFF + JFA_DB_WATCH_SIZE);
    open_image(&db, img, len);
    assert_non_null(db.replaced);
    assert_false(jfa_db_marked(&db));
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);

    /* marking reaches a mapping made before (MAP_SHARED: the page cache) */
    assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), 1);
    assert_true(jfa_db_marked(&db));
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), 0); /* data untouched */
    back = malloc(len);
    assert_non_null(back);
    read_back(dbpath, back, len);
    assert_int_equal(jfa_le32(back + JFA_DBW_REPLACED), 1);
    back[JFA_DBW_REPLACED] = 0;
    assert_memory_equal(back, img, len); /* the one word, nothing else */
    /* a marked file opens (it may still be at the path for a moment, or
     * for good when the sync was killed before its rename) and verifies:
     * the checksum ignores the word; doctor warns about it */
    assert_int_equal(jfa_db_open(&db2, dbpath, false), 0);
    assert_true(jfa_db_marked(&db2));
    err[0] = '\0';
    assert_int_equal(jfa_db_verify(&db2, err, sizeof(err)), 0); /* a mark is no damage */
    jfa_db_close(&db2);
    jfa_db_close(&db);

    /* an older file: readable as before, no watch word, never written */
    old = old_format(img, len, &old_len);
    open_image(&db, old, old_len);
    assert_null(db.replaced);
    assert_false(jfa_db_marked(&db));
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), 0);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
    assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), 0);
    read_back(dbpath, back, old_len);
    assert_memory_equal(back, old, old_len);
    jfa_db_close(&db);

    /* a block whose tag does not match is no block */
    memcpy(back, img, len);
    back[JFA_DB_WATCH_OFF] = 'X';
    open_image(&db, back, len);
    assert_null(db.replaced);
    assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), 0);
    jfa_db_close(&db);

    /* not a database, group-writable, a symlink, absent: left alone */
    write_file(dbpath, "JFAUSRDB not really", 19, 0644);
    assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), 0);
    write_file(dbpath, img, len, 0664);
    assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), -1);
    assert_non_null(strstr(err, dbpath));
    read_back(dbpath, back, len);
    assert_memory_equal(back, img, len);
    write_file(dbpath, img, len, 0644);
    snprintf(link, sizeof(link), "%s/link.db", tmpdir);
    unlink(link);
    assert_int_equal(symlink(dbpath, link), 0);
    assert_int_equal(jfa_db_mark_replaced(link, err, sizeof(err)), -1);
    read_back(dbpath, back, len);
    assert_memory_equal(back, img, len);
    unlink(link);
    unlink(dbpath);
    assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), 0);
    free(back);
    free(old);
    free(img);
}

static void test_names_and_path(void **state)
{
    (void)state;
    assert_true(jfa_db_name_plausible("alice"));
    assert_true(jfa_db_name_plausible("a.b-c_d@e+f'g"));
    assert_true(jfa_db_name_plausible("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 32 */
    assert_false(jfa_db_name_plausible("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    assert_false(jfa_db_name_plausible(NULL));
    assert_false(jfa_db_name_plausible(""));
    assert_false(jfa_db_name_plausible("*"));
    assert_false(jfa_db_name_plausible("a*"));
    assert_false(jfa_db_name_plausible("pam_unix_non_existent:"));
    assert_false(jfa_db_name_plausible("a/b"));
    assert_false(jfa_db_name_plausible("a b"));
    assert_false(jfa_db_name_plausible("a\nb"));
    assert_false(jfa_db_name_plausible("\x7f"));

    /* the word-at-a-time check against the rule it encodes: every byte at
     * every position of names of 3 (tail only), 8 (one word), 16 (two
     * words, no overlap) and 19 bytes (two words and an overlapping tail),
     * the other bytes allowed ones of both kinds */
    for (int c = 0; c < 256; c++) {
        bool want = c > 0x20 && c != 0x7f && c != ':' && c != '/' && c != '*';
        static const size_t lens[] = {3, 8, 16, 19};
        for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
            for (size_t at = 0; at < lens[li]; at++) {
                char n[20];
                for (size_t i = 0; i < lens[li]; i++)
                    n[i] = i % 2 ? 'a' : (char)0xc3;
                n[lens[li]] = '\0';
                n[at] = (char)c;
                assert_int_equal(jfa_db_name_plausible_n(n, lens[li]), want);
                if (c != 0)
                    assert_int_equal(jfa_db_name_plausible(n), want);
            }
        }
    }
    assert_true(jfa_db_name_plausible_n("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32));
    assert_false(jfa_db_name_plausible_n("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 33));
    assert_false(jfa_db_name_plausible_n("", 0));
    assert_false(jfa_db_name_plausible_n(NULL, 3));
    assert_false(jfa_db_name_plausible_n("ab\0cd", 5)); /* a NUL inside */
    assert_true(jfa_db_name_plausible_n("ab\0cd", 2));
    assert_true(jfa_nss_name_ours_n("rooty", 5));
    assert_false(jfa_nss_name_ours_n("root", 4));
    assert_true(jfa_nss_name_ours_n("roo", 3));

    setenv("JELLYFIN_AUTH_DB", "/x/y.db", 1);
    assert_string_equal(jfa_db_default_path(), "/x/y.db");
    setenv("JELLYFIN_AUTH_DB", "", 1);
    assert_string_equal(jfa_db_default_path(), jfa_db_builtin_path());
    unsetenv("JELLYFIN_AUTH_DB");
    assert_string_equal(jfa_db_default_path(), jfa_db_builtin_path());
    assert_non_null(strstr(jfa_db_builtin_path(), "/lib/jellyfin-auth/users.db"));
}

/* ---- corruption ---- */

static void test_verify_flipped_byte(void **state)
{
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    char err[256];
    (void)state;

    build_fixture(&img, &len);
    for (size_t pos = JFA_DB_HDR_SIZE; pos < len; pos += 7) {
        if (pos >= JFA_DBW_REPLACED && pos < JFA_DBW_REPLACED + 4)
            continue; /* the watch word: outside the checksum (test_watch) */
        img[pos] ^= 0x20;
        write_file(dbpath, img, len, 0644);
        if (pos >= JFA_DB_DIR_OFF && pos < JFA_DB_CELLS_END &&
            jfa_db_open(&db, dbpath, false) != 0) {
            /* a directory section or cell table out of bounds: refused at open */
            img[pos] ^= 0x20;
            continue;
        }
        assert_int_equal(jfa_db_open(&db, dbpath, false), 0); /* checksum not checked at open */
        err[0] = '\0';
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "checksum"));
        jfa_db_close(&db);
        img[pos] ^= 0x20;
    }
    free(img);
}

/* Run every read operation; check returned data is self-consistent. */
static void exercise(const struct jfa_db *db)
{
    static const char *const names[] = {"alice",    "bob",     "carol.d-x_y@z",
                                        "jellyfin", "jfadmin", "zed"};
    static const uint32_t ids[] = {100000, 100001, 100002, 100003, 100100, 5};
    struct jfa_db_user u;
    struct jfa_db_group g;
    char err[256];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int rc = jfa_db_user_by_name(db, names[i], &u);
        assert_true(rc == 0 || rc == -ENOENT || rc == -EINVAL);
        if (rc == 0) {
            assert_string_equal(u.name, names[i]);
            for (uint32_t k = 0; k < u.n_gids; k++)
                (void)jfa_db_user_gid(&u, k);
            assert_true(strlen(u.gecos) + strlen(u.home) + strlen(u.shell) < db->size);
            assert_int_equal(strlen(u.jf_id), 32);
        }
        rc = jfa_db_group_by_name(db, names[i], &g);
        assert_true(rc == 0 || rc == -ENOENT || rc == -EINVAL);
        if (rc == 0) {
            assert_string_equal(g.name, names[i]);
            for (uint32_t k = 0; k < g.n_members; k++) {
                const char *m = jfa_db_group_member(db, &g, k); /* NULL if corrupt */
                if (m)
                    assert_true(strlen(m) < db->size);
            }
        }
    }
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        int rc = jfa_db_user_by_uid(db, ids[i], &u);
        assert_true(rc == 0 || rc == -ENOENT || rc == -EINVAL);
        if (rc == 0)
            assert_int_equal(u.uid, ids[i]);
        rc = jfa_db_group_by_gid(db, ids[i], &g);
        assert_true(rc == 0 || rc == -ENOENT || rc == -EINVAL);
        if (rc == 0)
            assert_int_equal(g.gid, ids[i]);
    }
    for (uint32_t i = 0; i < db->n_users + 1; i++) {
        int rc = jfa_db_user_at(db, i, &u);
        assert_true(rc == 0 || rc == -EINVAL || (rc == -ENOENT && i == db->n_users));
        if (rc == 0)
            assert_true(strlen(u.name) < db->size);
    }
    for (uint32_t i = 0; i < db->n_groups + 1; i++) {
        int rc = jfa_db_group_at(db, i, &g);
        assert_true(rc == 0 || rc == -EINVAL || (rc == -ENOENT && i == db->n_groups));
        if (rc == 0) {
            for (uint32_t k = 0; k < g.n_members && k < 64; k++)
                (void)jfa_db_group_member(db, &g, k);
            assert_null(jfa_db_group_member(db, &g, g.n_members));
        }
    }
    (void)jfa_db_verify(db, err, sizeof(err));
}

static void test_truncations(void **state)
{
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    (void)state;

    build_fixture(&img, &len);
    for (size_t n = 0; n < len; n++) {
        struct jfa_db_user u;
        write_file(dbpath, img, n, 0644);
        assert_int_equal(jfa_db_open(&db, dbpath, false), -EINVAL);
        assert_null(db.base);
        assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -ENOENT);
    }
    /* a prefix whose header is patched to claim the short size is still
     * refused: sections then lie outside the file */
    for (size_t n = JFA_DB_HDR_SIZE; n < len; n += 8) {
        unsigned char *p = malloc(n);
        assert_non_null(p);
        memcpy(p, img, n);
        jfa_put64(p + JFA_DBH_FILESIZE, n);
        write_file(dbpath, p, n, 0644);
        assert_int_equal(jfa_db_open(&db, dbpath, false), -EINVAL);
        free(p);
    }
    free(img);
}

static void random_corruption(const unsigned char *img, size_t len)
{
    unsigned char *work;
    unsigned seed = 12345;
    int opened = 0;

    work = malloc(len);
    assert_non_null(work);
    for (int iter = 0; iter < 10000; iter++) {
        struct jfa_db db;
        int nflips = 1 + rand_r(&seed) % 8;
        memcpy(work, img, len);
        for (int k = 0; k < nflips; k++) {
            size_t pos = (size_t)rand_r(&seed) % len;
            /* bias towards the header and records, where offsets live */
            if (rand_r(&seed) % 3 == 0)
                pos = (size_t)rand_r(&seed) %
                      (JFA_DB_HDR_SIZE + 400 < len ? JFA_DB_HDR_SIZE + 400 : len);
            switch (rand_r(&seed) % 4) {
            case 0:
                work[pos] ^= (unsigned char)(1u << (rand_r(&seed) % 8));
                break;
            case 1:
                work[pos] = (unsigned char)rand_r(&seed);
                break;
            case 2:
                work[pos] = 0xff;
                break;
            default:
                work[pos] = 0;
                break;
            }
        }
        write_file(dbpath, work, len, 0644);
        int rc = jfa_db_open(&db, dbpath, false);
        assert_true(rc == 0 || rc == -EINVAL);
        if (rc == 0) {
            opened++;
            exercise(&db);
            jfa_db_close(&db);
        }
    }
    /* most corruptions hit the body, which opens (lazy checks) */
    assert_true(opened > 1000);
    free(work);
}

/* Run check on each form of the fixture: transitional (what sync
 * writes), plain version 2, transitional without cell tables, and the
 * version 1 file of tests/data. */
static void on_every_form(void (*check)(const unsigned char *, size_t))
{
    unsigned char *img;
    size_t len;

    build_fixture(&img, &len);
    check(img, len);
    free(img);
    build_fixture_v2(&img, &len);
    check(img, len);
    free(img);
    build_fixture_flags(JFA_DBW_NO_CELLS, &img, &len);
    check(img, len);
    free(img);
    img = load_data("users-v1.db", &len);
    check(img, len);
    free(img);
}

static void test_random_corruption(void **state)
{
    (void)state;
    on_every_form(random_corruption);
}

/* ---- hand-made hostile files ---- */

static uint64_t sec_off(const unsigned char *img, int s)
{
    return jfa_le64(img + JFA_DBH_SECTIONS + 16 * s);
}

static uint64_t sec_len(const unsigned char *img, int s)
{
    return jfa_le64(img + JFA_DBH_SECTIONS + 16 * s + 8);
}

static int open_modified(const unsigned char *img, size_t len, struct jfa_db *db)
{
    write_file(dbpath, img, len, 0644);
    return jfa_db_open(db, dbpath, false);
}

/* Header and section checks at open, on img (either version). */
static void hostile_header(const unsigned char *img, size_t len)
{
    unsigned char *w;
    struct jfa_db db;
    bool v1 = jfa_le32(img + JFA_DBH_VERSION) == JFA_DB_VERSION_1;

    w = malloc(len);
    assert_non_null(w);
#define RESET() memcpy(w, img, len)
    RESET();
    assert_int_equal(open_modified(w, len, &db), 0);
    jfa_db_close(&db);

    RESET();
    w[0] = 'X';
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    RESET();
    jfa_put32(w + JFA_DBH_VERSION, 3);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    RESET();
    jfa_put32(w + JFA_DBH_VERSION, 0);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    /* a version 2 file claiming version 1 (or the reverse) fails the
     * other layout's section checks */
    RESET();
    jfa_put32(w + JFA_DBH_VERSION, v1 ? JFA_DB_VERSION : JFA_DB_VERSION_1);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    RESET();
    jfa_put32(w + JFA_DBH_HDRSIZE, 64);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    RESET();
    jfa_put64(w + JFA_DBH_FILESIZE, len + 8);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        /* section pointing past the end */
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * s, len + 8);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
        /* length past the end, including u64 wrap-around */
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * s + 8, len);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * s + 8, UINT64_MAX - 4);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
        /* overlapping the header */
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * s, 0);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
        /* misaligned */
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * s, sec_off(img, s) + 4);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
    }
    /* overlapping sections: users on top of groups */
    RESET();
    jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC_USERS, sec_off(img, JFA_SEC_GROUPS));
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    /* huge counts */
    RESET();
    jfa_put32(w + JFA_DBH_NUSERS, UINT32_MAX);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    RESET();
    jfa_put32(w + JFA_DBH_NGROUPS, 0x10000000);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    /* hash table not a power of two / too small for the records */
    RESET();
    jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC_H_UID + 8, sec_len(img, JFA_SEC_H_UID) - 4);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    RESET();
    jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC_H_GID + 8, 4);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    RESET();
    jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC_MEMBERS + 8, sec_len(img, JFA_SEC_MEMBERS) - 4);
    assert_int_equal(open_modified(w, len, &db), -EINVAL);
    if (!v1) {
        /* v2: section 0 must be empty; entry sections whole 8-byte units;
         * index sections exactly 4 bytes per record; 8-byte slots */
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC2_UNUSED + 8, 8);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC_USERS + 8, sec_len(img, JFA_SEC_USERS) - 4);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC2_UINDEX + 8,
                  sec_len(img, JFA_SEC2_UINDEX) - 4);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
        RESET();
        jfa_put64(w + JFA_DBH_SECTIONS + 16 * JFA_SEC_H_UNAME + 8,
                  sec_len(img, JFA_SEC_H_UNAME) / 2 + 4);
        assert_int_equal(open_modified(w, len, &db), -EINVAL);
    }
#undef RESET
    free(w);
}

static void test_hostile_header(void **state)
{
    (void)state;
    on_every_form(hostile_header);
}

/* Version 1 records (the compact reader path), on the v1 fixture file. */
static void test_hostile_records_v1(void **state)
{
    unsigned char *img, *w;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    uint64_t users, groups, stlen;
    (void)state;

    img = load_data("users-v1.db", &len);
    w = malloc(len);
    assert_non_null(w);
    users = sec_off(img, JFA_SEC_USERS);
    groups = sec_off(img, JFA_SEC_GROUPS);
    stlen = sec_len(img, JFA_SEC_STRINGS);

    /* alice's name ref past the string table: by-name lookups hit it */
    memcpy(w, img, len);
    jfa_put32(w + users + JFA_DBU_OFF_NAME, (uint32_t)stlen);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_user_at(&db, 0, &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    {
        int rc = jfa_db_user_by_name(&db, "alice", &u);
        assert_true(rc == -EINVAL || rc == -ENOENT);
    }
    jfa_db_close(&db);

    /* string length running past the table, and a length wrapping u32 */
    memcpy(w, img, len);
    jfa_put32(w + users + JFA_DBU_OFF_GECOS + 4, (uint32_t)stlen);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    jfa_db_close(&db);
    memcpy(w, img, len);
    jfa_put32(w + users + JFA_DBU_OFF_HOME, 1);
    jfa_put32(w + users + JFA_DBU_OFF_HOME + 4, UINT32_MAX);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    jfa_db_close(&db);

    /* string ref not NUL-terminated at offset + length */
    memcpy(w, img, len);
    jfa_put32(w + users + JFA_DBU_OFF_SHELL + 4, 2);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    jfa_db_close(&db);

    /* gid list past the end */
    memcpy(w, img, len);
    jfa_put32(w + users + JFA_DBU_OFF_NGIDS, 0x7fffffff);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -EINVAL);
    jfa_db_close(&db);
    memcpy(w, img, len);
    jfa_put32(w + users + JFA_DBU_OFF_GIDX, UINT32_MAX);
    jfa_put32(w + users + JFA_DBU_OFF_NGIDS, 2);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -EINVAL);
    jfa_db_close(&db);

    /* member list past the end (group record 2 = jellyfin) */
    memcpy(w, img, len);
    jfa_put32(w + groups + 2 * JFA_DB_GROUP_SIZE + JFA_DBG_OFF_NMEM, UINT32_MAX);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), -EINVAL);
    g.index = 2;
    g.n_members = UINT32_MAX;
    assert_null(jfa_db_group_member(&db, &g, 5));
    g.index = 99;
    assert_null(jfa_db_group_member(&db, &g, 0));
    jfa_db_close(&db);

    /* hash entries pointing past the records */
    memcpy(w, img, len);
    for (uint64_t i = 0; i < sec_len(img, JFA_SEC_H_UID); i += 4)
        jfa_put32(w + sec_off(img, JFA_SEC_H_UID) + i, 1000);
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    jfa_db_close(&db);

    /* probe cycle: every slot full, all pointing at bob: a miss must end */
    for (int s = JFA_SEC_H_UNAME; s <= JFA_SEC_H_GID; s++) {
        memcpy(w, img, len);
        for (uint64_t i = 0; i < sec_len(img, s); i += 4)
            jfa_put32(w + sec_off(img, s) + i, 2);
        assert_int_equal(open_modified(w, len, &db), 0);
        assert_int_equal(jfa_db_user_by_name(&db, "nobody-here", &u),
                         s == JFA_SEC_H_UNAME ? -ENOENT : -ENOENT);
        assert_int_equal(jfa_db_user_by_uid(&db, 4242, &u), -ENOENT);
        assert_int_equal(jfa_db_group_by_name(&db, "nobody-here", &g), -ENOENT);
        assert_int_equal(jfa_db_group_by_gid(&db, 4242, &g), -ENOENT);
        if (s == JFA_SEC_H_UNAME)
            assert_int_equal(jfa_db_user_by_name(&db, "bob", &u), 0);
        jfa_db_close(&db);
    }
    free(w);
    free(img);
}

/* Round trips at sizes around the table boundaries (slot counts 8, 16,
 * 32...): every record found by name and id, enumeration in input order,
 * supplementary gids and members kept, misses between the ids. */
static void test_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 1000};
    (void)state;

    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        size_t n = sizes[z];
        struct jfa_dbw_user *users = calloc(n + 1, sizeof(*users));
        struct jfa_dbw_group *groups = calloc(n + 1, sizeof(*groups));
        char(*names)[16] = calloc(n + 1, sizeof(*names));
        const char **members = calloc(n + 1, sizeof(*members));
        uint32_t *gids = calloc(n + 1, sizeof(*gids));
        unsigned char *img;
        size_t len;
        struct jfa_db db;
        char err[256];

        assert_true(users && groups && names && members && gids);
        for (size_t i = 0; i < n; i++) {
            snprintf(names[i], sizeof(names[i]), "s%zu", i * 7919);
            gids[i] = 500000 + (uint32_t)i;
            users[i] = (struct jfa_dbw_user){.uid = 400000 + 2 * (uint32_t)i,
                                             .gid = 400000 + 2 * (uint32_t)i,
                                             .name = names[i],
                                             .gecos = i % 2 ? "" : names[i],
                                             .home = "/home/x",
                                             .shell = "/bin/sh",
                                             .jf_name = names[i],
                                             .gids = gids,
                                             .n_gids = i % 4};
            snprintf(users[i].jf_id, sizeof(users[i].jf_id), "%032zx", i);
            members[i] = names[i];
            groups[i] = (struct jfa_dbw_group){
                .gid = 500000 + (uint32_t)i, .name = names[i], .members = members, .n_members = i};
        }
        /* transitional and plain version 2 files, alternately */
        assert_int_equal(jfa_db_build_flags(users, n, groups, n, 9, z % 2 ? JFA_DBW_NO_V1_VIEW : 0,
                                            &img, &len, err, sizeof(err)),
                         0);
        assert_int_equal(jfa_le32(img + JFA_DBH_VERSION), z % 2 ? 2 : 1);
        open_image(&db, img, len);
        assert_int_equal(db.version, JFA_DB_VERSION);
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
        for (uint32_t i = 0; i < n; i++) {
            struct jfa_db_user u, v;
            struct jfa_db_group g, h;
            assert_int_equal(jfa_db_user_at(&db, i, &u), 0);
            assert_string_equal(u.name, names[i]);
            assert_int_equal(jfa_db_user_by_name(&db, names[i], &v), 0);
            assert_int_equal(v.uid, users[i].uid);
            assert_string_equal(v.gecos, users[i].gecos);
            assert_int_equal(v.n_gids, i % 4);
            for (uint32_t k = 0; k < v.n_gids; k++)
                assert_int_equal(jfa_db_user_gid(&v, k), gids[k]);
            assert_string_equal(v.jf_id, users[i].jf_id);
            assert_int_equal(jfa_db_user_by_uid(&db, users[i].uid, &v), 0);
            assert_string_equal(v.name, names[i]);
            assert_int_equal(jfa_db_user_by_uid(&db, users[i].uid + 1, &v), -ENOENT);
            assert_int_equal(jfa_db_group_at(&db, i, &g), 0);
            assert_int_equal(g.index, i);
            assert_int_equal(jfa_db_group_by_gid(&db, groups[i].gid, &h), 0);
            assert_int_equal(h.index, i);
            assert_int_equal(jfa_db_group_by_name(&db, names[i], &h), 0);
            assert_int_equal(h.n_members, i);
            for (uint32_t k = 0; k < i; k++)
                assert_string_equal(jfa_db_group_member(&db, &h, k), names[k]);
            assert_null(jfa_db_group_member(&db, &h, i));
        }
        jfa_db_close(&db);
        free(img);
        free(users);
        free(groups);
        free(names);
        free(members);
        free(gids);
    }
}

/* ---- version 2 entries and slots ---- */

/* The checksum of a modified image, so that verify looks past it. */
static void resum(unsigned char *w, size_t len)
{
    jfa_put64(w + JFA_DBH_CHECKSUM, jfa_db_image_checksum(w, len, 1));
}

/* Every slot of hash section s of w set to {tag, ref}: a full table. */
static void fill_slots(unsigned char *w, const unsigned char *img, int s, uint32_t tag,
                       uint32_t ref)
{
    for (uint64_t i = 0; i < sec_len(img, s); i += JFA_DB2_SLOT_SIZE) {
        jfa_put32(w + sec_off(img, s) + i, tag);
        jfa_put32(w + sec_off(img, s) + i + 4, ref);
    }
}

static void test_hostile_entries_v2(void **state)
{
    unsigned char *img, *w;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    uint64_t alice, bob, jelly;
    char err[256];
    (void)state;

    /* the slot tables' path: a file without cell tables (test_cells
     * covers the cells) */
    build_fixture_flags(JFA_DBW_NO_V1_VIEW | JFA_DBW_NO_CELLS, &img, &len);
    w = malloc(len);
    assert_non_null(w);
    alice = sec_off(img, JFA_SEC_USERS) + jfa_le32(img + sec_off(img, JFA_SEC2_UINDEX));
    bob = sec_off(img, JFA_SEC_USERS) + jfa_le32(img + sec_off(img, JFA_SEC2_UINDEX) + 4);
    jelly = sec_off(img, JFA_SEC_GROUPS) + jfa_le32(img + sec_off(img, JFA_SEC2_GINDEX) + 8);
#define RESET() memcpy(w, img, len)
#define REOPEN() (jfa_db_close(&db), assert_int_equal(open_modified(w, len, &db), 0))
    RESET();
    assert_int_equal(open_modified(w, len, &db), 0);
    assert_int_equal(db.version, 2);

    /* an entry running past the end of its section, or shorter than its
     * fixed part: every way to reach it refuses it */
    RESET();
    jfa_put32(w + alice + JFA_DBE_SIZE, (uint32_t)sec_len(img, JFA_SEC_USERS) + 8);
    REOPEN();
    assert_int_equal(jfa_db_user_at(&db, 0, &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_name(&db, "bob", &u), 0); /* others answer */
    RESET();
    jfa_put32(w + alice + JFA_DBE_SIZE, 8);
    REOPEN();
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    RESET();
    jfa_put32(w + alice + JFA_DBE_SIZE, UINT32_MAX);
    REOPEN();
    assert_int_equal(jfa_db_user_at(&db, 0, &u), -EINVAL);

    /* string lengths past the entry, off by one (no NUL there), and a gid
     * count that does not add up to the entry's size */
    RESET();
    jfa_put16(w + alice + JFA_DBE_LENS, 0xffff);
    REOPEN();
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -EINVAL);
    for (int k = 1; k < 5; k++) {
        RESET();
        jfa_put16(w + alice + JFA_DBE_LENS + 2 * k,
                  jfa_le16(img + alice + JFA_DBE_LENS + 2 * k) + 1);
        REOPEN();
        if (k < 4) { /* the byte after the NUL starts the next string */
            assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
        } else { /* after the last string: a padding zero, a hidden NUL */
            assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), 0);
            assert_int_equal(u.jf_name_len, strlen(u.jf_name) + 1);
            resum(w, len);
            REOPEN();
            err[0] = '\0';
            assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
            assert_non_null(strstr(err, "NUL"));
        }
        RESET();
        jfa_put16(w + alice + JFA_DBE_LENS + 2 * k, 0xffff);
        REOPEN();
        assert_int_equal(jfa_db_user_at(&db, 0, &u), -EINVAL);
    }
    /* a name hiding a NUL: the name's length covers name and gecos, each
     * later length takes its successor's, the Jellyfin name is the padding
     * zero after the last string. The reader returns it (its bytes are in
     * bounds); the NSS filter, which checks the stored length, refuses it
     * instead of answering with the name cut at the NUL ("alice"). */
    {
        uint32_t l[5], end = JFA_DBE_STRINGS;
        for (int k = 0; k < 5; k++) {
            l[k] = jfa_le16(img + alice + JFA_DBE_LENS + 2 * k);
            end += l[k] + 1;
        }
        assert_true(end % 4 != 0); /* the fixture has a padding zero */
        RESET();
        jfa_put16(w + alice + JFA_DBE_LENS, l[0] + 1 + l[1]);
        for (int k = 1; k < 4; k++)
            jfa_put16(w + alice + JFA_DBE_LENS + 2 * k, l[k + 1]);
        jfa_put16(w + alice + JFA_DBE_LENS + 8, 0);
        REOPEN();
        assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), 0);
        assert_string_equal(u.name, "alice");
        assert_int_equal(u.name_len, l[0] + 1 + l[1]);
        assert_true(jfa_nss_name_ours(u.name));
        assert_false(jfa_nss_name_ours_n(u.name, u.name_len));
        assert_int_equal(jfa_db_user_at(&db, 0, &u), 0);
        assert_false(jfa_nss_name_ours_n(u.name, u.name_len));
    }
    RESET();
    jfa_put32(w + alice + JFA_DBE_NGIDS, 0x40000000);
    REOPEN();
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -EINVAL);
    RESET();
    jfa_put32(w + alice + JFA_DBE_NGIDS, 3);
    REOPEN();
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -EINVAL);

    /* index entries outside the section or not 8-aligned */
    RESET();
    jfa_put32(w + sec_off(img, JFA_SEC2_UINDEX), (uint32_t)sec_len(img, JFA_SEC_USERS));
    REOPEN();
    assert_int_equal(jfa_db_user_at(&db, 0, &u), -EINVAL);
    RESET();
    jfa_put32(w + sec_off(img, JFA_SEC2_UINDEX), 4);
    REOPEN();
    assert_int_equal(jfa_db_user_at(&db, 0, &u), -EINVAL);
    RESET();
    jfa_put32(w + sec_off(img, JFA_SEC2_GINDEX), UINT32_MAX);
    REOPEN();
    assert_int_equal(jfa_db_group_at(&db, 0, &g), -EINVAL);

    /* slots whose reference lies outside the entries, with the key's tag */
    RESET();
    fill_slots(w, img, JFA_SEC_H_UID, jfa_db_hash_id(100001), UINT32_MAX);
    REOPEN();
    assert_int_equal(jfa_db_user_by_uid(&db, 100001, &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_uid(&db, 4242, &u), -ENOENT); /* full table: ends */
    RESET();
    fill_slots(w, img, JFA_SEC_H_GNAME, jfa_db_hash_name("jellyfin", 8),
               (uint32_t)(sec_len(img, JFA_SEC_GROUPS) / 8) + 1);
    REOPEN();
    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), -EINVAL);

    /* a full table whose every tag matches the query but whose entry has
     * another name (or id): each slot costs a compare, the probe ends */
    RESET();
    fill_slots(w, img, JFA_SEC_H_UNAME, jfa_db_hash_name("mallory", 7),
               (uint32_t)((bob - sec_off(img, JFA_SEC_USERS)) / 8 + 1));
    fill_slots(w, img, JFA_SEC_H_UID, jfa_db_hash_id(4242),
               (uint32_t)((bob - sec_off(img, JFA_SEC_USERS)) / 8 + 1));
    fill_slots(w, img, JFA_SEC_H_GNAME, jfa_db_hash_name("mallory", 7), 1);
    fill_slots(w, img, JFA_SEC_H_GID, jfa_db_hash_id(4242), 1);
    resum(w, len);
    REOPEN();
    assert_int_equal(jfa_db_user_by_name(&db, "mallory", &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_uid(&db, 4242, &u), -ENOENT);
    assert_int_equal(jfa_db_group_by_name(&db, "mallory", &g), -ENOENT);
    assert_int_equal(jfa_db_group_by_gid(&db, 4242, &g), -ENOENT);
    assert_int_equal(jfa_db_user_by_name(&db, "alice", &u), -ENOENT);
    err[0] = '\0';
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "index"));

    /* group entries: name length past the entry, member count past it,
     * member offsets outside it, a member name without its NUL */
    RESET();
    jfa_put16(w + jelly + JFA_DBF_NAMELEN, 0xffff);
    REOPEN();
    assert_int_equal(jfa_db_group_by_gid(&db, 100000, &g), -EINVAL);
    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), -EINVAL);
    RESET();
    jfa_put32(w + jelly + JFA_DBF_NMEM, UINT32_MAX);
    REOPEN();
    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), -EINVAL);
    RESET();
    jfa_put32(w + jelly + 36, UINT32_MAX); /* member 0's offset ("jellyfin\0" ends at 33) */
    REOPEN();
    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), 0);
    assert_int_equal(g.n_members, 2);
    assert_null(jfa_db_group_member(&db, &g, 0));
    assert_string_equal(jfa_db_group_member(&db, &g, 1), "bob");
    assert_null(jfa_db_group_member(&db, &g, 2));
    RESET();
    /* member 1 ("bob") pointed at the entry's last byte: "b", "o" of a
     * name that never ends inside the entry */
    jfa_put32(w + jelly + 40, jfa_le32(img + jelly + JFA_DBF_SIZE) - 2);
    w[jelly + jfa_le32(img + jelly + JFA_DBF_SIZE) - 1] = 'x';
    REOPEN();
    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), 0);
    assert_null(jfa_db_group_member(&db, &g, 1));
    /* a forged handle: entry offset outside or misaligned */
    g.entry = UINT32_MAX;
    assert_null(jfa_db_group_member(&db, &g, 0));
    g.entry = 4;
    assert_null(jfa_db_group_member(&db, &g, 0));
    /* the entry's record index disagrees with GINDEX: verify says so */
    RESET();
    jfa_put32(w + jelly + JFA_DBF_INDEX, 0);
    resum(w, len);
    REOPEN();
    assert_int_equal(jfa_db_group_by_name(&db, "jellyfin", &g), 0);
    err[0] = '\0';
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "index"));
    jfa_db_close(&db);
#undef REOPEN
#undef RESET
    free(w);
    free(img);
}

/* Names whose FNV-1a 32 hashes are equal: full tag collisions, so the
 * probe must compare names after a tag match and go on. */
static void test_tag_collisions(void **state)
{
    static const char *const pairs[][2] = {
        {"nce57d3c2", "na818a836"}, {"na0709f04", "n3e93150e"}, {"n45289974", "n9b4b0aaa"}};
    struct jfa_dbw_user users[6];
    struct jfa_dbw_group groups[6];
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    char err[256];
    (void)state;

    memset(users, 0, sizeof(users));
    memset(groups, 0, sizeof(groups));
    for (int i = 0; i < 6; i++) {
        const char *n = pairs[i / 2][i % 2];
        assert_int_equal(jfa_db_hash_name(n, 9), jfa_db_hash_name(pairs[i / 2][0], 9));
        users[i] = (struct jfa_dbw_user){.uid = 300000 + (uint32_t)i,
                                         .gid = 300000 + (uint32_t)i,
                                         .name = n,
                                         .gecos = "",
                                         .home = "/h",
                                         .shell = "/bin/sh",
                                         .jf_name = n};
        snprintf(users[i].jf_id, sizeof(users[i].jf_id), "%032x", i + 1);
        groups[i] = (struct jfa_dbw_group){.gid = 300000 + (uint32_t)i, .name = n};
    }
    /* only the first of each pair, then both */
    for (size_t n = 3; n <= 6; n += 3) {
        size_t k = 0;
        struct jfa_dbw_user su[6];
        struct jfa_dbw_group sg[6];
        for (int i = 0; i < 6; i++)
            if (n == 6 || i % 2 == 0) {
                su[k] = users[i];
                sg[k++] = groups[i];
            }
        assert_int_equal(jfa_db_build(su, k, sg, k, 1, &img, &len, err, sizeof(err)), 0);
        open_image(&db, img, len);
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
        for (int i = 0; i < 6; i++) {
            bool there = n == 6 || i % 2 == 0;
            int want = there ? 0 : -ENOENT;
            assert_int_equal(jfa_db_user_by_name(&db, users[i].name, &u), want);
            if (there) {
                assert_string_equal(u.name, users[i].name);
                assert_int_equal(u.uid, users[i].uid);
            }
            assert_int_equal(jfa_db_group_by_name(&db, groups[i].name, &g), want);
            if (there)
                assert_int_equal(g.gid, groups[i].gid);
        }
        jfa_db_close(&db);
        free(img);
    }
}

/* Version 1 files (written by the version-1 writer, tests/data) answer
 * every read exactly as the version 2 image of the same records. */
static void same_user(const struct jfa_db_user *a, const struct jfa_db_user *b)
{
    assert_int_equal(a->uid, b->uid);
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->flags, b->flags);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->gecos, b->gecos);
    assert_string_equal(a->home, b->home);
    assert_string_equal(a->shell, b->shell);
    assert_string_equal(a->jf_name, b->jf_name);
    assert_string_equal(a->jf_id, b->jf_id);
    assert_int_equal(a->name_len, b->name_len);
    assert_int_equal(a->gecos_len, b->gecos_len);
    assert_int_equal(a->home_len, b->home_len);
    assert_int_equal(a->shell_len, b->shell_len);
    assert_int_equal(a->jf_name_len, b->jf_name_len);
    assert_int_equal(a->n_gids, b->n_gids);
    for (uint32_t k = 0; k <= a->n_gids; k++)
        assert_int_equal(jfa_db_user_gid(a, k), jfa_db_user_gid(b, k));
}

static void same_group(const struct jfa_db *da, const struct jfa_db_group *a,
                       const struct jfa_db *db, const struct jfa_db_group *b)
{
    assert_int_equal(a->gid, b->gid);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->index, b->index);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->name_len, b->name_len);
    assert_int_equal(a->n_members, b->n_members);
    for (uint32_t k = 0; k < a->n_members; k++)
        assert_string_equal(jfa_db_group_member(da, a, k), jfa_db_group_member(db, b, k));
    assert_null(jfa_db_group_member(da, a, a->n_members));
}

/* Every record of d2 is answered identically by d1: by index, by both
 * keys, members included; and both miss the same. */
static void same_db(const struct jfa_db *d1, const struct jfa_db *d2)
{
    struct jfa_db_user a, b;
    struct jfa_db_group ga, gb;

    assert_int_equal(d1->n_users, d2->n_users);
    assert_int_equal(d1->n_groups, d2->n_groups);
    assert_int_equal(d1->generation, d2->generation);
    for (uint32_t i = 0; i < d2->n_users; i++) {
        assert_int_equal(jfa_db_user_at(d2, i, &b), 0);
        assert_int_equal(jfa_db_user_at(d1, i, &a), 0);
        same_user(&a, &b);
        assert_int_equal(jfa_db_user_by_name(d1, b.name, &a), 0);
        same_user(&a, &b);
        assert_int_equal(jfa_db_user_by_uid(d1, b.uid, &a), 0);
        same_user(&a, &b);
    }
    for (uint32_t i = 0; i < d2->n_groups; i++) {
        assert_int_equal(jfa_db_group_at(d2, i, &gb), 0);
        assert_int_equal(jfa_db_group_at(d1, i, &ga), 0);
        same_group(d1, &ga, d2, &gb);
        assert_int_equal(jfa_db_group_by_name(d1, gb.name, &ga), 0);
        same_group(d1, &ga, d2, &gb);
        assert_int_equal(jfa_db_group_by_gid(d1, gb.gid, &ga), 0);
        same_group(d1, &ga, d2, &gb);
    }
    assert_int_equal(jfa_db_user_by_name(d1, "mallory", &a), -ENOENT);
    assert_int_equal(jfa_db_user_by_uid(d1, 4242, &a), -ENOENT);
    assert_int_equal(jfa_db_group_by_name(d1, "mallory", &ga), -ENOENT);
    assert_int_equal(jfa_db_group_by_gid(d1, 4242, &ga), -ENOENT);
    assert_int_equal(jfa_db_user_at(d1, d1->n_users, &a), -ENOENT);
}

static void test_v1_files(void **state)
{
    static const char *const files[] = {"users-v1.db", "users-v1-nowatch.db"};
    unsigned char *img, *v1;
    size_t len, v1len;
    struct jfa_db db2, db1;
    char err[256], path2[160];
    (void)state;

    build_fixture(&img, &len);
    snprintf(path2, sizeof(path2), "%s/v2.db", tmpdir);
    write_file(path2, img, len, 0644);
    assert_int_equal(jfa_db_open(&db2, path2, false), 0);
    for (size_t f = 0; f < 2; f++) {
        v1 = load_data(files[f], &v1len);
        assert_int_equal(jfa_le32(v1 + JFA_DBH_VERSION), 1);
        open_image(&db1, v1, v1len);
        assert_int_equal(db1.version, 1);
        same_db(&db1, &db2);
        assert_int_equal(jfa_db_verify(&db1, err, sizeof(err)), 0);
        /* the old file is marked when a new database replaces it */
        if (f == 0) {
            assert_non_null(db1.replaced);
            assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), 1);
            assert_true(jfa_db_marked(&db1));
        } else {
            assert_null(db1.replaced);
            assert_int_equal(jfa_db_mark_replaced(dbpath, err, sizeof(err)), 0);
        }
        jfa_db_close(&db1);
        free(v1);
    }
    jfa_db_close(&db2);
    unlink(path2);
    free(img);
}

/* A transitional file (what sync writes): version 1 readers see a
 * complete version 1 view; this reader uses the version 2 directory.
 * With the directory's tag broken this reader falls back to the view, so
 * the view is checked against the version 2 answers here. */
static void test_transitional(void **state)
{
    unsigned char *img, *w;
    size_t len;
    struct jfa_db d2, d1;
    char err[256], path2[160];
    (void)state;

    build_fixture(&img, &len);
    assert_int_equal(jfa_le32(img + JFA_DBH_VERSION), JFA_DB_VERSION_1);
    assert_memory_equal(img + JFA_DB_DIR_OFF, JFA_DB_DIR_TAG, JFA_DB_DIR_TAG_LEN);
    for (int s = 0; s < JFA_SEC_COUNT; s++)
        assert_true(sec_off(img, s) >= JFA_DB_DIR_OFF + JFA_DB_DIR_SIZE);
    snprintf(path2, sizeof(path2), "%s/t2.db", tmpdir);
    write_file(path2, img, len, 0644);
    assert_int_equal(jfa_db_open(&d2, path2, false), 0);
    assert_int_equal(d2.version, JFA_DB_VERSION);
    assert_non_null(d2.replaced);
    assert_int_equal(jfa_db_verify(&d2, err, sizeof(err)), 0);

    w = malloc(len);
    assert_non_null(w);
    for (int how = 0; how < 2; how++) {
        memcpy(w, img, len);
        if (how == 0)
            w[JFA_DB_DIR_OFF] = 'X'; /* no directory */
        else
            jfa_put32(w + JFA_DB_DIR_OFF + 4, 3); /* a directory of a later version */
        resum(w, len);
        assert_int_equal(open_modified(w, len, &d1), 0);
        assert_int_equal(d1.version, JFA_DB_VERSION_1);
        assert_int_equal(jfa_db_verify(&d1, err, sizeof(err)), 0);
        same_db(&d1, &d2);
        jfa_db_close(&d1);
    }
    /* directory sections out of bounds, misaligned, overlapping, or
     * before the directory's end: refused */
    for (int s = 0; s < JFA_SEC_COUNT; s++) {
        uint64_t at = JFA_DB_DIR_SECTIONS + 16 * (uint64_t)s;
        memcpy(w, img, len);
        jfa_put64(w + at, len + 8);
        assert_int_equal(open_modified(w, len, &d1), -EINVAL);
        memcpy(w, img, len);
        jfa_put64(w + at + 8, UINT64_MAX - 4);
        assert_int_equal(open_modified(w, len, &d1), -EINVAL);
        memcpy(w, img, len);
        jfa_put64(w + at, jfa_le64(img + at) + 4);
        assert_int_equal(open_modified(w, len, &d1), -EINVAL);
        memcpy(w, img, len);
        jfa_put64(w + at, JFA_DB_DIR_OFF);
        assert_int_equal(open_modified(w, len, &d1), -EINVAL);
    }
    memcpy(w, img, len);
    jfa_put64(w + JFA_DB_DIR_SECTIONS + 16 * JFA_SEC_GROUPS,
              jfa_le64(img + JFA_DB_DIR_SECTIONS + 16 * JFA_SEC_USERS));
    assert_int_equal(open_modified(w, len, &d1), -EINVAL);
    /* marking: the same word, seen through the version 2 reader */
    assert_int_equal(jfa_db_mark_replaced(path2, err, sizeof(err)), 1);
    assert_true(jfa_db_marked(&d2));
    jfa_db_close(&d2);
    unlink(path2);
    free(w);
    free(img);
}

/* ---- cell tables ---- */

#define CN 200 /* users of the cell population (and as many private groups) */

/* A population for the cell tables: users cuN (uid 400000 + N) and their
 * private groups, every twentieth user with a gecos too long for a
 * 128-byte cell (its entry overflows), and group cusers holding every
 * user (overflows a 64-byte cell). */
struct cellpop {
    struct jfa_dbw_user u[CN];
    struct jfa_dbw_group g[CN + 1];
    char names[CN][16];
    const char *members[CN];
};

static const char long_gecos[] = "A gecos long enough that the entry no longer fits in a "
                                 "128-byte cell, 0123456789 0123456789 0123456789";

static void cellpop_init(struct cellpop *p, size_t n)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < n; i++) {
        snprintf(p->names[i], sizeof(p->names[i]), "cu%u", (unsigned)(i % CN));
        p->u[i] = (struct jfa_dbw_user){.uid = 400000 + (uint32_t)i,
                                        .gid = 400000 + (uint32_t)i,
                                        .name = p->names[i],
                                        .gecos = i % 20 == 7 ? long_gecos : "",
                                        .home = "/h",
                                        .shell = "/bin/sh",
                                        .jf_name = p->names[i]};
        snprintf(p->u[i].jf_id, sizeof(p->u[i].jf_id), "%032zx", i + 1);
        p->g[i] = (struct jfa_dbw_group){.gid = 400000 + (uint32_t)i, .name = p->names[i]};
        p->members[i] = p->names[i];
    }
    p->g[n] = (struct jfa_dbw_group){
        .gid = 399999, .name = "cusers", .members = p->members, .n_members = n};
}

static void cellpop_build(struct cellpop *p, size_t n, unsigned flags, unsigned char **img,
                          size_t *len)
{
    char err[256];
    if (jfa_db_build_flags(p->u, n, p->g, n + 1, 1, flags, img, len, err, sizeof(err)) != 0)
        fail_msg("build: %s", err);
}

/* Is p inside cell table k of db? */
static bool in_cells(const struct jfa_db *db, int k, const void *p)
{
    const unsigned char *c = db->base + db->cell_off[k];
    return (const unsigned char *)p >= c &&
           (const unsigned char *)p < c + (uint64_t)db->cell_n[k] * db->cell_stride[k];
}

/* The cell of table k (in the image w, laid out as db) holding tag, or
 * UINT32_MAX. */
static uint32_t cell_with_tag(const struct jfa_db *db, const unsigned char *w, int k, uint32_t tag)
{
    for (uint32_t i = 0; i < db->cell_n[k]; i++) {
        const unsigned char *c = w + db->cell_off[k] + (uint64_t)db->cell_stride[k] * i;
        if (jfa_le32(c + 4) != 0 && jfa_le32(c) == tag)
            return i;
    }
    return UINT32_MAX;
}

static unsigned char *cell_at(const struct jfa_db *db, unsigned char *w, int k, uint32_t i)
{
    return w + db->cell_off[k] + (uint64_t)db->cell_stride[k] * i;
}

/* Every record of the population answers by all four keys. */
static void cellpop_check(const struct jfa_db *db, const struct cellpop *p, size_t n)
{
    struct jfa_db_user u;
    struct jfa_db_group g;

    for (size_t i = 0; i < n; i++) {
        assert_int_equal(jfa_db_user_by_name(db, p->u[i].name, &u), 0);
        assert_int_equal(u.uid, p->u[i].uid);
        assert_string_equal(u.gecos, p->u[i].gecos);
        assert_int_equal(jfa_db_user_by_uid(db, p->u[i].uid, &u), 0);
        assert_string_equal(u.name, p->u[i].name);
        assert_int_equal(jfa_db_group_by_name(db, p->g[i].name, &g), 0);
        assert_int_equal(g.gid, p->g[i].gid);
        assert_int_equal(jfa_db_group_by_gid(db, p->g[i].gid, &g), 0);
        assert_string_equal(g.name, p->g[i].name);
    }
    assert_int_equal(jfa_db_group_by_gid(db, 399999, &g), 0);
    assert_int_equal(g.n_members, n);
    for (uint32_t k = 0; k < g.n_members; k++)
        assert_string_equal(jfa_db_group_member(db, &g, k), p->names[k]);
    assert_int_equal(jfa_db_user_by_name(db, "cu999", &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_uid(db, 400999, &u), -ENOENT);
    assert_int_equal(jfa_db_group_by_name(db, "cu999", &g), -ENOENT);
    assert_int_equal(jfa_db_group_by_gid(db, 400999, &g), -ENOENT);
}

/* Lookups through cells: inline and overflowing entries by all four keys,
 * misses, the strides chosen, both kinds of file; the same answers with
 * the cell tables ignored (an older version 2 reader: slots and primary
 * entries) and through the version 1 view. */
static void test_cells(void **state)
{
    static const unsigned forms[] = {0, JFA_DBW_NO_V1_VIEW};
    struct cellpop *p = malloc(sizeof(*p));
    unsigned char *img;
    size_t len;
    struct jfa_db db, old;
    struct jfa_db_user u;
    struct jfa_db_group g;
    char err[256];
    (void)state;

    assert_non_null(p);
    cellpop_init(p, CN);
    for (size_t f = 0; f < 2; f++) {
        cellpop_build(p, CN, forms[f], &img, &len);
        open_image(&db, img, len);
        assert_int_equal(db.version, 2);
        assert_memory_equal(img + JFA_DB_CELLS_OFF, JFA_DB_CELLS_TAG, 4);
        assert_int_equal(db.cell_stride[0], 128);
        assert_int_equal(db.cell_stride[1], 128);
        assert_int_equal(db.cell_stride[2], 64);
        assert_int_equal(db.cell_stride[3], 64);
        assert_int_equal(db.cell_n[0], (CN * 100 + 79) / 80);
        assert_int_equal(db.cell_n[2], ((CN + 1) * 100 + 79) / 80);
        for (int k = 0; k < 4; k++)
            assert_int_equal(db.cell_off[k] % JFA_DB_CELL_ALIGN, 0);
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
        cellpop_check(&db, p, CN);
        /* inline: the by-name answer in the by-name table, the by-id
         * answer in the by-id table (copies); overflowing: both outside
         * every cell table; enumeration: the primaries, outside */
        for (size_t i = 0; i < CN; i++) {
            bool fits = i % 20 != 7;
            assert_int_equal(jfa_db_user_by_name(&db, p->u[i].name, &u), 0);
            assert_true(in_cells(&db, 0, u.name) == fits);
            assert_int_equal(jfa_db_user_by_uid(&db, p->u[i].uid, &u), 0);
            assert_true(in_cells(&db, 1, u.name) == fits);
            assert_false(in_cells(&db, 0, u.name));
            assert_int_equal(jfa_db_user_at(&db, (uint32_t)i, &u), 0);
            assert_false(in_cells(&db, 0, u.name) || in_cells(&db, 1, u.name));
            assert_int_equal(jfa_db_group_by_gid(&db, p->g[i].gid, &g), 0);
            assert_true(in_cells(&db, 3, g.name));
        }
        assert_int_equal(jfa_db_group_by_name(&db, "cusers", &g), 0);
        assert_false(in_cells(&db, 2, g.name) || in_cells(&db, 3, g.name));
        /* an older version 2 reader: no cell tables */
        old = db;
        memset(old.cell_n, 0, sizeof(old.cell_n));
        cellpop_check(&old, p, CN);
        jfa_db_close(&db);
        /* an older version 1 reader: the transitional file's view */
        if (forms[f] == 0) {
            memcpy(img + JFA_DB_DIR_OFF, "XXXX", 4);
            open_image(&db, img, len);
            assert_int_equal(db.version, 1);
            cellpop_check(&db, p, CN);
            jfa_db_close(&db);
        }
        free(img);
    }
    /* a kind whose entries mostly overflow 256 bytes: no cell tables for
     * it, the slot tables answer */
    for (size_t i = 0; i < CN; i++)
        p->u[i].home = long_gecos;
    for (size_t i = 0; i < CN; i += 2)
        p->u[i].gecos = long_gecos;
    cellpop_build(p, CN, 0, &img, &len);
    open_image(&db, img, len);
    assert_int_equal(db.cell_n[0], 0);
    assert_int_equal(db.cell_n[1], 0);
    assert_int_equal(db.cell_stride[2], 64);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
    cellpop_check(&db, p, CN);
    jfa_db_close(&db);
    free(img);
    free(p);
}

/* Files without cell tables read as before: no block (sections right
 * after the directory or the watch block), the slot tables answer. */
static void test_no_cells(void **state)
{
    static const unsigned forms[] = {JFA_DBW_NO_CELLS, JFA_DBW_NO_CELLS | JFA_DBW_NO_V1_VIEW};
    struct cellpop *p = malloc(sizeof(*p));
    unsigned char *img;
    size_t len;
    struct jfa_db db;
    char err[256];
    (void)state;

    assert_non_null(p);
    cellpop_init(p, CN);
    for (size_t f = 0; f < 2; f++) {
        cellpop_build(p, CN, forms[f], &img, &len);
        open_image(&db, img, len);
        assert_int_equal(db.version, 2);
        for (int k = 0; k < 4; k++)
            assert_int_equal(db.cell_n[k], 0);
        assert_int_equal(db.sec_off[0], f == 0 ? JFA_DB_DIR_OFF + JFA_DB_DIR_SIZE
                                               : JFA_DB_WATCH_OFF + JFA_DB_WATCH_SIZE);
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
        cellpop_check(&db, p, CN);
        jfa_db_close(&db);
        free(img);
    }
    free(p);
}

/* Keys whose homes collide: the writer's Robin Hood placement keeps every
 * key reachable, misses that share the home end, verify accepts it. */
static void test_cells_collisions(void **state)
{
    enum { NU = 40 };
    struct jfa_dbw_user u[NU];
    struct jfa_dbw_group g[NU];
    char names[NU][16], err[256];
    uint32_t n = (NU * 100 + 79) / 80, uid = 500000, misses[4], nm = 0;
    unsigned char *img;
    size_t len, k = 0;
    struct jfa_db db;
    struct jfa_db_user du;
    struct jfa_db_group dg;
    (void)state;

    memset(u, 0, sizeof(u));
    memset(g, 0, sizeof(g));
    /* 30 uids and gids whose home is cell 7 of the n-cell id tables (and
     * cell 7 is near the start: probes run past it), 10 elsewhere;
     * names: every one home at cell n - 2, so probes wrap */
    for (; k < NU; uid++) {
        bool home7 = jfa_db_cell_home(jfa_db_hash_id(uid), n) == 7;
        if (k < 30 ? !home7 : home7) {
            if (home7 && nm < 4)
                misses[nm++] = uid;
            continue;
        }
        u[k] = (struct jfa_dbw_user){
            .uid = uid, .gid = uid, .gecos = "", .home = "/h", .shell = "/bin/sh"};
        snprintf(u[k].jf_id, sizeof(u[k].jf_id), "%032x", uid);
        g[k] = (struct jfa_dbw_group){.gid = uid};
        k++;
    }
    k = 0;
    for (uint32_t i = 0; k < NU; i++) {
        snprintf(names[k], sizeof(names[k]), "c%u", i);
        if (jfa_db_cell_home(jfa_db_hash_name(names[k], strlen(names[k])), n) != n - 2)
            continue;
        u[k].name = u[k].jf_name = g[k].name = names[k];
        k++;
    }
    while (nm < 4)
        if (jfa_db_cell_home(jfa_db_hash_id(uid++), n) == 7)
            misses[nm++] = uid - 1;
    assert_int_equal(jfa_db_build(u, NU, g, NU, 1, &img, &len, err, sizeof(err)), 0);
    open_image(&db, img, len);
    assert_int_equal(db.cell_n[0], n);
    assert_int_equal(db.cell_n[3], n);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
    for (size_t i = 0; i < NU; i++) {
        assert_int_equal(jfa_db_user_by_name(&db, u[i].name, &du), 0);
        assert_int_equal(du.uid, u[i].uid);
        assert_int_equal(jfa_db_user_by_uid(&db, u[i].uid, &du), 0);
        assert_string_equal(du.name, u[i].name);
        assert_int_equal(jfa_db_group_by_name(&db, g[i].name, &dg), 0);
        assert_int_equal(jfa_db_group_by_gid(&db, g[i].gid, &dg), 0);
        assert_string_equal(dg.name, g[i].name);
    }
    for (uint32_t i = 0; i < nm; i++) {
        assert_int_equal(jfa_db_user_by_uid(&db, misses[i], &du), -ENOENT);
        assert_int_equal(jfa_db_group_by_gid(&db, misses[i], &dg), -ENOENT);
    }
    /* the names' cluster wraps from the last cell to cell 0: emptying the
     * last cell breaks the order at cell 0, which verify reports */
    {
        unsigned char *w = malloc(len);
        const unsigned char *last = img + db.cell_off[0] + (uint64_t)db.cell_stride[0] * (n - 1);
        assert_non_null(w);
        assert_true(jfa_le32(last + 4) != 0);
        assert_true(jfa_le32(img + db.cell_off[0] + 4) != 0);
        memcpy(w, img, len);
        memset(w + (last - img), 0, db.cell_stride[0]);
        resum(w, len);
        jfa_db_close(&db);
        assert_int_equal(open_modified(w, len, &db), 0);
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "user name cell table: cell 0 out of Robin Hood order"));
        free(w);
    }
    jfa_db_close(&db);
    free(img);
}

/* Names chosen to share one home cell (FNV-1a is not keyed: a Jellyfin
 * user picks their name): more than JFA_CELL_MAX_PROBE of them would make
 * placement quadratic and every lookup of theirs walk the cluster, so the
 * writer leaves the users' cell tables out (their lookups use the slot
 * tables) and keeps the groups' (names elsewhere). Every key still
 * answers, and verify accepts the file. */
static void test_cells_clustered(void **state)
{
    enum { NU = 300 };
    struct jfa_dbw_user *u = calloc(NU, sizeof(*u));
    struct jfa_dbw_group *g = calloc(NU, sizeof(*g));
    char(*names)[16] = calloc(2 * NU, 16), err[256];
    uint32_t n = (NU * 100 + 79) / 80;
    unsigned char *img;
    size_t len, k = 0;
    struct jfa_db db;
    struct jfa_db_user du;
    struct jfa_db_group dg;
    (void)state;

    assert_non_null(u);
    assert_non_null(g);
    assert_non_null(names);
    for (uint32_t i = 0; k < NU; i++) {
        snprintf(names[k], 16, "c%u", i);
        if (jfa_db_cell_home(jfa_db_hash_name(names[k], strlen(names[k])), n) != 5)
            continue;
        assert_int_equal(jfa_db_cell_home(jfa_db_hash_name(names[k], strlen(names[k])), 250),
                         jfa_db_cell_home(jfa_db_hash_name(names[0], strlen(names[0])), 250));
        snprintf(names[NU + k], 16, "g%u", (unsigned)k);
        u[k] = (struct jfa_dbw_user){.uid = 600000 + (uint32_t)k,
                                     .gid = 600000 + (uint32_t)k,
                                     .name = names[k],
                                     .jf_name = names[k],
                                     .gecos = "",
                                     .home = "/h",
                                     .shell = "/bin/sh"};
        snprintf(u[k].jf_id, sizeof(u[k].jf_id), "%032x", (unsigned)k + 1);
        g[k] = (struct jfa_dbw_group){.gid = 600000 + (uint32_t)k, .name = names[NU + k]};
        k++;
    }
    assert_int_equal(jfa_db_build(u, NU, g, NU, 1, &img, &len, err, sizeof(err)), 0);
    open_image(&db, img, len);
    assert_int_equal(db.cell_n[0], 0);
    assert_int_equal(db.cell_n[1], 0);
    assert_int_equal(db.cell_n[2], n);
    assert_int_equal(db.cell_n[3], n);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
    for (size_t i = 0; i < NU; i++) {
        assert_int_equal(jfa_db_user_by_name(&db, u[i].name, &du), 0);
        assert_int_equal(du.uid, u[i].uid);
        assert_int_equal(jfa_db_user_by_uid(&db, u[i].uid, &du), 0);
        assert_string_equal(du.name, u[i].name);
        assert_int_equal(jfa_db_group_by_name(&db, g[i].name, &dg), 0);
        assert_int_equal(dg.gid, g[i].gid);
    }
    jfa_db_close(&db);
    free(img);
    /* 200 of them share one home of a 250-cell table too (their tags lie
     * within 1/375 of the range): distances up to 199 keep the cells */
    assert_int_equal(jfa_db_build(u, 200, g, 200, 1, &img, &len, err, sizeof(err)), 0);
    open_image(&db, img, len);
    assert_int_not_equal(db.cell_n[0], 0);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), 0);
    jfa_db_close(&db);
    free(img);
    free(names);
    free(g);
    free(u);
}

/* The cell block at open: each rule refuses the file; a block that is not
 * there (tag, version, a section over it) is no block. */
static void test_cells_hostile_block(void **state)
{
    static const unsigned forms[] = {0, JFA_DBW_NO_V1_VIEW};
    struct cellpop *p = malloc(sizeof(*p));
    unsigned char *img, *w;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    (void)state;

    assert_non_null(p);
    cellpop_init(p, CN);
    for (size_t f = 0; f < 2; f++) {
        cellpop_build(p, CN, forms[f], &img, &len);
        w = malloc(len);
        assert_non_null(w);
        /* the table of key k in the block */
#define T(k) (w + JFA_DB_CELLS_TABLES + JFA_DB_CELLS_ENTRY * (k))
#define RESET() memcpy(w, img, len)
#define REFUSED() assert_int_equal(open_modified(w, len, &db), -EINVAL)
        uint64_t uoff = jfa_le64(img + JFA_DB_CELLS_TABLES);
        uint64_t usize = jfa_le64(img + JFA_DB_CELLS_TABLES + 8);
        uint64_t goff = jfa_le64(img + JFA_DB_CELLS_TABLES + 2 * JFA_DB_CELLS_ENTRY);
        uint64_t idoff = jfa_le64(img + JFA_DB_CELLS_TABLES + JFA_DB_CELLS_ENTRY);
        uint64_t idsize = jfa_le64(img + JFA_DB_CELLS_TABLES + JFA_DB_CELLS_ENTRY + 8);
        const unsigned char *dir = img + (forms[f] == 0 ? JFA_DB_DIR_SECTIONS : JFA_DBH_SECTIONS);
        uint64_t users_end =
            jfa_le64(dir + 16 * JFA_SEC_USERS) + jfa_le64(dir + 16 * JFA_SEC_USERS + 8);

        RESET();
        assert_int_equal(open_modified(w, len, &db), 0);
        assert_int_equal(db.cell_n[0], usize / 128);
        jfa_db_close(&db);
        /* stride */
        static const uint32_t bad_strides[] = {0, 8, 32, 96, 100, 512};
        for (size_t i = 0; i < sizeof(bad_strides) / sizeof(bad_strides[0]); i++) {
            RESET();
            jfa_put32(T(0) + 16, bad_strides[i]);
            REFUSED();
        }
        /* a stride of 64 fits the size too: accepted (twice the cells) */
        RESET();
        jfa_put32(T(0) + 16, 64);
        assert_int_equal(open_modified(w, len, &db), 0);
        assert_int_equal(db.cell_n[0], usize / 64);
        jfa_db_close(&db);
        /* not a whole number of cells */
        RESET();
        jfa_put64(T(0) + 8, usize - 8);
        REFUSED();
        /* as many cells as records, or fewer */
        RESET();
        jfa_put64(T(0) + 8, (uint64_t)CN * 128);
        REFUSED();
        RESET();
        jfa_put64(T(2) + 8, (uint64_t)(CN + 1) * 64);
        REFUSED();
        RESET();
        jfa_put64(T(2) + 8, (uint64_t)(CN + 2) * 64); /* one more: accepted */
        assert_int_equal(open_modified(w, len, &db), 0);
        jfa_db_close(&db);
        /* more than UINT32_MAX cells (and far outside the section) */
        RESET();
        jfa_put64(T(0) + 8, ((uint64_t)UINT32_MAX + 1) * 64);
        jfa_put32(T(0) + 16, 64);
        REFUSED();
        /* misaligned (and one cell shorter: it overlaps nothing) */
        RESET();
        jfa_put64(T(0), uoff + 4);
        jfa_put64(T(0) + 8, usize - 128);
        REFUSED();
        RESET();
        jfa_put64(T(0), uoff + 8);
        jfa_put64(T(0) + 8, usize - 128);
        assert_int_equal(open_modified(w, len, &db), 0); /* 8-aligned: accepted */
        jfa_db_close(&db);
        /* outside its entry section: before it, past its end, in the
         * other one */
        RESET();
        jfa_put64(T(0), uoff - 128);
        REFUSED();
        RESET();
        jfa_put64(T(1), users_end - idsize + 128);
        REFUSED();
        RESET();
        jfa_put64(T(1), users_end + 8); /* past the end: the offset alone */
        jfa_put64(T(1) + 8, 0);
        assert_int_equal(open_modified(w, len, &db), 0); /* size 0: no table */
        assert_int_equal(db.cell_n[1], 0);
        assert_int_equal(jfa_db_user_by_uid(&db, 400003, &u), 0); /* the slots answer */
        jfa_db_close(&db);
        RESET();
        jfa_put64(T(0), goff); /* a user table in GROUPS */
        REFUSED();
        RESET();
        jfa_put64(T(0), UINT64_MAX - 127); /* wraps */
        REFUSED();
        /* overlapping */
        RESET();
        jfa_put64(T(1), uoff);
        REFUSED();
        RESET();
        jfa_put64(T(1), idoff - 128);
        REFUSED();
        /* no block: another tag, another version, a section over it */
        RESET();
        memcpy(w + JFA_DB_CELLS_OFF, "JFAX", 4);
        jfa_put32(T(0) + 16, 32); /* never looked at */
        assert_int_equal(open_modified(w, len, &db), 0);
        for (int k = 0; k < 4; k++)
            assert_int_equal(db.cell_n[k], 0);
        assert_int_equal(jfa_db_user_by_uid(&db, 400003, &u), 0);
        jfa_db_close(&db);
        RESET();
        jfa_put32(w + JFA_DB_CELLS_OFF + 4, 2);
        jfa_put32(T(0) + 16, 32);
        assert_int_equal(open_modified(w, len, &db), 0);
        assert_int_equal(db.cell_n[0], 0);
        jfa_db_close(&db);
        RESET();
        /* the (empty) unused section starting inside the block */
        jfa_put64(w + (dir - img) + 16 * JFA_SEC2_UNUSED, JFA_DB_CELLS_END - 8);
        jfa_put32(T(0) + 16, 32);
        assert_int_equal(open_modified(w, len, &db), 0);
        assert_int_equal(db.cell_n[0], 0);
        assert_int_equal(jfa_db_user_by_name(&db, "cu3", &u), 0);
        jfa_db_close(&db);
#undef T
#undef RESET
#undef REFUSED
        free(w);
        free(img);
    }
    free(p);
}

/* Hostile cells: a ref outside the section or an entry running past it
 * is refused (-EINVAL), an order that breaks Robin Hood only hides keys
 * (-ENOENT), a full table whose tags all match ends; verify names the
 * table and the cell. */
static void test_cells_hostile(void **state)
{
    struct cellpop *p = malloc(sizeof(*p));
    unsigned char *img, *w, *c;
    size_t len;
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    uint32_t i, tag, n, ref;
    char err[256];
    (void)state;

    assert_non_null(p);
    cellpop_init(p, CN);
    cellpop_build(p, CN, JFA_DBW_NO_V1_VIEW, &img, &len);
    w = malloc(len);
    assert_non_null(w);
#define RESET() memcpy(w, img, len)
#define REOPEN() (resum(w, len), jfa_db_close(&db), assert_int_equal(open_modified(w, len, &db), 0))
    RESET();
    assert_int_equal(open_modified(w, len, &db), 0);
    n = db.cell_n[0];

    /* cu3's by-name cell refers past the end of USERS */
    tag = jfa_db_hash_name("cu3", 3);
    i = cell_with_tag(&db, img, 0, tag);
    assert_true(i != UINT32_MAX);
    c = cell_at(&db, w, 0, i);
    jfa_put32(c + 4, (uint32_t)(db.sec_len[JFA_SEC_USERS] / 8 + 1));
    REOPEN();
    assert_int_equal(jfa_db_user_by_name(&db, "cu3", &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_name(&db, "cu4", &u), 0);
    assert_int_equal(jfa_db_user_by_uid(&db, 400003, &u), 0); /* its copy */
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "user name cell table"));
    assert_non_null(strstr(err, "outside"));
    /* ref 0xffffffff: (ref - 1) * 8 does not wrap */
    jfa_put32(c + 4, UINT32_MAX);
    REOPEN();
    assert_int_equal(jfa_db_user_by_name(&db, "cu3", &u), -EINVAL);

    /* cu4's inline entry claims to run past the section */
    RESET();
    i = cell_with_tag(&db, img, 1, jfa_db_hash_id(400004));
    c = cell_at(&db, w, 1, i);
    assert_int_equal(jfa_le32(c + 4), (uint32_t)((c + 8 - w - db.sec_off[JFA_SEC_USERS]) / 8 + 1));
    jfa_put32(c + 8 + JFA_DBE_SIZE, (uint32_t)db.sec_len[JFA_SEC_USERS]);
    REOPEN();
    assert_int_equal(jfa_db_user_by_uid(&db, 400004, &u), -EINVAL);
    assert_int_equal(jfa_db_user_by_name(&db, "cu4", &u), 0); /* its by-name copy */
    /* a size running into the next cells stays inside the section: read,
     * and the entry is refused by its own checks */
    jfa_put32(c + 8 + JFA_DBE_SIZE, 200);
    REOPEN();
    assert_int_equal(jfa_db_user_by_uid(&db, 400004, &u), -EINVAL);
    /* a copy that differs from its primary: verify names the uid table */
    RESET();
    REOPEN();
    {
        struct jfa_db_user pu;
        assert_int_equal(jfa_db_user_by_uid(&db, 400004, &pu), 0);
        w[(size_t)((const unsigned char *)pu.home - db.base)] = 'H'; /* the uid copy */
    }
    REOPEN();
    assert_int_equal(jfa_db_user_by_uid(&db, 400004, &u), 0);
    assert_string_equal(u.home, "Hh");
    assert_int_equal(jfa_db_user_by_name(&db, "cu4", &u), 0);
    assert_string_equal(u.home, "/h");
    assert_int_equal(jfa_db_user_at(&db, 4, &u), 0); /* the primary */
    assert_string_equal(u.home, "/h");
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "uid 400004 not found in its cell table"));

    /* Robin Hood order broken: a key two or more cells from its home
     * behind a cell that claims to be at its own home is not found */
    RESET();
    {
        uint32_t far = UINT32_MAX, d = 0;
        for (i = 1; i < n && far == UINT32_MAX; i++) {
            const unsigned char *x = cell_at(&db, (unsigned char *)img, 0, i);
            uint32_t h = jfa_db_cell_home(jfa_le32(x), n);
            if (jfa_le32(x + 4) != 0 && i >= h + 2) {
                far = i;
                d = i - h;
            }
        }
        assert_true(far != UINT32_MAX && d >= 2);
        c = cell_at(&db, w, 0, far);
        /* the key of that cell: its entry's name */
        {
            const unsigned char *e =
                img + db.sec_off[JFA_SEC_USERS] + (uint64_t)(jfa_le32(c + 4) - 1) * 8;
            char name[33];
            uint32_t nl = jfa_le16(e + JFA_DBE_LENS);
            unsigned char *prev = cell_at(&db, w, 0, far - 1);
            memcpy(name, e + JFA_DBE_STRINGS, nl);
            name[nl] = '\0';
            /* a tag whose home is the cell before */
            tag = (uint32_t)((((uint64_t)(far - 1) << 32) + n - 1) / n);
            assert_int_equal(jfa_db_cell_home(tag, n), far - 1);
            jfa_put32(prev, tag);
            REOPEN();
            assert_int_equal(jfa_db_user_by_name(&db, name, &u), -ENOENT);
            assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
            assert_non_null(strstr(err, "user name cell table"));
        }
    }
    /* a pure reorder: the occupant of a cell moved to the first empty cell
     * after its cluster (its inline ref follows it) */
    RESET();
    {
        /* from: a used cell whose successor is used and away from its
         * home (so it then follows an empty cell); to: the first empty
         * cell after it */
        uint32_t from = UINT32_MAX, to = UINT32_MAX, gn = db.cell_n[2];
        for (i = 0; i + 1 < gn && from == UINT32_MAX; i++) {
            const unsigned char *x = cell_at(&db, (unsigned char *)img, 2, i);
            const unsigned char *y = cell_at(&db, (unsigned char *)img, 2, i + 1);
            if (jfa_le32(x + 4) != 0 && jfa_le32(y + 4) != 0 &&
                jfa_db_cell_home(jfa_le32(y), gn) != i + 1)
                from = i;
        }
        for (i = from + 1; from != UINT32_MAX && i < gn && to == UINT32_MAX; i++)
            if (jfa_le32(cell_at(&db, (unsigned char *)img, 2, i) + 4) == 0)
                to = i;
        assert_true(from != UINT32_MAX && to != UINT32_MAX);
        c = cell_at(&db, w, 2, to);
        memcpy(c, cell_at(&db, w, 2, from), 64);
        ref = jfa_le32(c + 4);
        if ((uint64_t)(ref - 1) * 8 ==
            (uint64_t)(cell_at(&db, w, 2, from) + 8 - w - db.sec_off[JFA_SEC_GROUPS]))
            jfa_put32(c + 4, (uint32_t)((c + 8 - w - db.sec_off[JFA_SEC_GROUPS]) / 8 + 1));
        memset(cell_at(&db, w, 2, from), 0, 64);
        REOPEN();
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "group name cell table"));
        assert_non_null(strstr(err, "Robin Hood"));
    }
    /* a tag that is not its key's hash (same home, so the order holds):
     * the key is not found there; verify names the cell */
    for (int k = 0; k < 4; k += 3) {
        uint32_t kt = k == 0 ? jfa_db_hash_name("cu9", 3) : jfa_db_hash_id(400009);
        RESET();
        i = cell_with_tag(&db, img, k, kt);
        assert_true(i != UINT32_MAX);
        assert_int_equal(jfa_db_cell_home(kt + 1, db.cell_n[k]),
                         jfa_db_cell_home(kt, db.cell_n[k]));
        jfa_put32(cell_at(&db, w, k, i), kt + 1);
        REOPEN();
        if (k == 0)
            assert_int_equal(jfa_db_user_by_name(&db, "cu9", &u), -ENOENT);
        else
            assert_int_equal(jfa_db_group_by_gid(&db, 400009, &g), -ENOENT);
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
        assert_non_null(strstr(err, k == 0 ? "user name cell table" : "gid cell table"));
        assert_non_null(strstr(err, "tag does not match"));
    }
    /* the slot table is asked first: without the key's tag there, a key
     * its cell table holds is not found */
    RESET();
    memset(w + db.sec_off[JFA_SEC_H_UID], 0, db.sec_len[JFA_SEC_H_UID]);
    REOPEN();
    assert_int_equal(jfa_db_user_by_uid(&db, 400003, &u), -ENOENT);
    assert_int_equal(jfa_db_user_by_name(&db, "cu3", &u), 0);
    /* a cell emptied at the end of its cluster (the order still holds):
     * verify counts the cells */
    RESET();
    {
        uint32_t gn = db.cell_n[3];
        for (i = 0; i < gn; i++) {
            const unsigned char *x = cell_at(&db, (unsigned char *)img, 3, i);
            const unsigned char *y = cell_at(&db, (unsigned char *)img, 3, (i + 1) % gn);
            if (jfa_le32(x + 4) != 0 &&
                (jfa_le32(y + 4) == 0 || jfa_db_cell_home(jfa_le32(y), gn) == (i + 1) % gn))
                break;
        }
        assert_true(i < gn);
        memset(cell_at(&db, w, 3, i), 0, 64);
        REOPEN();
        assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "gid cell table"));
        assert_non_null(strstr(err, "cells used for"));
    }
    /* a full table whose tags all match the query, refs at another
     * record: the probe ends, not found (the slot table says the tag is
     * there too) */
    RESET();
    tag = jfa_db_hash_id(499999);
    ref = jfa_le32(
        cell_at(&db, (unsigned char *)img, 3, cell_with_tag(&db, img, 3, jfa_db_hash_id(400005))) +
        4);
    for (i = 0; i < db.cell_n[3]; i++) {
        jfa_put32(cell_at(&db, w, 3, i), tag);
        jfa_put32(cell_at(&db, w, 3, i) + 4, ref);
    }
    fill_slots(w, img, JFA_SEC_H_GID, tag, ref);
    REOPEN();
    assert_int_equal(jfa_db_group_by_gid(&db, 499999, &g), -ENOENT);
    assert_int_equal(jfa_db_group_by_name(&db, "cu5", &g), 0);
    assert_int_equal(jfa_db_verify(&db, err, sizeof(err)), -1);
    /* every cell used, none empty, tags all different from the query's
     * and distances all 0 claimed: the probe still ends */
    RESET();
    for (i = 0; i < db.cell_n[3]; i++) {
        jfa_put32(cell_at(&db, w, 3, i),
                  (uint32_t)((((uint64_t)i << 32) + db.cell_n[3] - 1) / db.cell_n[3]));
        jfa_put32(cell_at(&db, w, 3, i) + 4, ref);
    }
    fill_slots(w, img, JFA_SEC_H_GID, jfa_db_hash_id(499998), ref);
    REOPEN();
    assert_int_equal(jfa_db_group_by_gid(&db, 499998, &g), -ENOENT);
    jfa_db_close(&db);
#undef RESET
#undef REOPEN
    free(w);
    free(img);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_misses),
        cmocka_unit_test(test_empty_db),
        cmocka_unit_test(test_100k),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_invalid_input),
        cmocka_unit_test(test_open_trust),
        cmocka_unit_test(test_stale),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_names_and_path),
        cmocka_unit_test(test_verify_flipped_byte),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_random_corruption),
        cmocka_unit_test(test_hostile_header),
        cmocka_unit_test(test_hostile_records_v1),
        cmocka_unit_test(test_hostile_entries_v2),
        cmocka_unit_test(test_v1_files),
        cmocka_unit_test(test_tag_collisions),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_transitional),
        cmocka_unit_test(test_case_fold),
        cmocka_unit_test(test_cells),
        cmocka_unit_test(test_no_cells),
        cmocka_unit_test(test_cells_collisions),
        cmocka_unit_test(test_cells_clustered),
        cmocka_unit_test(test_cells_hostile_block),
        cmocka_unit_test(test_cells_hostile),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
