/*
 * tests/unit/jfjson_ref.h - the slow reference decoder of UserDto[] (tests only).
 *
 * Owns: jfa_ref_user_list(), which decodes a user list the way lib/jfjson.c
 * did before it streamed the array: the whole document parsed into one json-c
 * tree (same flags, depth limit, NUL, truncation and trailing-data rules),
 * which must be an array; then every element serialised again and decoded on
 * its own by the public single-user decoder jfa_json_user(), which shares
 * decode_user() with the list decoder. Also jfa_ref_user_equal(), a field by
 * field comparison of two decoded users. Header-only (static functions) so
 * that tests/unit/test_jfjson.c and tests/fuzz/fuzz_json.c can both use it.
 */
#ifndef JFA_TEST_JFJSON_REF_H
#define JFA_TEST_JFJSON_REF_H

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jfjson.h"

#define JFA_REF_MAX_DEPTH 32 /* JFA_JSON_MAX_DEPTH in lib/jfjson.c */

/* The whole document as one tree, top level an array; NULL when refused. */
static struct json_object *jfa_ref_parse_array(const char *buf, size_t len)
{
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    enum json_tokener_error jerr;
    size_t end;

    if (buf == NULL || len == 0 || len > INT_MAX || memchr(buf, '\0', len) != NULL)
        goto out;
    tok = json_tokener_new_ex(JFA_REF_MAX_DEPTH);
    if (tok == NULL)
        goto out;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    root = json_tokener_parse_ex(tok, buf, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        root = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) != json_tokener_success)
            goto fail;
        end = len;
    } else if (jerr != json_tokener_success) {
        goto fail;
    } else {
        end = json_tokener_get_parse_end(tok);
    }
    while (end < len && isspace((unsigned char)buf[end]))
        end++;
    if (end != len || root == NULL || !json_object_is_type(root, json_type_array))
        goto fail;
    goto out;
fail:
    json_object_put(root);
    root = NULL;
out:
    if (tok != NULL)
        json_tokener_free(tok);
    return root;
}

/* 0 or -1, like jfa_json_user_list (without its messages). */
static int jfa_ref_user_list(const char *buf, size_t len, struct jfa_user_list *out)
{
    struct json_object *root;
    size_t n;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    root = jfa_ref_parse_array(buf, len);
    if (root == NULL)
        goto out;
    n = json_object_array_length(root);
    if (n > 0) {
        out->users = calloc(n, sizeof(*out->users));
        if (out->users == NULL)
            goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *el = json_object_array_get_idx(root, i);
        const char *text;
        char err[256];

        if (el == NULL || !json_object_is_type(el, json_type_object))
            goto out;
        text = json_object_to_json_string_ext(el, JSON_C_TO_STRING_PLAIN);
        if (text == NULL)
            goto out;
        out->n = i + 1;
        if (jfa_json_user(text, strlen(text), &out->users[i], err, sizeof(err)) < 0)
            goto out;
    }
    rc = 0;
out:
    if (rc < 0)
        jfa_user_list_free(out);
    json_object_put(root);
    return rc;
}

static bool jfa_ref_str_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool jfa_ref_user_equal(const struct jfa_user *a, const struct jfa_user *b)
{
    const struct jfa_policy *p = &a->policy, *q = &b->policy;

    return jfa_ref_str_equal(a->name, b->name) && strcmp(a->id, b->id) == 0 &&
           jfa_ref_str_equal(a->server_id, b->server_id) && a->has_password == b->has_password &&
           jfa_ref_str_equal(a->last_login_date, b->last_login_date) &&
           p->is_administrator == q->is_administrator && p->is_hidden == q->is_hidden &&
           p->is_disabled == q->is_disabled && p->enable_remote_access == q->enable_remote_access &&
           p->enable_all_devices == q->enable_all_devices &&
           p->enable_user_preference_access == q->enable_user_preference_access &&
           p->login_attempts_before_lockout == q->login_attempts_before_lockout &&
           p->invalid_login_attempt_count == q->invalid_login_attempt_count &&
           p->max_active_sessions == q->max_active_sessions &&
           jfa_ref_str_equal(p->authentication_provider_id, q->authentication_provider_id);
}

/* Both lists decoded (or both refused) and equal element by element. */
static bool jfa_ref_lists_agree(int rc_a, const struct jfa_user_list *a, int rc_b,
                                const struct jfa_user_list *b)
{
    if (rc_a != rc_b)
        return false;
    if (rc_a != 0)
        return a->n == 0 && b->n == 0 && a->users == NULL && b->users == NULL;
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++) {
        if (!jfa_ref_user_equal(&a->users[i], &b->users[i]))
            return false;
    }
    return true;
}

#endif
