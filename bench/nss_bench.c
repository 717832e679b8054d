/*
 * nss_bench.c - lookup latency through glibc's NSS (whatever nsswitch.conf
 * says), for bench/run.sh. Not part of make check.
 *
 * Owns: nothing in the product. Usage: nss_bench LABEL N
 * Assumes the bench population made by run.sh: users jbu0..jbu<N-1> with
 * uid = gid = 200000 + i, one private group per user (same name and gid)
 * and group jbusers (gid 199999) listing every user. Keys are drawn at
 * random from a fixed seed; every call is timed alone with
 * clock_gettime(CLOCK_MONOTONIC). Prints one line per case:
 *   LABEL N CASE p50_ns p99_ns mean_ns calls
 * Cases: getpwnam/getpwuid/getgrnam/getgrgid/initgroups (getgrouplist),
 * each hit and miss, and enum (one full setpwent/getpwent/endpwent pass,
 * time per pass). BENCH_CASES (space-separated case names), if set, runs
 * only those; BENCH_SEED (default 42) seeds the keys. Exits 1 if a hit is
 * not found or a miss is found.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_time.h"

#define BUFLEN (8u << 20)
#define MAX_CALLS 20000
#define MIN_CALLS 20
#define BUDGET_NS 1500000000LL /* per case */

static char *buf;
static long n_users;
static unsigned seed = 42;
static int errors;

/* one call of a case; hit selects existing keys. Returns 1 if found. */
typedef int (*case_fn)(long key);

static int do_getpwnam(long key)
{
    struct passwd pw, *res = NULL;
    char name[32];
    snprintf(name, sizeof(name), key >= 0 ? "jbu%ld" : "nobody%ld", key >= 0 ? key : -key);
    getpwnam_r(name, &pw, buf, BUFLEN, &res);
    return res != NULL;
}

static int do_getpwuid(long key)
{
    struct passwd pw, *res = NULL;
    getpwuid_r(key >= 0 ? (uid_t)(200000 + key) : (uid_t)(100000000 - key), &pw, buf, BUFLEN, &res);
    return res != NULL;
}

static int do_getgrnam(long key)
{
    struct group gr, *res = NULL;
    char name[32];
    snprintf(name, sizeof(name), key >= 0 ? "jbu%ld" : "nogroup%ld", key >= 0 ? key : -key);
    getgrnam_r(name, &gr, buf, BUFLEN, &res);
    return res != NULL;
}

static int do_getgrgid(long key)
{
    struct group gr, *res = NULL;
    getgrgid_r(key >= 0 ? (gid_t)(200000 + key) : (gid_t)(100000000 - key), &gr, buf, BUFLEN, &res);
    return res != NULL;
}

static int do_initgroups(long key)
{
    gid_t groups[64];
    int ng = 64;
    char name[32];
    snprintf(name, sizeof(name), key >= 0 ? "jbu%ld" : "nobody%ld", key >= 0 ? key : -key);
    getgrouplist(name, key >= 0 ? (gid_t)(200000 + key) : 100, groups, &ng);
    /* a user of ours is in jbusers too: more than the one group given */
    return ng > 1;
}

static int do_enum(long key)
{
    struct passwd pw, *res;
    long n = 0;
    (void)key;
    setpwent();
    while (getpwent_r(&pw, buf, BUFLEN, &res) == 0 && res)
        n++;
    endpwent();
    return n >= n_users;
}

/* Is case name in BENCH_CASES (or is it unset)? */
static int wanted(const char *name)
{
    const char *list = getenv("BENCH_CASES"), *p;
    size_t n = strlen(name);

    if (!list)
        return 1;
    for (p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return 1;
    return 0;
}

static void run(const char *label, const char *name, case_fn fn, int hit, int max_calls)
{
    int64_t *t, start, sum = 0;
    int calls = 0;

    if (!wanted(name))
        return;
    t = malloc(sizeof(*t) * (size_t)max_calls);
    if (!t) {
        errors++;
        return;
    }
    start = now_ns();

    /* warm-up: opens the module / the files, faults the mapping in */
    fn(hit ? 0 : -1);
    while (calls < max_calls && (calls < MIN_CALLS || now_ns() - start < BUDGET_NS)) {
        long key = hit ? (long)(rand_r(&seed) % n_users) : -(long)(rand_r(&seed) % 1000000) - 1;
        int64_t a = now_ns();
        int found = fn(key);
        int64_t b = now_ns();
        t[calls++] = b - a;
        sum += b - a;
        if (found != hit) {
            if (errors++ < 5)
                fprintf(stderr, "%s %s key %ld: %s\n", label, name, key,
                        hit ? "not found" : "found");
        }
    }
    qsort(t, (size_t)calls, sizeof(*t), cmp64);
    printf("%s %ld %s %lld %lld %lld %d\n", label, n_users, name, (long long)t[calls / 2],
           (long long)t[(calls * 99) / 100 < calls ? (calls * 99) / 100 : calls - 1],
           (long long)(sum / calls), calls);
    fflush(stdout);
    free(t);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: nss_bench LABEL N\n");
        return 2;
    }
    n_users = atol(argv[2]);
    if (getenv("BENCH_SEED"))
        seed = (unsigned)strtoul(getenv("BENCH_SEED"), NULL, 10);
    buf = malloc(BUFLEN);
    if (!buf || n_users <= 0)
        return 2;
    run(argv[1], "getpwnam-hit", do_getpwnam, 1, MAX_CALLS);
    run(argv[1], "getpwnam-miss", do_getpwnam, 0, MAX_CALLS);
    run(argv[1], "getpwuid-hit", do_getpwuid, 1, MAX_CALLS);
    run(argv[1], "getpwuid-miss", do_getpwuid, 0, MAX_CALLS);
    run(argv[1], "getgrnam-hit", do_getgrnam, 1, MAX_CALLS);
    run(argv[1], "getgrnam-miss", do_getgrnam, 0, MAX_CALLS);
    run(argv[1], "getgrgid-hit", do_getgrgid, 1, MAX_CALLS);
    run(argv[1], "getgrgid-miss", do_getgrgid, 0, MAX_CALLS);
    run(argv[1], "initgroups-hit", do_initgroups, 1, MAX_CALLS);
    run(argv[1], "initgroups-miss", do_initgroups, 0, MAX_CALLS);
    run(argv[1], "enum-passwd", do_enum, 1, 200);
    free(buf);
    return errors ? 1 : 0;
}
