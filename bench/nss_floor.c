/*
 * nss_floor.c - libnss_floor.so.2, an NSS module for the benchmark only
 * (never installed, not part of make check).
 *
 * Owns: nothing in the product. It answers from the key alone for the
 * population bench/run.sh generates (users jbu0..jbu<N-1>, uid = gid =
 * 200000 + i, one private group each, group jbusers 199999 that every user
 * is in): it parses the key, formats the entry into the caller's buffer
 * and returns, with no data, no lock and no system call. Timed through
 * glibc under `passwd: floor`, it is what any module costs at least: the
 * floor the table in bench/README.md compares libnss_jellyfin with.
 * N comes from BENCH_FLOOR_N (read once; default 100). With
 * BENCH_FLOOR_CONST=1 getpwent_r returns a constant entry without
 * formatting (glibc's per-entry cost alone; bench/README.md).
 */
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BASE_ID 200000u
#define JBUSERS_GID 199999u

#define EXPORT __attribute__((visibility("default")))

EXPORT enum nss_status _nss_floor_getpwnam_r(const char *, struct passwd *, char *, size_t, int *);
EXPORT enum nss_status _nss_floor_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
EXPORT enum nss_status _nss_floor_getgrnam_r(const char *, struct group *, char *, size_t, int *);
EXPORT enum nss_status _nss_floor_getgrgid_r(gid_t, struct group *, char *, size_t, int *);
EXPORT enum nss_status _nss_floor_initgroups_dyn(const char *, gid_t, long int *, long int *,
                                                 gid_t **, long int, int *);
EXPORT enum nss_status _nss_floor_setpwent(void);
EXPORT enum nss_status _nss_floor_getpwent_r(struct passwd *, char *, size_t, int *);
EXPORT enum nss_status _nss_floor_endpwent(void);
EXPORT enum nss_status _nss_floor_setgrent(void);
EXPORT enum nss_status _nss_floor_getgrent_r(struct group *, char *, size_t, int *);
EXPORT enum nss_status _nss_floor_endgrent(void);

static long n_users = -1;
static long pw_next, gr_next;
static int const_mode = -1;

/* BENCH_FLOOR_CONST=1: getpwent_r hands out one constant entry (static
 * strings, nothing formatted or copied): glibc's own per-entry cost of an
 * enumeration, below what any module that copies its data can reach. */
static int constant(void)
{
    if (const_mode < 0) {
        const char *e = getenv("BENCH_FLOOR_CONST");
        const_mode = e && strcmp(e, "1") == 0;
    }
    return const_mode;
}

static long population(void)
{
    if (n_users < 0) {
        const char *e = getenv("BENCH_FLOOR_N");
        long n = e ? strtol(e, NULL, 10) : 100;
        n_users = n > 0 ? n : 100;
    }
    return n_users;
}

/* "jbu<digits>" with a value below N: its index, else -1. */
static long parse_name(const char *name)
{
    long i = 0;

    if (name[0] != 'j' || name[1] != 'b' || name[2] != 'u' || name[3] < '0' || name[3] > '9')
        return -1;
    for (const char *p = name + 3; *p; p++) {
        if (*p < '0' || *p > '9' || i > 100000000)
            return -1;
        i = i * 10 + (*p - '0');
    }
    return i < population() ? i : -1;
}

static long parse_id(uint32_t id)
{
    return id >= BASE_ID && id - BASE_ID < (uint32_t)population() ? (long)(id - BASE_ID) : -1;
}

/* Append s then the decimal i (if i >= 0) and a NUL; NULL if out of room. */
static char *put(char **p, char *end, const char *s, long i)
{
    char digits[24], *r = *p;
    size_t n = strlen(s), k = 0;

    if (i >= 0) {
        do
            digits[k++] = (char)('0' + i % 10);
        while ((i /= 10) > 0);
    }
    if ((size_t)(end - *p) < n + k + 1)
        return NULL;
    memcpy(*p, s, n);
    *p += n;
    while (k > 0)
        *(*p)++ = digits[--k];
    *(*p)++ = '\0';
    return r;
}

static enum nss_status fill_pw(long i, struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
    char *p = buf, *end = buf + buflen;

    if (!(pw->pw_name = put(&p, end, "jbu", i)) || !(pw->pw_passwd = put(&p, end, "*", -1)) ||
        !(pw->pw_gecos = put(&p, end, "Bench User ", i)) ||
        !(pw->pw_dir = put(&p, end, "/home/jbu", i)) ||
        !(pw->pw_shell = put(&p, end, "/bin/bash", -1))) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    pw->pw_uid = pw->pw_gid = BASE_ID + (uint32_t)i;
    return NSS_STATUS_SUCCESS;
}

