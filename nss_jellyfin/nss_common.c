/*
 * nss_common.c - shared state of libnss_jellyfin.so.2.
 *
 * Owns: the module's single mutex and everything it protects: the lookup
 * mapping of the users database and the two enumeration cursors. The
 * mapping is replaced (old one unmapped) only with the lock held, and every
 * lookup copies its answer into the caller's buffer before unlocking, so no
 * thread ever reads unmapped memory. pthread_atfork keeps the lock
 * consistent across fork. Also: copying records into struct passwd/group.
 * Enumerations hold a reference to the mapping they walk and step through
 * it without the lock (jfa_nss_cursor_walk).
 * Staleness: a lookup costs no system call while the mapping is current.
 * It reads the watch word our writer sets in a file just before renaming a
 * new one over it (then lstat confirms and the file is reopened), and,
 * against other writers, lstats the path at most once a second
 * (CLOCK_MONOTONIC_COARSE, read from the vDSO). doc/design.md
 * "Replacement and staleness". The database path (JELLYFIN_AUTH_DB or the
 * compiled-in one) is read once per process, at the first lookup.
 * The module never writes a file and never touches the network.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db_format.h"
#include "nss_common.h"
#include "safepath.h"
#include "util.h"

/* Longest time a lookup serves an unmarked mapping without an lstat of the
 * path: the bound for replacements by writers that do not mark the old
 * file (a copy renamed into place, an older jellyfin-auth). */
#define JFA_NSS_RECHECK_NS 1000000000LL

static pthread_mutex_t jfa_nss_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t jfa_nss_once = PTHREAD_ONCE_INIT;

/*
 * All of the following only with jfa_nss_mutex held.
 * Mappings are reference counted: the lookup slot holds one reference to
 * the current mapping, each open enumeration one to the mapping it walks.
 * At most three are alive at once (lookup + passwd walk + group walk), so a
 * fixed pool suffices; a mapping is unmapped when its last holder lets go.
 */
struct mapping {
    struct jfa_db db;
    unsigned refs;
};

struct cursor_state {
    struct jfa_nss_cursor pub;
    struct mapping *map;
    bool open;    /* set*ent/get*ent happened since the last end*ent */
    int open_err; /* errno of a failed open, reported until end/set*ent */
};

static struct mapping pool[3];
static struct mapping *lookup_map;
static struct cursor_state cursors[2];
/* CLOCK_MONOTONIC_COARSE time of the last lstat that found lookup_map
 * current (or of its open). */
static int64_t lookup_checked_ns;
/* The last database file that failed to open (bad header, unsafe mode...),
 * so that lookups against a broken file cost one lstat, not a reopen. */
static struct {
    bool set;
    int err;
    struct stat st;
} failed;

/*
 * The database path, set once per process by module_init (pthread_once,
 * before the first lookup takes the lock) and never written again, so
 * lookups read it without comparing or measuring it. A copy, not the
 * pointer into environ: the program may change its environment later.
 * db_path_err is ENAMETOOLONG for a JELLYFIN_AUTH_DB of PATH_MAX bytes or
 * more (every lookup then fails with it, as before).
 */
static char db_path[PATH_MAX];
static int db_path_err;
static bool db_path_builtin; /* db_path is the compiled-in path */

/*
 * Prefetch hints: where the hash tables of the lookup mapping are, so that
 * an entry point can start loading the slot its key hashes to before it
 * takes the lock (the load then overlaps the lock, the staleness check and
 * the name checks). Written with the lock held whenever lookup_map
 * changes, read without it: a hint may be stale or torn, which is
 * harmless because it is used only as a prefetch address (a prefetch
 * never faults and changes no data); the lookup itself reads the table
 * under the lock. Version 2 tables only (8-byte slots); with a cell table
 * (db_format.h) also the key's home cell, both of its first two lines (a
 * 128-byte cell's second line is not fetched by the hardware on its own:
 * without it a user hit at 100,000 users costs 80-90 ns more; the cell
 * after it: no gain; bench/README.md "Cell tables"). The lookup reads the
 * slot first and the cell on a tag match, so the two loads overlap.
 */
static struct {
    const unsigned char *slots;
    uint32_t mask;
    const unsigned char *cells; /* NULL: no cell table, prefetch the slot */
    uint32_t n, stride;
} hint[4];

