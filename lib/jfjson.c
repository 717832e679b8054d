/*
 * lib/jfjson.c - decoding Jellyfin JSON answers into plain C structs (json-c).
 *
 * Owns: the decoders for UserDto (with Policy), AuthenticationResult,
 * UserDto[], PublicSystemInfo, the Auth/Keys list, QuickConnectResult and a
 * bare boolean; GUID normalisation; the request bodies that carry passwords
 * or a Quick Connect secret; and the free functions that wipe tokens, keys
 * and secrets. Keys are matched case-insensitively (PascalCase or
 * camelCase, like the server's model binding); unknown fields are ignored;
 * null means absent. Every field we use is type-checked and a wrong type is
 * an error naming the field ("User.Id: expected a string"). Error messages
 * never quote values from the document, so they are safe to log.
 *
 * Speed of the user list: GET /Users answers about 2 KB per user (Policy and
 * Configuration), 20 MB for 10,000 users. Parsing that into one json-c tree
 * means ~1.5M small objects alive at once: the mallocs, the page faults on
 * a few hundred MB and the final free cost ~0.5 s of CPU, most of a sync.
 * jfa_json_user_list therefore walks the top-level array itself and hands
 * each element to the same strict json-c tokener (reused, depth limit one
 * less for the array level), decodes it with the same decode_user() and
 * frees it before the next one: one UserDto tree alive at a time (measured
 * on 10,000 users: 0.65 s -> 0.21 s, peak RSS 148 MB -> 23 MB), and no
 * new dependency. A SAX library (yajl) would save perhaps another 0.1 s but
 * would bring a second JSON parser with its own rules on UTF-8, duplicate
 * keys and numbers, in a PAM module, for a path already well under budget.
 * The fast path accepts only the plain shape
 * ws '[' ws (elem ws (',' ws elem ws)*)? ']' ws; on ANY failure, syntax or
 * type, it gives up and the whole-document path that preceded it runs on
 * the same buffer. So every rejection, and its message, is exactly the
 * whole-document one, and a success can only differ if the per-element
 * parse disagreed with the tree (the unit tests and fuzz_json compare the
 * two on every input they see).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jfjson.h"
#include "log.h"

#define JFA_JSON_MAX_DEPTH 32

/* Wipe the storage of a json-c string in place (it may hold a token). */
static void wipe_json_string(struct json_object *o)
{
    if (o != NULL && json_object_is_type(o, json_type_string)) {
        char *s = (char *)json_object_get_string(o);
        int n = json_object_get_string_len(o);

        if (s != NULL && n > 0)
            explicit_bzero(s, (size_t)n);
    }
}

/*
 * Parse buf as one JSON document with a nesting limit. The top level must
 * have type `want`. Returns the root (caller puts it) or NULL with err.
 */
static struct json_object *parse_doc(const char *buf, size_t len, enum json_type want,
                                     const char *what, char *err, size_t errlen)
{
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    enum json_tokener_error jerr;
    size_t end;

    if (buf == NULL || len == 0) {
        jfa_set_err(err, errlen, "%s: empty body", what);
        goto out;
    }
    if (len > INT_MAX) {
        jfa_set_err(err, errlen, "%s: body too large", what);
        goto out;
    }
    if (memchr(buf, '\0', len) != NULL) {
        jfa_set_err(err, errlen, "%s: NUL byte in body", what);
        goto out;
    }
    tok = json_tokener_new_ex(JFA_JSON_MAX_DEPTH);
    if (tok == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", what);
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, buf, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        /* all input used: the document is cut short, or it is a top-level
         * literal ("null", 12) that only ends at a terminator: feed one */
        root = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) != json_tokener_success) {
            jfa_set_err(err, errlen, "%s: truncated JSON", what);
            goto fail;
        }
        end = len;
    } else if (jerr != json_tokener_success) {
        jfa_set_err(err, errlen, "%s: invalid JSON: %s", what, json_tokener_error_desc(jerr));
        goto fail;
    } else {
        end = json_tokener_get_parse_end(tok);
    }
    while (end < len && isspace((unsigned char)buf[end]))
        end++;
    if (end != len) {
        jfa_set_err(err, errlen, "%s: trailing data after JSON", what);
        goto fail;
    }
    if (root == NULL || !json_object_is_type(root, want)) {
        jfa_set_err(err, errlen, "%s: expected a JSON %s", what,
                    want == json_type_array     ? "array"
                    : want == json_type_boolean ? "boolean"
                                                : "object");
        goto fail;
    }
    goto out;
