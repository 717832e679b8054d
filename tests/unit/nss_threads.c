/*
 * nss_threads.c - concurrency test of libnss_jellyfin.so.2 (dlopen'd).
 *
 * Owns: nothing in the product. Usage: nss_threads SO DIR
 * Writes DIR/users.db, points JELLYFIN_AUTH_DB at it, then runs 8 threads
 * doing getpwnam_r/getpwuid_r/getgrnam_r/getgrgid_r (and one enumerating)
 * while the main thread replaces the database 100 times with two valid
 * versions (temp file + rename). Every field of every answer encodes its
 * version, so a torn read (fields from two files) is detected. Then it
 * forks 20 times while the lookups run; each child must do a lookup and
 * exit 0 within 30 seconds (a lock left held across fork would hang it).
 * Replacements mark the old file as jellyfin-auth does, so the very next
 * lookup must see a new version; a last pair of replacements without the
 * mark (another writer) must be seen within the one-second recheck.
 * Exit 0 on success, 1 on any failure.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dbwrite.h"

#define NUSERS 200
#define NGROUPS 50
#define NTHREADS 8

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*ent_fn)(void);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);

static pwnam_fn getpwnam_r_;
static pwuid_fn getpwuid_r_;
static grnam_fn getgrnam_r_;
static grgid_fn getgrgid_r_;
static ent_fn setpwent_, endpwent_, setgrent_, endgrent_;
static pwent_fn getpwent_r_;
static grent_fn getgrent_r_;

static atomic_int stop, failures;
static atomic_long lookups;
static char dbpath[4096];
static unsigned char *images[2];
static size_t image_len[2];

static void failf(const char *what, const char *detail)
{
    if (atomic_fetch_add(&failures, 1) < 20)
        fprintf(stderr, "FAIL: %s: %s\n", what, detail);
}

/* version v (0 = 'a', 1 = 'b'): every string names the version and uid */
static void build(int v)
{
    static char names[NUSERS][32], gecos[NUSERS][48], homes[NUSERS][48], mem[NGROUPS][3][32],
        gnames[NGROUPS][32];
    static const char *memp[NGROUPS][3];
    static struct jfa_dbw_user u[NUSERS];
    static struct jfa_dbw_group g[NGROUPS];
    char c = v ? 'b' : 'a', err[256];

    for (int i = 0; i < NUSERS; i++) {
        snprintf(names[i], sizeof(names[i]), "u%d", i);
        snprintf(gecos[i], sizeof(gecos[i]), "%c %d", c, 300000 + i);
        snprintf(homes[i], sizeof(homes[i]), "/home/%c/u%d", c, i);
        u[i] = (struct jfa_dbw_user){.uid = 300000 + (uint32_t)i,
                                     .gid = 300000 + (uint32_t)i,
                                     .name = names[i],
                                     .gecos = gecos[i],
                                     .home = homes[i],
                                     .shell = v ? "/bin/b" : "/bin/a",
                                     .jf_name = names[i]};
        snprintf(u[i].jf_id, sizeof(u[i].jf_id), "%032x", i);
    }
    for (int i = 0; i < NGROUPS; i++) {
        snprintf(gnames[i], sizeof(gnames[i]), "g%d", i);
        for (int k = 0; k < 3; k++) {
            snprintf(mem[i][k], sizeof(mem[i][k]), "%cm%d_%d", c, i, k);
            memp[i][k] = mem[i][k];
        }
        g[i] = (struct jfa_dbw_group){.gid = 400000 + (uint32_t)i,
                                      .name = gnames[i],
                                      .members = memp[i],
                                      .n_members = v ? 3 : 2};
    }
    if (jfa_db_build(u, NUSERS, g, NGROUPS, (uint64_t)v, &images[v], &image_len[v], err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "build: %s\n", err);
        exit(1);
    }
}

/* Replace the database with version v. mark: as jellyfin-auth does (the
 * old file's watch word is set just before the rename); without it, as
 * any other writer would (a copy renamed into place). */
static int install_as(int v, bool mark)
{
    char tmp[4200], err[256];
    FILE *f;
    int m;
    snprintf(tmp, sizeof(tmp), "%s.tmp", dbpath);
    f = fopen(tmp, "w");
    if (!f || fwrite(images[v], 1, image_len[v], f) != image_len[v] || fclose(f) != 0)
        return -1;
    if (chmod(tmp, 0644) != 0)
        return -1;
    /* an existing database must be marked (0 = nothing to mark: absent) */
    if (mark && (m = jfa_db_mark_replaced(dbpath, err, sizeof(err))) != 1 &&
        (m < 0 || access(dbpath, F_OK) == 0)) {
        fprintf(stderr, "mark: %s\n", err[0] ? err : "existing database not marked");
        return -1;
    }
    return rename(tmp, dbpath);
}

