/*
 * nss_erange.c - drives libnss_jellyfin.so.2 through dlopen, the way glibc
 * does, and checks the NSS status and errno of every case.
 *
 * Owns: nothing in the product. Usage (JELLYFIN_AUTH_DB set by the caller):
 *   nss_erange SO check          database from nss-getent.sh's spec: buffer
 *                                sizes (ERANGE), hits, misses, junk names,
 *                                uid/gid 0, initgroups_dyn limits, enumeration
 *   nss_erange SO unavail ERRNO  every call is UNAVAIL with errno ERRNO
 *                                (ENOENT, EINVAL or EPERM), and fast
 *   nss_erange SO recover CMD    lookups fail; after running the shell
 *                                command CMD (which repairs the database)
 *                                the next lookup succeeds
 *   nss_erange SO envonce DB     JELLYFIN_AUTH_DB names a missing file at
 *                                dlopen; set to DB (holding alice, 100001)
 *                                before the first lookup, it is what the
 *                                module reads; changed or unset after it,
 *                                the module keeps DB (it reads the variable
 *                                once per process), in a forked child too
 *   nss_erange SO rootname       JELLYFIN_AUTH_DB is a plain version 2 file
 *                                without cell tables (mkdb -2 -N) with
 *                                users and groups roox and rooy (uid/gid
 *                                100007, 100008); it renames
 *                                them, hostile, to "root" and "rooz" (slots
 *                                moved, fold flags set), then: "ROOZ" is
 *                                found (the renaming works), and nothing
 *                                named root is answered by any entry point:
 *                                "ROOT" by name or initgroups, 100007 by id
 * Exit 0 on success, 1 with a message on the first failed check.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db_format.h"

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*ent_fn)(void);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);
typedef enum nss_status (*initgr_fn)(const char *, gid_t, long int *, long int *, gid_t **,
                                     long int, int *);

static pwnam_fn getpwnam_r_;
static pwuid_fn getpwuid_r_;
static grnam_fn getgrnam_r_;
static grgid_fn getgrgid_r_;
static ent_fn setpwent_, endpwent_, setgrent_, endgrent_;
static pwent_fn getpwent_r_;
static grent_fn getgrent_r_;
static initgr_fn initgroups_dyn_;
static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static void *sym(void *h, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        fprintf(stderr, "missing symbol %s\n", name);
        exit(1);
    }
    return p;
}

static void load(const char *so)
{
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen %s: %s\n", so, dlerror());
        exit(1);
    }
    getpwnam_r_ = (pwnam_fn)sym(h, "_nss_jellyfin_getpwnam_r");
    getpwuid_r_ = (pwuid_fn)sym(h, "_nss_jellyfin_getpwuid_r");
    getgrnam_r_ = (grnam_fn)sym(h, "_nss_jellyfin_getgrnam_r");
    getgrgid_r_ = (grgid_fn)sym(h, "_nss_jellyfin_getgrgid_r");
    setpwent_ = (ent_fn)sym(h, "_nss_jellyfin_setpwent");
    endpwent_ = (ent_fn)sym(h, "_nss_jellyfin_endpwent");
    setgrent_ = (ent_fn)sym(h, "_nss_jellyfin_setgrent");
    endgrent_ = (ent_fn)sym(h, "_nss_jellyfin_endgrent");
    getpwent_r_ = (pwent_fn)sym(h, "_nss_jellyfin_getpwent_r");
    getgrent_r_ = (grent_fn)sym(h, "_nss_jellyfin_getgrent_r");
    initgroups_dyn_ = (initgr_fn)sym(h, "_nss_jellyfin_initgroups_dyn");
}

static char big[1 << 20];

static void check_notfound(const char *name)
{
    struct passwd pw;
    struct group gr;
    int e = 0;
    enum nss_status st = getpwnam_r_(name, &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "getpwnam_r(\"%s\") = %d errno %d", name, st,
          e);
    e = 0;
    st = getgrnam_r_(name, &gr, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "getgrnam_r(\"%s\") = %d errno %d", name, st,
          e);
}

static void check_passwd_sizes(void)
{
    struct passwd pw;
    /* alice:*:100001:100001:Alice A,,,:/home/alice:/bin/bash */
    size_t need = sizeof("alice") + sizeof("*") + sizeof("Alice A,,,") + sizeof("/home/alice") +
                  sizeof("/bin/bash");
    for (size_t n = 0; n <= need; n++) {
        int e = 0;
        char *buf = malloc(n ? n : 1);
        enum nss_status st = getpwnam_r_("alice", &pw, n ? buf : NULL, n, &e);
        if (n < need)
            CHECK(st == NSS_STATUS_TRYAGAIN && e == ERANGE, "buflen %zu: %d errno %d", n, st, e);
        else
            CHECK(st == NSS_STATUS_SUCCESS && strcmp(pw.pw_dir, "/home/alice") == 0,
                  "buflen %zu: %d", n, st);
        e = 0;
        st = getpwuid_r_(100001, &pw, n ? buf : NULL, n, &e);
        if (n < need)
            CHECK(st == NSS_STATUS_TRYAGAIN && e == ERANGE, "uid buflen %zu: %d errno %d", n, st,
                  e);
        else
            CHECK(st == NSS_STATUS_SUCCESS && strcmp(pw.pw_name, "alice") == 0 &&
                      pw.pw_uid == 100001 && pw.pw_gid == 100001 &&
                      strcmp(pw.pw_gecos, "Alice A,,,") == 0 &&
                      strcmp(pw.pw_shell, "/bin/bash") == 0 && strcmp(pw.pw_passwd, "*") == 0,
                  "uid buflen %zu: %d", n, st);
        free(buf);
    }
}