fail:
    json_object_put(root);
    root = NULL;
out:
    if (tok != NULL)
        json_tokener_free(tok);
    return root;
}

/* Case-insensitive member lookup; an exact match wins. NULL if absent or null. */
static struct json_object *member(struct json_object *obj, const char *key)
{
    struct json_object *found = NULL;

    if (json_object_object_get_ex(obj, key, &found))
        return found;
    json_object_object_foreach(obj, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

/*
 * String member. Absent or null: *out = NULL, error only when required.
 * Embedded NUL bytes are refused (they would truncate names).
 */
static int get_string(struct json_object *obj, const char *path, const char *key, bool required,
                      char **out, char *err, size_t errlen)
{
    struct json_object *v = member(obj, key);
    const char *s;
    int n;

    *out = NULL;
    if (v == NULL) {
        if (required) {
            jfa_set_err(err, errlen, "%s%s%s: missing", path, *path ? "." : "", key);
            return -1;
        }
        return 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        jfa_set_err(err, errlen, "%s%s%s: expected a string", path, *path ? "." : "", key);
        return -1;
    }
    s = json_object_get_string(v);
    n = json_object_get_string_len(v);
    if (s == NULL || n < 0 || strlen(s) != (size_t)n) {
        jfa_set_err(err, errlen, "%s%s%s: contains a NUL character", path, *path ? "." : "", key);
        return -1;
    }
    if (required && n == 0) {
        jfa_set_err(err, errlen, "%s%s%s: empty", path, *path ? "." : "", key);
        return -1;
    }
    *out = strdup(s);
    if (*out == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int get_bool(struct json_object *obj, const char *path, const char *key, bool def, bool *out,
                    char *err, size_t errlen)
{
    struct json_object *v = member(obj, key);

    *out = def;
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_boolean)) {
        jfa_set_err(err, errlen, "%s%s%s: expected a boolean", path, *path ? "." : "", key);
        return -1;
    }
    *out = json_object_get_boolean(v) != 0;
    return 0;
}

static int get_int(struct json_object *obj, const char *path, const char *key, int def, int *out,
                   char *err, size_t errlen)
{
    struct json_object *v = member(obj, key);
    int64_t x;

    *out = def;
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_int)) {
        jfa_set_err(err, errlen, "%s%s%s: expected an integer", path, *path ? "." : "", key);
        return -1;
    }
    x = json_object_get_int64(v);
    if (x < INT_MIN || x > INT_MAX) {
        jfa_set_err(err, errlen, "%s%s%s: integer out of range", path, *path ? "." : "", key);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* GUID member into out[33]; absent/null gives "" unless required. */
static int get_guid(struct json_object *obj, const char *path, const char *key, bool required,
                    char out[33], char *err, size_t errlen)
{
    char *s = NULL;
    int rc = -1;

    out[0] = '\0';
    if (get_string(obj, path, key, required, &s, err, errlen) < 0)
        goto out;
    if (s == NULL) {
        rc = 0;
        goto out;
    }
    if (jfa_guid_normalize(s, out) < 0) {
        jfa_set_err(err, errlen, "%s%s%s: not a GUID", path, *path ? "." : "", key);
        goto out;
    }
    rc = 0;
out:
    free(s);
    return rc;
}

/* Optional GUID-ish string kept as char*: normalised when it parses as a GUID. */
static int get_id_string(struct json_object *obj, const char *path, const char *key, char **out,
                         char *err, size_t errlen)
{
    char norm[33];

    if (get_string(obj, path, key, false, out, err, errlen) < 0)
        return -1;
    if (*out != NULL && jfa_guid_normalize(*out, norm) == 0)
        memcpy(*out, norm, 33); /* the N form is never longer than any accepted form */
    return 0;
}

bool jfa_guid_is_n(const char *s)
{
    size_t i;

    if (s == NULL)
        return false;
    for (i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[32] == '\0';
}

int jfa_guid_normalize(const char *in, char out[33])
{
    /* positions of dashes in the D form */
    static const size_t dashes[4] = {8, 13, 18, 23};
    const char *p;
    size_t len, n = 0;
    char tmp[33];

    if (in == NULL)
        return -1;
    len = strlen(in);
    p = in;
    if (len == 38 && ((in[0] == '{' && in[37] == '}') || (in[0] == '(' && in[37] == ')'))) {
        p = in + 1;
        len = 36;
    }
    if (len == 32) {
        for (size_t i = 0; i < 32; i++) {
            if (jfa_hexval((unsigned char)p[i]) < 0)
                return -1;
            tmp[n++] = (char)tolower((unsigned char)p[i]);
        }
    } else if (len == 36) {
        size_t d = 0;

        for (size_t i = 0; i < 36; i++) {
            if (d < 4 && i == dashes[d]) {
                if (p[i] != '-')
                    return -1;
                d++;
                continue;
            }
            if (jfa_hexval((unsigned char)p[i]) < 0)
                return -1;
            tmp[n++] = (char)tolower((unsigned char)p[i]);
        }
    } else {
        return -1;
    }
    if (n != 32)
        return -1;
    tmp[32] = '\0';
    memcpy(out, tmp, 33);
    return 0;
}

static void policy_defaults(struct jfa_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->enable_remote_access = true;
    p->enable_all_devices = true;
    p->enable_user_preference_access = true;
    p->login_attempts_before_lockout = -1;
}

static int decode_policy(struct json_object *obj, const char *upath, struct jfa_policy *p,
                         char *err, size_t errlen)
{
    char path[96];

    policy_defaults(p);
    if (obj == NULL)
        return 0;
    snprintf(path, sizeof(path), "%s.Policy", upath);
    if (!json_object_is_type(obj, json_type_object)) {
        jfa_set_err(err, errlen, "%s: expected an object", path);
        return -1;
    }
    if (get_bool(obj, path, "IsAdministrator", false, &p->is_administrator, err, errlen) < 0 ||
        get_bool(obj, path, "IsHidden", false, &p->is_hidden, err, errlen) < 0 ||
        get_bool(obj, path, "IsDisabled", false, &p->is_disabled, err, errlen) < 0 ||
        get_bool(obj, path, "EnableRemoteAccess", true, &p->enable_remote_access, err, errlen) <
            0 ||
        get_bool(obj, path, "EnableAllDevices", true, &p->enable_all_devices, err, errlen) < 0 ||
        get_bool(obj, path, "EnableUserPreferenceAccess", true, &p->enable_user_preference_access,
                 err, errlen) < 0 ||
        get_int(obj, path, "LoginAttemptsBeforeLockout", -1, &p->login_attempts_before_lockout, err,
                errlen) < 0 ||
        get_int(obj, path, "InvalidLoginAttemptCount", 0, &p->invalid_login_attempt_count, err,
                errlen) < 0 ||
        get_int(obj, path, "MaxActiveSessions", 0, &p->max_active_sessions, err, errlen) < 0 ||
        get_string(obj, path, "AuthenticationProviderId", false, &p->authentication_provider_id,
                   err, errlen) < 0)
        return -1;
    return 0;
}

/* Decode one UserDto object; path names it in errors ("User", "Users[3]"). */
static int decode_user(struct json_object *obj, const char *path, struct jfa_user *u, char *err,
                       size_t errlen)
{
    memset(u, 0, sizeof(*u));
    policy_defaults(&u->policy);
    if (obj == NULL) {
        jfa_set_err(err, errlen, "%s: missing", path);
        return -1;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        jfa_set_err(err, errlen, "%s: expected an object", path);
        return -1;
    }
    if (get_string(obj, path, "Name", true, &u->name, err, errlen) < 0 ||
        get_guid(obj, path, "Id", true, u->id, err, errlen) < 0 ||
        get_id_string(obj, path, "ServerId", &u->server_id, err, errlen) < 0 ||
        get_bool(obj, path, "HasPassword", false, &u->has_password, err, errlen) < 0 ||
        get_string(obj, path, "LastLoginDate", false, &u->last_login_date, err, errlen) < 0 ||
        decode_policy(member(obj, "Policy"), path, &u->policy, err, errlen) < 0)
        return -1;
    return 0;
}

int jfa_json_user(const char *buf, size_t len, struct jfa_user *out, char *err, size_t errlen)
{
    struct json_object *root;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = parse_doc(buf, len, json_type_object, "User", err, errlen);
    if (root == NULL)
        goto out;
    if (decode_user(root, "User", out, err, errlen) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        jfa_user_free(out);
    json_object_put(root);
    return rc;
}

int jfa_json_auth_result(const char *buf, size_t len, struct jfa_auth_result *out, char *err,
                         size_t errlen)
{
    struct json_object *root, *sess;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = parse_doc(buf, len, json_type_object, "AuthenticationResult", err, errlen);
    if (root == NULL)
        goto out;
    if (decode_user(member(root, "User"), "User", &out->user, err, errlen) < 0)
        goto out;
    if (get_string(root, "", "AccessToken", true, &out->access_token, err, errlen) < 0)
        goto out;
    if (get_id_string(root, "", "ServerId", &out->server_id, err, errlen) < 0)
        goto out;
    sess = member(root, "SessionInfo");
    if (sess != NULL) {
        if (!json_object_is_type(sess, json_type_object)) {
            jfa_set_err(err, errlen, "SessionInfo: expected an object");
            goto out;
        }
        if (get_guid(sess, "SessionInfo", "Id", false, out->session_id, err, errlen) < 0)
            goto out;
    }
    rc = 0;
out:
    if (root != NULL)
        wipe_json_string(member(root, "AccessToken"));
    if (rc < 0)
        jfa_auth_result_free(out);
    json_object_put(root);
    return rc;
}

/* The whole-document decoder: authoritative for every error. */
static int user_list_tree(const char *buf, size_t len, struct jfa_user_list *out, char *err,
                          size_t errlen)
{
    struct json_object *root;
    size_t n;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = parse_doc(buf, len, json_type_array, "Users", err, errlen);
    if (root == NULL)
        goto out;
    n = json_object_array_length(root);
    if (n > 0) {
        out->users = calloc(n, sizeof(*out->users));
        if (out->users == NULL) {
            jfa_set_err(err, errlen, "Users: out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char path[32];

        snprintf(path, sizeof(path), "Users[%zu]", i);
        out->n = i + 1; /* so a partial entry is freed too */
        if (decode_user(json_object_array_get_idx(root, i), path, &out->users[i], err, errlen) < 0)
            goto out;
    }
    out->n = n;
    rc = 0;
out:
    if (rc < 0)
        jfa_user_list_free(out);
    json_object_put(root);
    return rc;
}

/* JSON whitespace between tokens (RFC 8259 section 2); json-c skips the same. */
static bool json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

#define USER_LIST_MIN_CAP 64

/*
 * The streaming decoder (see the top of this file): 0 when buf is a plain
 * array of UserDto that all decode, else -1 with nothing kept (out freed).
 * It writes no message: the caller re-runs user_list_tree for that.
 */
static int user_list_stream(const char *buf, size_t len, struct jfa_user_list *out)
{
    struct json_tokener *tok = NULL;
    struct json_object *elem = NULL;
    size_t pos = 0, cap = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (buf == NULL || len == 0 || len > INT_MAX || memchr(buf, '\0', len) != NULL)
        goto out;
    while (pos < len && json_ws(buf[pos]))
        pos++;
    if (pos == len || buf[pos] != '[')
        goto out;
    pos++;
    while (pos < len && json_ws(buf[pos]))
        pos++;
    if (pos < len && buf[pos] == ']') {
        pos++;
        goto tail;
    }
    tok = json_tokener_new_ex(JFA_JSON_MAX_DEPTH - 1); /* the array is one level */
    if (tok == NULL)
        goto out;
    /* trailing characters: the ',' or ']' after each element, checked below */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                    JSON_TOKENER_VALIDATE_UTF8);
    for (;;) {
        size_t used;

        if (pos >= len)
            goto out;
        json_tokener_reset(tok);
        elem = json_tokener_parse_ex(tok, buf + pos, (int)(len - pos));
        if (json_tokener_get_error(tok) != json_tokener_success)
            goto out;
        used = json_tokener_get_parse_end(tok);
        if (used == 0 || used > len - pos)
            goto out;
        pos += used;
        if (out->n == cap) {
            size_t ncap = cap == 0 ? USER_LIST_MIN_CAP : cap * 2;
            struct jfa_user *nu;

            if (ncap > SIZE_MAX / sizeof(*nu))
                goto out;
            nu = realloc(out->users, ncap * sizeof(*nu));
            if (nu == NULL)
                goto out;
            out->users = nu;
            cap = ncap;
        }
        out->n++; /* so a partial entry is freed too */
        if (decode_user(elem, "Users[]", &out->users[out->n - 1], NULL, 0) < 0)
            goto out;
        json_object_put(elem);
        elem = NULL;
        while (pos < len && json_ws(buf[pos]))
            pos++;
        if (pos == len)
            goto out;
        if (buf[pos] == ']') {
            pos++;
            break;
        }
        if (buf[pos] != ',')
            goto out;
        pos++;
    }
tail:
    /* json-c's strict tokener refuses anything but JSON whitespace after the
     * document (parse_doc's isspace() check comes after it) */
    while (pos < len && json_ws(buf[pos]))
        pos++;
    if (pos != len)
        goto out;
    rc = 0;
out:
    json_object_put(elem);
    if (tok != NULL)
        json_tokener_free(tok);
    if (rc < 0)
        jfa_user_list_free(out);
    return rc;
}

int jfa_json_user_list(const char *buf, size_t len, struct jfa_user_list *out, char *err,
                       size_t errlen)
{
    if (user_list_stream(buf, len, out) == 0)
        return 0;
    return user_list_tree(buf, len, out, err, errlen);
}

int jfa_json_system_info(const char *buf, size_t len, struct jfa_system_info *out, char *err,
                         size_t errlen)
{
    struct json_object *root;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = parse_doc(buf, len, json_type_object, "PublicSystemInfo", err, errlen);
    if (root == NULL)
        goto out;
    if (get_string(root, "", "ServerName", false, &out->server_name, err, errlen) < 0 ||
        get_string(root, "", "Version", false, &out->version, err, errlen) < 0 ||
        get_string(root, "", "ProductName", false, &out->product_name, err, errlen) < 0 ||
        get_guid(root, "", "Id", false, out->id, err, errlen) < 0 ||
        get_bool(root, "", "StartupWizardCompleted", false, &out->startup_wizard_completed, err,
                 errlen) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        jfa_system_info_free(out);
    json_object_put(root);
    return rc;
}

int jfa_json_api_keys(const char *buf, size_t len, struct jfa_api_key_list *out, char *err,
                      size_t errlen)
{
    struct json_object *root, *items = NULL;
    size_t n = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = parse_doc(buf, len, json_type_object, "Auth/Keys", err, errlen);
    if (root == NULL)
        goto out;
    items = member(root, "Items");
    if (items == NULL) {
        jfa_set_err(err, errlen, "Items: missing");
        goto out;
    }
    if (!json_object_is_type(items, json_type_array)) {
        jfa_set_err(err, errlen, "Items: expected an array");
        goto out;
    }
    n = json_object_array_length(items);
    if (n > 0) {
        out->keys = calloc(n, sizeof(*out->keys));
        if (out->keys == NULL) {
            jfa_set_err(err, errlen, "Items: out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *it = json_object_array_get_idx(items, i);
        char path[32];

        snprintf(path, sizeof(path), "Items[%zu]", i);
        out->n = i + 1;
        if (it == NULL || !json_object_is_type(it, json_type_object)) {
            jfa_set_err(err, errlen, "%s: expected an object", path);
            goto out;
        }
        if (get_string(it, path, "AccessToken", true, &out->keys[i].access_token, err, errlen) <
                0 ||
            get_string(it, path, "AppName", false, &out->keys[i].app_name, err, errlen) < 0 ||
            get_string(it, path, "DateCreated", false, &out->keys[i].date_created, err, errlen) < 0)
            goto out;
    }
    out->n = n;
    rc = 0;
out:
    if (items != NULL && json_object_is_type(items, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            struct json_object *it = json_object_array_get_idx(items, i);

            if (it != NULL && json_object_is_type(it, json_type_object))
                wipe_json_string(member(it, "AccessToken"));
        }
    }
    if (rc < 0)
        jfa_api_key_list_free(out);
    json_object_put(root);
    return rc;
}

static bool all_of(const char *s, size_t min, size_t max, int (*cls)(int))
{
    size_t n = strlen(s);

    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!cls((unsigned char)s[i]))
            return false;
    return true;
}

int jfa_json_quick_connect(const char *buf, size_t len, struct jfa_quick_connect *out, char *err,
                           size_t errlen)
{
    struct json_object *root;
    char *secret = NULL, *code = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = parse_doc(buf, len, json_type_object, "QuickConnectResult", err, errlen);
    if (root == NULL)
        goto out;
    if (get_bool(root, "", "Authenticated", false, &out->authenticated, err, errlen) < 0 ||
        get_string(root, "", "Secret", true, &secret, err, errlen) < 0 ||
        get_string(root, "", "Code", true, &code, err, errlen) < 0)
        goto out;
    if (!all_of(secret, 32, JFA_QC_SECRET_MAX, isxdigit)) {
        jfa_set_err(err, errlen, "Secret: expected 32 to %d hex digits", JFA_QC_SECRET_MAX);
        goto out;
    }
    if (!all_of(code, 4, JFA_QC_CODE_MAX, isdigit)) {
        jfa_set_err(err, errlen, "Code: expected 4 to %d decimal digits", JFA_QC_CODE_MAX);
        goto out;
    }
    memcpy(out->secret, secret, strlen(secret) + 1);
    memcpy(out->code, code, strlen(code) + 1);
    rc = 0;
out:
    jfa_free_secret(secret);
    free(code);
    if (root != NULL)
        wipe_json_string(member(root, "Secret"));
    if (rc < 0)
        jfa_quick_connect_wipe(out);
    json_object_put(root);
    return rc;
}

int jfa_json_bool(const char *buf, size_t len, bool *out, char *err, size_t errlen)
{
    struct json_object *root;

    *out = false;
    root = parse_doc(buf, len, json_type_boolean, "boolean", err, errlen);
    if (root == NULL)
        return -1;
    *out = json_object_get_boolean(root) != 0;
    json_object_put(root);
    return 0;
}

char *jfa_json_quick_connect_body(const char *secret)
{
    char *body;
    size_t n;

    if (secret == NULL || !all_of(secret, 32, JFA_QC_SECRET_MAX, isxdigit))
        return NULL;
    n = strlen(secret) + sizeof("{\"Secret\":\"\"}");
    body = malloc(n);
    if (body != NULL)
        snprintf(body, n, "{\"Secret\":\"%s\"}", secret);
    return body;
}

/*
 * Serialise a two-member object of secrets. What is wiped: the serialised
 * text in json-c's print buffer and the string members' storage, before the
 * object is released. What cannot be wiped: earlier copies left in freed
 * memory when json-c grows its print buffer (realloc) while serialising.
 */
static char *secret_body(const char *k1, const char *v1, const char *k2, const char *v2)
{
    struct json_object *obj = NULL, *s1 = NULL, *s2 = NULL;
    const char *text;
    char *res = NULL;

    if (v1 == NULL || v2 == NULL)
        goto out;
    obj = json_object_new_object();
    s1 = json_object_new_string(v1);
    s2 = json_object_new_string(v2);
    if (obj == NULL || s1 == NULL || s2 == NULL)
        goto out;
    if (json_object_object_add(obj, k1, s1) != 0)
        goto out;
    s1 = NULL; /* owned by obj now */
    if (json_object_object_add(obj, k2, s2) != 0)
        goto out;
    s2 = NULL;
    text = json_object_to_json_string_ext(obj,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text == NULL)
        goto out;
    res = strdup(text);
    explicit_bzero((char *)text, strlen(text));
out:
    if (obj != NULL) {
        wipe_json_string(json_object_object_get(obj, k1));
        wipe_json_string(json_object_object_get(obj, k2));
    }
    wipe_json_string(s1);
    wipe_json_string(s2);
    json_object_put(s1);
    json_object_put(s2);
    json_object_put(obj);
    return res;
}

char *jfa_json_authenticate_body(const char *username, const char *password)
{
    return secret_body("Username", username, "Pw", password);
}

char *jfa_json_password_body(const char *current_pw, const char *new_pw)
{
    return secret_body("CurrentPw", current_pw, "NewPw", new_pw);
}

static void policy_free(struct jfa_policy *p)
{
    free(p->authentication_provider_id);
    p->authentication_provider_id = NULL;
}

void jfa_user_free(struct jfa_user *u)
{
    if (u == NULL)
        return;
    free(u->name);
    free(u->server_id);
    free(u->last_login_date);
    policy_free(&u->policy);
    memset(u, 0, sizeof(*u));
}

void jfa_auth_result_free(struct jfa_auth_result *r)
{
    if (r == NULL)
        return;
    jfa_user_free(&r->user);
    jfa_free_secret(r->access_token);
    free(r->server_id);
    explicit_bzero(r, sizeof(*r));
}

void jfa_user_list_free(struct jfa_user_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++)
        jfa_user_free(&l->users[i]);
    free(l->users);
    memset(l, 0, sizeof(*l));
}

void jfa_system_info_free(struct jfa_system_info *s)
{
    if (s == NULL)
        return;
    free(s->server_name);
    free(s->version);
    free(s->product_name);
    memset(s, 0, sizeof(*s));
}

void jfa_quick_connect_wipe(struct jfa_quick_connect *q)
{
    if (q != NULL)
        explicit_bzero(q, sizeof(*q));
}

void jfa_api_key_list_free(struct jfa_api_key_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n; i++) {
        jfa_free_secret(l->keys[i].access_token);
        free(l->keys[i].app_name);
        free(l->keys[i].date_created);
    }
    free(l->keys);
    explicit_bzero(l, sizeof(*l));
}

char *jfa_json_policy_reset_count(const char *buf, size_t len, int *was, char *err, size_t errlen)
{
    struct json_object *root, *policy = NULL, *count = NULL;
    char *out = NULL;
    const char *s;

    *was = -1;
    root = parse_doc(buf, len, json_type_object, "user", err, errlen);
    if (root == NULL)
        return NULL;
    if (!json_object_object_get_ex(root, "Policy", &policy) ||
        !json_object_is_type(policy, json_type_object)) {
        jfa_set_err(err, errlen, "user: no Policy object");
        goto out;
    }
    if (json_object_object_get_ex(policy, "InvalidLoginAttemptCount", &count) &&
        json_object_is_type(count, json_type_int))
        *was = (int)json_object_get_int64(count);
    /* every other member, known to us or not, goes back as it was */
    if (json_object_object_add(policy, "InvalidLoginAttemptCount", json_object_new_int(0)) != 0) {
        jfa_set_err(err, errlen, "out of memory");
        goto out;
    }
    s = json_object_to_json_string_ext(policy,
                                       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    out = s != NULL ? strdup(s) : NULL;
    if (out == NULL)
        jfa_set_err(err, errlen, "out of memory");
out:
    json_object_put(root);
    return out;
}