static void set_hints(const struct jfa_db *db)
{
    static const enum jfa_db_sec tab[4] = {JFA_SEC_H_UNAME, JFA_SEC_H_UID, JFA_SEC_H_GNAME,
                                           JFA_SEC_H_GID};
    for (int k = 0; k < 4; k++) {
        const unsigned char *slots = NULL, *cells = NULL;
        uint32_t mask = 0, n = 0, stride = 0;
        if (db && db->version == JFA_DB_VERSION) {
            slots = db->base + db->sec_off[tab[k]];
            mask = (uint32_t)(db->sec_len[tab[k]] / JFA_DB2_SLOT_SIZE - 1);
            if (db->cell_n[k] != 0) {
                cells = db->base + db->cell_off[k];
                n = db->cell_n[k];
                stride = db->cell_stride[k];
            }
        }
        __atomic_store_n(&hint[k].slots, slots, __ATOMIC_RELAXED);
        __atomic_store_n(&hint[k].mask, mask, __ATOMIC_RELAXED);
        __atomic_store_n(&hint[k].cells, cells, __ATOMIC_RELAXED);
        __atomic_store_n(&hint[k].n, n, __ATOMIC_RELAXED);
        __atomic_store_n(&hint[k].stride, stride, __ATOMIC_RELAXED);
    }
}

static void prefetch_slot(enum jfa_nss_table t, uint32_t hash)
{
    const unsigned char *cells = __atomic_load_n(&hint[t].cells, __ATOMIC_RELAXED);
    const unsigned char *slots;
    uint32_t mask;

    if (cells) {
        uint32_t stride = __atomic_load_n(&hint[t].stride, __ATOMIC_RELAXED);
        const unsigned char *c =
            cells +
            (size_t)stride * jfa_db_cell_home(hash, __atomic_load_n(&hint[t].n, __ATOMIC_RELAXED));
        __builtin_prefetch(c);
        __builtin_prefetch(c + 64);
    }
    slots = __atomic_load_n(&hint[t].slots, __ATOMIC_RELAXED);
    mask = __atomic_load_n(&hint[t].mask, __ATOMIC_RELAXED);
    if (slots)
        __builtin_prefetch(slots + (size_t)JFA_DB2_SLOT_SIZE * (hash & mask));
}

bool jfa_nss_query(enum jfa_nss_table t, const char *name, struct jfa_db_query *q)
{
    if (!jfa_db_query_name(q, name))
        return false;
    prefetch_slot(t, q->hash);
    return jfa_nss_name_ours_n(name, q->len);
}

void jfa_nss_prefetch_id(enum jfa_nss_table t, uint32_t id)
{
    prefetch_slot(t, jfa_db_hash_id(id));
}

static void map_release(struct mapping *m)
{
    if (m && --m->refs == 0)
        jfa_db_close(&m->db);
}

static struct mapping *map_free_slot(void)
{
    for (size_t i = 0; i < sizeof(pool) / sizeof(pool[0]); i++)
        if (pool[i].refs == 0)
            return &pool[i];
    return NULL; /* cannot happen: at most 2 cursors + the slot being refilled */
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&jfa_nss_mutex);
}

static void atfork_release(void)
{
    pthread_mutex_unlock(&jfa_nss_mutex);
}

/* Once per process: read the database path (JELLYFIN_AUTH_DB through
 * secure_getenv, so never in a set-id program, else the compiled-in path)
 * and register the fork handlers. A child created by fork inherits both. */
static void module_init(void)
{
    const char *path = jfa_db_default_path();
    size_t len = strlen(path);

    if (len < sizeof(db_path)) {
        memcpy(db_path, path, len + 1);
        db_path_builtin = strcmp(db_path, jfa_db_builtin_path()) == 0;
    } else {
        db_path_err = ENAMETOOLONG;
    }
    /* If this fails the module still works; fork while another thread is
     * inside a lookup could then leave the child's copy of the lock held. */
    (void)pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

void jfa_nss_lock(void)
{
    pthread_once(&jfa_nss_once, module_init);
    pthread_mutex_lock(&jfa_nss_mutex);
}

void jfa_nss_unlock(void)
{
    pthread_mutex_unlock(&jfa_nss_mutex);
}

/* The compiled-in path must be root's; an override may be the caller's.
 * Every directory above it too (jfa_safe_path, once per open: a failure is
 * remembered with the file's identity like any other). */
static int open_db(struct jfa_db *db, const char *path, bool builtin)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    int rc;

    memset(db, 0, sizeof(*db));
    if (slash != NULL && path[0] == '/' && (size_t)(slash - path) < sizeof(dir)) {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
        rc = jfa_safe_path(dir[0] != '\0' ? dir : "/", NULL, 0);
        if (rc != 0)
            return rc == JFA_ABSENT ? -ENOENT : -EPERM;
    }
    rc = jfa_db_open(db, path, builtin);
    db->no_jf_id = true; /* NSS answers never carry the Jellyfin Id */
    return rc;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_mode == b->st_mode && a->st_uid == b->st_uid;
}

