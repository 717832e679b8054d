/*
 * jfjson.h - decoding Jellyfin JSON answers into plain C structs (json-c).
 *
 * Owns: the C shapes of UserDto (with Policy), AuthenticationResult,
 * PublicSystemInfo and the API key list, and their decoders. Tolerant of
 * unknown fields, nulls and missing optionals (PascalCase or camelCase),
 * strict on the type of every field we use: a wrong type is an error that
 * names the field. GUIDs are normalised to 32 lowercase hex digits.
 */
#ifndef JFA_JFJSON_H
#define JFA_JFJSON_H

#include <stdbool.h>
#include <stddef.h>

struct jfa_policy {
    bool is_administrator;
    bool is_hidden;
    bool is_disabled;
    bool enable_remote_access; /* default true when absent */
    bool enable_all_devices;   /* default true when absent */
    bool enable_user_preference_access;
    int login_attempts_before_lockout; /* -1 none */
    int invalid_login_attempt_count;
    int max_active_sessions;
    char *authentication_provider_id; /* may be NULL */
};

struct jfa_user {
    char *name;      /* stored spelling; never NULL after a successful decode */
    char id[33];     /* N form, lowercase */
    char *server_id; /* may be NULL */
    bool has_password;
    char *last_login_date; /* may be NULL */
    struct jfa_policy policy;
};

struct jfa_auth_result {
    struct jfa_user user;
    char *access_token; /* never NULL after success */
    char *server_id;
    char session_id[33];
};

struct jfa_user_list {
    struct jfa_user *users;
    size_t n;
};

struct jfa_system_info {
    char *server_name;
    char *version;
    char *product_name;
    char id[33];
    bool startup_wizard_completed;
};

struct jfa_api_key {
    char *access_token;
    char *app_name;
    char *date_created;
};

struct jfa_api_key_list {
    struct jfa_api_key *keys;
    size_t n;
};

/* QuickConnectResult, the fields we use: the secret is a bearer credential
 * until it expires (wiped by jfa_quick_connect_wipe). */
#define JFA_QC_SECRET_MAX 128 /* hex digits; Jellyfin sends 64 */
#define JFA_QC_CODE_MAX 12    /* decimal digits; Jellyfin sends 6 */
struct jfa_quick_connect {
    bool authenticated;
    char secret[JFA_QC_SECRET_MAX + 1]; /* 32..128 hex digits */
    char code[JFA_QC_CODE_MAX + 1];     /* 4..12 decimal digits: safe to show */
};

/* Each returns 0 or -1 with a message in err; out is zeroed first and is
 * safe to free in both cases. */
int jfa_json_user(const char *buf, size_t len, struct jfa_user *out, char *err, size_t errlen);
int jfa_json_auth_result(const char *buf, size_t len, struct jfa_auth_result *out, char *err,
                         size_t errlen);
int jfa_json_user_list(const char *buf, size_t len, struct jfa_user_list *out, char *err,
                       size_t errlen);
int jfa_json_system_info(const char *buf, size_t len, struct jfa_system_info *out, char *err,
                         size_t errlen);
int jfa_json_api_keys(const char *buf, size_t len, struct jfa_api_key_list *out, char *err,
                      size_t errlen);

/* QuickConnectResult (Secret, Code required and checked, Authenticated). */
int jfa_json_quick_connect(const char *buf, size_t len, struct jfa_quick_connect *out, char *err,
                           size_t errlen);
/* A document that is exactly a JSON true or false (GET /QuickConnect/Enabled). */
int jfa_json_bool(const char *buf, size_t len, bool *out, char *err, size_t errlen);

/* Normalise a GUID in any Guid.Parse form to 32 lowercase hex; 0 or -1. */
int jfa_guid_normalize(const char *in, char out[33]);
/* s is already in that form (what we store and put in paths); NULL is not. */
bool jfa_guid_is_n(const char *s);

/* JSON bodies we send; malloc'd, NULL on failure. */
char *jfa_json_authenticate_body(const char *username, const char *password);
char *jfa_json_password_body(const char *current_pw, const char *new_pw);
/* {"Secret":"..."} for AuthenticateWithQuickConnect; the secret must be
 * 32..128 hex digits (else NULL). Wipe and free the result. */
char *jfa_json_quick_connect_body(const char *secret);

void jfa_user_free(struct jfa_user *u);
void jfa_auth_result_free(struct jfa_auth_result *r); /* wipes the token */
void jfa_user_list_free(struct jfa_user_list *l);
void jfa_system_info_free(struct jfa_system_info *s);

/* From a UserDto (GET /Users/{id}), the body for POST /Users/{id}/Policy
 * that sets InvalidLoginAttemptCount to 0 and keeps every other Policy
 * member as it is (malloc'd; NULL with err). *was: the count before, -1
 * if absent. */
char *jfa_json_policy_reset_count(const char *buf, size_t len, int *was, char *err, size_t errlen);
void jfa_api_key_list_free(struct jfa_api_key_list *l); /* wipes the keys */
void jfa_quick_connect_wipe(struct jfa_quick_connect *q);

#endif
