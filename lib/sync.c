/*
 * lib/sync.c - directory sync: Jellyfin users -> users database.
 *
 * Owns: the orchestration of `jellyfin-auth sync` (see sync.h): the sync
 * lock, reading the API key and listing users, the ledger and the previous
 * database, the changes against it (reported to the caller, who prints
 * them), and the ordered atomic writes under the lock (ledger, then
 * users.db, then sync-report); also the shell check and the state paths.
 * The plan is lib/syncplan.c, the host's accounts lib/hostaccts.c, the
 * report's format lib/syncreport.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include "hostaccts.h"
#include "http.h"
#include "jellyfin.h"
#include "safepath.h"
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

/*
 * /etc/shells is read as the C library (and chsh) reads it: getusershell.
 * Its state is static (not thread-safe); the callers are the admin tool's
 * sync and doctor, which are single-threaded, and the PAM module does not
 * link this file (libjfatool).
 */
int jfa_shell_check(const char *shell, char *err, size_t errlen)
{
    struct stat st;
    const char *s;
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
    setusershell();
    while (!listed && (s = getusershell()) != NULL)
        listed = strcmp(s, shell) == 0;
    endusershell();
    if (!listed) {
        /* without the file glibc lists only /bin/sh and /bin/csh: say so */
        if (access("/etc/shells", R_OK) != 0)
            jfa_set_err(err, errlen, "shell %s: cannot read /etc/shells: %s", shell,
                        strerror(errno));
        else
            jfa_set_err(err, errlen, "shell %s: not listed in /etc/shells", shell);
        return -1;
    }
    return 0;
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

static void change(const struct jfa_sync_options *opt, enum jfa_sync_change_kind kind,
                   const char *name, const char *old_name, uint32_t uid, const char *jf_name,
                   const char *note)
{
    struct jfa_sync_change ch;

    if (opt->on_change == NULL)
        return;
    memset(&ch, 0, sizeof(ch));
    ch.kind = kind;
    ch.name = name;
    ch.old_name = old_name;
    ch.uid = uid;
    ch.jf_name = jf_name;
    ch.note = note;
    opt->on_change(opt->change_ctx, &ch);
}

/* The changes from the previous database (db, NULL: none) to the plan:
 * counted in sum, each reported to opt->on_change in a fixed order (added,
 * renamed, disabled or enabled per new user; removed; omitted; the end).
 * 0, or -1 out of memory. */
static int diff_changes(const struct jfa_sync_options *opt, const struct jfa_db *db,
                        const struct jfa_sync_plan *plan, struct jfa_sync_summary *sum)
{
    struct prev_user *prev = NULL;
    size_t n_prev = 0, i;

    if (db != NULL) {
        prev = calloc(db->n_users + 1, sizeof(*prev));
        if (prev == NULL)
            return -1;
        for (i = 0; i < db->n_users; i++) {
            struct jfa_db_user u;
            if (jfa_db_user_at(db, (uint32_t)i, &u) != 0)
                continue;
            memcpy(prev[n_prev].jf_id, u.jf_id, 33);
            prev[n_prev].name = u.name;
            prev[n_prev].uid = u.uid;
            prev[n_prev].flags = u.flags;
            n_prev++;
        }
        qsort(prev, n_prev, sizeof(*prev), cmp_prev);
    }
    for (i = 0; i < plan->n_users; i++) {
        const struct jfa_dbw_user *u = &plan->users[i];
        struct prev_user key, *p;

        memcpy(key.jf_id, u->jf_id, 33);
        p = n_prev ? bsearch(&key, prev, n_prev, sizeof(*prev), cmp_prev) : NULL;
        if (p == NULL) {
            sum->added++;
            change(opt, JFA_SYNC_ADDED, u->name, NULL, u->uid, u->jf_name, plan->notes[i]);
            continue;
        }
        p->seen = true;
        if (strcmp(p->name, u->name) != 0) {
            sum->renamed++;
            change(opt, JFA_SYNC_RENAMED, u->name, p->name, u->uid, NULL, plan->notes[i]);
        }
        if (!(p->flags & JFA_DBU_DISABLED) && (u->flags & JFA_DBU_DISABLED)) {
            sum->disabled++;
            change(opt, JFA_SYNC_DISABLED, u->name, NULL, u->uid, NULL, NULL);
        } else if ((p->flags & JFA_DBU_DISABLED) && !(u->flags & JFA_DBU_DISABLED)) {
            sum->enabled++;
            change(opt, JFA_SYNC_ENABLED, u->name, NULL, u->uid, NULL, NULL);
        }
    }
    for (i = 0; i < n_prev; i++) {
        if (prev[i].seen)
            continue;
        sum->removed++;
        change(opt, JFA_SYNC_REMOVED, prev[i].name, NULL, prev[i].uid, NULL, NULL);
    }
    for (i = 0; i < plan->n_omitted; i++) {
        struct jfa_sync_change ch;

        if (opt->on_change == NULL)
            break;
        memset(&ch, 0, sizeof(ch));
        ch.kind = JFA_SYNC_OMITTED;
        ch.jf_name = plan->omitted[i].jf_name;
        ch.jf_id = plan->omitted[i].id;
        ch.reason = plan->omitted[i].reason;
        opt->on_change(opt->change_ctx, &ch);
    }
    change(opt, JFA_SYNC_END, NULL, NULL, 0, NULL, NULL);
    sum->omitted = plan->n_omitted;
    sum->total = plan->n_users;
    free(prev);
    return 0;
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
    if (r == JFA_ABSENT) {
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

/* One sync in progress: its inputs, what it loaded and what it built. */
struct sync_run {
    const struct jfa_config *cfg;
    const struct jfa_log *log;
    const struct jfa_sync_options *opt;
    struct jfa_sync_summary *sum;
    char *db_path, *priv, *ledger_path, *report_path;
    int lock_fd;
    struct jfa_ledger ledger;
    bool ledger_loaded;
    struct jfa_db db;
    bool have_db;
    struct jfa_user_list list;
    struct jfa_host host;
    struct jfa_sync_plan plan;
    char *old_ledger; /* the ledger as loaded, formatted (no-change check) */
    size_t old_ledger_len, n_old;
    int64_t *old_seen; /* per loaded ledger user: last_seen, -1 deleted */
    unsigned char *img;
    size_t img_len;
    uint64_t generation;
    bool unchanged;
    char *report;
    size_t report_len;
    int64_t now;
    struct phase_clock pc;
    char *err;
    size_t errlen;
};

/* The state directories and the lock (a dry run creates nothing and takes
 * no lock), then the temp files an interrupted sync left. */
static int run_lock(struct sync_run *r)
{
    char sub[JFA_ERRLEN];

    if (r->opt->dry_run)
        return 0;
    if (jfa_ensure_dir(r->cfg->state_dir, 0755, sub, sizeof(sub)) != 0 ||
        jfa_ensure_dir(r->priv, 0700, sub, sizeof(sub)) != 0) {
        jfa_set_err(r->err, r->errlen, "state directory: %s", sub);
        return -1;
    }
    /* nothing is written where another user may rename a directory above */
    if (jfa_safe_path(r->cfg->state_dir, sub, sizeof(sub)) != 0) {
        jfa_set_err(r->err, r->errlen, "state directory %s is not safe: %s", r->cfg->state_dir,
                    sub);
        return -1;
    }
    if (take_lock(r->priv, r->log, &r->lock_fd, r->err, r->errlen) != 0)
        return -1;
    cleanup_temps(r->cfg->state_dir, "users.db", r->log);
    cleanup_temps(r->cfg->state_dir, "sync-report", r->log);
    cleanup_temps(r->priv, "ledger", r->log);
    return 0;
}

/* The ledger, then the previous database (rebuilding a missing ledger from
 * it). */
static int run_load_previous(struct sync_run *r)
{
    char sub[JFA_ERRLEN];
    int rc;

    rc = jfa_ledger_load(&r->ledger, r->ledger_path, sub, sizeof(sub));
    r->ledger_loaded = rc == 0;
    if (rc < 0) {
        jfa_set_err(r->err, r->errlen,
                    "ledger: %s (fix or restore it; it is never reset automatically)", sub);
        return -1;
    }
    rc = jfa_db_open(&r->db, r->db_path, geteuid() == 0);
    if (rc == 0) {
        r->have_db = true;
    } else if (rc != -ENOENT) {
        jfa_logf(r->log, LOG_WARNING,
                 "warning: previous database %s is unusable (%s); it will be replaced", r->db_path,
                 strerror(-rc));
    }
    if (r->have_db && r->ledger.n_users == 0 && r->ledger.n_groups == 0 && r->db.n_users > 0) {
        jfa_logf(r->log, LOG_WARNING,
                 "warning: ledger %s is missing: rebuilding it from the database (%" PRIu32
                 " users; tombstones of deleted users are lost)",
                 r->ledger_path, r->db.n_users);
        if (seed_ledger(&r->ledger, &r->db, r->cfg, r->now, r->err, r->errlen) != 0)
            return -1;
    }
    return 0;
}

/* The host's accounts, the ledger as loaded (for the no-change check: the
 * plan refreshes the active users' last-seen times), then the plan. */
static int run_plan(struct sync_run *r)
{
    struct jfa_local local = {jfa_host_name_conflict, jfa_host_id_taken, jfa_host_group_gid,
                              &r->host};
    size_t i;

    if (jfa_host_init(&r->host, r->have_db ? &r->db : NULL, r->log) != 0) {
        jfa_set_err(r->err, r->errlen, "cannot list the local users and groups: %s",
                    strerror(errno));
        return -1;
    }
    phase_end(&r->pc, r->log, "local users and groups");
    if (r->ledger_loaded) {
        r->old_ledger = jfa_ledger_format(&r->ledger, &r->old_ledger_len);
        r->n_old = r->ledger.n_users;
        r->old_seen = calloc(r->n_old + 1, sizeof(*r->old_seen));
        if (r->old_ledger == NULL || r->old_seen == NULL) {
            jfa_set_err(r->err, r->errlen, "out of memory");
            return -1;
        }
        for (i = 0; i < r->n_old; i++)
            r->old_seen[i] = r->ledger.users[i].deleted ? -1 : r->ledger.users[i].last_seen;
    }
    if (jfa_sync_plan(r->cfg, &r->ledger, &r->list, &local, r->now, &r->plan, r->err, r->errlen) !=
        0)
        return -1;
    phase_end(&r->pc, r->log, "plan");
    if (r->plan.n_users == 0 && r->have_db && r->db.n_users > 0 && !r->opt->force) {
        jfa_set_err(r->err, r->errlen,
                    "refusing to replace a database of %" PRIu32
                    " users with an empty one (the server listed %zu users, %zu left out); "
                    "use --force if this is intended",
                    r->db.n_users, r->list.n, r->plan.n_omitted);
        return -1;
    }
    return 0;
}

/* Nothing changed (the timer runs every minute): the same database bytes
 * under the old generation, the same ledger but for the active users'
 * last-seen times, the same report. Then nothing is written: no NSS
 * process remaps, no disk write, LAST_SEEN of active users keeps the time
 * of the last change. Sets r->unchanged and r->generation. */
static int run_check_unchanged(struct sync_run *r)
{
    struct jfa_ledger *ledger = &r->ledger;
    char *now_ledger, sub[JFA_ERRLEN];
    size_t now_len = 0, i;
    int64_t *new_seen;

    if (!r->have_db || r->old_ledger == NULL || r->img_len != r->db.size ||
        memcmp(r->img, r->db.base, r->img_len) != 0)
        return 0;
    new_seen = calloc(r->n_old + 1, sizeof(*new_seen));
    if (new_seen == NULL) {
        jfa_set_err(r->err, r->errlen, "out of memory");
        return -1;
    }
    for (i = 0; i < r->n_old && i < ledger->n_users; i++) {
        new_seen[i] = ledger->users[i].last_seen;
        if (r->old_seen[i] >= 0 && !ledger->users[i].deleted)
            ledger->users[i].last_seen = r->old_seen[i];
    }
    now_ledger = jfa_ledger_format(ledger, &now_len);
    r->unchanged = now_ledger != NULL && now_len == r->old_ledger_len &&
                   memcmp(now_ledger, r->old_ledger, now_len) == 0;
    free(now_ledger);
    if (!r->unchanged)
        for (i = 0; i < r->n_old && i < ledger->n_users; i++)
            ledger->users[i].last_seen = new_seen[i];
    free(new_seen);
    if (r->unchanged) {
        char *old_report = NULL, *report;
        size_t old_report_len = 0, report_len = 0;

        r->generation = r->db.generation;
        report = jfa_report_format(r->plan.omitted, r->plan.n_omitted, r->generation, &report_len);
        r->unchanged = report != NULL &&
                       jfa_read_trusted(r->report_path, 022, JFA_REPORT_MAX_FILE, &old_report,
                                        &old_report_len, sub, sizeof(sub)) == 0 &&
                       old_report_len == report_len && memcmp(old_report, report, report_len) == 0;
        free(old_report);
        free(report);
    }
    if (!r->unchanged)
        r->generation =
            r->db.generation + 1 > (uint64_t)r->now ? r->db.generation + 1 : (uint64_t)r->now;
    return 0;
}

/* The new files, built in memory: the database image and the report. */
static int run_build(struct sync_run *r)
{
    char sub[JFA_ERRLEN];

    r->generation = (uint64_t)r->now;
    if (r->have_db && r->db.generation >= r->generation)
        r->generation = r->db.generation + 1;
    if (jfa_db_build(r->plan.users, r->plan.n_users, r->plan.groups, r->plan.n_groups,
                     r->have_db ? r->db.generation : r->generation, &r->img, &r->img_len, sub,
                     sizeof(sub)) != 0) {
        jfa_set_err(r->err, r->errlen, "building the database: %s", sub);
        return -1;
    }
    if (run_check_unchanged(r) != 0)
        return -1;
    jfa_put64(r->img + JFA_DBH_GENERATION, r->generation); /* outside the checksum */
    r->report =
        jfa_report_format(r->plan.omitted, r->plan.n_omitted, r->generation, &r->report_len);
    if (r->report == NULL) {
        jfa_set_err(r->err, r->errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* Write (ledger, then users.db, then sync-report), or, when nothing
 * changed, only touch the report. */
static int run_write(struct sync_run *r)
{
    char sub[JFA_ERRLEN];

    if (r->opt->dry_run)
        return 0;
    if (r->unchanged) {
        /* the report's mtime says when the last sync ran (status, doctor) */
        r->sum->unchanged = true;
        if (utimensat(AT_FDCWD, r->report_path, NULL, AT_SYMLINK_NOFOLLOW) != 0)
            jfa_logf(r->log, LOG_WARNING, "warning: cannot touch %s: %s", r->report_path,
                     strerror(errno));
        jfa_logf(r->log, LOG_DEBUG, "nothing changed: no file written");
        return 0;
    }
    /* ledger first: a crash after it leaves unused ledger entries at
     * worst, never a database with ids the ledger does not know */
    if (jfa_ledger_save(&r->ledger, r->ledger_path, sub, sizeof(sub)) != 0) {
        jfa_set_err(r->err, r->errlen, "writing the ledger: %s", sub);
        return -1;
    }
    if (jfa_write_atomic_hook(r->db_path, r->img, r->img_len, 0644, mark_old_db, (void *)r->log,
                              sub, sizeof(sub)) != 0) {
        jfa_set_err(r->err, r->errlen, "writing the database: %s", sub);
        return -1;
    }
    r->sum->written = true;
    if (jfa_write_atomic(r->report_path, r->report, r->report_len, 0644, sub, sizeof(sub)) != 0) {
        jfa_set_err(r->err, r->errlen, "writing the sync report: %s", sub);
        return -1;
    }
    phase_end(&r->pc, r->log, "writing ledger, database and report");
    return 0;
}

int jfa_sync_run(const struct jfa_config *cfg, const struct jfa_log *log,
                 const struct jfa_sync_options *opt, struct jfa_sync_summary *sum, char *err,
                 size_t errlen)
{
    struct sync_run r;
    int ret = -1;

    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.log = log;
    r.opt = opt;
    r.sum = sum;
    r.err = err;
    r.errlen = errlen;
    r.lock_fd = -1;
    r.now = (int64_t)time(NULL);
    phase_start(&r.pc);
    memset(sum, 0, sizeof(*sum));
    jfa_ledger_init(&r.ledger);
    r.db_path = jfa_config_db_path(cfg);
    r.priv = jfa_config_private_dir(cfg);
    r.ledger_path = jfa_sync_ledger_path(cfg);
    r.report_path = jfa_sync_report_path(cfg);
    if (r.db_path == NULL || r.priv == NULL || r.ledger_path == NULL || r.report_path == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        goto out;
    }
    if (jfa_shell_check(cfg->shell, err, errlen) != 0)
        goto out;
    if (run_lock(&r) != 0 || run_load_previous(&r) != 0)
        goto out;
    phase_end(&r.pc, log, "lock, ledger and previous database");
    if (fetch_users(cfg, log, &r.list, &sum->used_public, err, errlen) != 0)
        goto out;
    sum->listed = r.list.n;
    phase_end(&r.pc, log, "listing users (HTTP and JSON)");
    if (run_plan(&r) != 0)
        goto out;
    if (diff_changes(opt, r.have_db ? &r.db : NULL, &r.plan, sum) != 0) {
        jfa_set_err(err, errlen, "out of memory");
        goto out;
    }
    if (run_build(&r) != 0)
        goto out;
    phase_end(&r.pc, log, "changes, database image and report");
    if (run_write(&r) != 0)
        goto out;
    ret = 0;
out:
    if (r.lock_fd >= 0)
        close(r.lock_fd);
    free(r.img);
    free(r.report);
    free(r.old_ledger);
    free(r.old_seen);
    jfa_sync_plan_free(&r.plan);
    jfa_host_free(&r.host);
    jfa_user_list_free(&r.list);
    if (r.have_db)
        jfa_db_close(&r.db);
    jfa_ledger_free(&r.ledger);
    free(r.db_path);
    free(r.priv);
    free(r.ledger_path);
    free(r.report_path);
    return ret;
}