/* CLOCK_MONOTONIC_COARSE in ns: a vDSO read, no system call. INT64_MAX if
 * the clock is unavailable, which makes every lookup recheck. */
static int64_t coarse_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
        return INT64_MAX;
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Lock held, current_map's slow path (now: its coarse_now): check the
 * mapping against the path, reopen if the file was replaced. Out of line,
 * so that the fast path has no stack frame to set up. */
static __attribute__((noinline)) struct mapping *refresh_map(int64_t now, int *errnop)
{
    struct mapping *m;
    struct stat st;
    bool have_st;
    int rc;

    if (lookup_map) {
        /* marked (maybe still at the path: the writer marks just before
         * its rename), unmarkable, or time for the backstop: ask the file
         * system */
        if (!jfa_db_stale(&lookup_map->db, db_path)) {
            lookup_checked_ns = now;
            return lookup_map;
        }
    }
    map_release(lookup_map);
    lookup_map = NULL;
    set_hints(NULL);
    if (db_path_err) {
        *errnop = db_path_err;
        return NULL;
    }
    /* identity taken before the open: if the file changes in between, the
     * next call sees a different identity and tries again */
    have_st = lstat(db_path, &st) == 0;
    if (have_st && failed.set && same_file(&st, &failed.st)) {
        *errnop = failed.err;
        return NULL;
    }
    failed.set = false;
    m = map_free_slot();
    if (!m) {
        *errnop = EAGAIN;
        return NULL;
    }
    rc = open_db(&m->db, db_path, db_path_builtin);
    if (rc != 0) {
        if (have_st) {
            failed.set = true;
            failed.err = -rc;
            failed.st = st;
        }
        *errnop = -rc;
        return NULL;
    }
    m->refs = 1;
    lookup_map = m;
    set_hints(&m->db);
    lookup_checked_ns = now;
    return m;
}

/* Lock held: the current mapping (reopened if the file was replaced). */
static inline struct mapping *current_map(int *errnop)
{
    int64_t now = coarse_now();
    struct mapping *m = lookup_map;

    /* the fast path: a file that can be marked (an older one without a
     * watch block cannot), not marked, and checked recently */
    if (m && m->db.replaced != NULL && !jfa_db_marked(&m->db) && now != INT64_MAX &&
        now - lookup_checked_ns < JFA_NSS_RECHECK_NS)
        return m;
    return refresh_map(now, errnop);
}

const struct jfa_db *jfa_nss_db(int *errnop)
{
    struct mapping *m = current_map(errnop);
    return m ? &m->db : NULL;
}

struct jfa_nss_cursor *jfa_nss_cursor_get(enum jfa_nss_which w, int *errnop)
{
    struct cursor_state *c = &cursors[w];

    if (!c->open) {
        int err = 0;
        struct mapping *m = current_map(&err);
        c->open = true;
        c->open_err = m ? 0 : err;
        c->map = m;
        c->pub.db = m ? &m->db : NULL;
        c->pub.next = 0;
        if (m)
            m->refs++;
    }
    if (!c->map) {
        *errnop = c->open_err ? c->open_err : EINVAL;
        return NULL;
    }
    return &c->pub;
}

/*
 * No lock once the walk has its mapping: the cursor's reference keeps the
 * mapping mapped and its slot in the pool unused by anyone else, lookups
 * never touch the cursors, and the only writers of this cursor are
 * set*ent, end*ent and the opening get*ent of the same database, which a
 * caller must not run at the same time as this call: glibc's manual marks
 * the enumeration functions MT-Unsafe (race:pwent, race:grent), and glibc
 * itself serialises them with one lock per database (nss/getXXent_r.c),
 * whose hand-over also orders our writes before a later call in another
 * thread. What this gives up: a caller breaking that rule (possible only
 * when calling the module directly, or through nss_wrapper from several
 * threads on one stream) got interleaved entries with the lock; now an
 * end*ent racing with get*ent could unmap what the walk reads. The lock it
 * saves costs two atomic operations per entry, about a quarter of the
 * module's own time per entry (bench/README.md).
 */
struct jfa_nss_cursor *jfa_nss_cursor_walk(enum jfa_nss_which w, int *errnop)
{
    struct cursor_state *c = &cursors[w];
    struct jfa_nss_cursor *r;

    if (c->open && c->map)
        return &c->pub;
    jfa_nss_lock();
    r = jfa_nss_cursor_get(w, errnop);
    jfa_nss_unlock();
    return r;
}

void jfa_nss_cursor_close(enum jfa_nss_which w)
{
    struct cursor_state *c = &cursors[w];

    map_release(c->map);
    memset(c, 0, sizeof(*c));
}

