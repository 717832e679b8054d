/*
 * ledger.h - the UID/GID ledger (state_dir/private/ledger).
 *
 * Owns: the persistent record of every id jellyfin-auth ever handed out:
 * one entry per Jellyfin user Id (uid, active or deleted, the login name it
 * last held, first/last seen) and one per group the database defines (name,
 * gid); the text format (versioned first line, one entry a line, strict
 * parser whose errors name file:line); the deterministic allocator (SHA-256
 * of the key, linear probe skipping reserved ranges, ledger entries and
 * ids the caller reports as taken). A uid is never changed or reused: a
 * deleted user keeps its entry as a tombstone. Also the name claims: every
 * login name (= private group name) ever given to a Jellyfin Id stays
 * claimed by that Id, deleted or renamed, until an administrator releases
 * it (`jellyfin-auth names release NAME`): local grants (sudoers,
 * /etc/group memberships, AllowUsers) attach to names, so a name never
 * passes silently to another Id.
 *
 * File format (version 2), sorted, one entry a line, fields separated by
 * one space, the user lines before the name lines:
 *   jellyfin-auth-ledger 2
 *   group NAME GID FIRST_SEEN
 *   user ID UID active|deleted NAME|- FIRST_SEEN LAST_SEEN
 *   name NAME ID FIRST_SEEN
 * ID is 32 lowercase hex digits; times are unix seconds; LAST_SEEN is the
 * deletion time for a deleted user. A name line's ID has a user line. An
 * active user's NAME, when claimed, is claimed by that user.
 * Version 1 (no name lines) is read: each name a user line holds becomes a
 * claim of that Id (an active holder first, else the latest deleted one).
 *
 * Version 3 adds, after the name lines, the administrator's overrides
 * (`jellyfin-auth names set`):
 *   override ID NAME SET_TIME
 * the login name a Jellyfin Id gets whatever its Jellyfin name; one per Id,
 * one Id per NAME. Version 3 is written only when there is an override
 * (so that a ledger without one stays readable by earlier versions, and
 * one with overrides is refused by them rather than silently ignored);
 * version 2 otherwise.
 */
#ifndef JFA_LEDGER_H
#define JFA_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "namemap.h"

#define JFA_LEDGER_MAGIC "jellyfin-auth-ledger 2"
#define JFA_LEDGER_MAGIC_V3 "jellyfin-auth-ledger 3"
#define JFA_LEDGER_MAGIC_V1 "jellyfin-auth-ledger 1"
#define JFA_LEDGER_MAX_FILE (256u * 1024u * 1024u)

struct jfa_ledger_user {
    char id[33];
    uint32_t uid;
    bool deleted;
    char name[JFA_NAME_MAX + 1]; /* login name last held, "" if none */
    int64_t first_seen;
    int64_t last_seen; /* deletion time when deleted */
};

struct jfa_ledger_group {
    char name[JFA_NAME_MAX + 1];
    uint32_t gid;
    int64_t first_seen;
};

/* A login name and the Jellyfin Id it was first given to. */
struct jfa_ledger_claim {
    char name[JFA_NAME_MAX + 1];
    char id[33];
    int64_t first_seen;
};

/* An administrator's choice of login name for a Jellyfin Id. */
struct jfa_ledger_override {
    char id[33];
    char name[JFA_NAME_MAX + 1];
    int64_t set_time;
};

struct jfa_ledger {
    struct jfa_ledger_user *users;
    size_t n_users, cap_users;
    struct jfa_ledger_group *groups;
    size_t n_groups, cap_groups;
    struct jfa_ledger_claim *claims;
    size_t n_claims, cap_claims;
    struct jfa_ledger_override *overrides; /* few: searched linearly */
    size_t n_overrides, cap_overrides;
    /* private indexes (open addressing): ids in use, user index by Id,
     * claim index by name */
    uint32_t *id_slots;
    size_t id_cap, id_count;
    uint32_t *user_slots; /* user index + 1, 0 = empty */
    size_t user_cap;
    uint32_t *claim_slots; /* claim index + 1, 0 = empty */
    size_t claim_cap;
};

/* What became of a claim's holder. */
enum jfa_claim_state {
    JFA_CLAIM_ACTIVE,  /* the holder is active and this is its login name */
    JFA_CLAIM_DELETED, /* the holder is a tombstone */
    JFA_CLAIM_RENAMED, /* the holder is active under another name (or none) */
};

/* Called for each candidate id: true if it belongs to something outside
 * the ledger (a local user or group). */
typedef bool (*jfa_id_taken_fn)(void *ctx, uint32_t id);

void jfa_ledger_init(struct jfa_ledger *l);
void jfa_ledger_free(struct jfa_ledger *l);

/* Parse text (name for messages). l must be freshly initialised.
 * Returns 0, or -1 with "name:line: message" in err. */
int jfa_ledger_parse(struct jfa_ledger *l, const char *buf, size_t len, const char *name, char *err,
                     size_t errlen);

/* Serialise (groups by name, users by Id). malloc'd, NUL-terminated;
 * NULL on out of memory. */
char *jfa_ledger_format(const struct jfa_ledger *l, size_t *len);

/* Read with jfa_read_trusted(path, 077): 0 ok, JFA_ABSENT (l left empty),
 * -1 error (unsafe file, parse error) with err filled. */
int jfa_ledger_load(struct jfa_ledger *l, const char *path, char *err, size_t errlen);

/* Write atomically, mode 0600. 0 or -1. */
int jfa_ledger_save(const struct jfa_ledger *l, const char *path, char *err, size_t errlen);

