/*
 * lib/hostaccts.c - the host's own accounts, as NSS and the files show them.
 *
 * Owns: what hostaccts.h declares: the *_r lookups with their ERANGE retry,
 * the direct read of /etc/passwd and /etc/group, nsswitch.conf's passwd:
 * and group: lines, and the sync's oracle (enumerated once or per name).
 * Local-account checks never go through a cache of ours and never write;
 * an answer equal to an entry of the database we loaded ourselves (our NSS
 * module serving it) is not "local".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostaccts.h"

#define NSSWITCH_FILE "/etc/nsswitch.conf"
#define NSSBUF_MIN 16384u
#define NSSBUF_MAX (1u << 22)

/* ---- NSS lookups ------------------------------------------------------ */

void jfa_nssbuf_free(struct jfa_nssbuf *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = 0;
}

static int nssbuf_grow(struct jfa_nssbuf *b)
{
    size_t n = b->len ? b->len * 2 : NSSBUF_MIN;
    char *nb;

    if (n > NSSBUF_MAX)
        return -1;
    nb = realloc(b->buf, n);
    if (nb == NULL)
        return -1;
    b->buf = nb;
    b->len = n;
    return 0;
}

/* Map the *_r return convention to 1 found, 0 not found, -1 error. */
static int nss_result(int rc, const void *res)
{
    if (res != NULL)
        return 1;
    if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM)
        return 0;
    return -1;
}

/* Run one *_r call, growing the buffer on ERANGE; its 1/0/-1. */
#define NSS_LOOKUP(b, res, call)                                                                   \
    do {                                                                                           \
        int rc_;                                                                                   \
        *(res) = NULL;                                                                             \
        if ((b)->buf == NULL && nssbuf_grow(b) != 0)                                               \
            return -1;                                                                             \
        while ((rc_ = (call)) == ERANGE)                                                           \
            if (nssbuf_grow(b) != 0)                                                               \
                return -1;                                                                         \
        return nss_result(rc_, *(res));                                                            \
    } while (0)

int jfa_nss_getpwnam(struct jfa_nssbuf *b, const char *name, struct passwd *pw, struct passwd **res)
{
    NSS_LOOKUP(b, res, getpwnam_r(name, pw, b->buf, b->len, res));
}

int jfa_nss_getpwuid(struct jfa_nssbuf *b, uint32_t uid, struct passwd *pw, struct passwd **res)
{
    NSS_LOOKUP(b, res, getpwuid_r(uid, pw, b->buf, b->len, res));
}

int jfa_nss_getgrnam(struct jfa_nssbuf *b, const char *name, struct group *gr, struct group **res)
{
    NSS_LOOKUP(b, res, getgrnam_r(name, gr, b->buf, b->len, res));
}

int jfa_nss_getgrgid(struct jfa_nssbuf *b, uint32_t gid, struct group *gr, struct group **res)
{
    NSS_LOOKUP(b, res, getgrgid_r(gid, gr, b->buf, b->len, res));
}

/* ---- the files -------------------------------------------------------- */

int jfa_host_in_passwd_file(const char *name)
{
    FILE *fp = fopen(JFA_PASSWD_FILE, "re");
    struct passwd *pw;
    int found = 0;

    /* A file that cannot be read through (descriptors or memory exhausted
     * by limits the caller of su set) says nothing: -1. */
    if (fp == NULL)
        return errno == ENOENT ? 0 : -1;
    errno = 0;
    while (found == 0 && (pw = fgetpwent(fp)) != NULL) {
        found = strcmp(pw->pw_name, name) == 0;
        errno = 0;
    }
    if (found == 0 && (ferror(fp) || (errno != 0 && errno != ENOENT)))
        found = -1;
    fclose(fp);
    return found;
}

/* ---- nsswitch.conf ---------------------------------------------------- */

const char *jfa_nsswitch_db_line(const char *line, size_t len, size_t *svc_start, size_t *svc_end)
{
    size_t i = 0, name_start, name_end, end;
    static const char *const dbs[] = {"passwd", "group"};

    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    name_start = i;
    while (i < len && ((line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z') ||
                       (line[i] >= '0' && line[i] <= '9') || line[i] == '_'))
        i++;
    name_end = i;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i >= len || line[i] != ':')
        return NULL;
    for (size_t k = 0; k < 2; k++) {
        if (name_end - name_start == strlen(dbs[k]) &&
            memcmp(line + name_start, dbs[k], name_end - name_start) == 0) {
            const char *hash = memchr(line + i + 1, '#', len - i - 1);
            end = hash != NULL ? (size_t)(hash - line) : len;
            while (end > i + 1 && (line[end - 1] == ' ' || line[end - 1] == '\t'))
                end--;
            *svc_start = i + 1;
            *svc_end = end;
            return dbs[k];
        }
    }
    return NULL;
}

