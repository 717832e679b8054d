/*
 * lib/sync.c - directory sync: Jellyfin users -> users database.
 *
 * Owns: everything `jellyfin-auth sync` does (see sync.h): reading the API
 * key, listing users, the plan (name mapping, collisions, local accounts,
 * ledger allocation, groups), printing the changes, and the ordered atomic
 * writes under the sync lock (ledger, then users.db, then sync-report).
 *
 * Local-account checks never go through a cache of ours and never write:
 * getpwnam_r/getgrnam_r/getpwuid_r/getgrgid_r plus a direct read of
 * /etc/passwd and /etc/group; an answer equal to an entry of the database
 * we loaded ourselves (our NSS module serving it) is not "local".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apikey.h"
#include "db.h"
#include "db_format.h"
#include "log.h"
#include "fileutil.h"
#include "http.h"
#include "jellyfin.h"
#include "sync.h"

#define LOCK_WAIT_MS 120000 /* wait at most 2 minutes for another sync */

static char *path_join(const char *dir, const char *name)
{
    char *p = NULL;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return NULL;
    return p;
}

char *jfa_sync_report_path(const struct jfa_config *cfg)
{
    return path_join(cfg->state_dir, "sync-report");
}

int64_t jfa_sync_last_time(const struct jfa_config *cfg, uint64_t generation)
{
    char *path = jfa_sync_report_path(cfg);
    struct stat st;
    int64_t t = (int64_t)generation;

    if (path != NULL && lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtim.tv_sec > t)
        t = st.st_mtim.tv_sec;
    free(path);
    return t;
}

char *jfa_sync_ledger_path(const struct jfa_config *cfg)
{
    char *priv = jfa_config_private_dir(cfg), *p;

    if (priv == NULL)
        return NULL;
    p = path_join(priv, "ledger");
    free(priv);
    return p;
}

/* ---- shell ----------------------------------------------------------------- */

int jfa_shell_check(const char *shell, char *err, size_t errlen)
{
    struct stat st;
    FILE *f;
    char line[4096];
    bool listed = false;

    if (shell == NULL || shell[0] != '/') {
        jfa_set_err(err, errlen, "shell %s: must be an absolute path", shell ? shell : "(none)");
        return -1;
    }
    if (stat(shell, &st) != 0) {
        jfa_set_err(err, errlen, "shell %s: %s", shell, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
        jfa_set_err(err, errlen, "shell %s: not an executable file", shell);
        return -1;
    }
    f = fopen("/etc/shells", "re");
    if (f == NULL) {
        jfa_set_err(err, errlen, "shell %s: cannot read /etc/shells: %s", shell, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, " \t\r\n#")] = '\0';
        if (strcmp(line, shell) == 0) {
            listed = true;
            break;
        }
    }
    fclose(f);
    if (!listed) {
        jfa_set_err(err, errlen, "shell %s: not listed in /etc/shells", shell);
        return -1;
    }
    return 0;
}

/* ---- omissions and the report ------------------------------------------ */

void jfa_omissions_free(struct jfa_omission *items, size_t n)
{
    size_t i;

    if (items == NULL)
        return;
    for (i = 0; i < n; i++) {
        free(items[i].jf_name);
        free(items[i].reason);
    }
    free(items);
}

void jfa_report_free(struct jfa_sync_report *rep)
{
    jfa_omissions_free(rep->items, rep->n);
    memset(rep, 0, sizeof(*rep));
}

/* Escape a field for the tab-separated report: \\ \t \n and \xNN for other
 * control bytes. */
static size_t escape_field(char *dst, const char *src)
{
    size_t o = 0;

    for (; *src != '\0'; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch == '\\') {
            dst[o++] = '\\';
            dst[o++] = '\\';
        } else if (ch == '\t') {
            dst[o++] = '\\';
            dst[o++] = 't';
        } else if (ch == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else if (ch < 0x20 || ch == 0x7f) {
            o += (size_t)sprintf(dst + o, "\\x%02x", ch);
        } else {
            dst[o++] = (char)ch;
        }
    }
    dst[o] = '\0';
    return o;
}

static int unhex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* In-place unescape; -1 on a bad escape or an escaped NUL. */
static int unescape_field(char *s)
{
    char *r = s, *w = s;

    while (*r != '\0') {
        if (*r != '\\') {
            *w++ = *r++;
            continue;
        }
        r++;
        if (*r == '\\') {
            *w++ = '\\';
            r++;
        } else if (*r == 't') {
            *w++ = '\t';
            r++;
        } else if (*r == 'n') {
            *w++ = '\n';
            r++;
        } else if (*r == 'x' && unhex(r[1]) >= 0 && unhex(r[2]) >= 0) {
            int v = unhex(r[1]) * 16 + unhex(r[2]);
            if (v == 0)
                return -1;
            *w++ = (char)v;
            r += 3;
        } else {
            return -1;
        }
    }
    *w = '\0';
    return 0;
}

char *jfa_report_format(const struct jfa_omission *items, size_t n, uint64_t generation,
                        size_t *len)
{
    size_t cap = 128, used = 0, i;
    char *buf;

    for (i = 0; i < n; i++)
        cap += 48 + 4 * (strlen(items[i].jf_name) + strlen(items[i].reason));
    buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    used +=
        (size_t)snprintf(buf, cap, "%s\ngeneration %" PRIu64 "\n", JFA_REPORT_MAGIC, generation);
    for (i = 0; i < n; i++) {
        used += (size_t)snprintf(buf + used, cap - used, "omit\t%s\t", items[i].id);
        used += escape_field(buf + used, items[i].jf_name);
        buf[used++] = '\t';
        used += escape_field(buf + used, items[i].reason);
        buf[used++] = '\n';
        buf[used] = '\0';
    }
    if (len != NULL)
        *len = used;
    return buf;
}

int jfa_report_read(const char *path, struct jfa_sync_report *rep, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL, *line, *next;
    size_t len = 0, lineno = 0, cap = 0;
    int ret = -1;

    memset(rep, 0, sizeof(*rep));
    if (lstat(path, &st) != 0 && errno == ENOENT)
        return 1;
    if (jfa_read_trusted(path, 022, JFA_REPORT_MAX_FILE, &buf, &len, err, errlen) != 0)
        return -1;
    if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len) != NULL) {
        jfa_set_err(err, errlen, "%s: truncated or not text", path);
        goto out;
    }
    for (line = buf; *line != '\0'; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, JFA_REPORT_MAGIC) != 0) {
                jfa_set_err(err, errlen, "%s:1: not a version 1 sync report", path);
                goto out;
            }
        } else if (lineno == 2) {
            char *end;
            errno = 0;
            if (strncmp(line, "generation ", 11) != 0)
                goto bad;
            rep->generation = strtoull(line + 11, &end, 10);
            if (errno != 0 || *end != '\0' || end == line + 11)
                goto bad;
        } else {
            char *f[4], *p = line;
            int k;
            struct jfa_omission *o;

            for (k = 0; k < 4; k++) {
                f[k] = p;
                p = strchr(p, '\t');
                if (p == NULL)
                    break;
                *p++ = '\0';
            }
            if (k != 3 || strcmp(f[0], "omit") != 0 || strlen(f[1]) != 32 ||
                unescape_field(f[2]) != 0 || unescape_field(f[3]) != 0)
                goto bad;
            if (rep->n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct jfa_omission *ni = realloc(rep->items, ncap * sizeof(*ni));
                if (ni == NULL)
                    goto oom;
                rep->items = ni;
                cap = ncap;
            }
            o = &rep->items[rep->n];
            memset(o, 0, sizeof(*o));
            memcpy(o->id, f[1], 33);
            o->jf_name = strdup(f[2]);
            o->reason = strdup(f[3]);
            rep->n++;
            if (o->jf_name == NULL || o->reason == NULL)
                goto oom;
        }
    }
    if (lineno < 2) {
        jfa_set_err(err, errlen, "%s: truncated", path);
        goto out;
    }
    ret = 0;
    goto out;
