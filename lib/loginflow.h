/*
 * loginflow.h - the decisions of a Jellyfin password login, in order.
 *
 * Owns: the sequence pam_jellyfin follows for a login (name rules, the
 * users database, local accounts, the unprivileged-caller rule, the
 * password rules, the per-user login lock, the local back-off for the user
 * and the remote host, the rejected-password memory, the lockout guard,
 * AuthenticateByName and the mapping of its answers, the offline verifier,
 * the Quick Connect login (when it is offered, its throttling, the wait,
 * the checks on the approved account), and the account stage's rules),
 * with the module's log lines. The PAM
 * module (pam_auth.c, pam_account.c, pam_password.c) and `jellyfin-auth
 * explain` both run it, so the tool's verdict is the module's by
 * construction. Each decision is also reported as a step (rule and data,
 * never a secret) to an optional callback; what is PAM-specific (keeping
 * the login with the handle, the pending record) goes through callbacks.
 */
#ifndef JFA_LOGINFLOW_H
#define JFA_LOGINFLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "jfaconf.h"
#include "db.h"
#include "jellyfin.h"
#include "log.h"
#include "state.h"

#define JFA_PASSWORD_MAX 1024
#define JFA_FLOW_HOST_KEY_MAX 300

/* The outcome; jfa_verdict_pam() gives the PAM result. */
enum jfa_verdict {
    JFA_V_SUCCESS,
    JFA_V_USER_UNKNOWN,     /* not ours: root, a local account, not in the database */
    JFA_V_AUTH_ERR,         /* refused */
    JFA_V_ACCT_EXPIRED,     /* disabled in Jellyfin */
    JFA_V_PERM_DENIED,      /* remote access denied; unusable configuration */
    JFA_V_AUTHINFO_UNAVAIL, /* cannot decide: server unreachable and no offline verifier, ... */
    JFA_V_BUF_ERR,          /* out of memory */
    JFA_V_SYSTEM_ERR,       /* the PAM handle could not keep the login */
    JFA_V_UNDECIDED,        /* explain without a password: it depends on the password */
};

int jfa_verdict_pam(enum jfa_verdict v);
/* "PAM_SUCCESS", "PAM_AUTH_ERR", ..., "undecided" */
const char *jfa_verdict_name(enum jfa_verdict v);

enum jfa_step_result {
    JFA_STEP_PASS, /* the rule lets the login go on */
    JFA_STEP_STOP, /* the rule decides the login (refused, or accepted) */
    JFA_STEP_INFO, /* data only */
};

struct jfa_flow_step {
    const char *step; /* stable key: "name", "root", "passwd-file", ... (see jellyfin-auth(8)) */
    const char *rule; /* the rule, one sentence */
    enum jfa_step_result result;
    char detail[512]; /* the data behind it (escaped, no secret) */
};

struct jfa_flow {
    /* Set by the caller before jfa_flow_resolve. */
    const struct jfa_config *cfg;
    const struct jfa_log *log;
    const char *private_dir;
    const char *user;
    const char *rhost; /* remote host or NULL/"" */
    /* An IP-literal rhost counts as that address only when this process
     * holds a connection from it (lib/rhost.h); explain, which holds none,
     * sets this to take --rhost as the peer of the service's connection. */
    bool rhost_assume_peer;
    bool nullok;       /* empty passwords allowed */
    struct jfa_db *db; /* storage, opened by jfa_flow_resolve (closed by the owner) */
    struct jfa_db_user *dbu;
    char *user_esc; /* JFA_FLOW_ESC_LEN bytes: the name escaped for log lines */
    /* Every decision, as it is taken (NULL: none). */
    void (*on_step)(void *ctx, const struct jfa_flow_step *s);
    void *step_ctx;
    /* An accepted login (token NULL for an offline one): keep it. Returns
     * JFA_V_SUCCESS, or a refusal after logging the token out itself. */
    enum jfa_verdict (*keep)(void *ctx, const char *token, uint32_t flags);
    void *keep_ctx;
    /* Jellyfin has just accepted this clear-text password online (never
     * an offline login): the module updates Samba (NULL: nothing). */
    void (*on_accepted)(void *ctx, const char *password, uint32_t flags);
    void *accepted_ctx;
    /* Explain: add data-only steps (server reachability, verifier age,
     * lock state) that the module has no use for. */
    bool explain;
    /* Quick Connect (jfa_flow_quick_connect). The PAM service or NULL:
     * names the device the approver sees. show_code shows the code for
     * approval as jf_name; true when the login is to wait for it (NULL:
     * never). tell says why the login was refused (NULL: nothing). */
    const char *service;
    bool (*show_code)(void *ctx, const char *code, const char *jf_name);
    void (*tell)(void *ctx, const char *msg);
    void *conv_ctx;

