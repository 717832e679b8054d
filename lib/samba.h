/*
 * samba.h - keeping Samba's password database in step with Jellyfin.
 *
 * Owns: running Samba's own tools (smbpasswd, pdbedit, testparm) safely
 * from a process that may be root and multithreaded (trusted-file checks
 * on the helper, a fixed minimal environment, the password only on a pipe,
 * a deadline after which the helper's process group is killed, SIGCHLD set
 * to the default around the call); the parser of `pdbedit -L -w` output;
 * the "already current" record private/samba/ID (an HMAC-SHA256 of the
 * password under a random machine key private/samba.key), so a login that
 * brings no new password writes nothing; and the sync step that disables,
 * re-enables or forgets passdb entries of Jellyfin users.
 */
#ifndef JFA_SAMBA_H
#define JFA_SAMBA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jfaconf.h"
#include "log.h"

/* smbpasswd -s reads each line into a 256-byte buffer with fgets: a
 * longer password would be cut (and the retyped copy would not match). */
#define JFA_SAMBA_PASSWORD_MAX 254
#define JFA_SAMBA_KEY_LEN 32
#define JFA_SAMBA_MAC_LEN 32

/* One entry of `pdbedit -L -w` (the hashes are never kept). */
struct jfa_samba_entry {
    char name[64];
    uint32_t uid;
    bool disabled;     /* D in the account flags */
    bool has_password; /* an NT hash is set (not XXXX...) */
    bool normal;       /* U: a user account, not a machine or trust account */
};

struct jfa_samba_list {
    struct jfa_samba_entry *items;
    size_t n;
};

/*
 * Parse `pdbedit -L -w` output (smbpasswd format, one entry a line:
 * NAME:UID:LMHASH:NTHASH:[FLAGS]:LCT-HEX:). Lines that do not have that
 * shape are an error naming the line. Returns 0 or -1 with err.
 */
int jfa_samba_parse_list(const char *text, size_t len, struct jfa_samba_list *out, char *err,
                         size_t errlen);
void jfa_samba_list_free(struct jfa_samba_list *l);
/* The entry for name, or NULL. */
const struct jfa_samba_entry *jfa_samba_find(const struct jfa_samba_list *l, const char *name);

/* Result of running a helper. */
struct jfa_samba_run {
    int status;     /* exit status (0..255); -1 killed by a signal or unknown */
    bool timed_out; /* the deadline passed: the process group was killed */
    char *out;      /* stdout and stderr, NUL-terminated, at most the cap */
    size_t out_len;
};

/*
 * Run helper (a trusted file: regular, owned by root or euid, not writable
 * by group or others, symlinks resolved) with argv (argv[0] included) and
 * the fixed environment PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C, input
 * on stdin (may be NULL), stdout+stderr collected up to out_cap bytes,
 * within deadline_ms. Returns 0 when the helper ran (see res->status,
 * res->timed_out), -1 when it could not be started (err names why).
 * res->out must be freed (jfa_samba_run_free wipes it).
 */
int jfa_samba_exec(const char *helper, const char *const *argv, const char *input, size_t input_len,
                   long deadline_ms, size_t out_cap, struct jfa_samba_run *res, char *err,
                   size_t errlen);
void jfa_samba_run_free(struct jfa_samba_run *res);

/* Check a helper as jfa_samba_exec does; the resolved path goes to
 * resolved (PATH_MAX) when not NULL. 0 or -1 with err. */
int jfa_samba_check_helper(const char *helper, char *resolved, char *err, size_t errlen);

/* The "already current" record. mac = HMAC-SHA256(key, "jellyfin-auth
 * samba 1\0" ID "\0" NAME "\0" PASSWORD). */
int jfa_samba_mac(const unsigned char key[JFA_SAMBA_KEY_LEN], const char *jf_id, const char *name,
                  const char *password, unsigned char mac[JFA_SAMBA_MAC_LEN]);
/* private_dir/samba.key: read, or create (32 bytes from getrandom, 0600). */
int jfa_samba_key(const char *private_dir, bool create, unsigned char key[JFA_SAMBA_KEY_LEN],
                  char *err, size_t errlen);
/* 1: the record of jf_id holds mac; 0: absent or different; -1 error. */
int jfa_samba_record_matches(const char *private_dir, const char *jf_id,
                             const unsigned char mac[JFA_SAMBA_MAC_LEN], char *err, size_t errlen);