static enum nss_status fill_gr(long i, struct group *gr, char *buf, size_t buflen, int *errnop)
{
    uintptr_t a = ((uintptr_t)buf + sizeof(char *) - 1) & ~(uintptr_t)(sizeof(char *) - 1);
    char **mem = (char **)a, *p = (char *)(mem + 1), *end = buf + buflen;

    if (p > end || !(gr->gr_name = put(&p, end, "jbu", i)) ||
        !(gr->gr_passwd = put(&p, end, "*", -1))) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    mem[0] = NULL;
    gr->gr_mem = mem;
    gr->gr_gid = BASE_ID + (uint32_t)i;
    return NSS_STATUS_SUCCESS;
}

static enum nss_status notfound(int *errnop)
{
    *errnop = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

EXPORT enum nss_status _nss_floor_getpwnam_r(const char *name, struct passwd *pw, char *buf,
                                             size_t buflen, int *errnop)
{
    long i = parse_name(name);
    return i < 0 ? notfound(errnop) : fill_pw(i, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_floor_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
                                             int *errnop)
{
    long i = parse_id(uid);
    return i < 0 ? notfound(errnop) : fill_pw(i, pw, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_floor_getgrnam_r(const char *name, struct group *gr, char *buf,
                                             size_t buflen, int *errnop)
{
    long i = parse_name(name);
    return i < 0 ? notfound(errnop) : fill_gr(i, gr, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_floor_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
                                             int *errnop)
{
    long i = parse_id(gid);
    return i < 0 ? notfound(errnop) : fill_gr(i, gr, buf, buflen, errnop);
}

EXPORT enum nss_status _nss_floor_initgroups_dyn(const char *user, gid_t skipgroup, long int *start,
                                                 long int *size, gid_t **groupsp, long int limit,
                                                 int *errnop)
{
    (void)limit;
    if (parse_name(user) < 0)
        return notfound(errnop);
    if (skipgroup == JBUSERS_GID)
        return NSS_STATUS_SUCCESS;
    if (*start >= *size) {
        long nsize = *size ? *size * 2 : 8;
        gid_t *g = realloc(*groupsp, (size_t)nsize * sizeof(gid_t));
        if (!g) {
            *errnop = ENOMEM;
            return NSS_STATUS_TRYAGAIN;
        }
        *groupsp = g;
        *size = nsize;
    }
    (*groupsp)[(*start)++] = JBUSERS_GID;
    return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_floor_setpwent(void)
{
    pw_next = 0;
    return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_floor_getpwent_r(struct passwd *pw, char *buf, size_t buflen,
                                             int *errnop)
{
    enum nss_status st;

    if (pw_next >= population())
        return notfound(errnop);
    if (constant()) {
        static char name[] = "jbu0", star[] = "*", gecos[] = "Bench User 0", home[] = "/home/jbu0",
                    shell[] = "/bin/bash";
        (void)buf;
        (void)buflen;
        pw->pw_name = name;
        pw->pw_passwd = star;
        pw->pw_gecos = gecos;
        pw->pw_dir = home;
        pw->pw_shell = shell;
        pw->pw_uid = pw->pw_gid = BASE_ID;
        pw_next++;
        return NSS_STATUS_SUCCESS;
    }
    st = fill_pw(pw_next, pw, buf, buflen, errnop);
    if (st == NSS_STATUS_SUCCESS)
        pw_next++;
    return st;
}

EXPORT enum nss_status _nss_floor_endpwent(void)
{
    return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_floor_setgrent(void)
{
    gr_next = 0;
    return NSS_STATUS_SUCCESS;
}

EXPORT enum nss_status _nss_floor_getgrent_r(struct group *gr, char *buf, size_t buflen,
                                             int *errnop)
{
    enum nss_status st;

    if (gr_next >= population())
        return notfound(errnop);
    st = fill_gr(gr_next, gr, buf, buflen, errnop);
    if (st == NSS_STATUS_SUCCESS)
        gr_next++;
    return st;
}

EXPORT enum nss_status _nss_floor_endgrent(void)
{
    return NSS_STATUS_SUCCESS;
}