    /* Filled in. */
    bool have_user;
    bool unknown_user;                    /* a plausible name, not local, not in the database */
    bool password_judged;                 /* Jellyfin or the offline verifier judged the password */
    char host_key[JFA_FLOW_HOST_KEY_MAX]; /* "host:" + rhost, or "" */
    bool password_sent;                   /* AuthenticateByName was sent */
    uint32_t login_flags;
    bool have_login_flags;
    bool qc;                 /* a Quick Connect request is being counted (log wording) */
    bool rhost_unconfirmed;  /* jfa_flow_rhost_inside's last "outside": an unconfirmed address */
    const char *rhost_noted; /* the unconfirmed address already logged */
};
#define JFA_FLOW_ESC_LEN 128

/* The JFA_DBU_* flags of a user's Jellyfin policy. */
uint32_t jfa_flow_policy_flags(const struct jfa_policy *pol);

/* The login name: refuse names that cannot be ours, root, local accounts,
 * names not in the users database or with a UID out of range. */
enum jfa_verdict jfa_flow_resolve(struct jfa_flow *f);

/* Can this process use the private state (euid 0, or the owner of
 * state_dir)? */
bool jfa_flow_privileged(const struct jfa_config *cfg);

/* May this process check the resolved user's password? (see design.md
 * "Unprivileged PAM callers") */
enum jfa_verdict jfa_flow_check_caller(struct jfa_flow *f);

/*
 * The password check of pam_sm_authenticate, from the password rules to
 * the recording of the answer, under the user's login lock. password NULL
 * (explain without a password): every step that needs no password is
 * taken, nothing is sent or recorded, the lock is only looked at, and the
 * verdict is JFA_V_UNDECIDED unless a step refuses whatever the password.
 */
enum jfa_verdict jfa_flow_authenticate(struct jfa_flow *f, const char *password);

/*
 * A Quick Connect login instead of a password (an empty answer without
 * nullok), with the user resolved and the caller checked, no lock held.
 * *offered false: not offered here (nullok, quick_connect = no, `local`
 * and a remote host outside local_networks, the server's switch off, no
 * client): the caller goes on as for an empty password. Otherwise the
 * verdict of the Quick Connect login. The request is counted as a failure
 * of the user and of the remote host, as a password attempt is (under the
 * login lock, which is released for the wait), and taken back when it was
 * never made; a success clears both records under the lock again and
 * goes to keep (no verifier, no Samba: no password was seen).
 */
enum jfa_verdict jfa_flow_quick_connect(struct jfa_flow *f, bool *offered);

/*
 * A password check made outside jfa_flow_authenticate (passwd's current
 * password: pam_password.c) is an attempt like a login's, under the same
 * throttle keys and limits (the user's Jellyfin Id; the remote host if
 * f->rhost is set) and the user's login lock, which the caller holds.
 * jfa_flow_attempt_begin checks both keys and counts the attempt before
 * anything is sent: SUCCESS, AUTH_ERR (throttled) or AUTHINFO_UNAVAIL (it
 * cannot be counted, so it is not made), logged. The caller then sets
 * f->password_sent before sending the password and f->password_judged once
 * it was refused, and ends with jfa_flow_attempt_end: accepted clears the
 * records as a login's success does; otherwise a password never judged
 * takes its count back, as in jfa_flow_authenticate.
 */
enum jfa_verdict jfa_flow_attempt_begin(struct jfa_flow *f);
void jfa_flow_attempt_end(struct jfa_flow *f, bool accepted);

/* Is f->rhost (set and not empty) inside local_networks? A host name never
 * is; an IP literal only when it is the peer of a connection this process
 * holds (or rhost_assume_peer): an unconfirmed one inside local_networks
 * is taken as outside, logged once per flow naming the service. */
bool jfa_flow_rhost_inside(struct jfa_flow *f);

/* The account stage's rules on the OR of the database's flags and
 * login_flags (this login's, 0 if none): disabled, remote access. */
enum jfa_verdict jfa_flow_account(struct jfa_flow *f, uint32_t login_flags, bool have_login_flags);

/* The lockout guard before a password is sent (authenticate, and the
 * current password of chauthtok with password NULL: no verifier rule).
 * SUCCESS: send it; AUTH_ERR: refused (logged); AUTHINFO_UNAVAIL: the
 * server is unreachable (c->err), or its certificate failed verification
 * (c->last_status JFA_ERR_TLS: logged, never a reason to go offline);
 * SYSTEM_ERR: this process cannot check (logged; fail closed). */
enum jfa_verdict jfa_flow_guard(struct jfa_flow *f, struct jfa_client *c, const char *password);

/* The user's login lock (one password in flight per user), waited for at
 * most cfg->timeout. SUCCESS (held; or, for an unprivileged caller, no lock
 * usable: logged), AUTH_ERR (another login holds it: logged) or SYSTEM_ERR
 * (a privileged caller cannot have it: fail closed, logged). */
enum jfa_verdict jfa_flow_login_lock(struct jfa_flow *f, struct jfa_state_lock *lock);

#endif
