/*
 * nss_ab.c - two builds of libnss_jellyfin.so.2 side by side: their lookup
 * entry points called directly (no glibc dispatch), for telling a change to
 * the module's read path from noise. Not part of make check.
 *
 * Owns: nothing in the product. Usage:
 *   JELLYFIN_AUTH_DB=users.db nss_ab N BLOCKS A.so B.so
 * with the bench population of bench/run.sh in users.db (BENCH_KEEP_DB
 * keeps it). Both copies are loaded into this process (each with its own
 * state and its own mapping of the database). For each of BLOCKS blocks
 * and each case (get{pwuid,pwnam,grgid,grnam}-{hit,miss}) it times
 * BLOCK_CALLS random keys on A and on B, in alternating order, and keeps
 * the p50 of each. Each run draws its own keys: a run repeating the keys of
 * the one before would find their slots and entries still cached. Before
 * every timed call it stats /etc/nsswitch.conf as glibc does, so that
 * consecutive calls do not overlap their cache misses. Prints per case the
 * median p50 of A and B and the median (min, max) over blocks of B - A in
 * ns. Two copies of the same build read the same within about 10 ns.
 * JELLYFIN_AUTH_DB_B=other.db gives B its own database (the same
 * population written another way), to compare two layouts with one build.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_time.h"

#define BLOCK_CALLS 4000
#define MAX_BLOCKS 255
#define N_CASES 8

typedef enum nss_status (*byid_pw)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*byname_pw)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*byid_gr)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*byname_gr)(const char *, struct group *, char *, size_t, int *);

struct module {
    byid_pw pwuid;
    byname_pw pwnam;
    byid_gr grgid;
    byname_gr grnam;
};

static const char *const case_name[N_CASES] = {"getpwuid-hit",  "getpwnam-hit",  "getgrgid-hit",
                                               "getgrnam-hit",  "getpwuid-miss", "getpwnam-miss",
                                               "getgrgid-miss", "getgrnam-miss"};
static char buf[1 << 16];
static long n_users;
static int64_t t[BLOCK_CALLS];

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
    double s[MAX_BLOCKS];
    memcpy(s, v, sizeof(*v) * (size_t)n);
    qsort(s, (size_t)n, sizeof(*s), cmpd);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* One call of case c with key k; returns whether it found an entry, or -1
 * if the module answered neither found nor not found. */
static int call(const struct module *m, int c, long k, int64_t *ns)
{
    struct passwd pw;
    struct group gr;
    struct stat st;
    char name[32];
    int hit = c < N_CASES / 2, err = 0;
    long id = hit ? 200000 + k : 100000000 + k;
    enum nss_status s;
    int64_t a;

    snprintf(name, sizeof(name), hit ? "jbu%ld" : "nobody%ld", k);
    (void)stat("/etc/nsswitch.conf", &st);
    a = now_ns();
    switch (c % 4) {
    case 0:
        s = m->pwuid((uid_t)id, &pw, buf, sizeof(buf), &err);
        break;
    case 1:
        s = m->pwnam(name, &pw, buf, sizeof(buf), &err);
        break;
    case 2:
        s = m->grgid((gid_t)id, &gr, buf, sizeof(buf), &err);
        break;
    default:
        s = m->grnam(name, &gr, buf, sizeof(buf), &err);
        break;
    }
    *ns = now_ns() - a;
    return s == NSS_STATUS_SUCCESS ? 1 : s == NSS_STATUS_NOTFOUND ? 0 : -1;
}

/* p50 in ns of BLOCK_CALLS calls of case c with keys from seed; -1 if a
 * hit was not found or a miss was found. */
