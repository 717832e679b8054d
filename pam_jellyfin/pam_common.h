/*
 * pam_common.h - what the four PAM groups of pam_jellyfin share.
 *
 * Owns: module argument parsing, the per-call context (config, log sink
 * routed to pam_syslog, the users database), the resolution of the login
 * name to a Jellyfin user (refusing root, local accounts and anything not
 * in our database), the pam_set_data slot that carries the result of
 * authentication to account and session management in the same process,
 * and the pending record that carries it to the parent process (sshd's
 * keyboard-interactive authentication runs in a child of the monitor).
 */
#ifndef PAM_JELLYFIN_COMMON_H
#define PAM_JELLYFIN_COMMON_H

#include <stdbool.h>

#include <security/pam_modules.h>

#include "jfaconf.h"
#include "db.h"
#include "log.h"
#include "loginflow.h"
#include "state.h"

#define JFA_PAM_CLIENT "pam_jellyfin"
#define JFA_PAM_DATA_AUTH "jellyfin-auth-record"
#define JFA_PAM_DATA_CHAUTHTOK "jellyfin-auth-chauthtok-token"

struct jfa_pam {
    pam_handle_t *pamh;
    struct jfa_log log;
    struct jfa_config cfg;
    bool cfg_loaded;
    bool nullok;
    const char *config_path; /* from config=, else NULL */
    const char *user;        /* PAM_USER, owned by libpam */
    char user_esc[128];      /* escaped for log lines */
    struct jfa_db db;
    struct jfa_db_user dbu; /* valid when have_user; strings point into db */
    bool have_user;
    char *private_dir;
    struct jfa_flow flow; /* the decisions, shared with `jellyfin-auth explain` */
};

/* The PAM result of a verdict of the login flow. */
#define jfa_pam_code(v) jfa_verdict_pam(v)

/* Parse arguments and load the configuration. Returns PAM_SUCCESS or the
 * code to return (the reason is logged). The context must be freed with
 * jfa_pam_end whatever the result. */
int jfa_pam_begin(struct jfa_pam *p, pam_handle_t *pamh, int flags, int argc, const char **argv);
void jfa_pam_end(struct jfa_pam *p);

/* Resolve PAM_USER to a user of our database that no other NSS source
 * claims. PAM_SUCCESS, PAM_USER_UNKNOWN (not ours: logged), or an error. */
int jfa_pam_resolve_user(struct jfa_pam *p);

/* At most one sync started by unknown-user logins per this many seconds. */
#define JFA_TRIGGER_INTERVAL 30

/* An unknown user tried to log in (p->flow.unknown_user): start a background
 * `jellyfin-auth sync` if the configuration allows it (sync_on_login), the
 * process runs as root (real and effective uid) and none started within
 * JFA_TRIGGER_INTERVAL. Never fails the login; see pam_trigger.c. */
void jfa_pam_trigger_sync(struct jfa_pam *p);

/* May this process check the resolved user's password? PAM_SUCCESS for a
 * privileged caller (euid 0 or the owner of state_dir) and for the
 * caller's own account; PAM_AUTH_ERR (logged) otherwise. */
int jfa_pam_check_caller(struct jfa_pam *p);

/* The configuration could not be loaded: decide without it. Local
 * accounts and root: PAM_USER_UNKNOWN; users of the default database:
 * PAM_PERM_DENIED (fail closed); no usable database: PAM_AUTHINFO_UNAVAIL. */
int jfa_pam_unconfigured(struct jfa_pam *p);

/* Keep a copy of rec in the PAM handle (wiped on pam_end). */
int jfa_pam_keep_record(struct jfa_pam *p, const struct jfa_auth_record *rec);
/* The record kept by this process, or NULL. */
const struct jfa_auth_record *jfa_pam_kept_record(struct jfa_pam *p);

/* A PAM item that is a string (PAM_SERVICE, PAM_RHOST), "" if unset. */
const char *jfa_pam_item_text(struct jfa_pam *p, int item);

/* Forget the record kept by this process (the slot is cleared). */
void jfa_pam_forget_record(struct jfa_pam *p);

/* This login's pending record (see state.h for the binding). Returns 0 with
 * *rec when there is one this process may trust (taken, i.e. removed, if
 * take); otherwise nonzero with *rec zeroed. A record it must not trust is
 * removed and its token logged out (best effort), unless it is the token
 * this process keeps. */
int jfa_pam_pending(struct jfa_pam *p, bool take, struct jfa_auth_record *rec);

/* Log a token out (best effort, with the configured deadline); what names
 * it in the log line. */
void jfa_pam_logout(struct jfa_pam *p, const char *token, const char *what);

/* A login refused after Jellyfin issued its token: log out the token this
 * process keeps and this login's pending record, remove the record, clear
 * the slot. */
void jfa_pam_drop_login(struct jfa_pam *p);

/* Tell the user something through the conversation (errors only). */
void jfa_pam_tell(struct jfa_pam *p, const char *msg);

/* Is the resolved user's home unsafe to give them (lib/homecheck.h: owned
 * by another uid, as after a name changed hands, or writable by others)?
 * Logs what is wrong and what to do, with stage ("login", "session") and
 * tells the user. A missing home is not refused. */
bool jfa_pam_home_refused(struct jfa_pam *p, const char *stage);

#endif