static void check_group_sizes(void)
{
    struct group gr;
    int e = 0;
    enum nss_status st;
    size_t n;

    st = getgrnam_r_("biggroup", &gr, big, 1, &e);
    CHECK(st == NSS_STATUS_TRYAGAIN && e == ERANGE, "biggroup buflen 1: %d errno %d", st, e);
    st = getgrnam_r_("biggroup", &gr, big, 4096, &e);
    CHECK(st == NSS_STATUS_TRYAGAIN && e == ERANGE, "biggroup buflen 4096: %d errno %d", st, e);
    /* grow like glibc does until it fits; misaligned buffer on purpose */
    for (n = 16;; n *= 2) {
        e = 0;
        st = getgrnam_r_("biggroup", &gr, big + 3, n, &e);
        if (st != NSS_STATUS_TRYAGAIN || n > sizeof(big) / 2)
            break;
        CHECK(e == ERANGE, "errno %d", e);
    }
    CHECK(st == NSS_STATUS_SUCCESS, "biggroup never fit (%d at %zu)", st, n);
    if (st == NSS_STATUS_SUCCESS) {
        size_t k = 0;
        char want[32];
        CHECK(((unsigned long)gr.gr_mem & (sizeof(char *) - 1)) == 0, "gr_mem misaligned");
        for (; gr.gr_mem[k]; k++) {
            snprintf(want, sizeof(want), "m%04zu", k);
            CHECK(strcmp(gr.gr_mem[k], want) == 0, "member %zu is %s", k, gr.gr_mem[k]);
        }
        CHECK(k == 1000, "biggroup has %zu members", k);
        CHECK(gr.gr_gid == 100500 && strcmp(gr.gr_name, "biggroup") == 0, "biggroup fields");
    }
    e = 0;
    st = getgrgid_r_(100000, &gr, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_SUCCESS && strcmp(gr.gr_name, "jellyfin") == 0 && gr.gr_mem[0] &&
              strcmp(gr.gr_mem[0], "alice") == 0 && gr.gr_mem[1] &&
              strcmp(gr.gr_mem[1], "bob") == 0 && !gr.gr_mem[2],
          "getgrgid_r(100000) = %d", st);
}