/* Index of the user entry with this Id, or -1. */
ssize_t jfa_ledger_find_user(const struct jfa_ledger *l, const char *id);
/* Index of the group entry with this name, or -1. */
ssize_t jfa_ledger_find_group(const struct jfa_ledger *l, const char *name);
/* Is id held by any entry (user active or deleted, or group)? */
bool jfa_ledger_id_used(const struct jfa_ledger *l, uint32_t id);
/* Is id in a range no Jellyfin user or group may have (system ids,
 * nobody, systemd's DynamicUser and container ranges, 2^31 and above)? The
 * allocator skips them; merge and sync refuse them in a ledger. */
bool jfa_ledger_id_reserved(uint32_t id);

/* The first candidate for a key: uid_min + (first 8 bytes of
 * SHA-256("jellyfin-auth uid\0" + key), big-endian) mod (max - min + 1). */
uint32_t jfa_ledger_hash(const char *key, uint32_t min, uint32_t max);

/*
 * Find a free id for key in [min, max]: the hash candidate, then +1 with
 * wrap-around, skipping reserved ids, ids in the ledger and ids for which
 * taken(ctx, id) is true. Does not add an entry. Returns 0, or -1 with err
 * (range exhausted, bad range).
 */
int jfa_ledger_alloc(const struct jfa_ledger *l, const char *key, uint32_t min, uint32_t max,
                     jfa_id_taken_fn taken, void *ctx, uint32_t *out, char *err, size_t errlen);

/* Add entries (the id must be free; the Id / group name new). Return the
 * new index, or -1 with err. name may be NULL or "" for none. */
ssize_t jfa_ledger_add_user(struct jfa_ledger *l, const char *id, uint32_t uid, const char *name,
                            int64_t now, char *err, size_t errlen);
ssize_t jfa_ledger_add_group(struct jfa_ledger *l, const char *name, uint32_t gid, int64_t now,
                             char *err, size_t errlen);

/* Allocate and add in one step: user key is the Id, group key "group:"+name. */
ssize_t jfa_ledger_alloc_user(struct jfa_ledger *l, const char *id, const char *name, uint32_t min,
                              uint32_t max, jfa_id_taken_fn taken, void *ctx, int64_t now,
                              char *err, size_t errlen);
ssize_t jfa_ledger_alloc_group(struct jfa_ledger *l, const char *name, uint32_t min, uint32_t max,
                               jfa_id_taken_fn taken, void *ctx, int64_t now, char *err,
                               size_t errlen);

/*
 * Give names[i] to user entry idx[i] for i < n, taking each name from any
 * other active entry that held it (it then holds none), and claim each
 * name for its entry's Id (now) if nobody claims it. The names must be
 * distinct. 0, or -1 with err: out of memory, or a name claimed by another
 * Id (the caller must have left that user out; nothing is handed over).
 */
int jfa_ledger_assign_names(struct jfa_ledger *l, const size_t *idx, const char *const *names,
                            size_t n, int64_t now, char *err, size_t errlen);

/* Index of the claim on name, or -1. */
ssize_t jfa_ledger_find_claim(const struct jfa_ledger *l, const char *name);

/* Claim name for the user entry with this Id (which must exist); the name
 * must be unclaimed. The new index, or -1 with err. */
ssize_t jfa_ledger_add_claim(struct jfa_ledger *l, const char *name, const char *id, int64_t now,
                             char *err, size_t errlen);

/* Remove the claim on name (the administrator's explicit release).
 * 0, or -1 if name is not claimed (or out of memory, with err). */
int jfa_ledger_release_name(struct jfa_ledger *l, const char *name, char *err, size_t errlen);

/* The state of claim ci (see enum jfa_claim_state) and its word:
 * "active", "deleted", "renamed-away". */
enum jfa_claim_state jfa_ledger_claim_state(const struct jfa_ledger *l, size_t ci);
const char *jfa_claim_state_str(enum jfa_claim_state st);

/*
 * Merge src (another machine's ledger: `jellyfin-auth ledger import`) into
 * dst, all or nothing. A conflict is: an Id with another uid here; a uid or
 * gid of src held here by another entry, or for which taken(ctx, id) says
 * it is a local user or group; a group name with another gid here; a name
 * src claims that another Id claims here; an override of src that
 * disagrees with one here. report(ctx, line) gets each conflict. With
 * conflicts, dst is unchanged and the count is returned; else everything
 * new is added (users keep src's state and times; a login name another
 * active entry holds here is left for the next sync to set) and 0 is
 * returned, *added counting the new entries. -1 with err: out of memory.
 */
int jfa_ledger_merge(struct jfa_ledger *dst, const struct jfa_ledger *src, jfa_id_taken_fn taken,
                     void *ctx, void (*report)(void *rctx, const char *line), void *rctx,
                     size_t *added, char *err, size_t errlen);

/* Index of the override for this Id / on this login name, or -1. */
ssize_t jfa_ledger_find_override(const struct jfa_ledger *l, const char *id);
ssize_t jfa_ledger_find_override_name(const struct jfa_ledger *l, const char *name);

/* Set (or replace) the override of id to name. The caller checks the
 * policy (claims, reserved names, local accounts); this only keeps the
 * table consistent: -1 with err if name is another Id's override, or id
 * or name is invalid, or out of memory. */
int jfa_ledger_set_override(struct jfa_ledger *l, const char *id, const char *name, int64_t now,
                            char *err, size_t errlen);
/* Remove the override of id: 0, or -1 if there is none. */
int jfa_ledger_unset_override(struct jfa_ledger *l, const char *id);

#endif