bad:
    jfa_set_err(err, errlen, "%s:%zu: malformed line", path, lineno);
    goto out;
oom:
    jfa_set_err(err, errlen, "%s: out of memory", path);
out:
    if (ret != 0)
        jfa_report_free(rep);
    free(buf);
    return ret;
}

/* ---- the plan ------------------------------------------------------------ */

struct cand {
    const struct jfa_user *u;
    char name[JFA_NAME_MAX + 1];
    char *reason;     /* NULL: included */
    ssize_t lidx;     /* ledger entry, -1 none */
    bool mapped;      /* name is the valid mapping of the Jellyfin name */
    const char *note; /* how the name was chosen, when not by mapping */
};

struct plan_store {
    struct cand *c;
    size_t n;
    char **homes, **gecos;
    uint32_t *gids; /* 2 per included user */
    const char **users_members, **admin_members;
    char users_name[JFA_NAME_MAX + 1], admin_name[JFA_NAME_MAX + 1];
};

static int omit(struct cand *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int omit(struct cand *c, const char *fmt, ...)
{
    va_list ap;
    char *r = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&r, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    free(c->reason);
    c->reason = r;
    return 0;
}

static const struct cand *sort_c; /* qsort context; plan runs single-threaded */

static int cmp_by_id(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    return strcmp(sort_c[*x].u->id, sort_c[*y].u->id);
}

static int cmp_by_name(const void *a, const void *b)
{
    const size_t *x = a, *y = b;
    int r = strcmp(sort_c[*x].name, sort_c[*y].name);
    return r ? r : strcmp(sort_c[*x].u->id, sort_c[*y].u->id);
}

/* The candidate with this Id (order: indexes sorted by Id), or NULL. */
static const struct cand *cand_by_id(const struct cand *c, const size_t *order, size_t n,
                                     const char *id)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(c[order[mid]].u->id, id);
        if (r == 0)
            return &c[order[mid]];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

struct taken_ctx {
    const struct jfa_local *local;
    bool failed;
};

static bool taken_cb(void *ctx, uint32_t id)
{
    struct taken_ctx *t = ctx;
    int r = t->local->id_taken(t->local->ctx, id);

    if (r < 0) {
        t->failed = true;
        return true;
    }
    return r == 1;
}

void jfa_sync_plan_free(struct jfa_sync_plan *plan)
{
    struct plan_store *st = plan->priv;
    size_t i;

    if (st != NULL) {
        for (i = 0; i < st->n; i++)
            free(st->c[i].reason);
        for (i = 0; st->homes != NULL && i < plan->n_users; i++)
            free(st->homes[i]);
        for (i = 0; st->gecos != NULL && i < plan->n_users; i++)
            free(st->gecos[i]);
        free(st->homes);
        free(st->gecos);
        free(st->gids);
        free(st->users_members);
        free(st->admin_members);
        free(st->c);
        free(st);
    }
    free(plan->users);
    free(plan->notes);
    free(plan->groups);
    jfa_omissions_free(plan->omitted, plan->n_omitted);
    memset(plan, 0, sizeof(*plan));
}

/* Resolve one of the configured groups: the host's gid, or ours from the
 * ledger (allocated once). */
static int plan_group(const struct jfa_config *cfg, struct jfa_ledger *ledger,
                      const struct jfa_local *local, const char *name, int64_t now, uint32_t *gid,
                      bool *is_local, char *err, size_t errlen)
{
    struct taken_ctx tc = {local, false};
    ssize_t li;
    int r;

    *gid = 0;
    *is_local = false;
    if (name == NULL || name[0] == '\0')
        return 0;
    r = local->group_gid(local->ctx, name, gid);
    if (r < 0) {
        jfa_set_err(err, errlen, "group %s: local lookup failed", name);
        return -1;
    }
    if (r == 1) {
        *is_local = true;
        return 0;
    }
    li = jfa_ledger_find_group(ledger, name);
    if (li < 0) {
        char sub[JFA_ERRLEN];
        li = jfa_ledger_alloc_group(ledger, name, cfg->uid_min, cfg->uid_max, taken_cb, &tc, now,
                                    sub, sizeof(sub));
        if (tc.failed) {
            jfa_set_err(err, errlen, "group %s: local id lookup failed", name);
            return -1;
        }
        if (li < 0) {
            jfa_set_err(err, errlen, "group %s: %s", name, sub);
            return -1;
        }
    }
    *gid = ledger->groups[li].gid;
    return 0;
}

int jfa_sync_plan(const struct jfa_config *cfg, struct jfa_ledger *ledger,
                  const struct jfa_user_list *list, const struct jfa_local *local, int64_t now,
                  struct jfa_sync_plan *plan, char *err, size_t errlen)
{
    struct plan_store *st;
    size_t n = list->n, i, j, n_inc = 0, n_ledger = ledger->n_users, k;
    size_t *order = NULL, *inc = NULL;
    const char **names = NULL;
    bool *present = NULL;
    struct taken_ctx tc = {local, false};
    char sub[JFA_ERRLEN];
    const char *admin_group = cfg->admin_group;
    int ret = -1;

    memset(plan, 0, sizeof(*plan));
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto oom;
    plan->priv = st;
    st->c = calloc(n + 1, sizeof(*st->c));
    order = calloc(n + 1, sizeof(*order));
    inc = calloc(n + 1, sizeof(*inc));
    present = calloc(n_ledger + 1, sizeof(*present));
    if (st->c == NULL || order == NULL || inc == NULL || present == NULL)
        goto oom;
    st->n = n;
    if (admin_group != NULL && cfg->users_group != NULL &&
        strcmp(admin_group, cfg->users_group) == 0)
        admin_group = NULL;

    /* 1. one entry per Id; map the names */
    for (i = 0; i < n; i++) {
        struct cand *c = &st->c[i];
        char why[256];
        ssize_t oi;
        enum jfa_name_status st_name;

        c->u = &list->users[i];
        order[i] = i;
        c->lidx = -1;
        if (c->u->name == NULL || !jfa_hex32(c->u->id)) {
            if (omit(c, "the server sent no valid Id or name") != 0)
                goto oom;
            continue;
        }
        c->lidx = jfa_ledger_find_user(ledger, c->u->id);
        oi = jfa_ledger_find_override(ledger, c->u->id);
        if (oi >= 0) {
            /* the administrator's choice (names set), checked again here:
             * the configuration may have changed since */
            snprintf(c->name, sizeof(c->name), "%s", ledger->overrides[oi].name);
            c->note = "set by 'jellyfin-auth names set'";
            if (jfa_name_reserved_why(c->name, cfg->users_group, admin_group, why, sizeof(why)) !=
                NULL) {
                if (omit(c, "login name \"%s\" (names set) is reserved: %s", c->name, why) != 0)
                    goto oom;
                continue;
            }
        } else if ((st_name = jfa_name_map(c->u->name, cfg->users_group, admin_group, c->name, why,
                                           sizeof(why))) != JFA_NAME_OK) {
            if (st_name == JFA_NAME_RESERVED && strcmp(c->name, "admin") == 0) {
                /* Jellyfin's first account: a login with no manual step */
                snprintf(c->name, sizeof(c->name), "%s", JFA_ADMIN_LOGIN);
                c->note = "\"admin\" is reserved; the rule for Jellyfin's Admin";
            } else {
                if (omit(c, "%s", why) != 0)
                    goto oom;
                continue;
            }
        }
        c->mapped = true;
        if (jfa_config_name_reserved(cfg, c->name)) {
            if (omit(c, "mapped name \"%s\" is reserved by reserved_names in %s", c->name,
                     cfg->path != NULL ? cfg->path : "the configuration") != 0)
                goto oom;
        } else if (jfa_ledger_find_group(ledger, c->name) >= 0) {
            /* a users_group or admin_group of an earlier configuration:
             * sudoers rules like %jellyfin-admins may still name it */
            if (omit(c,
                     "mapped name \"%s\" is reserved: a group jellyfin-auth defined "
                     "(users_group or admin_group, now or before)",
                     c->name) != 0)
                goto oom;
        }
    }
    sort_c = st->c;
    qsort(order, n, sizeof(*order), cmp_by_id);
    for (i = 1; i < n; i++) {
        if (strcmp(st->c[order[i - 1]].u->id, st->c[order[i]].u->id) == 0) {
            jfa_set_err(err, errlen, "the server listed user Id %s twice; refusing to sync",
                        st->c[order[i]].u->id);
            goto out;
        }
    }

    /* 2. claims: a name once given to an Id never passes to another Id
     * (local grants attach to names); only `names release` frees it */
    for (i = 0; i < n; i++) {
        struct cand *c = &st->c[i];
        const struct cand *h;
        ssize_t ci, oi;
        int r;

        if (c->reason != NULL)
            continue;
        /* a claim comes first (an override never takes a claimed name);
         * an unclaimed name another Id's override names goes to that Id */
        ci = jfa_ledger_find_claim(ledger, c->name);
        oi = ci < 0 ? jfa_ledger_find_override_name(ledger, c->name) : -1;
        if (oi >= 0 && strcmp(ledger->overrides[oi].id, c->u->id) != 0) {
            if (omit(c,
                     "login name \"%s\" is given to Jellyfin user Id %s by 'jellyfin-auth names "
                     "set'",
                     c->name, ledger->overrides[oi].id) != 0)
                goto oom;
            continue;
        }
        if (ci < 0 || strcmp(ledger->claims[ci].id, c->u->id) == 0)
            continue;
        h = cand_by_id(st->c, order, n, ledger->claims[ci].id);
        if (h != NULL && h->mapped && strcmp(h->name, c->name) == 0)
            r = omit(c, "login name \"%s\" is held by Jellyfin user Id %s", c->name,
                     ledger->claims[ci].id);
        else if (h != NULL && h->mapped)
            r = omit(c,
                     "login name \"%s\" is claimed by Jellyfin user Id %s, renamed to \"%s\" "
                     "(a name and the local grants on it never pass to another user); to give "
                     "it to this user: jellyfin-auth names release %s",
                     c->name, ledger->claims[ci].id, h->name, c->name);
        else
            r = omit(c,
                     "login name \"%s\" is claimed by %s Jellyfin user Id %s (a name and the "
                     "local grants on it never pass to another user); to give it to this user: "
                     "jellyfin-auth names release %s",
                     c->name, h != NULL ? "renamed" : "deleted", ledger->claims[ci].id, c->name);
        if (r != 0)
            goto oom;
    }

    /* 3. collisions: several users mapping to one name */
    for (i = 0, k = 0; i < n; i++)
        if (st->c[i].reason == NULL)
            inc[k++] = i;
    qsort(inc, k, sizeof(*inc), cmp_by_name);
    for (i = 0; i < k; i = j) {
        ssize_t holder = -1;

        for (j = i + 1; j < k && strcmp(st->c[inc[i]].name, st->c[inc[j]].name) == 0; j++)
            ;
        if (j - i < 2)
            continue;
        for (size_t m = i; m < j; m++) {
            const struct cand *c = &st->c[inc[m]];
            if (c->lidx >= 0 && !ledger->users[c->lidx].deleted &&
                strcmp(ledger->users[c->lidx].name, c->name) == 0)
                holder = (ssize_t)inc[m];
        }
        for (size_t m = i; m < j; m++) {
            struct cand *c = &st->c[inc[m]];
            int r;
            if ((ssize_t)inc[m] == holder)
                continue;
            if (holder >= 0)
                r = omit(c, "login name \"%s\" is held by Jellyfin user Id %s", c->name,
                         st->c[holder].u->id);
            else
                r = omit(c, "login name \"%s\" is claimed by %zu Jellyfin users", c->name, j - i);
            if (r != 0)
                goto oom;
        }
    }

    /* 4. names the host already uses */
    for (i = 0; i < n; i++) {
        struct cand *c = &st->c[i];
        const char *what = NULL;
        int r;

        if (c->reason != NULL)
            continue;
        r = local->name_conflict(local->ctx, c->name, &what);
        if (r < 0) {
            jfa_set_err(err, errlen, "local lookup of \"%s\" failed; refusing to sync", c->name);
            goto out;
        }
        if (r == 1 && omit(c, "login name \"%s\" is %s", c->name, what) != 0)
            goto oom;
    }

    /* 5. ledger: tombstones, reactivations */
    for (i = 0; i < n; i++) {
        struct cand *c = &st->c[i];
        struct jfa_ledger_user *lu;

        if (c->lidx < 0)
            continue;
        lu = &ledger->users[c->lidx];
        present[c->lidx] = true;
        if (lu->deleted) {
            lu->deleted = false;
            lu->name[0] = '\0'; /* someone may hold it now; reassigned below */
        }
        lu->last_seen = now;
    }
    for (i = 0; i < n_ledger; i++) {
        if (!present[i] && !ledger->users[i].deleted) {
            ledger->users[i].deleted = true;
            ledger->users[i].last_seen = now;
        }
    }

    /* 6. ledger uids outside the configured range are never used */
    for (i = 0; i < n; i++) {
        struct cand *c = &st->c[i];
        uint32_t uid;

        if (c->reason != NULL || c->lidx < 0)
            continue;
        uid = ledger->users[c->lidx].uid;
        if ((uid < cfg->uid_min || uid > cfg->uid_max) &&
            omit(c, "uid %" PRIu32 " (from the ledger) is outside uid_min-uid_max", uid) != 0)
            goto oom;
    }

    /* 7. groups */
    if (plan_group(cfg, ledger, local, cfg->users_group, now, &plan->users_gid,
                   &plan->users_group_local, err, errlen) != 0)
        goto out;
    if (plan_group(cfg, ledger, local, admin_group, now, &plan->admin_gid, &plan->admin_group_local,
                   err, errlen) != 0)
        goto out;

    /* 8. new users, in ascending Id order (independent of listing order) */
    for (i = 0; i < n; i++) {
        struct cand *c = &st->c[order[i]];

        if (c->reason != NULL || c->lidx >= 0)
            continue;
        c->lidx = jfa_ledger_alloc_user(ledger, c->u->id, NULL, cfg->uid_min, cfg->uid_max,
                                        taken_cb, &tc, now, sub, sizeof(sub));
        if (tc.failed) {
            jfa_set_err(err, errlen, "local uid/gid lookup failed; refusing to sync");
            goto out;
        }
        if (c->lidx < 0) {
            jfa_set_err(err, errlen, "cannot allocate a uid for Jellyfin user Id %s: %s", c->u->id,
                        sub);
            goto out;
        }
    }

    /* 9. held names, claimed for good */
    for (i = 0, n_inc = 0; i < n; i++)
        if (st->c[i].reason == NULL)
            inc[n_inc++] = i;
    qsort(inc, n_inc, sizeof(*inc), cmp_by_name);
    {
        size_t *lix = calloc(n_inc + 1, sizeof(*lix));
        names = calloc(n_inc + 1, sizeof(*names));
        if (lix == NULL || names == NULL) {
            free(lix);
            goto oom;
        }
        for (i = 0; i < n_inc; i++) {
            lix[i] = (size_t)st->c[inc[i]].lidx;
            names[i] = st->c[inc[i]].name;
        }
        if (jfa_ledger_assign_names(ledger, lix, names, n_inc, now, sub, sizeof(sub)) != 0) {
            free(lix);
            jfa_set_err(err, errlen, "assigning login names: %s", sub);
            goto out;
        }
        free(lix);
    }

    /* 10. the database contents */
    plan->users = calloc(n_inc + 1, sizeof(*plan->users));
    plan->notes = calloc(n_inc + 1, sizeof(*plan->notes));
    plan->groups = calloc(n_inc + 3, sizeof(*plan->groups));
    st->homes = calloc(n_inc + 1, sizeof(*st->homes));
    st->gecos = calloc(n_inc + 1, sizeof(*st->gecos));
    st->gids = calloc(2 * n_inc + 2, sizeof(*st->gids));
    st->users_members = calloc(n_inc + 1, sizeof(*st->users_members));
    st->admin_members = calloc(n_inc + 1, sizeof(*st->admin_members));
    if (plan->users == NULL || plan->notes == NULL || plan->groups == NULL || st->homes == NULL ||
        st->gecos == NULL || st->gids == NULL || st->users_members == NULL ||
        st->admin_members == NULL)
        goto oom;
    {
        size_t n_umem = 0, n_amem = 0;

        for (i = 0; i < n_inc; i++) {
            const struct cand *c = &st->c[inc[i]];
            const struct jfa_policy *p = &c->u->policy;
            struct jfa_dbw_user *du = &plan->users[i];
            struct jfa_dbw_group *dg = &plan->groups[i];
            size_t glen = strlen(c->u->name) + 1;

            plan->n_users = i + 1;
            st->homes[i] = jfa_config_home(cfg, c->name);
            st->gecos[i] = malloc(glen);
            if (st->homes[i] == NULL || st->gecos[i] == NULL)
                goto oom;
            jfa_gecos_sanitize(st->gecos[i], glen, c->u->name);
            du->uid = ledger->users[c->lidx].uid;
            du->gid = du->uid;
            du->name = c->name;
            du->gecos = st->gecos[i];
            du->home = st->homes[i];
            du->shell = cfg->shell;
            du->jf_name = c->u->name;
            memcpy(du->jf_id, c->u->id, 33);
            du->flags = (p->is_administrator ? JFA_DBU_ADMIN : 0) |
                        (p->is_disabled ? JFA_DBU_DISABLED : 0) |
                        (p->is_hidden ? JFA_DBU_HIDDEN : 0) |
                        (p->enable_remote_access ? 0 : JFA_DBU_NO_REMOTE) |
                        (cfg->case_sensitive ? 0 : JFA_DBU_FOLD);
            plan->notes[i] = c->note;
            du->gids = &st->gids[2 * i];
            du->n_gids = 0;
            if (plan->users_gid != 0)
                st->gids[2 * i + du->n_gids++] = plan->users_gid;
            if (plan->admin_gid != 0 && p->is_administrator)
                st->gids[2 * i + du->n_gids++] = plan->admin_gid;
            /* the private group: same id and name, no members */
            dg->gid = du->uid;
            dg->name = c->name;
            dg->flags = cfg->case_sensitive ? 0 : JFA_DBG_FOLD;
            if (plan->users_gid != 0 && !plan->users_group_local)
                st->users_members[n_umem++] = c->name;
            if (plan->admin_gid != 0 && !plan->admin_group_local && p->is_administrator)
                st->admin_members[n_amem++] = c->name;
        }
        plan->n_groups = n_inc;
        if (plan->users_gid != 0 && !plan->users_group_local) {
            struct jfa_dbw_group *g = &plan->groups[plan->n_groups++];
            snprintf(st->users_name, sizeof(st->users_name), "%s", cfg->users_group);
            g->gid = plan->users_gid;
            g->name = st->users_name;
            g->members = st->users_members;
            g->n_members = n_umem;
            g->flags = cfg->case_sensitive ? 0 : JFA_DBG_FOLD;
        }
        if (plan->admin_gid != 0 && !plan->admin_group_local) {
            struct jfa_dbw_group *g = &plan->groups[plan->n_groups++];
            snprintf(st->admin_name, sizeof(st->admin_name), "%s", admin_group);
            g->gid = plan->admin_gid;
            g->name = st->admin_name;
            g->members = st->admin_members;
            g->n_members = n_amem;
            g->flags = cfg->case_sensitive ? 0 : JFA_DBG_FOLD;
        }
    }

    /* 11. omissions, in server order */
    for (i = 0, k = 0; i < n; i++)
        if (st->c[i].reason != NULL)
            k++;
    plan->omitted = calloc(k + 1, sizeof(*plan->omitted));
    if (plan->omitted == NULL)
        goto oom;
    for (i = 0; i < n; i++) {
        struct cand *c = &st->c[i];
        struct jfa_omission *o;

        if (c->reason == NULL)
            continue;
        o = &plan->omitted[plan->n_omitted++];
        snprintf(o->id, sizeof(o->id), "%s", jfa_hex32(c->u->id) ? c->u->id : "-");
        o->jf_name = strdup(c->u->name ? c->u->name : "");
        o->reason = strdup(c->reason);
        if (o->jf_name == NULL || o->reason == NULL)
            goto oom;
    }
    ret = 0;
    goto out;
oom:
    jfa_set_err(err, errlen, "out of memory");
out:
    free(order);
    free(inc);
    free(present);
    free(names);
    if (ret != 0)
        jfa_sync_plan_free(plan);
    return ret;
}

/* ---- the host oracle ----------------------------------------------------- */

/*
 * Two ways to know the host's users and groups:
 *  - enumerated: when every passwd/group source in nsswitch.conf can list
 *    its entries (files, compat, systemd, our own module, ...), list them all
 *    once with getpwent_r/getgrent_r. Per-name lookups through nss-systemd
 *    cost ~0.3 ms each, which made a sync of 10,000 users take seconds.
 *  - per name: otherwise (sss, ldap, winbind, ... may not enumerate), ask
 *    getpwnam_r/getgrnam_r/getpwuid_r/getgrgid_r for each name and id.
 * Both add a direct read of /etc/passwd and /etc/group, and both drop
 * entries equal to our own previous database (our module serving it).
 * JELLYFIN_AUTH_SYNC_LOOKUP=each (secure_getenv) forces per-name lookups.
 */

struct name_id {
    char *name;
    uint32_t id;
};

struct host_ctx {
    const struct jfa_db *db; /* our previous database, or NULL */
    bool per_name;
    struct name_id *pw, *gr; /* sorted by name */
    size_t n_pw, n_gr, cap_pw, cap_gr;
    uint32_t *pw_ids, *gr_ids; /* sorted */
    char *buf;
    size_t buflen;
};

static int cmp_name_id(const void *a, const void *b)
{
    const struct name_id *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void host_free(struct host_ctx *h)
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
    free(h->buf);
    memset(h, 0, sizeof(*h));
}

static int host_add(struct host_ctx *h, bool group, const char *name, uint32_t id)
{
    struct name_id **v = group ? &h->gr : &h->pw;
    size_t *n = group ? &h->n_gr : &h->n_pw, *cap = group ? &h->cap_gr : &h->cap_pw;

    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct name_id *nv = realloc(*v, ncap * sizeof(*nv));
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
static bool host_ours_user(const struct host_ctx *h, const char *name, uint32_t uid)
{
    struct jfa_db_user du;
    return h->db != NULL && jfa_db_user_by_name(h->db, name, &du) == 0 && du.uid == uid;
}

static bool host_ours_group(const struct host_ctx *h, const char *name, uint32_t gid)
{
    struct jfa_db_group dg;
    return h->db != NULL && jfa_db_group_by_name(h->db, name, &dg) == 0 && dg.gid == gid;
}

/* Direct read of /etc/passwd (group false) or /etc/group (true). */
static int host_read_file(struct host_ctx *h, bool group)
{
    FILE *f = fopen(group ? "/etc/group" : "/etc/passwd", "re");
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

static int grow(struct host_ctx *h)
{
    size_t n = h->buflen ? h->buflen * 2 : 16384;
    char *b;

    if (n > (1u << 22))
        return -1;
    b = realloc(h->buf, n);
    if (b == NULL)
        return -1;
    h->buf = b;
    h->buflen = n;
    return 0;
}

/* Call an NSS *_r function, growing the buffer on ERANGE; rc gets its result. */
#define NSS_CALL(h, rc, call)                                                                      \
    do {                                                                                           \
        if ((h)->buf == NULL && grow(h) != 0)                                                      \
            return -1;                                                                             \
        while (((rc) = (call)) == ERANGE)                                                          \
            if (grow(h) != 0)                                                                      \
                return -1;                                                                         \
    } while (0)

/* Every entry of every enumerable source, ours excepted. */
static int host_enumerate(struct host_ctx *h)
{
    struct passwd pw, *pres;
    struct group gr, *gres;
    int rc, ret = 0;

    setpwent();
    for (;;) {
        pres = NULL;
        if (h->buf == NULL && grow(h) != 0) {
            ret = -1;
            break;
        }
        rc = getpwent_r(&pw, h->buf, h->buflen, &pres);
        if (rc == ERANGE) {
            if (grow(h) != 0) {
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
        rc = getgrent_r(&gr, h->buf, h->buflen, &gres);
        if (rc == ERANGE) {
            if (grow(h) != 0) {
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

/* Can every passwd and group source in nsswitch.conf enumerate? */
static bool nsswitch_enumerable(void)
{
    static const char *const ok[] = {"files",    "compat",     "systemd", "jellyfin",
                                     "altfiles", "extrausers", "cache",   "db"};
    FILE *f = fopen("/etc/nsswitch.conf", "re");
    char line[1024];
    bool result = true;

    if (f == NULL)
        return errno == ENOENT; /* glibc's default is files */
    while (result && fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *tok, *save = NULL;
        line[strcspn(line, "#\n")] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "passwd:", 7) == 0)
            p += 7;
        else if (strncmp(p, "group:", 6) == 0)
            p += 6;
        else
            continue;
        for (tok = strtok_r(p, " \t", &save); tok != NULL; tok = strtok_r(NULL, " \t", &save)) {
            bool known = false;
            if (tok[0] == '[')
                continue; /* an action like [NOTFOUND=return] */
            for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                if (strcmp(tok, ok[i]) == 0)
                    known = true;
            if (!known) {
                result = false;
                break;
            }
        }
    }
    fclose(f);
    return result;
}

static int host_init(struct host_ctx *h, const struct jfa_db *db, const struct jfa_log *log)
{
    const char *force = secure_getenv("JELLYFIN_AUTH_SYNC_LOOKUP");
    size_t i;

    memset(h, 0, sizeof(*h));
    h->db = db;
    h->per_name = (force != NULL && strcmp(force, "each") == 0) || !nsswitch_enumerable();
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

static const struct name_id *list_find(const struct name_id *v, size_t n, const char *name)
{
    struct name_id key = {(char *)name, 0};
    return n ? bsearch(&key, v, n, sizeof(*v), cmp_name_id) : NULL;
}

static bool list_has_id(const uint32_t *v, size_t n, uint32_t id)
{
    return n ? bsearch(&id, v, n, sizeof(*v), cmp_u32) != NULL : false;
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

static int host_name_conflict(void *ctx, const char *name, const char **what)
{
    struct host_ctx *h = ctx;
    struct passwd pw, *pres = NULL;
    struct group gr, *gres = NULL;
    int rc, r;

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
    NSS_CALL(h, rc, getpwnam_r(name, &pw, h->buf, h->buflen, &pres));
    r = nss_result(rc, pres);
    if (r == 1 && host_ours_user(h, name, pres->pw_uid))
        r = 0;
    if (r != 0) {
        *what = "a local account";
        return r;
    }
    NSS_CALL(h, rc, getgrnam_r(name, &gr, h->buf, h->buflen, &gres));
    r = nss_result(rc, gres);
    if (r == 1 && host_ours_group(h, name, gres->gr_gid))
        r = 0;
    if (r != 0)
        *what = "a local group";
    return r;
}

static int host_id_taken(void *ctx, uint32_t id)
{
    struct host_ctx *h = ctx;
    struct passwd pw, *pres = NULL;
    struct group gr, *gres = NULL;
    int rc, r;

    if (list_has_id(h->pw_ids, h->n_pw, id) || list_has_id(h->gr_ids, h->n_gr, id))
        return 1;
    if (!h->per_name)
        return 0;
    NSS_CALL(h, rc, getpwuid_r(id, &pw, h->buf, h->buflen, &pres));
    r = nss_result(rc, pres);
    if (r != 0)
        return r < 0 ? -1 : !host_ours_user(h, pres->pw_name, id);
    NSS_CALL(h, rc, getgrgid_r(id, &gr, h->buf, h->buflen, &gres));
    r = nss_result(rc, gres);
    if (r != 0)
        return r < 0 ? -1 : !host_ours_group(h, gres->gr_name, id);
    return 0;
}

static int host_group_gid(void *ctx, const char *name, uint32_t *gid)
{
    struct host_ctx *h = ctx;
    const struct name_id *e = list_find(h->gr, h->n_gr, name);
    struct group gr, *gres = NULL;
    int rc, r;

    if (e != NULL) {
        *gid = e->id;
        return 1;
    }
    if (!h->per_name)
        return 0;
    NSS_CALL(h, rc, getgrnam_r(name, &gr, h->buf, h->buflen, &gres));
    r = nss_result(rc, gres);
    if (r == 1 && host_ours_group(h, name, gres->gr_gid))
        r = 0;
    if (r == 1)
        *gid = gres->gr_gid;
    return r;
}

/* ---- the run ------------------------------------------------------------- */

struct prev_user {
    char jf_id[33];
    const char *name; /* into the mapped previous database */
    uint32_t uid, flags;
    bool seen;
};

static int cmp_prev(const void *a, const void *b)
{
    const struct prev_user *x = a, *y = b;
    return strcmp(x->jf_id, y->jf_id);
}

/* Take the sync lock (state_dir/private/lock): one writer at a time. */
static int take_lock(const char *priv, const struct jfa_log *log, int *fd_out, char *err,
                     size_t errlen);

int jfa_sync_lock(const struct jfa_config *cfg, const struct jfa_log *log, int *fd, char *err,
                  size_t errlen)
{
    char *priv = jfa_config_private_dir(cfg);
    int ret;

    if (priv == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    ret = take_lock(priv, log, fd, err, errlen);
    free(priv);
    return ret;
}

static int take_lock(const char *priv, const struct jfa_log *log, int *fd_out, char *err,
                     size_t errlen)
{
    char *path = path_join(priv, "lock");
    int fd, waited = 0, ret = -1;

    if (path == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        jfa_set_err(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            jfa_set_err(err, errlen, "%s: lock: %s", path, strerror(errno));
            close(fd);
            goto out;
        }
        if (waited == 0)
            jfa_logf(log, LOG_INFO, "waiting for another sync to finish");
        if (waited >= LOCK_WAIT_MS) {
            jfa_set_err(err, errlen, "%s: another sync has held the lock for %d s", path,
                        LOCK_WAIT_MS / 1000);
            close(fd);
            goto out;
        }
        usleep(100 * 1000);
        waited += 100;
    }
    *fd_out = fd;
    ret = 0;
out:
    free(path);
    return ret;
}

/* Remove temp files left by an interrupted jfa_write_atomic of `base`
 * (base.tmp.XXXXXX) in dir. Called with the sync lock held, so no live
 * writer owns them. */
static void cleanup_temps(const char *dir, const char *base, const struct jfa_log *log)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t blen = strlen(base);

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (strncmp(e->d_name, base, blen) != 0 || strncmp(e->d_name + blen, ".tmp.", 5) != 0 ||
            strlen(e->d_name + blen + 5) != 6)
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            jfa_logf(log, LOG_DEBUG, "removed stale temporary file %s/%s", dir, e->d_name);
    }
    closedir(d);
}

/* Seed an absent ledger from the previous database so UIDs survive. */
static int seed_ledger(struct jfa_ledger *l, const struct jfa_db *db, const struct jfa_config *cfg,
                       int64_t now, char *err, size_t errlen)
{
    uint32_t i;
    char sub[256];

    for (i = 0; i < db->n_users; i++) {
        struct jfa_db_user u;
        if (jfa_db_user_at(db, i, &u) != 0)
            continue;
        if (jfa_ledger_add_user(l, u.jf_id, u.uid, jfa_name_valid(u.name) ? u.name : NULL, now, sub,
                                sizeof(sub)) < 0 ||
            (jfa_name_valid(u.name) && jfa_ledger_find_claim(l, u.name) < 0 &&
             jfa_ledger_add_claim(l, u.name, u.jf_id, now, sub, sizeof(sub)) < 0)) {
            jfa_set_err(err, errlen, "rebuilding the ledger from the database: %s", sub);
            return -1;
        }
    }
    for (i = 0; i < 2; i++) {
        const char *g = i == 0 ? cfg->users_group : cfg->admin_group;
        struct jfa_db_group dg;
        if (g != NULL && g[0] != '\0' && jfa_db_group_by_name(db, g, &dg) == 0 &&
            jfa_ledger_find_group(l, g) < 0 &&
            jfa_ledger_add_group(l, g, dg.gid, now, sub, sizeof(sub)) < 0) {
            jfa_set_err(err, errlen, "rebuilding the ledger from the database: %s", sub);
            return -1;
        }
    }
    return 0;
}

static int fetch_users(const struct jfa_config *cfg, const struct jfa_log *log,
                       struct jfa_user_list *list, bool *used_public, char *err, size_t errlen)
{
    struct jfa_client c;
    char key[33], sub[JFA_ERRLEN];
    enum jfa_status st;
    int r, ret = -1;

    *used_public = false;
    r = jfa_api_key_read(cfg, key, sub, sizeof(sub));
    if (r < 0) {
        jfa_set_err(err, errlen, "%s", sub);
        return -1;
    }
    if (r == 1) {
        *used_public = true;
        jfa_logf(
            log, LOG_WARNING,
            "warning: no API key file %s: listing only public users (GET /Users/Public); hidden "
            "users (the default for new Jellyfin users) will be missing. Run "
            "`jellyfin-auth setup` to create a key",
            cfg->api_key_file);
    }
    if (jfa_client_init(&c, cfg, log, "jellyfin-auth", NULL) != 0) {
        jfa_set_err(err, errlen, "cannot set up the Jellyfin client");
        goto out;
    }
    st = jfa_list_users(&c, r == 0 ? key : NULL, list);
    if (st != JFA_OK) {
        const char *hint = "";
        if (st == JFA_ERR_AUTH || st == JFA_ERR_FORBIDDEN)
            hint = " (the API key was refused: create a new one with `jellyfin-auth setup`)";
        if (c.err[0] != '\0')
            jfa_set_err(err, errlen, "listing users failed: %s%s", c.err, hint);
        else
            jfa_set_err(err, errlen, "listing users (%s) failed: %s%s",
                        r == 0 ? "GET /Users" : "GET /Users/Public", jfa_status_str(st), hint);
        goto out;
    }
    ret = 0;
out:
    explicit_bzero(key, sizeof(key));
    return ret;
}

static void print_escaped(FILE *out, const char *s)
{
    char buf[1024];
    fputs(jfa_log_escape(buf, sizeof(buf), s), out);
}

/* --debug: CPU and wall time of each phase of a sync. */
struct phase_clock {
    struct timespec cpu, wall;
};

static void phase_start(struct phase_clock *pc)
{
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &pc->cpu);
    clock_gettime(CLOCK_MONOTONIC, &pc->wall);
}

static void phase_end(struct phase_clock *pc, const struct jfa_log *log, const char *what)
{
    struct phase_clock now;

    if (log == NULL || !log->debug)
        return;
    phase_start(&now);
    jfa_logf(log, LOG_DEBUG, "%s: %.3f s CPU, %.3f s wall", what,
             (double)(now.cpu.tv_sec - pc->cpu.tv_sec) +
                 (double)(now.cpu.tv_nsec - pc->cpu.tv_nsec) / 1e9,
             (double)(now.wall.tv_sec - pc->wall.tv_sec) +
                 (double)(now.wall.tv_nsec - pc->wall.tv_nsec) / 1e9);
    *pc = now;
}

/* jfa_write_atomic_hook's last step before the rename: mark the database
 * about to be replaced, so that processes mapping it look again at their
 * next lookup (doc/design.md "Replacement and staleness"). A failure costs
 * those readers at most the one-second recheck: reported, not fatal. */
static void mark_old_db(const char *path, void *arg)
{
    const struct jfa_log *log = arg;
    char sub[512];

    if (jfa_db_mark_replaced(path, sub, sizeof(sub)) < 0)
        jfa_logf(log, LOG_WARNING, "warning: %s", sub);
}

int jfa_sync_run(const struct jfa_config *cfg, const struct jfa_log *log,
                 const struct jfa_sync_options *opt, struct jfa_sync_summary *sum, char *err,
                 size_t errlen)
{
    FILE *out = opt->out != NULL ? opt->out : stdout;
    bool verbose = !opt->quiet;
    char *db_path = jfa_config_db_path(cfg), *priv = jfa_config_private_dir(cfg);
    char *ledger_path = jfa_sync_ledger_path(cfg), *report_path = jfa_sync_report_path(cfg);
    struct jfa_ledger ledger;
    struct jfa_db db;
    bool have_db = false;
    struct jfa_user_list list = {0};
    struct host_ctx host = {0};
    struct jfa_local local = {host_name_conflict, host_id_taken, host_group_gid, &host};
    struct jfa_sync_plan plan = {0};
    struct prev_user *prev = NULL;
    size_t n_prev = 0, i;
    unsigned char *img = NULL;
    size_t img_len = 0;
    char *report = NULL, *old_ledger = NULL;
    size_t report_len = 0, old_ledger_len = 0, n_old = 0;
    int64_t *old_seen = NULL;
    bool unchanged = false, ledger_loaded = false;
    int lock_fd = -1, ret = -1, r;
    int64_t now = (int64_t)time(NULL);
    uint64_t generation;
    char sub[JFA_ERRLEN];
    struct phase_clock pc;

    phase_start(&pc);
    memset(sum, 0, sizeof(*sum));
    memset(&db, 0, sizeof(db));
    jfa_ledger_init(&ledger);
    if (db_path == NULL || priv == NULL || ledger_path == NULL || report_path == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        goto out;
    }
    if (jfa_shell_check(cfg->shell, err, errlen) != 0)
        goto out;

    /* state dirs and the lock (a dry run creates nothing and takes no lock) */
    if (!opt->dry_run) {
        if (jfa_ensure_dir(cfg->state_dir, 0755, sub, sizeof(sub)) != 0 ||
            jfa_ensure_dir(priv, 0700, sub, sizeof(sub)) != 0) {
            jfa_set_err(err, errlen, "state directory: %s", sub);
            goto out;
        }
        if (take_lock(priv, log, &lock_fd, err, errlen) != 0)
            goto out;
        cleanup_temps(cfg->state_dir, "users.db", log);
        cleanup_temps(cfg->state_dir, "sync-report", log);
        cleanup_temps(priv, "ledger", log);
    }

    /* the ledger, then the previous database */
    r = jfa_ledger_load(&ledger, ledger_path, sub, sizeof(sub));
    ledger_loaded = r == 0;
    if (r < 0) {
        jfa_set_err(err, errlen, "ledger: %s (fix or restore it; it is never reset automatically)",
                    sub);
        goto out;
    }
    r = jfa_db_open(&db, db_path, geteuid() == 0);
    if (r == 0) {
        have_db = true;
    } else if (r != -ENOENT) {
        jfa_logf(log, LOG_WARNING,
                 "warning: previous database %s is unusable (%s); it will be replaced", db_path,
                 strerror(-r));
    }
    if (have_db && ledger.n_users == 0 && ledger.n_groups == 0 && db.n_users > 0) {
        jfa_logf(log, LOG_WARNING,
                 "warning: ledger %s is missing: rebuilding it from the database (%" PRIu32
                 " users; tombstones of deleted users are lost)",
                 ledger_path, db.n_users);
        if (seed_ledger(&ledger, &db, cfg, now, err, errlen) != 0)
            goto out;
    }

    phase_end(&pc, log, "lock, ledger and previous database");

    /* the server's users */
    if (fetch_users(cfg, log, &list, &sum->used_public, err, errlen) != 0)
        goto out;
    sum->listed = list.n;
    phase_end(&pc, log, "listing users (HTTP and JSON)");

    /* the plan */
    if (host_init(&host, have_db ? &db : NULL, log) != 0) {
        jfa_set_err(err, errlen, "cannot list the local users and groups: %s", strerror(errno));
        goto out;
    }
    phase_end(&pc, log, "local users and groups");
    /* the no-change path: what the ledger says before the plan, with the
     * active users' last-seen times, which the plan refreshes */
    if (ledger_loaded) {
        old_ledger = jfa_ledger_format(&ledger, &old_ledger_len);
        n_old = ledger.n_users;
        old_seen = calloc(n_old + 1, sizeof(*old_seen));
        if (old_ledger == NULL || old_seen == NULL) {
            jfa_set_err(err, errlen, "out of memory");
            goto out;
        }
        for (i = 0; i < n_old; i++)
            old_seen[i] = ledger.users[i].deleted ? -1 : ledger.users[i].last_seen;
    }
    if (jfa_sync_plan(cfg, &ledger, &list, &local, now, &plan, err, errlen) != 0)
        goto out;
    phase_end(&pc, log, "plan");
    if (plan.n_users == 0 && have_db && db.n_users > 0 && !opt->force) {
        jfa_set_err(err, errlen,
                    "refusing to replace a database of %" PRIu32
                    " users with an empty one (the server listed %zu users, %zu left out); "
                    "use --force if this is intended",
                    db.n_users, list.n, plan.n_omitted);
        goto out;
    }

    /* what changed */
    if (have_db) {
        prev = calloc(db.n_users + 1, sizeof(*prev));
        if (prev == NULL) {
            jfa_set_err(err, errlen, "out of memory");
            goto out;
        }
        for (i = 0; i < db.n_users; i++) {
            struct jfa_db_user u;
            if (jfa_db_user_at(&db, (uint32_t)i, &u) != 0)
                continue;
            memcpy(prev[n_prev].jf_id, u.jf_id, 33);
            prev[n_prev].name = u.name;
            prev[n_prev].uid = u.uid;
            prev[n_prev].flags = u.flags;
            n_prev++;
        }
        qsort(prev, n_prev, sizeof(*prev), cmp_prev);
    }
    for (i = 0; i < plan.n_users; i++) {
        const struct jfa_dbw_user *u = &plan.users[i];
        struct prev_user key, *p;

        memcpy(key.jf_id, u->jf_id, 33);
        p = n_prev ? bsearch(&key, prev, n_prev, sizeof(*prev), cmp_prev) : NULL;
        if (p == NULL) {
            sum->added++;
            if (verbose) {
                fprintf(out, "added    %s (uid %" PRIu32 ", Jellyfin \"", u->name, u->uid);
                print_escaped(out, u->jf_name);
                fprintf(out, "\")");
                if (plan.notes[i] != NULL)
                    fprintf(out, ": login name %s, %s", u->name, plan.notes[i]);
                fprintf(out, "\n");
            }
            continue;
        }
        p->seen = true;
        if (strcmp(p->name, u->name) != 0) {
            sum->renamed++;
            if (verbose) {
                fprintf(out, "renamed  %s -> %s (uid %" PRIu32 ")", p->name, u->name, u->uid);
                if (plan.notes[i] != NULL)
                    fprintf(out, ": %s", plan.notes[i]);
                fprintf(out, "\n");
            }
        }
        if (!(p->flags & JFA_DBU_DISABLED) && (u->flags & JFA_DBU_DISABLED)) {
            sum->disabled++;
            if (verbose)
                fprintf(out, "disabled %s (uid %" PRIu32 ")\n", u->name, u->uid);
        } else if ((p->flags & JFA_DBU_DISABLED) && !(u->flags & JFA_DBU_DISABLED)) {
            sum->enabled++;
            if (verbose)
                fprintf(out, "enabled  %s (uid %" PRIu32 ")\n", u->name, u->uid);
        }
    }
    for (i = 0; i < n_prev; i++) {
        if (prev[i].seen)
            continue;
        sum->removed++;
        if (verbose)
            fprintf(out, "removed  %s (uid %" PRIu32 ")\n", prev[i].name, prev[i].uid);
    }
    for (i = 0; i < plan.n_omitted; i++) {
        if (!verbose)
            break;
        fprintf(out, "omitted  \"");
        print_escaped(out, plan.omitted[i].jf_name);
        fprintf(out, "\" (Id %s): %s\n", plan.omitted[i].id, plan.omitted[i].reason);
    }
    if (verbose && plan.n_omitted > 0)
        fprintf(out, "'jellyfin-auth users' prints the command that gives each of them a login\n");
    sum->omitted = plan.n_omitted;
    sum->total = plan.n_users;

    /* the new files: build everything in memory first */
    generation = (uint64_t)now;
    if (have_db && db.generation >= generation)
        generation = db.generation + 1;
    if (jfa_db_build(plan.users, plan.n_users, plan.groups, plan.n_groups,
                     have_db ? db.generation : generation, &img, &img_len, sub, sizeof(sub)) != 0) {
        jfa_set_err(err, errlen, "building the database: %s", sub);
        goto out;
    }
    /* Nothing changed (the timer runs every minute): the same database
     * bytes under the old generation, the same ledger but for the active
     * users' last-seen times, the same report. Then nothing is written:
     * no NSS process remaps, no disk write, LAST_SEEN of active users
     * keeps the time of the last change. */
    if (have_db && old_ledger != NULL && img_len == db.size && memcmp(img, db.base, img_len) == 0) {
        char *now_ledger;
        size_t now_len = 0;
        int64_t *new_seen = calloc(n_old + 1, sizeof(*new_seen));

        if (new_seen == NULL) {
            jfa_set_err(err, errlen, "out of memory");
            goto out;
        }
        for (i = 0; i < n_old && i < ledger.n_users; i++) {
            new_seen[i] = ledger.users[i].last_seen;
            if (old_seen[i] >= 0 && !ledger.users[i].deleted)
                ledger.users[i].last_seen = old_seen[i];
        }
        now_ledger = jfa_ledger_format(&ledger, &now_len);
        unchanged = now_ledger != NULL && now_len == old_ledger_len &&
                    memcmp(now_ledger, old_ledger, now_len) == 0;
        free(now_ledger);
        if (!unchanged)
            for (i = 0; i < n_old && i < ledger.n_users; i++)
                ledger.users[i].last_seen = new_seen[i];
        free(new_seen);
        if (unchanged) {
            char *old_report = NULL;
            size_t old_report_len = 0;

            generation = db.generation;
            report = jfa_report_format(plan.omitted, plan.n_omitted, generation, &report_len);
            unchanged = report != NULL &&
                        jfa_read_trusted(report_path, 022, JFA_REPORT_MAX_FILE, &old_report,
                                         &old_report_len, sub, sizeof(sub)) == 0 &&
                        old_report_len == report_len && memcmp(old_report, report, report_len) == 0;
            free(old_report);
            free(report);
            report = NULL;
        }
        if (!unchanged)
            generation = db.generation + 1 > (uint64_t)now ? db.generation + 1 : (uint64_t)now;
    }
    jfa_put64(img + JFA_DBH_GENERATION, generation); /* outside the checksum */
    report = jfa_report_format(plan.omitted, plan.n_omitted, generation, &report_len);
    if (report == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        goto out;
    }
    phase_end(&pc, log, "changes, database image and report");
    if (!opt->dry_run && unchanged) {
        /* the report's mtime says when the last sync ran (status, doctor) */
        sum->unchanged = true;
        if (utimensat(AT_FDCWD, report_path, NULL, AT_SYMLINK_NOFOLLOW) != 0)
            jfa_logf(log, LOG_WARNING, "warning: cannot touch %s: %s", report_path,
                     strerror(errno));
        jfa_logf(log, LOG_DEBUG, "nothing changed: no file written");
    } else if (!opt->dry_run) {
        /* ledger first: a crash after it leaves unused ledger entries at
         * worst, never a database with ids the ledger does not know */
        if (jfa_ledger_save(&ledger, ledger_path, sub, sizeof(sub)) != 0) {
            jfa_set_err(err, errlen, "writing the ledger: %s", sub);
            goto out;
        }
        if (jfa_write_atomic_hook(db_path, img, img_len, 0644, mark_old_db, (void *)log, sub,
                                  sizeof(sub)) != 0) {
            jfa_set_err(err, errlen, "writing the database: %s", sub);
            goto out;
        }
        sum->written = true;
        if (jfa_write_atomic(report_path, report, report_len, 0644, sub, sizeof(sub)) != 0) {
            jfa_set_err(err, errlen, "writing the sync report: %s", sub);
            goto out;
        }
        phase_end(&pc, log, "writing ledger, database and report");
    }
    if (verbose)
        fprintf(out,
                "sync: %zu users in the database (%zu added, %zu removed, %zu renamed, "
                "%zu disabled, %zu enabled), %zu left out%s\n",
                sum->total, sum->added, sum->removed, sum->renamed, sum->disabled, sum->enabled,
                sum->omitted,
                opt->dry_run     ? "; dry run, nothing written"
                : sum->unchanged ? "; no change, nothing written"
                                 : "");
    ret = 0;
out:
    if (lock_fd >= 0)
        close(lock_fd);
    free(img);
    free(report);
    free(old_ledger);
    free(old_seen);
    free(prev);
    jfa_sync_plan_free(&plan);
    host_free(&host);
    jfa_user_list_free(&list);
    if (have_db)
        jfa_db_close(&db);
    jfa_ledger_free(&ledger);
    free(db_path);
    free(priv);
    free(ledger_path);
    free(report_path);
    return ret;
}