static void check_misses(void)
{
    struct passwd pw;
    struct group gr;
    int e = 0;
    enum nss_status st;
    static const char *const junk[] = {"*",
                                       "",
                                       "a:b",
                                       "pam_unix_non_existent:",
                                       "a b",
                                       "a/b",
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                       "root",
                                       "nosuchuser",
                                       "localuser"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        check_notfound(junk[i]);
    st = getpwuid_r_(0, &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "uid 0: %d", st);
    e = 0;
    st = getpwuid_r_(4242, &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "uid 4242: %d", st);
    e = 0;
    st = getgrgid_r_(0, &gr, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "gid 0: %d", st);
    e = 0;
    st = getgrgid_r_(4242, &gr, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "gid 4242: %d", st);
}

static void check_initgroups(void)
{
    static const gid_t want[] = {100001, 100000, 100100, 100500};
    long int start = 1, size = 1, i;
    gid_t *groups = malloc(sizeof(gid_t));
    int e = 0;
    enum nss_status st;

    /* alice: primary 100001, supplementary 100000, 100100, 100500 */
    groups[0] = 100001;
    st = initgroups_dyn_("alice", 100001, &start, &size, &groups, 0, &e);
    CHECK(st == NSS_STATUS_SUCCESS && start == 4, "alice unlimited: %d start %ld", st, start);
    CHECK(size >= start, "size %ld", size);
    for (i = 0; i < start && i < 4; i++)
        CHECK(groups[i] == want[i], "groups[%ld] = %u", i, (unsigned)groups[i]);
    /* again: nothing is added twice */
    st = initgroups_dyn_("alice", 100001, &start, &size, &groups, 0, &e);
    CHECK(st == NSS_STATUS_SUCCESS && start == 4, "alice again: start %ld", start);
    free(groups);

    /* limit 2: stops at 2 entries, never grows past the limit */
    start = 1;
    size = 1;
    groups = malloc(sizeof(gid_t));
    groups[0] = 100001;
    st = initgroups_dyn_("alice", 100001, &start, &size, &groups, 2, &e);
    CHECK(st == NSS_STATUS_SUCCESS && start == 2 && size == 2 && groups[1] == 100000,
          "alice limit 2: %d start %ld size %ld", st, start, size);
    free(groups);

    /* a different skipgroup: the primary gid is added too */
    start = 1;
    size = 8;
    groups = calloc(8, sizeof(gid_t));
    groups[0] = 4242;
    st = initgroups_dyn_("alice", 4242, &start, &size, &groups, 0, &e);
    CHECK(st == NSS_STATUS_SUCCESS && start == 5 && groups[1] == 100001,
          "alice skip 4242: start %ld", start);
    free(groups);

    start = 0;
    size = 0;
    groups = NULL;
    e = 0;
    st = initgroups_dyn_("nosuchuser", 1, &start, &size, &groups, 0, &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT && start == 0, "nosuchuser: %d", st);
    st = initgroups_dyn_("*", 1, &start, &size, &groups, 0, &e);
    CHECK(st == NSS_STATUS_NOTFOUND && start == 0, "*: %d", st);
    free(groups);
}

static void check_enumeration(void)
{
    struct passwd pw;
    struct group gr;
    int e = 0, n = 0;
    enum nss_status st;
    char small[4];

    CHECK(setpwent_() == NSS_STATUS_SUCCESS, "setpwent");
    st = getpwent_r_(&pw, small, sizeof(small), &e);
    CHECK(st == NSS_STATUS_TRYAGAIN && e == ERANGE, "getpwent_r small: %d", st);
    /* the entry that did not fit is returned next, not skipped */
    st = getpwent_r_(&pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_SUCCESS && strcmp(pw.pw_name, "alice") == 0, "first entry");
    for (n = 1; getpwent_r_(&pw, big, sizeof(big), &e) == NSS_STATUS_SUCCESS; n++)
        ;
    CHECK(n == 3, "enumerated %d users", n);
    e = 0;
    CHECK(getpwent_r_(&pw, big, sizeof(big), &e) == NSS_STATUS_NOTFOUND && e == ENOENT,
          "after the end");
    CHECK(setpwent_() == NSS_STATUS_SUCCESS, "setpwent again");
    CHECK(getpwent_r_(&pw, big, sizeof(big), &e) == NSS_STATUS_SUCCESS &&
              strcmp(pw.pw_name, "alice") == 0,
          "restart");
    CHECK(endpwent_() == NSS_STATUS_SUCCESS, "endpwent");

    /* get*ent without set*ent starts at the beginning */
    for (n = 0; getgrent_r_(&gr, big, sizeof(big), &e) == NSS_STATUS_SUCCESS; n++)
        ;
    CHECK(n == 5, "enumerated %d groups", n);
    CHECK(endgrent_() == NSS_STATUS_SUCCESS, "endgrent");
    CHECK(setgrent_() == NSS_STATUS_SUCCESS, "setgrent");
    CHECK(endgrent_() == NSS_STATUS_SUCCESS, "endgrent");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_unavail(const char *errname)
{
    int want = strcmp(errname, "ENOENT") == 0  ? ENOENT
               : strcmp(errname, "EPERM") == 0 ? EPERM
                                               : EINVAL;
    struct passwd pw;
    struct group gr;
    double t0 = now(), dt;
    int calls = 0;

    for (int i = 0; i < 1000; i++) {
        int e = 0;
        long int start = 0, size = 0;
        gid_t *groups = NULL;
        enum nss_status st = getpwnam_r_("alice", &pw, big, sizeof(big), &e);
        CHECK(st == NSS_STATUS_UNAVAIL && e == want, "getpwnam_r: %d errno %d", st, e);
        e = 0;
        st = getpwuid_r_(100001, &pw, big, sizeof(big), &e);
        CHECK(st == NSS_STATUS_UNAVAIL && e == want, "getpwuid_r: %d errno %d", st, e);
        e = 0;
        st = getgrnam_r_("jellyfin", &gr, big, sizeof(big), &e);
        CHECK(st == NSS_STATUS_UNAVAIL && e == want, "getgrnam_r: %d errno %d", st, e);
        e = 0;
        st = getgrgid_r_(100000, &gr, big, sizeof(big), &e);
        CHECK(st == NSS_STATUS_UNAVAIL && e == want, "getgrgid_r: %d errno %d", st, e);
        e = 0;
        st = initgroups_dyn_("alice", 1, &start, &size, &groups, 0, &e);
        CHECK(st == NSS_STATUS_UNAVAIL && e == want && start == 0, "initgroups_dyn: %d", st);
        e = 0;
        setpwent_();
        st = getpwent_r_(&pw, big, sizeof(big), &e);
        CHECK(st == NSS_STATUS_UNAVAIL && e == want, "getpwent_r: %d errno %d", st, e);
        endpwent_();
        e = 0;
        st = getgrent_r_(&gr, big, sizeof(big), &e);
        CHECK(st == NSS_STATUS_UNAVAIL && e == want, "getgrent_r: %d errno %d", st, e);
        endgrent_();
        calls += 7;
        if (failures > 10)
            break;
    }
    /* junk is still rejected before the database is looked at */
    check_notfound("*");
    dt = now() - t0;
    /* "quickly": no retries or sleeps; a few syscalls per call (one lstat
     * for a known-bad file). Generous bound for valgrind and slow VMs. */
    CHECK(dt / calls < 500e-6, "%.1f us per call", dt / calls * 1e6);
    printf("%s: %.1f us per failing call\n", errname, dt / calls * 1e6);
}

/* JELLYFIN_AUTH_DB is unusable now; `fix` (a shell command) repairs it;
 * the very next lookup must succeed (a remembered failure is not sticky). */
static void check_recover(const char *fix)
{
    struct passwd pw;
    int e = 0;
    enum nss_status st = getpwnam_r_("alice", &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_UNAVAIL, "before the fix: %d", st);
    st = getpwnam_r_("alice", &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_UNAVAIL, "before the fix (cached): %d", st);
    CHECK(system(fix) == 0, "fix command failed: %s", fix);
    st = getpwnam_r_("alice", &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_SUCCESS && pw.pw_uid == 100001, "after the fix: %d", st);
}

/* alice (uid 100001) through getpwnam_r and getpwuid_r */
static bool alice_answers(void)
{
    struct passwd pw;
    int e = 0;
    enum nss_status st = getpwnam_r_("alice", &pw, big, sizeof(big), &e);
    if (st != NSS_STATUS_SUCCESS || pw.pw_uid != 100001)
        return false;
    st = getpwuid_r_(100001, &pw, big, sizeof(big), &e);
    return st == NSS_STATUS_SUCCESS && strcmp(pw.pw_name, "alice") == 0;
}

/* The database path is read at the first lookup and kept for the life of
 * the process (and its forked children): see nss_erange envonce above. */
static void check_envonce(const char *db)
{
    pid_t pid;
    int status = 0;
    char at_load[4096];
    const char *env = getenv("JELLYFIN_AUTH_DB");

    snprintf(at_load, sizeof(at_load), "%s", env ? env : "");
    CHECK(at_load[0] != '\0' && strcmp(at_load, db) != 0,
          "run with JELLYFIN_AUTH_DB set to another path");
    CHECK(setenv("JELLYFIN_AUTH_DB", db, 1) == 0, "setenv");
    CHECK(alice_answers(), "first lookup: the variable as set before it is not used");
    CHECK(setenv("JELLYFIN_AUTH_DB", at_load, 1) == 0, "setenv");
    CHECK(alice_answers(), "variable changed after the first lookup: the module followed it");
    CHECK(unsetenv("JELLYFIN_AUTH_DB") == 0, "unsetenv");
    CHECK(alice_answers(), "variable unset after the first lookup: the module followed it");
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        _exit(alice_answers() ? 0 : 1);
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0,
          "forked child does not keep the parent's database path");
}

/* ---- rootname: a hostile database with records named root ---- */

/* Rename the entry of record idx (index section ix, entries es, name at
 * name_at, its u16 length at len_at) from 4-byte from to to, move its slot
 * in hash section hs to to's hash, and OR fold into its flags at flags_at. */
static void rename_record(unsigned char *img, int ix, int es, int hs, uint32_t idx, size_t name_at,
                          size_t len_at, size_t flags_at, uint32_t fold, const char *from,
                          const char *to)
{
    uint64_t ioff = jfa_le64(img + JFA_DBH_SECTIONS + 16 * ix);
    uint64_t eoff = jfa_le64(img + JFA_DBH_SECTIONS + 16 * es);
    uint64_t hoff = jfa_le64(img + JFA_DBH_SECTIONS + 16 * hs);
    uint64_t hlen = jfa_le64(img + JFA_DBH_SECTIONS + 16 * hs + 8);
    uint32_t at = jfa_le32(img + ioff + 4 * (uint64_t)idx), ref = at / 8 + 1;
    uint32_t mask = (uint32_t)(hlen / JFA_DB2_SLOT_SIZE - 1), h = jfa_db_hash_name(to, 4);
    unsigned char *e = img + eoff + at, *slot;

    if (jfa_le16(e + len_at) != 4 || memcmp(e + name_at, from, 4) != 0) {
        fprintf(stderr, "rootname: record %u is not %s (run on mkdb -2 -N output)\n", idx, from);
        exit(1);
    }
    memcpy(e + name_at, to, 4);
    jfa_put32(e + flags_at, jfa_le32(e + flags_at) | fold);
    for (uint32_t i = 0; i <= mask; i++) {
        slot = img + hoff + JFA_DB2_SLOT_SIZE * (uint64_t)i;
        if (jfa_le32(slot + 4) == ref) {
            jfa_put32(slot, 0);
            jfa_put32(slot + 4, 0);
        }
    }
    for (uint32_t i = 0; i <= mask; i++) {
        slot = img + hoff + JFA_DB2_SLOT_SIZE * (uint64_t)((h + i) & mask);
        if (jfa_le32(slot + 4) == 0) {
            jfa_put32(slot, h);
            jfa_put32(slot + 4, ref);
            return;
        }
    }
    fprintf(stderr, "rootname: no free slot\n");
    exit(1);
}

static void check_rootname(void)
{
    const char *path = getenv("JELLYFIN_AUTH_DB");
    static unsigned char img[1 << 16];
    struct passwd pw;
    struct group gr;
    long int start = 1, size = 1;
    gid_t *groups = malloc(sizeof(gid_t));
    int e = 0;
    enum nss_status st;
    size_t len;
    FILE *f = path ? fopen(path, "r+b") : NULL;

    if (!f || !groups || (len = fread(img, 1, sizeof(img), f)) < JFA_DB_HDR_SIZE ||
        len == sizeof(img) || jfa_le32(img + JFA_DBH_VERSION) != 2) {
        fprintf(stderr, "rootname: cannot read a small version 2 database\n");
        exit(1);
    }
    /* records 0 and 1: users roox, rooy; groups roox, rooy */
    rename_record(img, JFA_SEC2_UINDEX, JFA_SEC_USERS, JFA_SEC_H_UNAME, 0, JFA_DBE_STRINGS,
                  JFA_DBE_LENS, JFA_DBE_FLAGS, 0x10, "roox", "root");
    rename_record(img, JFA_SEC2_UINDEX, JFA_SEC_USERS, JFA_SEC_H_UNAME, 1, JFA_DBE_STRINGS,
                  JFA_DBE_LENS, JFA_DBE_FLAGS, 0x10, "rooy", "rooz");
    rename_record(img, JFA_SEC2_GINDEX, JFA_SEC_GROUPS, JFA_SEC_H_GNAME, 0, JFA_DBF_NAME,
                  JFA_DBF_NAMELEN, JFA_DBF_FLAGS, 0x1, "roox", "root");
    rename_record(img, JFA_SEC2_GINDEX, JFA_SEC_GROUPS, JFA_SEC_H_GNAME, 1, JFA_DBF_NAME,
                  JFA_DBF_NAMELEN, JFA_DBF_FLAGS, 0x1, "rooy", "rooz");
    if (fseek(f, 0, SEEK_SET) != 0 || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "rootname: cannot rewrite %s\n", path);
        exit(1);
    }

    /* the renamed records are found, by their new names folded too */
    st = getpwnam_r_("ROOZ", &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_SUCCESS && pw.pw_uid == 100008, "getpwnam_r(ROOZ) = %d", st);
    st = getgrnam_r_("ROOZ", &gr, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_SUCCESS && gr.gr_gid == 100008, "getgrnam_r(ROOZ) = %d", st);
    /* ...but none named root, by any entry point */
    check_notfound("ROOT");
    check_notfound("Root");
    e = 0;
    st = getpwuid_r_(100007, &pw, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "getpwuid_r(100007) = %d errno %d", st, e);
    e = 0;
    st = getgrgid_r_(100007, &gr, big, sizeof(big), &e);
    CHECK(st == NSS_STATUS_NOTFOUND && e == ENOENT, "getgrgid_r(100007) = %d errno %d", st, e);
    groups[0] = 4242;
    e = 0;
    st = initgroups_dyn_("ROOT", 4242, &start, &size, &groups, 0, &e);
    CHECK(st == NSS_STATUS_NOTFOUND && start == 1, "initgroups_dyn(ROOT) = %d, %ld groups", st,
          start);
    st = initgroups_dyn_("ROOZ", 4242, &start, &size, &groups, 0, &e);
    CHECK(st == NSS_STATUS_SUCCESS && start == 2 && groups[1] == 100008,
          "initgroups_dyn(ROOZ) = %d, %ld groups", st, start);
    free(groups);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: nss_erange SO check | SO unavail ERRNO\n");
        return 1;
    }
    load(argv[1]);
    if (strcmp(argv[2], "check") == 0) {
        check_passwd_sizes();
        check_group_sizes();
        check_misses();
        check_initgroups();
        check_enumeration();
    } else if (strcmp(argv[2], "unavail") == 0 && argc == 4) {
        check_unavail(argv[3]);
    } else if (strcmp(argv[2], "recover") == 0 && argc == 4) {
        check_recover(argv[3]);
    } else if (strcmp(argv[2], "envonce") == 0 && argc == 4) {
        check_envonce(argv[3]);
    } else if (strcmp(argv[2], "rootname") == 0) {
        check_rootname();
    } else {
        fprintf(stderr, "bad arguments\n");
        return 1;
    }
    if (failures)
        fprintf(stderr, "%d checks failed\n", failures);
    return failures ? 1 : 0;
}
