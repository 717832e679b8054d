/*
 * hostaccts.h - the host's own accounts, as NSS and the files show them.
 *
 * Owns: every look at the host's users and groups that is not our own
 * database: the getpwnam_r/getpwuid_r/getgrnam_r/getgrgid_r calls with
 * their ERANGE retry (one growing buffer), the direct read of /etc/passwd
 * and /etc/group, the parsing of nsswitch.conf's passwd: and group: lines,
 * and the sync's oracle (struct jfa_host: enumerated once, or per name).
 * Used by the sync (lib/sync.c), the login flow (lib/loginflow.c) and the
 * tool's nsswitch.conf check and edit (tools/cmd_common.c). Never writes.
 */
#ifndef JFA_HOSTACCTS_H
#define JFA_HOSTACCTS_H

#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "log.h"

#define JFA_PASSWD_FILE "/etc/passwd"

/* A buffer for the *_r lookups; it grows on ERANGE (up to 4 MiB). Start
 * zeroed; jfa_nssbuf_free when done. */
struct jfa_nssbuf {
    char *buf;
    size_t len;
};
void jfa_nssbuf_free(struct jfa_nssbuf *b);

/* getpwnam_r & co. with the ERANGE retry: 1 found (*res set), 0 no such
 * entry, -1 lookup failed (errno-like codes other than "not found", or no
 * memory). */
int jfa_nss_getpwnam(struct jfa_nssbuf *b, const char *name, struct passwd *pw,
                     struct passwd **res);
int jfa_nss_getpwuid(struct jfa_nssbuf *b, uint32_t uid, struct passwd *pw, struct passwd **res);
int jfa_nss_getgrnam(struct jfa_nssbuf *b, const char *name, struct group *gr, struct group **res);
int jfa_nss_getgrgid(struct jfa_nssbuf *b, uint32_t gid, struct group *gr, struct group **res);

/* Is name listed in /etc/passwd itself (read directly, no NSS)? 1 listed,
 * 0 not (or no such file), -1 when it cannot be read through: a check that
 * cannot be made must not pass a local account (the caller of su chooses
 * the limits that make fopen or fgetpwent fail). */
int jfa_host_in_passwd_file(const char *name);

/* If line (len bytes, no newline) is nsswitch.conf's passwd or group line,
 * return "passwd" or "group" and set [*svc_start, *svc_end) to its service
 * list (before any '#' comment, trailing blanks excluded); else NULL. */
const char *jfa_nsswitch_db_line(const char *line, size_t len, size_t *svc_start, size_t *svc_end);

/* Can every passwd and group source in the nsswitch.conf at path list its
 * entries (files, compat, systemd, jellyfin, ...)? An absent file: yes
 * (glibc's default is files); an unreadable one: no. */
bool jfa_nsswitch_enumerable(const char *path);

/*
 * The sync's view of the host's users and groups (lib/sync.h struct
 * jfa_local's callbacks, ctx = struct jfa_host *):
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
struct jfa_host_entry {
    char *name;
    uint32_t id;
};

struct jfa_host {
    const struct jfa_db *db; /* our previous database, or NULL */
    bool per_name;
    struct jfa_host_entry *pw, *gr; /* sorted by name */
    size_t n_pw, n_gr, cap_pw, cap_gr;
    uint32_t *pw_ids, *gr_ids; /* sorted */
    struct jfa_nssbuf nb;
};

/* 0, or -1 with errno (the caller names what failed). */
int jfa_host_init(struct jfa_host *h, const struct jfa_db *db, const struct jfa_log *log);
void jfa_host_free(struct jfa_host *h);
/* 1 yes, 0 no, -1 lookup failed; see struct jfa_local in sync.h. */
int jfa_host_name_conflict(void *ctx, const char *name, const char **what);
int jfa_host_id_taken(void *ctx, uint32_t id);
int jfa_host_group_gid(void *ctx, const char *name, uint32_t *gid);

#endif
