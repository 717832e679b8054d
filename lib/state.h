/*
 * state.h - root-only runtime state of the PAM module.
 *
 * Owns: everything under state_dir/private (mode 0700) that the PAM module
 * keeps between calls and between processes:
 *   pending/ID    what pam_sm_authenticate learnt (token, policy flags),
 *                 for acct_mgmt and open_session, which sshd may run in
 *                 another process than authentication; bound to the
 *                 login that wrote it (process, parent, service, remote
 *                 host) and trusted for JFA_PENDING_MAX_AGE seconds only;
 *   verifiers/ID  offline password verifiers (yescrypt via libcrypt);
 *   throttle/KEY  local failure counters with exponential back-off;
 *   rejected/ID   keyed hashes (HMAC-SHA256, key in rejected.key) of the
 *                 passwords Jellyfin refused for user ID lately, so that
 *                 none is sent twice within throttle_window;
 *   locks/ID      one login of user ID at a time (flock); it also guards
 *                 the user's throttle record, and
 *   locks/throttle.NN  64 stripe locks for the host keys' records.
 *   A lock file holds its holder's record (pid, start time, boot, PID
 *   namespace, deadline): a stopped or frozen holder past its deadline
 *   is ended by a root waiter (design.md "Login lock: stuck holders").
 * Every file is 0600, written atomically and read with O_NOFOLLOW and
 * owner/mode checks. A process that cannot reach the directory gets an
 * error back and carries on without the state (never a crash).
 */
#ifndef JFA_STATE_H
#define JFA_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jfaconf.h"

#define JFA_TOKEN_MAX 128

/* How long a pending record may be trusted, seconds: sshd's default
 * LoginGraceTime. sshd opens the session right after authentication, so a
 * real login needs a few milliseconds of it. */
#define JFA_PENDING_MAX_AGE 120

struct jfa_auth_record {
    char token[JFA_TOKEN_MAX]; /* may be empty (offline login) */
    uint32_t flags;            /* JFA_DBU_* as seen in the server's answer */
    time_t when;
    /* Binding of a pending record to the login that wrote it
     * (jfa_pending_bind): the writer, its parent, their start times in
     * clock ticks after boot (/proc/PID/stat), the boot, the PAM service
     * and the remote host ("" if none). */
    long pid, ppid;
    unsigned long long start, pstart;
    char boot_id[40];
    char service[64];
    char rhost[256];
};

/* The process that reads a pending record, and when. */
struct jfa_pending_reader {
    long pid;
    unsigned long long start;
    char boot_id[40];
    char service[64];
    char rhost[256];
    time_t now;
    long max_age;
};

/* Fill the binding of rec for the calling process (service and rhost may
 * be NULL). -1 when /proc cannot tell who we are (then no reader can ever
 * trust the record: do not write it). */
int jfa_pending_bind(struct jfa_auth_record *rec, const char *service, const char *rhost);
/* Describe the calling process as a reader (now = time(NULL), max_age =
 * JFA_PENDING_MAX_AGE). -1 when /proc cannot tell (trust nothing). */
int jfa_pending_reader_init(struct jfa_pending_reader *me, const char *service, const char *rhost);
/* A reader trusts a record only if it wrote it or is the writer's parent
 * (same pid and start time, same boot), for the same service and remote
 * host, and the record is at most max_age seconds old (not in the future). */
bool jfa_pending_trusted(const struct jfa_auth_record *rec, const struct jfa_pending_reader *me);

/* Pending record for one Jellyfin user Id: put after a successful
 * authentication (rec bound with jfa_pending_bind); peek from acct_mgmt,
 * take (read + delete) from open_session. get returns:
 *   0                  a record this reader trusts, in *rec (taken if take);
 *   JFA_PENDING_STALE  a record it must not trust (another login's, too
 *                      old, an older format, malformed): it was removed,
 *                      and *rec holds its token (maybe empty) for the
 *                      caller to log out;
 *   JFA_ABSENT         none; -1 with err (unsafe file, bad id).
 * Removal renames the file aside first, so what is removed is exactly what
 * was read, even when a new login replaces the record meanwhile. */