static int install(int v)
{
    return install_as(v, true);
}

static void check_pw(const struct passwd *pw, uint32_t uid, const char *what)
{
    char c, want[64];
    int gu;
    char detail[256];
    if (sscanf(pw->pw_gecos, "%c %d", &c, &gu) != 2 || (c != 'a' && c != 'b')) {
        failf(what, "bad gecos");
        return;
    }
    snprintf(want, sizeof(want), "/home/%c/u%u", c, uid - 300000);
    if ((uint32_t)gu != uid || pw->pw_uid != uid || pw->pw_gid != uid ||
        strcmp(pw->pw_dir, want) != 0 || pw->pw_shell[5] != c || pw->pw_shell[6] != '\0') {
        snprintf(detail, sizeof(detail), "torn entry %s:%u:%s:%s:%s", pw->pw_name,
                 (unsigned)pw->pw_uid, pw->pw_gecos, pw->pw_dir, pw->pw_shell);
        failf(what, detail);
    }
}

static void check_gr(const struct group *gr, int i, const char *what)
{
    char c = gr->gr_mem[0] ? gr->gr_mem[0][0] : '?', want[32], name[16];
    int n = c == 'a' ? 2 : 3, k;
    snprintf(name, sizeof(name), "g%d", i);
    if ((c != 'a' && c != 'b') || gr->gr_gid != 400000 + (gid_t)i || strcmp(gr->gr_name, name)) {
        failf(what, "bad group");
        return;
    }
    for (k = 0; gr->gr_mem[k]; k++) {
        snprintf(want, sizeof(want), "%cm%d_%d", c, i, k);
        if (k >= n || strcmp(gr->gr_mem[k], want) != 0) {
            failf(what, "torn member list");
            return;
        }
    }
    if (k != n)
        failf(what, "member count does not match version");
}

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 7919u + 1;
    char buf[4096], name[16];
    struct passwd pw;
    struct group gr;

    while (!atomic_load(&stop)) {
        int i = rand_r(&seed) % NUSERS, gi = i % NGROUPS, e = 0;
        enum nss_status st;
        snprintf(name, sizeof(name), "u%d", i);
        st = getpwnam_r_(name, &pw, buf, sizeof(buf), &e);
        if (st != NSS_STATUS_SUCCESS)
            failf("getpwnam_r", name);
        else
            check_pw(&pw, 300000 + (uint32_t)i, "getpwnam_r");
        st = getpwuid_r_(300000 + (uid_t)i, &pw, buf, sizeof(buf), &e);
        if (st != NSS_STATUS_SUCCESS)
            failf("getpwuid_r", name);
        else
            check_pw(&pw, 300000 + (uint32_t)i, "getpwuid_r");
        snprintf(name, sizeof(name), "g%d", gi);
        st = getgrnam_r_(name, &gr, buf, sizeof(buf), &e);
        if (st != NSS_STATUS_SUCCESS)
            failf("getgrnam_r", name);
        else
            check_gr(&gr, gi, "getgrnam_r");
        st = getgrgid_r_(400000 + (gid_t)gi, &gr, buf, sizeof(buf), &e);
        if (st != NSS_STATUS_SUCCESS)
            failf("getgrgid_r", name);
        else
            check_gr(&gr, gi, "getgrgid_r");
        snprintf(name, sizeof(name), "nouser%d", i);
        e = 0;
        st = getpwnam_r_(name, &pw, buf, sizeof(buf), &e);
        if (st != NSS_STATUS_NOTFOUND || e != ENOENT)
            failf("miss", name);
        atomic_fetch_add(&lookups, 5);
    }
    return NULL;
}

/* A full group walk (called in the middle of a passwd walk, so the two
 * cursors may hold two different mappings at once). */
