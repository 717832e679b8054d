/*
 * state.h - root-only runtime state of the PAM module.
 *
 * Owns: everything under state_dir/private (mode 0700) that the PAM module
 * keeps between calls and between processes:
 *   pending/ID    what pam_sm_authenticate learnt (token, policy flags),
 *                 for acct_mgmt and open_session, which sshd may run in
 *                 another process than authentication;
 *   verifiers/ID  offline password verifiers (yescrypt via libcrypt);
 *   throttle/KEY  local failure counters with exponential back-off;
 *   locks/ID      one login of user ID at a time (flock), and
 *   locks/throttle  the lock of every throttle record update.
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

#include "config.h"

#define JFA_TOKEN_MAX 128

struct jfa_auth_record {
    char token[JFA_TOKEN_MAX]; /* may be empty (offline login) */
    uint32_t flags;            /* JFA_DBU_* as seen in the server's answer */
    time_t when;
};

/* Pending record for one Jellyfin user Id: put after a successful
 * authentication, peek from acct_mgmt, take (read + delete) from
 * open_session. Returns 0, -ENOENT, or -1 with err. */
int jfa_state_put_pending(const char *private_dir, const char *jf_id,
                          const struct jfa_auth_record *rec, char *err, size_t errlen);
int jfa_state_get_pending(const char *private_dir, const char *jf_id, bool take,
                          struct jfa_auth_record *rec, char *err, size_t errlen);

/* Offline verifier: store after a successful online login (replaces any
 * older one); check when the server is unreachable. check returns 1 on a
 * match younger than max_age (flags as last seen in *flags), 0 on a
 * mismatch, -ENOENT when absent or too old, -1 on error. */
int jfa_state_put_verifier(const char *private_dir, const char *jf_id, const char *password,
                           uint32_t flags, char *err, size_t errlen);
int jfa_state_check_verifier(const char *private_dir, const char *jf_id, const char *password,
                             long max_age, uint32_t *flags, char *err, size_t errlen);
int jfa_state_drop_verifier(const char *private_dir, const char *jf_id);

/* Throttling. Keys are a user Id or "host:" + remote host; they are hashed
 * into file names. check: 0 allowed, 1 refused with *wait seconds left.
 * failure and success update a record under locks/throttle, so parallel
 * updates all count; check reads without it (records are replaced by
 * rename, so a read sees the old record or the new one). */
int jfa_throttle_check(const struct jfa_config *cfg, const char *private_dir, const char *key,
                       time_t now, long *wait);
void jfa_throttle_failure(const struct jfa_config *cfg, const char *private_dir, const char *key,
                          time_t now);
void jfa_throttle_success(const char *private_dir, const char *key);

/* Cross-process locks (flock on 0600 files under private_dir/locks; the
 * kernel drops one when its holder dies, and O_CLOEXEC keeps it out of
 * programs we exec). Lock order: a user lock, then the throttle lock,
 * never the reverse. */
struct jfa_state_lock {
    int fd; /* -1: not held */
};
#define JFA_STATE_LOCK_INIT                                                                        \
    {                                                                                              \
        .fd = -1                                                                                   \
    }

/* One password of user jf_id in flight at a time, across processes: take
 * that user's lock, waiting at most timeout_ms. Returns 0 (held: release
 * with jfa_state_unlock), -ETIMEDOUT (another process still holds it), or
 * -1 with err (bad Id, unsafe lock file, a directory we cannot reach). */
int jfa_state_lock_user(const char *private_dir, const char *jf_id, long timeout_ms,
                        struct jfa_state_lock *lock, char *err, size_t errlen);
/* Release a lock (a no-op on one not held), even one shared with a child
 * forked while it was held. */
void jfa_state_unlock(struct jfa_state_lock *lock);

/* Base delay of the back-off, seconds: delay = base * 2^(failures - threshold). */
#define JFA_THROTTLE_BASE 10

#endif