int jfa_samba_record_put(const char *private_dir, const char *jf_id,
                         const unsigned char mac[JFA_SAMBA_MAC_LEN], char *err, size_t errlen);
/* Remove the record (absent is fine). 0 or -1. */
int jfa_samba_record_drop(const char *private_dir, const char *jf_id);

enum jfa_samba_set {
    JFA_SAMBA_SET_WRITTEN, /* smbpasswd set the password (and enabled the entry) */
    JFA_SAMBA_SET_CURRENT, /* the record says Samba already has it: nothing run */
    JFA_SAMBA_SET_SKIPPED, /* the password cannot go through smbpasswd -s (err says why) */
    JFA_SAMBA_SET_FAILED,  /* err names the cause */
};

/*
 * Set the Samba password of login `name` (Jellyfin user jf_id) to password,
 * creating the passdb entry if missing and enabling it, unless the record
 * says it is current. Not into a passdb without a lockout policy ("bad
 * lockout attempt" 0, or unreadable): SKIPPED, err says why. Never longer
 * than cfg->samba_timeout in total.
 */
enum jfa_samba_set jfa_samba_set_password(const struct jfa_config *cfg, const char *private_dir,
                                          const char *jf_id, const char *name, const char *password,
                                          char *err, size_t errlen);

/* The value of `pdbedit -P "bad lockout attempt"`'s answer text
 * ('account policy "bad lockout attempt" value is: N'): 0 with *value, or
 * -1 (no such line, or not a number). */
int jfa_samba_parse_lockout(const char *text, long *value);

/*
 * Samba's account policy "bad lockout attempt" (`pdbedit -P`): after that
 * many wrong SMB passwords the entry is locked out; 0 means never. SMB
 * logins never reach PAM, so this is the only limit on guessing a
 * password samba_sync publishes. 0 with *attempts, -1 with err.
 */
int jfa_samba_lockout_attempts(const struct jfa_config *cfg, long deadline_ms, long *attempts,
                               char *err, size_t errlen);

/* `pdbedit -L -w` through the configured helper. 0 or -1 with err. */
int jfa_samba_list_passdb(const struct jfa_config *cfg, struct jfa_samba_list *out, char *err,
                          size_t errlen);

/* smbpasswd -d / -e NAME. 0 or -1 with err. */
int jfa_samba_set_enabled(const struct jfa_config *cfg, const char *name, bool enable, char *err,
                          size_t errlen);

/* Remove NAME's passdb entry if there is one (smbpasswd -x NAME); *removed
 * says whether there was. 0 or -1 with err. */
int jfa_samba_remove(const struct jfa_config *cfg, const char *name, bool *removed, char *err,
                     size_t errlen);

/*
 * The sync step (samba_sync = yes, after the users database was written):
 * for each passdb entry that is a Jellyfin user's login name (in the
 * database at db_path, or a deleted user of the ledger whom no NSS source
 * knows any more), disable it when the user is disabled or deleted in
 * Jellyfin, enable it when the user is enabled and the entry disabled.
 * Records of users without an enabled entry are dropped. Prints each change
 * to out (unless NULL). Returns the number of failures (each logged), or
 * -1 when the passdb could not be listed (err).
 */
int jfa_samba_sync(const struct jfa_config *cfg, const struct jfa_log *log, FILE *out, bool dry_run,
                   char *err, size_t errlen);

/*
 * When the jellyfin-auth package is removed (prerm remove): no module
 * and no sync keep the passdb in step any more, so disable (smbpasswd -d)
 * every user entry that is a Jellyfin user's (a login name of the users
 * database; a name the ledger says a Jellyfin Id claimed or last held
 * that no NSS source knows now). Entries of local accounts and unknown
 * names are not touched. Then write the names of those entries that are
 * disabled now, one a line, to PRIVATE/samba-entries (0600, atomic): the
 * purge removes them (smbpasswd -x) after the tool is gone. The "already
 * current" records of every user are dropped. Prints each change; returns
 * the number of entries that could not be disabled (each logged; they are
 * not listed), or -1 with err. *n_listed: names written.
 */
#define JFA_SAMBA_ENTRIES_FILE "samba-entries"
int jfa_samba_disable_all(const struct jfa_config *cfg, const struct jfa_log *log, FILE *out,
                          size_t *n_listed, char *err, size_t errlen);

#endif
