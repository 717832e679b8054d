/*
 * jellyfin.h - the Jellyfin API client.
 *
 * Owns: the calls jellyfin-auth makes (AuthenticateByName, Sessions/Logout,
 * Users/Password, Users, Users/Public, Users/Me, Users/{Id}, System/Info/Public,
 * Auth/Keys and DELETE Auth/Keys/{key}) and the mapping of each answer to
 * a jfa_status. Uses http.h for transport, authheader.h for identity and
 * jfjson.h for decoding.
 */
#ifndef JFA_JELLYFIN_H
#define JFA_JELLYFIN_H

#include "jfaconf.h"
#include "jfjson.h"
#include "log.h"

enum jfa_status {
    JFA_OK = 0,
    JFA_ERR_AUTH,        /* 401: bad user, password or token */
    JFA_ERR_FORBIDDEN,   /* 403: disabled, locked out, remote access, schedule, limits */
    JFA_ERR_BADREQ,      /* 400/415: our request is wrong -> configuration problem */
    JFA_ERR_NOTFOUND,    /* 404 */
    JFA_ERR_UNAVAILABLE, /* network error, deadline, 5xx on every url */
    JFA_ERR_TLS,         /* certificate verification failed, or the CA cannot be read:
                          * never "unavailable", never a reason for an offline login */
    JFA_ERR_PROTOCOL,    /* unexpected status, malformed or oversized answer */
    JFA_ERR_CONFIG,      /* refused by local policy (plain http, bad url) */
    JFA_ERR_INTERNAL,    /* out of memory */
};

const char *jfa_status_str(enum jfa_status st);

struct jfa_client {
    const struct jfa_config *cfg;
    const struct jfa_log *log;
    const char *client; /* "pam_jellyfin" or "jellyfin-auth" */
    char device[256];   /* host name */
    char device_id[33];
    char err[JFA_ERRLEN];        /* detail of the last failure, safe to log */
    long last_http_status;       /* status of the last answer, 0 if none */
    enum jfa_status last_status; /* result of the last call */
};

/* Set up a client; user_key (Jellyfin user Id, or NULL for the tool's
 * host-wide identity) feeds the DeviceId. Returns 0 or -1. */
int jfa_client_init(struct jfa_client *c, const struct jfa_config *cfg, const struct jfa_log *log,
                    const char *client, const char *user_key);

enum jfa_status jfa_authenticate(struct jfa_client *c, const char *username, const char *password,
                                 struct jfa_auth_result *out);
enum jfa_status jfa_logout(struct jfa_client *c, const char *token);
/* POST /Users/Password?userId=ID with CurrentPw/NewPw using the user's token. */
enum jfa_status jfa_change_password(struct jfa_client *c, const char *token, const char *user_id,
                                    const char *current_pw, const char *new_pw);
enum jfa_status jfa_get_me(struct jfa_client *c, const char *token, struct jfa_user *out);
/* GET /Users/{user_id} (32 lowercase hex digits) with a token or API key. */
enum jfa_status jfa_get_user(struct jfa_client *c, const char *token, const char *user_id,
                             struct jfa_user *out);
/* token NULL: GET /Users/Public; else GET /Users with it (API key or admin token). */
enum jfa_status jfa_list_users(struct jfa_client *c, const char *token, struct jfa_user_list *out);
enum jfa_status jfa_system_info(struct jfa_client *c, struct jfa_system_info *out);
/* Set the user's failed-login count to 0 (as a successful login does):
 * GET /Users/{user_id} with the API key, then POST /Users/{user_id}/Policy
 * with the policy read, InvalidLoginAttemptCount 0 (UserManager copies
 * every posted field, this one included). *was: the count before. */
enum jfa_status jfa_reset_login_attempts(struct jfa_client *c, const char *token,
                                         const char *user_id, int *was);
enum jfa_status jfa_create_api_key(struct jfa_client *c, const char *token, const char *app);
enum jfa_status jfa_list_api_keys(struct jfa_client *c, const char *token,
                                  struct jfa_api_key_list *out);
/* DELETE /Auth/Keys/{key} (204 even for an unknown key). Never logs the key. */
enum jfa_status jfa_delete_api_key(struct jfa_client *c, const char *token, const char *key);

/* For the other API modules of lib/ (quickconnect.c): one call with the
 * client's Authorization header (and token, if not NULL), mapped as above;
 * expect_body: 200 with a body, else 200 or 204. secret_query (or NULL) is
 * appended to path for the request only and never appears in c->err or a
 * log line. On JFA_OK *resp holds the answer (jfa_http_response_free). */
struct jfa_http_response;
enum jfa_status jfa_client_call(struct jfa_client *c, const char *method, const char *path,
                                const char *secret_query, const char *token, const char *body,
                                bool expect_body, struct jfa_http_response *resp);
/* Record in c->err that a 200 answer could not be decoded (derr says why). */
enum jfa_status jfa_client_decode_failed(struct jfa_client *c, const char *method, const char *path,
                                         const struct jfa_http_response *resp, const char *derr);

#endif