static double block(const struct module *m, int c, unsigned seed)
{
    int hit = c < N_CASES / 2;

    for (int i = 0; i < BLOCK_CALLS; i++) {
        long k = (long)(rand_r(&seed) % (unsigned)n_users);
        if (call(m, c, k, &t[i]) != hit) {
            fprintf(stderr, "nss_ab: %s key %ld: wrong answer\n", case_name[c], k);
            return -1;
        }
    }
    qsort(t, BLOCK_CALLS, sizeof(t[0]), cmp64);
    return (double)t[BLOCK_CALLS / 2];
}

static int load(const char *path, struct module *m)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

    if (!h) {
        fprintf(stderr, "nss_ab: %s\n", dlerror());
        return -1;
    }
    m->pwuid = (byid_pw)dlsym(h, "_nss_jellyfin_getpwuid_r");
    m->pwnam = (byname_pw)dlsym(h, "_nss_jellyfin_getpwnam_r");
    m->grgid = (byid_gr)dlsym(h, "_nss_jellyfin_getgrgid_r");
    m->grnam = (byname_gr)dlsym(h, "_nss_jellyfin_getgrnam_r");
    if (!m->pwuid || !m->pwnam || !m->grgid || !m->grnam) {
        fprintf(stderr, "nss_ab: %s: an entry point is missing\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static double p50[N_CASES][2][MAX_BLOCKS];
    struct module mod[2];
    int blocks;

    if (argc != 5) {
        fprintf(stderr, "usage: JELLYFIN_AUTH_DB=users.db nss_ab N BLOCKS A.so B.so\n");
        return 2;
    }
    n_users = atol(argv[1]);
    blocks = atoi(argv[2]);
    if (n_users <= 0 || blocks <= 0 || blocks > MAX_BLOCKS) {
        fprintf(stderr, "nss_ab: N must be > 0, BLOCKS 1..%d\n", MAX_BLOCKS);
        return 2;
    }
    /* two paths to the same file would be loaded once */
    if (strcmp(argv[3], argv[4]) == 0) {
        fprintf(stderr, "nss_ab: A and B must be two files (copy the library)\n");
        return 2;
    }
    if (load(argv[3], &mod[0]) != 0 || load(argv[4], &mod[1]) != 0)
        return 1;
    /* warm-up: each copy opens and maps the database (a module reads
     * JELLYFIN_AUTH_DB at its first call) */
    for (int i = 0; i < 2; i++)
        for (int c = 0; c < N_CASES; c++) {
            const char *db_b = getenv("JELLYFIN_AUTH_DB_B");
            if (i == 1 && c == 0 && db_b && setenv("JELLYFIN_AUTH_DB", db_b, 1) != 0)
                return 1;
            if (block(&mod[i], c, 7u + (unsigned)i) < 0)
                return 1;
        }
    for (int b = 0; b < blocks; b++)
        for (int c = 0; c < N_CASES; c++)
            for (int j = 0; j < 2; j++) {
                int i = (b + c) % 2 ? 1 - j : j; /* alternate which goes first */
                unsigned seed = 1000u + (unsigned)(b * N_CASES + c) * 2u + (unsigned)i;
                p50[c][i][b] = block(&mod[i], c, seed);
                if (p50[c][i][b] < 0)
                    return 1;
            }
    printf("# %ld users, %d blocks of %d calls; p50 ns (median over blocks), B - A\n", n_users,
           blocks, BLOCK_CALLS);
    for (int c = 0; c < N_CASES; c++) {
        double d[MAX_BLOCKS], lo, hi;
        for (int b = 0; b < blocks; b++)
            d[b] = p50[c][1][b] - p50[c][0][b];
        lo = hi = d[0];
        for (int b = 1; b < blocks; b++) {
            lo = d[b] < lo ? d[b] : lo;
            hi = d[b] > hi ? d[b] : hi;
        }
        printf("%-14s A %6.0f  B %6.0f  B-A %+5.0f (%+.0f..%+.0f)\n", case_name[c],
               median(p50[c][0], blocks), median(p50[c][1], blocks), median(d, blocks), lo, hi);
    }
    return 0;
}