bool jfa_nsswitch_enumerable(const char *path)
{
    static const char *const ok[] = {"files",    "compat",     "systemd", "jellyfin",
                                     "altfiles", "extrausers", "cache",   "db"};
    FILE *f = fopen(path, "re");
    char line[1024];
    bool result = true;

    if (f == NULL)
        return errno == ENOENT; /* glibc's default is files */
    while (result && fgets(line, sizeof(line), f) != NULL) {
        size_t s, e, i;

        line[strcspn(line, "\n")] = '\0';
        if (jfa_nsswitch_db_line(line, strlen(line), &s, &e) == NULL)
            continue;
        for (i = s; i < e && result;) {
            size_t t, k;
            bool known = false;

            while (i < e && (line[i] == ' ' || line[i] == '\t'))
                i++;
            t = i;
            while (i < e && line[i] != ' ' && line[i] != '\t')
                i++;
            if (i == t || line[t] == '[')
                continue; /* an action like [NOTFOUND=return] */
            for (k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
                if (i - t == strlen(ok[k]) && memcmp(line + t, ok[k], i - t) == 0)
                    known = true;
            result = known;
        }
    }
    fclose(f);
    return result;
}

/* ---- the sync's oracle ------------------------------------------------ */

static int cmp_name_id(const void *a, const void *b)
{
    const struct jfa_host_entry *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

void jfa_host_free(struct jfa_host *h)
{
    size_t i;

    for (i = 0; i < h->n_pw; i++)
        free(h->pw[i].name);
    for (i = 0; i < h->n_gr; i++)
        free(h->gr[i].name);
    free(h->pw);
    free(h->gr);
    free(h->pw_ids);
    free(h->gr_ids);
    jfa_nssbuf_free(&h->nb);
    memset(h, 0, sizeof(*h));
}

static int host_add(struct jfa_host *h, bool group, const char *name, uint32_t id)
{
    struct jfa_host_entry **v = group ? &h->gr : &h->pw;
    size_t *n = group ? &h->n_gr : &h->n_pw, *cap = group ? &h->cap_gr : &h->cap_pw;

    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct jfa_host_entry *nv = realloc(*v, ncap * sizeof(*nv));
        if (nv == NULL)
            return -1;
        *v = nv;
        *cap = ncap;
    }
    (*v)[*n].name = strdup(name);
    (*v)[*n].id = id;
    if ((*v)[*n].name == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* Is this entry the one our previous database holds? */
static bool host_ours_user(const struct jfa_host *h, const char *name, uint32_t uid)
{
    struct jfa_db_user du;
    return h->db != NULL && jfa_db_user_by_name(h->db, name, &du) == 0 && du.uid == uid;
}

static bool host_ours_group(const struct jfa_host *h, const char *name, uint32_t gid)
{
    struct jfa_db_group dg;
    return h->db != NULL && jfa_db_group_by_name(h->db, name, &dg) == 0 && dg.gid == gid;
}

/* Direct read of /etc/passwd (group false) or /etc/group (true). */
static int host_read_file(struct jfa_host *h, bool group)
{
    FILE *f = fopen(group ? "/etc/group" : JFA_PASSWD_FILE, "re");
    int ret = 0;

    if (f == NULL)
        return errno == ENOENT ? 0 : -1;
    for (;;) {
        if (group) {
            struct group *g = fgetgrent(f);
            if (g == NULL)
                break;
            ret = host_add(h, true, g->gr_name, g->gr_gid);
        } else {
            struct passwd *p = fgetpwent(f);
            if (p == NULL)
                break;
            ret = host_add(h, false, p->pw_name, p->pw_uid);
        }
        if (ret != 0)
            break;
    }
    fclose(f);
    return ret;
}

/* Every entry of every enumerable source, ours excepted. */
static int host_enumerate(struct jfa_host *h)
{
    struct passwd pw, *pres;
    struct group gr, *gres;
    int rc, ret = 0;

    setpwent();
    for (;;) {
        pres = NULL;
        if (h->nb.buf == NULL && nssbuf_grow(&h->nb) != 0) {
            ret = -1;
            break;
        }
        rc = getpwent_r(&pw, h->nb.buf, h->nb.len, &pres);
        if (rc == ERANGE) {
            if (nssbuf_grow(&h->nb) != 0) {
                ret = -1;
                break;
            }
            continue;
        }
        if (rc != 0 || pres == NULL) {
            ret = (rc == 0 || rc == ENOENT) ? 0 : -1;
            break;
        }
        if (!host_ours_user(h, pres->pw_name, pres->pw_uid) &&
            host_add(h, false, pres->pw_name, pres->pw_uid) != 0) {
            ret = -1;
            break;
        }
    }
    endpwent();
    if (ret != 0)
        return ret;
    setgrent();
    for (;;) {
        gres = NULL;
        rc = getgrent_r(&gr, h->nb.buf, h->nb.len, &gres);
        if (rc == ERANGE) {
            if (nssbuf_grow(&h->nb) != 0) {
                ret = -1;
                break;
            }
            continue;
        }
        if (rc != 0 || gres == NULL) {
            ret = (rc == 0 || rc == ENOENT) ? 0 : -1;
            break;
        }
        if (!host_ours_group(h, gres->gr_name, gres->gr_gid) &&
            host_add(h, true, gres->gr_name, gres->gr_gid) != 0) {
            ret = -1;
            break;
        }
    }
    endgrent();
    return ret;
}

int jfa_host_init(struct jfa_host *h, const struct jfa_db *db, const struct jfa_log *log)
{
    const char *force = secure_getenv("JELLYFIN_AUTH_SYNC_LOOKUP");
    size_t i;

    memset(h, 0, sizeof(*h));
    h->db = db;
    h->per_name =
        (force != NULL && strcmp(force, "each") == 0) || !jfa_nsswitch_enumerable(NSSWITCH_FILE);
    jfa_logf(log, LOG_DEBUG, "local accounts: %s",
             h->per_name ? "per-name NSS lookups" : "enumerated once (getpwent/getgrent)");
    if (host_read_file(h, false) != 0 || host_read_file(h, true) != 0)
        return -1;
    if (!h->per_name && host_enumerate(h) != 0)
        return -1;
    h->pw_ids = calloc(h->n_pw + 1, sizeof(*h->pw_ids));
    h->gr_ids = calloc(h->n_gr + 1, sizeof(*h->gr_ids));
    if (h->pw_ids == NULL || h->gr_ids == NULL)
        return -1;
    for (i = 0; i < h->n_pw; i++)
        h->pw_ids[i] = h->pw[i].id;
    for (i = 0; i < h->n_gr; i++)
        h->gr_ids[i] = h->gr[i].id;
    qsort(h->pw, h->n_pw, sizeof(*h->pw), cmp_name_id);
    qsort(h->gr, h->n_gr, sizeof(*h->gr), cmp_name_id);
    qsort(h->pw_ids, h->n_pw, sizeof(*h->pw_ids), cmp_u32);
    qsort(h->gr_ids, h->n_gr, sizeof(*h->gr_ids), cmp_u32);
    return 0;
}

static const struct jfa_host_entry *list_find(const struct jfa_host_entry *v, size_t n,
                                              const char *name)
{
    struct jfa_host_entry key = {(char *)name, 0};
    return n ? bsearch(&key, v, n, sizeof(*v), cmp_name_id) : NULL;
}

static bool list_has_id(const uint32_t *v, size_t n, uint32_t id)
{
    return n ? bsearch(&id, v, n, sizeof(*v), cmp_u32) != NULL : false;
}

int jfa_host_name_conflict(void *ctx, const char *name, const char **what)
{
    struct jfa_host *h = ctx;
    struct passwd pw, *pres = NULL;
    struct group gr, *gres = NULL;
    int r;

    if (list_find(h->pw, h->n_pw, name) != NULL) {
        *what = "a local account";
        return 1;
    }
    if (list_find(h->gr, h->n_gr, name) != NULL) {
        *what = "a local group";
        return 1;
    }
    if (!h->per_name)
        return 0;
    r = jfa_nss_getpwnam(&h->nb, name, &pw, &pres);
    if (r == 1 && host_ours_user(h, name, pres->pw_uid))
        r = 0;
    if (r != 0) {
        *what = "a local account";
        return r;
    }
    r = jfa_nss_getgrnam(&h->nb, name, &gr, &gres);
    if (r == 1 && host_ours_group(h, name, gres->gr_gid))
        r = 0;
    if (r != 0)
        *what = "a local group";
    return r;
}

int jfa_host_id_taken(void *ctx, uint32_t id)
{
    struct jfa_host *h = ctx;
    struct passwd pw, *pres = NULL;
    struct group gr, *gres = NULL;
    int r;

    if (list_has_id(h->pw_ids, h->n_pw, id) || list_has_id(h->gr_ids, h->n_gr, id))
        return 1;
    if (!h->per_name)
        return 0;
    r = jfa_nss_getpwuid(&h->nb, id, &pw, &pres);
    if (r != 0)
        return r < 0 ? -1 : !host_ours_user(h, pres->pw_name, id);
    r = jfa_nss_getgrgid(&h->nb, id, &gr, &gres);
    if (r != 0)
        return r < 0 ? -1 : !host_ours_group(h, gres->gr_name, id);
    return 0;
}

int jfa_host_group_gid(void *ctx, const char *name, uint32_t *gid)
{
    struct jfa_host *h = ctx;
    const struct jfa_host_entry *e = list_find(h->gr, h->n_gr, name);
    struct group gr, *gres = NULL;
    int r;

    if (e != NULL) {
        *gid = e->id;
        return 1;
    }
    if (!h->per_name)
        return 0;
    r = jfa_nss_getgrnam(&h->nb, name, &gr, &gres);
    if (r == 1 && host_ours_group(h, name, gres->gr_gid))
        r = 0;
    if (r == 1)
        *gid = gres->gr_gid;
    return r;
}