enum nss_status jfa_nss_status(int rc, int *errnop)
{
    if (rc == 0)
        return NSS_STATUS_SUCCESS;
    if (rc == -ENOENT) {
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
    }
    *errnop = rc < 0 ? -rc : EINVAL;
    return NSS_STATUS_UNAVAIL;
}

/* Append s to the buffer cursor; the caller has checked the space. */
static char *put(char **p, const char *s)
{
    size_t n = strlen(s) + 1;
    char *r = *p;
    memcpy(r, s, n);
    *p += n;
    return r;
}

/* Append the n bytes of s and its NUL (s[n] is NUL: checked by the
 * reader); the caller has checked the space. */
static char *put_n(char **p, const char *s, size_t n)
{
    char *r = *p;
    memcpy(r, s, n + 1);
    *p += n + 1;
    return r;
}

enum nss_status jfa_nss_fill_passwd(const struct jfa_db_user *u, struct passwd *pw, char *buf,
                                    size_t buflen, int *errnop)
{
    /* stored lengths (no strlen): a hidden NUL only shortens a field */
    size_t need = (size_t)u->name_len + u->gecos_len + u->home_len + u->shell_len + 6;
    char *p = buf;

    if (!buf || need > buflen) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    pw->pw_uid = u->uid;
    pw->pw_gid = u->gid;
    /* version 2 stores name, gecos, home and shell one after the other,
     * each with its NUL: one copy (the same bytes put_n would copy) */
    if (u->gecos == u->name + u->name_len + 1 && u->home == u->gecos + u->gecos_len + 1 &&
        u->shell == u->home + u->home_len + 1) {
        memcpy(p, u->name, need - 2);
        pw->pw_name = p;
        pw->pw_gecos = p + u->name_len + 1;
        pw->pw_dir = pw->pw_gecos + u->gecos_len + 1;
        pw->pw_shell = pw->pw_dir + u->home_len + 1;
        p += need - 2;
        pw->pw_passwd = put_n(&p, "*", 1);
        return NSS_STATUS_SUCCESS;
    }
    pw->pw_name = put_n(&p, u->name, u->name_len);
    /* "*", not "x": there is no shadow entry, and pam_unix treats an "x"
     * without one as an error (PAM_AUTHINFO_UNAVAIL) in the account stack
     * instead of stepping aside for pam_jellyfin. SSSD does the same. */
    pw->pw_passwd = put_n(&p, "*", 1);
    pw->pw_gecos = put_n(&p, u->gecos, u->gecos_len);
    pw->pw_dir = put_n(&p, u->home, u->home_len);
    pw->pw_shell = put_n(&p, u->shell, u->shell_len);
    return NSS_STATUS_SUCCESS;
}

enum nss_status jfa_nss_fill_group(const struct jfa_db *db, const struct jfa_db_group *g,
                                   struct group *gr, char *buf, size_t buflen, int *errnop)
{
    size_t pad =
        (alignof(char *) - ((uintptr_t)buf & (alignof(char *) - 1))) & (alignof(char *) - 1);
    size_t need = pad, strs = strlen(g->name) + 3;
    char **mem;
    char *p;

    /* (n_members + 1) pointers: n_members <= file size / 8, no overflow */
    need += ((size_t)g->n_members + 1) * sizeof(char *);
    for (uint32_t i = 0; i < g->n_members; i++) {
        const char *m = jfa_db_group_member(db, g, i);
        if (!m) {
            *errnop = EINVAL;
            return NSS_STATUS_UNAVAIL;
        }
        strs += strlen(m) + 1;
    }
    need += strs;
    if (!buf || need > buflen) {
        *errnop = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    mem = (char **)(void *)(buf + pad);
    p = buf + pad + ((size_t)g->n_members + 1) * sizeof(char *);
    gr->gr_name = put(&p, g->name);
    gr->gr_passwd = put(&p, "*");
    gr->gr_gid = g->gid;
    for (uint32_t i = 0; i < g->n_members; i++)
        mem[i] = put(&p, jfa_db_group_member(db, g, i));
    mem[g->n_members] = NULL;
    gr->gr_mem = mem;
    return NSS_STATUS_SUCCESS;
}

enum nss_status jfa_nss_setent(enum jfa_nss_which w)
{
    enum nss_status st = NSS_STATUS_SUCCESS;
    int err = 0;

    jfa_nss_lock();
    jfa_nss_cursor_close(w);
    if (!jfa_nss_cursor_get(w, &err))
        st = NSS_STATUS_UNAVAIL;
    jfa_nss_unlock();
    return st;
}

enum nss_status jfa_nss_endent(enum jfa_nss_which w)
{
    jfa_nss_lock();
    jfa_nss_cursor_close(w);
    jfa_nss_unlock();
    return NSS_STATUS_SUCCESS;
}
