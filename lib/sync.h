/*
 * sync.h - directory sync: Jellyfin users -> users database.
 *
 * Owns: the interface of `jellyfin-auth sync` end to end: the user listing
 * (GET /Users with the API key that lib/apikey.h reads, or GET /Users/Public
 * with a warning when there is no key file), the plan (name mapping,
 * collisions, local-account checks, UID and GID allocation through the
 * ledger, groups), the changes against the previous database (reported to
 * the caller, who prints them), and the ordered, atomic writes (ledger, then
 * users.db, then sync-report) under the sync lock. On any failure nothing is
 * written. Name claims (lib/ledger.h) keep a name with its Id for good.
 * Also the sync-report file (omitted users, public names only) that
 * `users`, `names` and `status` read, and the shell check.
 * Implemented in lib/sync.c (the run), lib/syncplan.c (the plan),
 * lib/syncreport.c (the report) over lib/hostaccts.h (the host's accounts).
 */
#ifndef JFA_SYNC_H
#define JFA_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jfaconf.h"
#include "dbwrite.h"
#include "jfjson.h"
#include "ledger.h"
#include "log.h"

#define JFA_REPORT_MAGIC "jellyfin-auth-report 1"
#define JFA_REPORT_MAX_FILE (64u * 1024u * 1024u)

/* A Jellyfin user left out of the database, and why. */
struct jfa_omission {
    char id[33];
    char *jf_name; /* as the server spells it */
    char *reason;
};

/* state_dir/sync-report (mode 0644): the omissions of the last sync. */
struct jfa_sync_report {
    uint64_t generation; /* of the database written with it */
    struct jfa_omission *items;
    size_t n;
};

/*
 * What the host already has, for the collision rules. Each returns 0 (no),
 * 1 (yes) or -1 (lookup failed: the sync stops). Entries that equal our own
 * previous database (the NSS module may be serving it) are not "local".
 */
struct jfa_local {
    /* Is name a local user or group? *what: "a local account" / "a local group" */
    int (*name_conflict)(void *ctx, const char *name, const char **what);
    /* Is id a local uid or gid? */
    int (*id_taken)(void *ctx, uint32_t id);
    /* Is there a local group of that name? *gid gets its gid. */
    int (*group_gid)(void *ctx, const char *name, uint32_t *gid);
    void *ctx;
};

/* The database contents computed by jfa_sync_plan. */
struct jfa_sync_plan {
    struct jfa_dbw_user *users; /* sorted by name */
    const char **notes;         /* per user: how the login name was chosen
                                 * when not by mapping (names set, the Admin
                                 * rule), else NULL */
    size_t n_users;
    struct jfa_dbw_group *groups;
    size_t n_groups;
    struct jfa_omission *omitted; /* in server order */
    size_t n_omitted;
    uint32_t users_gid, admin_gid;             /* 0: none */
    bool users_group_local, admin_group_local; /* gid from the host, not defined by us */
    void *priv;                                /* storage */
};

/*
 * Compute the database for `list` (the server's users): map names, apply
 * the collision and local-account rules, update `ledger` in memory (new
 * allocations, tombstones, reactivations, held names; the caller saves it
 * only if it writes the database), and fill plan. Returns 0, or -1 with err
 * (duplicate Id from the server, range exhausted, lookup failure, memory).
 * On -1 the ledger may be half-updated: discard it.
 */
int jfa_sync_plan(const struct jfa_config *cfg, struct jfa_ledger *ledger,
                  const struct jfa_user_list *list, const struct jfa_local *local, int64_t now,
                  struct jfa_sync_plan *plan, char *err, size_t errlen);
void jfa_sync_plan_free(struct jfa_sync_plan *plan);

/* One change a sync makes to the database, or a user it leaves out. The
 * strings live until the callback returns. */
enum jfa_sync_change_kind {
    JFA_SYNC_ADDED,    /* name, uid, jf_name, note (how the name was chosen, or NULL) */
    JFA_SYNC_RENAMED,  /* old_name -> name, uid, note */
    JFA_SYNC_DISABLED, /* name, uid */
    JFA_SYNC_ENABLED,  /* name, uid */
    JFA_SYNC_REMOVED,  /* name, uid */
    JFA_SYNC_OMITTED,  /* jf_name, jf_id, reason */
    JFA_SYNC_END,      /* no more changes */
};

struct jfa_sync_change {
    enum jfa_sync_change_kind kind;
    const char *name, *old_name;
    uint32_t uid;
    const char *jf_name, *jf_id, *note, *reason;
};

struct jfa_sync_options {
    bool dry_run; /* compute and report, write nothing */
    bool force;   /* allow replacing a populated database with an empty one */
    /* each change, before anything is written (tools/cmd_sync.c prints
     * them); NULL: not reported */
    void (*on_change)(void *ctx, const struct jfa_sync_change *ch);
    void *change_ctx;
};

struct jfa_sync_summary {
    size_t total; /* users in the new database */
    size_t added, removed, renamed, disabled, enabled, omitted;
    size_t listed;    /* users the server returned */
    bool used_public; /* no key file: GET /Users/Public */
    bool written;     /* files were replaced */
    bool unchanged;   /* nothing changed: no file written */
};

/* The whole sync; 0 on success, -1 with err (nothing written). */
int jfa_sync_run(const struct jfa_config *cfg, const struct jfa_log *log,
                 const struct jfa_sync_options *opt, struct jfa_sync_summary *sum, char *err,
                 size_t errlen);

/* Take the sync lock (state_dir/private/lock; the private directory must
 * exist), waiting up to 2 minutes for a running sync. *fd holds it until
 * closed. 0 or -1 with err. For commands that change the ledger. */
int jfa_sync_lock(const struct jfa_config *cfg, const struct jfa_log *log, int *fd, char *err,
                  size_t errlen);

/* The shell must be an absolute path to an executable regular file listed
 * in /etc/shells (getusershell: not thread-safe, for the single-threaded
 * tool). 0 or -1 with err. */
int jfa_shell_check(const char *shell, char *err, size_t errlen);

/* state_dir/sync-report, state_dir/private/ledger, state_dir/private/lock (malloc'd) */
char *jfa_sync_report_path(const struct jfa_config *cfg);
char *jfa_sync_ledger_path(const struct jfa_config *cfg);

/* When did the last sync run? The later of the database generation (its
 * last change) and the sync report's mtime (a sync that changed nothing
 * writes no file but touches the report). */
int64_t jfa_sync_last_time(const struct jfa_config *cfg, uint64_t generation);

/* Serialise / write (atomic, 0644) / read (jfa_read_trusted 022) a report.
 * read: 0, JFA_ABSENT, -1 error. */
char *jfa_report_format(const struct jfa_omission *items, size_t n, uint64_t generation,
                        size_t *len);
int jfa_report_read(const char *path, struct jfa_sync_report *rep, char *err, size_t errlen);
void jfa_report_free(struct jfa_sync_report *rep);
void jfa_omissions_free(struct jfa_omission *items, size_t n);

#endif