#define JFA_PENDING_STALE 2
int jfa_state_put_pending(const char *private_dir, const char *jf_id,
                          const struct jfa_auth_record *rec, char *err, size_t errlen);
int jfa_state_get_pending(const char *private_dir, const char *jf_id,
                          const struct jfa_pending_reader *me, bool take,
                          struct jfa_auth_record *rec, char *err, size_t errlen);

/* Sweep (jellyfin-auth sync): remove every pending record (and leftover
 * of one) older than max_age at now, or dated in the future, after
 * calling logout(ctx, jf_id, token) for its token (best effort: the file
 * goes either way). Returns the number removed, or -1 with err when the
 * directory cannot be read. */
int jfa_state_sweep_pending(const char *private_dir, time_t now, long max_age,
                            void (*logout)(void *ctx, const char *jf_id, const char *token),
                            void *ctx, char *err, size_t errlen);

/* Offline verifier: store after a successful online login (replaces any
 * older one); check when the server is unreachable. check returns
 * JFA_VERIFIER_MATCH on a match younger than max_age (flags as last seen in
 * *flags), JFA_VERIFIER_MISMATCH, JFA_ABSENT when absent or too old, -1 on
 * error. */
#define JFA_VERIFIER_MISMATCH 0
#define JFA_VERIFIER_MATCH 2
int jfa_state_put_verifier(const char *private_dir, const char *jf_id, const char *password,
                           uint32_t flags, char *err, size_t errlen);
int jfa_state_check_verifier(const char *private_dir, const char *jf_id, const char *password,
                             long max_age, uint32_t *flags, char *err, size_t errlen);
int jfa_state_drop_verifier(const char *private_dir, const char *jf_id);

/* Throttling. Keys are a user Id or "host:" + remote host; they are hashed
 * into file names. check: 0 allowed, 1 refused with *wait seconds left.
 * A user key's record may only be updated by a process that holds the
 * user's login lock (jfa_state_lock_user); a host key's updates take a
 * stripe lock (locks/throttle.NN) themselves. No lock is global: the caller
 * of su can stop su while it holds one. check reads without a lock (records
 * are replaced by rename, so a read sees the old record or the new one). */
int jfa_throttle_check(const struct jfa_config *cfg, const char *private_dir, const char *key,
                       time_t now, long *wait);
/* Count one failure; 0 when recorded (or throttling is off), -1 when the
 * record could not be written. The module counts every attempt *before*
 * the password is sent and takes the count back (undo) only when the
 * password was never judged: a caller killed while Jellyfin answers (the
 * caller of su may signal it) is counted all the same. */
int jfa_throttle_failure(const struct jfa_config *cfg, const char *private_dir, const char *key,
                         time_t now);
void jfa_throttle_undo(const struct jfa_config *cfg, const char *private_dir, const char *key);
/* The module's step before a password leaves: check and count the attempt
 * in one locked step. 1: refused, *wait seconds left, nothing counted; 0:
 * counted (or throttling is off); -1: the record cannot be read or written
 * (err says why): the attempt must not be made. */
int jfa_throttle_attempt(const struct jfa_config *cfg, const char *private_dir, const char *key,
                         time_t now, long *wait, char *err, size_t errlen);
void jfa_throttle_success(const char *private_dir, const char *key);

/* What a throttle record says now, for `jellyfin-auth explain`: the
 * failures counted (0 when none or forgotten) and the seconds left of the
 * back-off (0 if none). */
void jfa_throttle_info(const struct jfa_config *cfg, const char *private_dir, const char *key,
                       time_t now, unsigned long *count, long *wait);

/* The offline verifier's metadata, without a password: 0 with its time and
 * flags, JFA_ABSENT when there is none, -1 with err. */
int jfa_state_verifier_info(const char *private_dir, const char *jf_id, time_t *when,
                            uint32_t *flags, char *err, size_t errlen);

