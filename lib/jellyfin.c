/*
 * lib/jellyfin.c - the Jellyfin API client.
 *
 * Owns: the calls jellyfin-auth makes (AuthenticateByName, Sessions/Logout,
 * Users/Password, Users/Me, Users, Users/Public, System/Info/Public,
 * Auth/Keys), the Authorization header each one carries, and the mapping of
 * each answer to a jfa_status:
 *   expected 2xx -> OK (then the decoder decides), 400/415 -> BADREQ,
 *   401 -> AUTH, 403 -> FORBIDDEN, 404 -> NOTFOUND, network/5xx on every
 *   url -> UNAVAILABLE, local url policy -> CONFIG, oversized answer, 3xx,
 *   any other status or an undecodable body -> PROTOCOL, no memory -> INTERNAL.
 * c->err gets a loggable detail (method, url, status, decoder message); it
 * never holds a password, token, key or a response body.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authheader.h"
#include "http.h"
#include "jellyfin.h"

#ifndef JFA_VERSION
#error "JFA_VERSION must be defined by the build (see lib/local.mk)"
#endif

static void cerr(struct jfa_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Fill c->err (truncating; vsnprintf keeps -Wformat-truncation quiet on purpose). */
static void cerr(struct jfa_client *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
}

const char *jfa_status_str(enum jfa_status st)
{
    switch (st) {
    case JFA_OK:
        return "ok";
    case JFA_ERR_AUTH:
        return "authentication failed";
    case JFA_ERR_FORBIDDEN:
        return "forbidden";
    case JFA_ERR_BADREQ:
        return "bad request";
    case JFA_ERR_NOTFOUND:
        return "not found";
    case JFA_ERR_UNAVAILABLE:
        return "server unavailable";
    case JFA_ERR_TLS:
        return "TLS certificate verification failed";
    case JFA_ERR_PROTOCOL:
        return "protocol error";
    case JFA_ERR_CONFIG:
        return "configuration error";
    case JFA_ERR_INTERNAL:
        return "internal error";
    }
    return "unknown status";
}

int jfa_client_init(struct jfa_client *c, const struct jfa_config *cfg, const struct jfa_log *log,
                    const char *client, const char *user_key)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->log = log;
    c->client = client;
    if (cfg == NULL || client == NULL || client[0] == '\0') {
        cerr(c, "client init: missing configuration or client name");
        return -1;
    }
    jfa_device_name(c->device, sizeof(c->device));
    if (jfa_device_id(client, user_key, c->device_id) < 0) {
        snprintf(c->err, sizeof(c->err),
                 "client init: cannot derive a DeviceId (no machine id, no host name)");
        return -1;
    }
    if (jfa_http_global_init() < 0) {
        cerr(c, "client init: libcurl global init failed");
        return -1;
    }
    return 0;
}

/* How an answer with a body is expected: 200 with content, or 2xx with none. */
enum expect {
    EXPECT_BODY,    /* 200 and a JSON body */
    EXPECT_NO_BODY, /* 200 or 204 */
};

static enum jfa_status map_status(long status, enum expect ex)
{
    if (ex == EXPECT_BODY && status == 200)
        return JFA_OK;
    if (ex == EXPECT_NO_BODY && (status == 200 || status == 204))
        return JFA_OK;
    switch (status) {
    case 400:
    case 415:
        return JFA_ERR_BADREQ;
    case 401:
        return JFA_ERR_AUTH;
    case 403:
        return JFA_ERR_FORBIDDEN;
    case 404:
        return JFA_ERR_NOTFOUND;
    default:
        return JFA_ERR_PROTOCOL;
    }
}

/*
 * One request: build the header (with the token when given), call, map.
 * On JFA_OK resp holds the answer (caller frees it); otherwise it is freed.
 * An answer size cap (0: the transport's default); secret_query is sent
 * after path but never shown.
 */
static enum jfa_status do_call_q(struct jfa_client *c, const char *method, const char *path,
                                 const char *secret_query, const char *token, const char *body,
                                 enum expect ex, size_t max_body, struct jfa_http_response *resp)
{
    struct jfa_http_request req = {0};
    char herr[JFA_ERRLEN];
    enum jfa_http_result hr;
    enum jfa_status st = JFA_ERR_INTERNAL;
    char *auth = NULL;

    memset(resp, 0, sizeof(*resp));
    c->err[0] = '\0';
    c->last_http_status = 0;
    herr[0] = '\0';

