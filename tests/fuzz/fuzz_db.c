/*
 * fuzz_db.c - libFuzzer target for the users database reader (db.c).
 *
 * Owns: nothing in the product. Each input is written to a private temp
 * file and opened through the real jfa_db_open (the same validation as the
 * NSS module; format version 2, plain or transitional, with and without
 * cell tables (and with the primaries inline in the cells, as a first
 * writer had them; names sharing one tag), and version 1: the seed corpus
 * has all of them), then every
 * read operation runs: lookups of fixed names and
 * ids and of every name/id the file itself claims, enumeration, member
 * lists, gid lists and jfa_db_verify; then the writer's jfa_db_mark_replaced
 * on the same file, which must mark exactly the files the reader found a
 * watch block in, and the reader's mapping must see the mark; member
 * lookups through group handles whose entry offset comes from the input
 * (a forged handle) must stay in bounds. Any crash,
 * sanitizer report or abort is a bug.
 * Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -DSYSCONFDIR='"/etc"' -DLOCALSTATEDIR='"/var"' -I lib \
 *     tests/fuzz/fuzz_db.c lib/db.c lib/dbwrite.c lib/util.c -o fuzz_db
 *   ./fuzz_db -max_total_time=60 tests/fuzz/corpus/db
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "dbwrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

static void touch(const char *s)
{
    /* read every byte of a returned string */
    volatile size_t n = strlen(s);
    (void)n;
}

static void exercise_user(const struct jfa_db_user *u)
{
    touch(u->name);
    touch(u->gecos);
    touch(u->home);
    touch(u->shell);
    touch(u->jf_name);
    touch(u->jf_id);
    /* the NSS module copies stored lengths: the byte there is the NUL */
    if (u->name[u->name_len] || u->gecos[u->gecos_len] || u->home[u->home_len] ||
        u->shell[u->shell_len] || strlen(u->name) > u->name_len)
        abort();
    for (uint32_t k = 0; k < u->n_gids; k++)
        (void)jfa_db_user_gid(u, k);
    /* the module's record filter reads the name's stored length; its one
     * copy of adjacent strings reads from name to shell's NUL */
    (void)jfa_db_name_plausible_n(u->name, u->name_len);
    if (u->gecos == u->name + u->name_len + 1 && u->home == u->gecos + u->gecos_len + 1 &&
        u->shell == u->home + u->home_len + 1) {
        volatile unsigned char sum = 0;
        for (const char *p = u->name; p <= u->shell + u->shell_len; p++)
            sum ^= (unsigned char)*p;
    }
}

static void exercise_group(const struct jfa_db *db, const struct jfa_db_group *g)
{
    touch(g->name);
    if (g->name[g->name_len])
        abort();
    (void)jfa_db_name_plausible_n(g->name, g->name_len);
    for (uint32_t k = 0; k < g->n_members && k < 4096; k++) {
        const char *m = jfa_db_group_member(db, g, k);
        if (m)
            touch(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* vsaq865u2bim: the FNV-1a 32 tag of three users of the seed
     * cells-tagcollide.db (031j5l5u2bim, 031j5l173eky, vsaq86173eky), absent */
    static const char *const names[] = {"alice", "bob", "jellyfin", "", "x", "u1", "vsaq865u2bim"};
    /* case-folded lookups: a hit is the lower-case name, with the flag */
    static const char *const folded[] = {"Alice", "BOB", "JellyFin",
                                         "X",     "U1",  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    struct jfa_db db;
    struct jfa_db_user u, u2;
    struct jfa_db_group g, g2;
    char err[256];

    if (fd < 0) {
        snprintf(path, sizeof(path), "/tmp/fuzz_db.XXXXXX");
        fd = mkstemp(path);
        if (fd < 0 || fchmod(fd, 0644) != 0)
            abort();
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    if (jfa_db_open(&db, path, false) != 0)
        return 0;
    if (db.version != 1 && db.version != 2)
        abort();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (jfa_db_user_by_name(&db, names[i], &u) == 0)
            exercise_user(&u);
        if (jfa_db_group_by_name(&db, names[i], &g) == 0)
            exercise_group(&db, &g);
    }
    for (size_t i = 0; i < sizeof(folded) / sizeof(folded[0]); i++) {
        if (jfa_db_user_by_name_ci(&db, folded[i], &u) == 0) {
            if (strcasecmp(u.name, folded[i]) != 0 ||
                (strcmp(u.name, folded[i]) != 0 && !(u.flags & JFA_DBU_FOLD)))
                abort();
            exercise_user(&u);
        }
        if (jfa_db_group_by_name_ci(&db, folded[i], &g) == 0) {
            if (strcasecmp(g.name, folded[i]) != 0 ||
                (strcmp(g.name, folded[i]) != 0 && !(g.flags & JFA_DBG_FOLD)))
                abort();
            exercise_group(&db, &g);
        }
    }
    for (uint32_t id = 0; id < 4; id++) {
        if (jfa_db_user_by_uid(&db, 100000 + id, &u) == 0)
            exercise_user(&u);
        if (jfa_db_group_by_gid(&db, 100000 + id, &g) == 0)
            exercise_group(&db, &g);
    }
    for (uint32_t i = 0; i < db.n_users && i < 4096; i++) {
        if (jfa_db_user_at(&db, i, &u) != 0)
            continue;
        exercise_user(&u);
        if (jfa_db_user_by_name(&db, u.name, &u2) == 0) {
            if (strcmp(u2.name, u.name) != 0)
                abort(); /* a hit must be the name asked for */
            exercise_user(&u2);
        }
        if (jfa_db_user_by_uid(&db, u.uid, &u2) == 0 && u2.uid != u.uid)
            abort();
    }
    for (uint32_t i = 0; i < db.n_groups && i < 4096; i++) {
        if (jfa_db_group_at(&db, i, &g) != 0)
            continue;
        exercise_group(&db, &g);
        if (size >= 4) { /* a forged handle: entry offset and index from the input */
            g2 = g;
            memcpy(&g2.entry, data + size - 4, 4);
            g2.index = g2.entry;
            exercise_group(&db, &g2);
        }
        if (jfa_db_group_by_name(&db, g.name, &g2) == 0 && strcmp(g2.name, g.name) != 0)
            abort();
        if (jfa_db_group_by_gid(&db, g.gid, &g2) == 0 && g2.gid != g.gid)
            abort();
    }
    (void)jfa_db_stale(&db, path);
    (void)jfa_db_verify(&db, err, sizeof(err));
    {
        bool was = jfa_db_marked(&db);
        int m = jfa_db_mark_replaced(path, err, sizeof(err));
        if (m < 0 || (m == 1) != (db.replaced != NULL) || (m == 1 && !jfa_db_marked(&db)) ||
            (was && !jfa_db_marked(&db)))
            abort();
    }
    jfa_db_close(&db);
    return 0;
}