/*
 * Rejected-password memory (the caller holds the user's login lock). A
 * password Jellyfin refused (401) is remembered as HMAC-SHA256 under a
 * random per-machine key (private/rejected.key, 0600), never in clear, for
 * window seconds (throttle_window), at most JFA_REJECTED_MAX per user.
 * check returns 1 (remembered, *age seconds ago), 0 (not), or -1 with err
 * (no usable memory: the caller goes on as if not remembered). add records
 * one (best effort; err says why not); clear forgets a user's; count tells
 * how many are remembered now and when the newest expires.
 */
#define JFA_REJECTED_MAX 16
int jfa_state_rejected_check(const char *private_dir, const char *jf_id, const char *password,
                             time_t now, long window, long *age, char *err, size_t errlen);
int jfa_state_rejected_add(const char *private_dir, const char *jf_id, const char *password,
                           time_t now, long window, char *err, size_t errlen);
int jfa_state_rejected_clear(const char *private_dir, const char *jf_id);
int jfa_state_rejected_count(const char *private_dir, const char *jf_id, time_t now, long window,
                             long *expires_in);

/* Cross-process locks (flock on 0600 files under private_dir/locks; the
 * kernel drops one when its holder dies, and O_CLOEXEC keeps it out of
 * programs we exec). Lock order: a user lock, then the throttle lock,
 * never the reverse. */
struct jfa_state_lock {
    int fd;             /* -1: not held */
    bool recorded;      /* the holder record is ours (wiped on unlock) */
    long ended_pid;     /* the wait ended this stuck holder (0: none), ... */
    char ended_why[96]; /* ... for this reason ("stopped, 3 s past its deadline") */
};
#define JFA_STATE_LOCK_INIT                                                                        \
    {                                                                                              \
        .fd = -1                                                                                   \
    }

/* One password of user jf_id in flight at a time, across processes: take
 * that user's lock, waiting at most timeout_ms. Returns 0 (held: release
 * with jfa_state_unlock), -ETIMEDOUT (another process still holds it), or
 * -1 with err (bad Id, unsafe lock file, a directory we cannot reach).
 * The holder records itself with a deadline hold_ms ahead (use
 * jfa_state_lock_hold_ms); a waiter running as root ends a holder that is
 * past that deadline and stopped, traced or frozen (SIGKILL), and then
 * lock->ended_pid and ended_why say so, for the caller to log. */
int jfa_state_lock_user(const char *private_dir, const char *jf_id, long timeout_ms, long hold_ms,
                        struct jfa_state_lock *lock, char *err, size_t errlen);
/* Release a lock (a no-op on one not held), even one shared with a child
 * forked while it was held. */
void jfa_state_unlock(struct jfa_state_lock *lock);
/* The longest a live login holds a user's lock under cfg, ms. */
long jfa_state_lock_hold_ms(const struct jfa_config *cfg);

/* Who holds a user's lock, as its holder record says (explain). */
struct jfa_lock_holder {
    long pid;
    bool alive;           /* the recorded process is running now (pid, start, boot) */
    bool stuck;           /* it is stopped, traced or frozen: why says which */
    long long overdue_ms; /* > 0: past its deadline by that much; else time left */
    char why[32];
};
/* 0 with *h: the record names a live process; -1: no usable record. */
int jfa_state_lock_holder(const char *private_dir, const char *jf_id, struct jfa_lock_holder *h);
/* The holder record's one format (LOCK_REC_LEN bytes; tests forge with it). */
int jfa_lock_record_format(char *buf, size_t len, long pid, unsigned long long start,
                           const char *boot, unsigned long long pidns, long long until_ms);

/* A record whose time is at most this many seconds ahead of the caller's
 * clock reading was written by a process that read the clock later (the
 * reading precedes the wait for the lock): it counts. Further ahead: the
 * clock was set back, and the record is forgotten. */
#define JFA_THROTTLE_SKEW 60

/* Base delay of the back-off, seconds: delay = base * 2^(failures - threshold). */
#define JFA_THROTTLE_BASE 10

#endif