    auth = jfa_auth_header(c->client, c->device, c->device_id, JFA_VERSION, token);
    if (auth == NULL) {
        cerr(c, "%s %s: cannot build the Authorization header", method, path);
        goto out;
    }
    req.method = method;
    req.path = path;
    req.secret_query = secret_query;
    req.authorization = auth;
    req.body = body;
    req.body_len = body != NULL ? strlen(body) : 0;
    req.max_body = max_body;

    hr = jfa_http_call(c->cfg, c->log, &req, resp, herr, sizeof(herr));
    c->last_http_status = resp->status;
    switch (hr) {
    case JFA_HTTP_OK:
        break;
    case JFA_HTTP_UNAVAILABLE:
        st = JFA_ERR_UNAVAILABLE;
        cerr(c, "%s %s: server unavailable: %s", method, path, herr);
        goto out;
    case JFA_HTTP_TLS:
        st = JFA_ERR_TLS;
        cerr(c, "%s %s: %s", method, path, herr);
        goto out;
    case JFA_HTTP_POLICY:
        st = JFA_ERR_CONFIG;
        cerr(c, "%s %s: %s", method, path, herr);
        goto out;
    case JFA_HTTP_TOO_LARGE:
        st = JFA_ERR_PROTOCOL;
        cerr(c, "%s %s: %s", method, path, herr);
        goto out;
    case JFA_HTTP_INTERNAL:
    default:
        st = JFA_ERR_INTERNAL;
        cerr(c, "%s %s: %s", method, path, herr);
        goto out;
    }

    st = map_status(resp->status, ex);
    if (st != JFA_OK) {
        cerr(c, "%s %s%s: HTTP %ld (%s%s)", method, resp->url ? resp->url : "", path, resp->status,
             jfa_status_str(st),
             resp->status >= 300 && resp->status < 400
                 ? ": a redirect, never followed; set url to the server's final base URL"
                 : "");
        goto out;
    }
    jfa_logf(c->log, LOG_DEBUG, "%s %s%s: HTTP %ld", method, resp->url ? resp->url : "", path,
             resp->status);
out:
    c->last_status = st;
    if (auth != NULL) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    if (st != JFA_OK)
        jfa_http_response_free(resp);
    return st;
}

static enum jfa_status do_call_max(struct jfa_client *c, const char *method, const char *path,
                                   const char *token, const char *body, enum expect ex,
                                   size_t max_body, struct jfa_http_response *resp)
{
    return do_call_q(c, method, path, NULL, token, body, ex, max_body, resp);
}

static enum jfa_status do_call(struct jfa_client *c, const char *method, const char *path,
                               const char *token, const char *body, enum expect ex,
                               struct jfa_http_response *resp)
{
    return do_call_max(c, method, path, token, body, ex, 0, resp);
}

/* Record a decoder failure for an answer that came back 200. */
static enum jfa_status decode_failed(struct jfa_client *c, const char *method, const char *path,
                                     const struct jfa_http_response *resp, const char *derr)
{
    cerr(c, "%s %s%s: HTTP %ld with an unusable answer: %s", method, resp->url ? resp->url : "",
         path, resp->status, derr);
    return JFA_ERR_PROTOCOL;
}

enum jfa_status jfa_client_call(struct jfa_client *c, const char *method, const char *path,
                                const char *secret_query, const char *token, const char *body,
                                bool expect_body, struct jfa_http_response *resp)
{
    return do_call_q(c, method, path, secret_query, token, body,
                     expect_body ? EXPECT_BODY : EXPECT_NO_BODY, 0, resp);
}

enum jfa_status jfa_client_decode_failed(struct jfa_client *c, const char *method, const char *path,
                                         const struct jfa_http_response *resp, const char *derr)
{
    return decode_failed(c, method, path, resp, derr);
}

enum jfa_status jfa_authenticate(struct jfa_client *c, const char *username, const char *password,
                                 struct jfa_auth_result *out)
{
    static const char path[] = "/Users/AuthenticateByName";
    struct jfa_http_response resp;
    char derr[JFA_ERRLEN];
    enum jfa_status st;
    char *body;