static void group_walk(void)
{
    char buf[4096];
    struct group gr;
    int n = 0, e = 0;
    setgrent_();
    while (getgrent_r_(&gr, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS) {
        check_gr(&gr, n, "getgrent_r");
        n++;
    }
    endgrent_();
    if (n != NGROUPS)
        failf("getgrent_r", "group enumeration incomplete");
}

/* Enumerations see one snapshot: all NUSERS entries of a single version.
 * (One thread only: the get*ent cursor is per process by API design.) */
static void *enumerator(void *arg)
{
    char buf[4096];
    struct passwd pw;
    (void)arg;
    while (!atomic_load(&stop)) {
        int n = 0, e = 0;
        char first = 0;
        setpwent_();
        while (getpwent_r_(&pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS) {
            if (!first)
                first = pw.pw_gecos[0];
            if (pw.pw_gecos[0] != first)
                failf("getpwent_r", "enumeration mixed two versions");
            check_pw(&pw, 300000 + (uint32_t)n, "getpwent_r");
            if (n == NUSERS / 2)
                group_walk();
            n++;
        }
        endpwent_();
        if (n != NUSERS)
            failf("getpwent_r", "enumeration incomplete");
    }
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
    pthread_t th[NTHREADS + 1];
    void *h;

    if (argc != 3) {
        fprintf(stderr, "usage: nss_threads SO DIR\n");
        return 1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/users.db", argv[2]);
    setenv("JELLYFIN_AUTH_DB", dbpath, 1);
    build(0);
    build(1);
    if (install(0) != 0) {
        perror("install");
        return 1;
    }
    h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    getpwnam_r_ = (pwnam_fn)dlsym(h, "_nss_jellyfin_getpwnam_r");
    getpwuid_r_ = (pwuid_fn)dlsym(h, "_nss_jellyfin_getpwuid_r");
    getgrnam_r_ = (grnam_fn)dlsym(h, "_nss_jellyfin_getgrnam_r");
    getgrgid_r_ = (grgid_fn)dlsym(h, "_nss_jellyfin_getgrgid_r");
    setpwent_ = (ent_fn)dlsym(h, "_nss_jellyfin_setpwent");
    endpwent_ = (ent_fn)dlsym(h, "_nss_jellyfin_endpwent");
    getpwent_r_ = (pwent_fn)dlsym(h, "_nss_jellyfin_getpwent_r");
    setgrent_ = (ent_fn)dlsym(h, "_nss_jellyfin_setgrent");
    endgrent_ = (ent_fn)dlsym(h, "_nss_jellyfin_endgrent");
    getgrent_r_ = (grent_fn)dlsym(h, "_nss_jellyfin_getgrent_r");
    if (!getpwnam_r_ || !getpwuid_r_ || !getgrnam_r_ || !getgrgid_r_ || !setpwent_ || !endpwent_ ||
        !getpwent_r_ || !setgrent_ || !endgrent_ || !getgrent_r_) {
        fprintf(stderr, "missing symbols\n");
        return 1;
    }
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, reader, (void *)i);
    pthread_create(&th[NTHREADS], NULL, enumerator, NULL);

    for (int r = 1; r <= 100; r++) {
        if (install(r % 2) != 0) {
            perror("replace");
            atomic_fetch_add(&failures, 1);
        }
        sleep_ms(3);
    }
    /* fork while the lookups keep running */
    for (int f = 0; f < 20; f++) {
        int status;
        pid_t pid = fork();
        if (pid == 0) {
            char buf[4096];
            struct passwd pw;
            int e = 0;
            alarm(30);
            _exit(getpwnam_r_("u7", &pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS &&
                          pw.pw_uid == 300007
                      ? 0
                      : 1);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            failf("fork", "child lookup failed or hung");
        sleep_ms(2);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i <= NTHREADS; i++)
        pthread_join(th[i], NULL);
    /* a replacement by our writer is visible to the very next lookup */
    for (int v = 0; v < 2; v++) {
        char buf[4096];
        struct passwd pw;
        int e = 0;
        if (install(v) != 0 || getpwnam_r_("u3", &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS ||
            pw.pw_gecos[0] != (v ? 'b' : 'a'))
            failf("pickup", "replaced database not seen by the next lookup");
    }
    /* one by another writer (no mark) within the recheck interval (1 s):
     * polled for up to 10 s, so a slow machine cannot fail it; the time
     * is printed, not asserted */
    for (int v = 1; v >= 0; v--) {
        char buf[4096];
        struct passwd pw;
        int e = 0, polls = 0;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        if (install_as(v, false) != 0) {
            failf("foreign", "install");
            break;
        }
        for (; polls < 2000; polls++) {
            if (getpwnam_r_("u3", &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS) {
                failf("foreign", "lookup failed");
                break;
            }
            if (pw.pw_gecos[0] == (v ? 'b' : 'a'))
                break;
            sleep_ms(5);
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (polls == 2000)
            failf("foreign", "a database renamed into place by another writer was never seen");
        else
            printf("foreign replacement seen after %d polls, %.3f s\n", polls,
                   (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    }
    printf("%ld lookups, 100 replacements, 20 forks, %d failures\n", atomic_load(&lookups),
           atomic_load(&failures));
    free(images[0]);
    free(images[1]);
    return atomic_load(&failures) ? 1 : 0;
}