    memset(out, 0, sizeof(*out));
    body = jfa_json_authenticate_body(username, password);
    if (body == NULL) {
        cerr(c, "POST %s: cannot build the request body", path);
        return JFA_ERR_INTERNAL;
    }
    st = do_call(c, "POST", path, NULL, body, EXPECT_BODY, &resp);
    explicit_bzero(body, strlen(body));
    free(body);
    if (st != JFA_OK)
        return st;
    if (jfa_json_auth_result(resp.body, resp.body_len, out, derr, sizeof(derr)) < 0)
        st = decode_failed(c, "POST", path, &resp, derr);
    jfa_http_response_free(&resp);
    return st;
}

enum jfa_status jfa_logout(struct jfa_client *c, const char *token)
{
    struct jfa_http_response resp;
    enum jfa_status st;

    if (token == NULL || token[0] == '\0') {
        cerr(c, "POST /Sessions/Logout: no token");
        return JFA_ERR_INTERNAL;
    }
    st = do_call(c, "POST", "/Sessions/Logout", token, NULL, EXPECT_NO_BODY, &resp);
    if (st == JFA_OK)
        jfa_http_response_free(&resp);
    return st;
}

enum jfa_status jfa_change_password(struct jfa_client *c, const char *token, const char *user_id,
                                    const char *current_pw, const char *new_pw)
{
    char enc[3 * 64 + 1];
    char path[sizeof(enc) + 32];
    struct jfa_http_response resp;
    enum jfa_status st;
    char *body;

    if (token == NULL || user_id == NULL ||
        jfa_percent_encode(enc, sizeof(enc), user_id) == (size_t)-1) {
        cerr(c, "POST /Users/Password: missing token or bad user id");
        return JFA_ERR_INTERNAL;
    }
    snprintf(path, sizeof(path), "/Users/Password?userId=%s", enc);
    body = jfa_json_password_body(current_pw, new_pw);
    if (body == NULL) {
        cerr(c, "POST /Users/Password: cannot build the request body");
        return JFA_ERR_INTERNAL;
    }
    st = do_call(c, "POST", path, token, body, EXPECT_NO_BODY, &resp);
    explicit_bzero(body, strlen(body));
    free(body);
    if (st == JFA_OK)
        jfa_http_response_free(&resp);
    return st;
}

enum jfa_status jfa_get_user(struct jfa_client *c, const char *token, const char *user_id,
                             struct jfa_user *out)
{
    struct jfa_http_response resp;
    char path[64];
    char derr[JFA_ERRLEN];
    enum jfa_status st;

    memset(out, 0, sizeof(*out));
    if (user_id == NULL)
        snprintf(path, sizeof(path), "/Users/Me");
    else if (jfa_guid_is_n(user_id))
        snprintf(path, sizeof(path), "/Users/%s", user_id);
    else {
        snprintf(c->err, sizeof(c->err), "not a Jellyfin user Id");
        return JFA_ERR_INTERNAL;
    }
    st = do_call(c, "GET", path, token, NULL, EXPECT_BODY, &resp);
    if (st != JFA_OK)
        return st;
    if (jfa_json_user(resp.body, resp.body_len, out, derr, sizeof(derr)) < 0)
        st = decode_failed(c, "GET", path, &resp, derr);
    jfa_http_response_free(&resp);
    return st;
}

enum jfa_status jfa_reset_login_attempts(struct jfa_client *c, const char *token,
                                         const char *user_id, int *was)
{
    struct jfa_http_response resp;
    char path[64], derr[JFA_ERRLEN];
    enum jfa_status st;
    char *body;

    *was = -1;
    if (token == NULL || !jfa_guid_is_n(user_id)) {
        snprintf(c->err, sizeof(c->err), "no API key, or not a Jellyfin user Id");
        return JFA_ERR_INTERNAL;
    }
    snprintf(path, sizeof(path), "/Users/%s", user_id);
    st = do_call(c, "GET", path, token, NULL, EXPECT_BODY, &resp);
    if (st != JFA_OK)
        return st;
    body = jfa_json_policy_reset_count(resp.body, resp.body_len, was, derr, sizeof(derr));
    if (body == NULL)
        st = decode_failed(c, "GET", path, &resp, derr);
    jfa_http_response_free(&resp);
    if (st != JFA_OK)
        return st;
    snprintf(path, sizeof(path), "/Users/%s/Policy", user_id);
    st = do_call(c, "POST", path, token, body, EXPECT_NO_BODY, &resp);
    free(body);
    if (st == JFA_OK)
        jfa_http_response_free(&resp);
    return st;
}

enum jfa_status jfa_get_me(struct jfa_client *c, const char *token, struct jfa_user *out)
{
    return jfa_get_user(c, token, NULL, out);
}

enum jfa_status jfa_list_users(struct jfa_client *c, const char *token, struct jfa_user_list *out)
{
    const char *path = token != NULL ? "/Users" : "/Users/Public";
    struct jfa_http_response resp;
    char derr[JFA_ERRLEN];
    enum jfa_status st;

    memset(out, 0, sizeof(*out));
    st = do_call_max(c, "GET", path, token, NULL, EXPECT_BODY, JFA_HTTP_MAX_LIST_BODY, &resp);
    if (st != JFA_OK)
        return st;
    if (jfa_json_user_list(resp.body, resp.body_len, out, derr, sizeof(derr)) < 0)
        st = decode_failed(c, "GET", path, &resp, derr);
    jfa_http_response_free(&resp);
    return st;
}

enum jfa_status jfa_system_info(struct jfa_client *c, struct jfa_system_info *out)
{
    static const char path[] = "/System/Info/Public";
    struct jfa_http_response resp;
    char derr[JFA_ERRLEN];
    enum jfa_status st;

    memset(out, 0, sizeof(*out));
    st = do_call(c, "GET", path, NULL, NULL, EXPECT_BODY, &resp);
    if (st != JFA_OK)
        return st;
    if (jfa_json_system_info(resp.body, resp.body_len, out, derr, sizeof(derr)) < 0)
        st = decode_failed(c, "GET", path, &resp, derr);
    jfa_http_response_free(&resp);
    return st;
}

enum jfa_status jfa_create_api_key(struct jfa_client *c, const char *token, const char *app)
{
    char enc[3 * 128 + 1];
    char path[sizeof(enc) + 32];
    struct jfa_http_response resp;
    enum jfa_status st;

    if (token == NULL || app == NULL || app[0] == '\0' ||
        jfa_percent_encode(enc, sizeof(enc), app) == (size_t)-1) {
        cerr(c, "POST /Auth/Keys: missing token or bad app name");
        return JFA_ERR_INTERNAL;
    }
    snprintf(path, sizeof(path), "/Auth/Keys?app=%s", enc);
    st = do_call(c, "POST", path, token, NULL, EXPECT_NO_BODY, &resp);
    if (st == JFA_OK)
        jfa_http_response_free(&resp);
    return st;
}

/*
 * DELETE /Auth/Keys/{key}. The path holds a secret: the call runs with a
 * silent log (the transport would name the path in its lines) and the
 * error text names the key only as "{key}".
 */
enum jfa_status jfa_delete_api_key(struct jfa_client *c, const char *token, const char *key)
{
    static const struct jfa_log quiet = {NULL, NULL, false};
    const struct jfa_log *log = c->log;
    struct jfa_http_response resp;
    char path[64];
    enum jfa_status st;
    size_t i;

    if (token == NULL || key == NULL || strlen(key) != 32) {
        cerr(c, "DELETE /Auth/Keys/{key}: missing token or malformed key");
        return JFA_ERR_INTERNAL;
    }
    for (i = 0; i < 32; i++) {
        if (!isxdigit((unsigned char)key[i])) {
            cerr(c, "DELETE /Auth/Keys/{key}: malformed key");
            return JFA_ERR_INTERNAL;
        }
    }
    snprintf(path, sizeof(path), "/Auth/Keys/%s", key);
    c->log = &quiet;
    st = do_call(c, "DELETE", path, token, NULL, EXPECT_NO_BODY, &resp);
    c->log = log;
    explicit_bzero(path, sizeof(path));
    if (st == JFA_OK)
        jfa_http_response_free(&resp);
    else
        cerr(c, "DELETE /Auth/Keys/{key}: HTTP %ld (%s)", c->last_http_status, jfa_status_str(st));
    return st;
}

enum jfa_status jfa_list_api_keys(struct jfa_client *c, const char *token,
                                  struct jfa_api_key_list *out)
{
    static const char path[] = "/Auth/Keys";
    struct jfa_http_response resp;
    char derr[JFA_ERRLEN];
    enum jfa_status st;

    memset(out, 0, sizeof(*out));
    st = do_call(c, "GET", path, token, NULL, EXPECT_BODY, &resp);
    if (st != JFA_OK)
        return st;
    if (jfa_json_api_keys(resp.body, resp.body_len, out, derr, sizeof(derr)) < 0)
        st = decode_failed(c, "GET", path, &resp, derr);
    jfa_http_response_free(&resp);
    return st;
}
