/*
 * tests/fuzz/fuzz_json.c - libFuzzer target for lib/jfjson.c.
 *
 * Owns: feeding one input to all five decoders (UserDto, AuthenticationResult,
 * UserDto[], PublicSystemInfo, Auth/Keys) and to the GUID normaliser, and
 * checking what a successful decode promises (name and token present, ids
 * 32 lowercase hex or empty). Also round-trips the password bodies: split
 * the input at its first NUL into two strings, serialise them, parse the
 * result back with json-c and demand the same bytes. The streaming user-list
 * decoder must agree with the whole-document reference (tests/unit/
 * jfjson_ref.h) on every input: same verdict, same users field by field,
 * and a refusal must carry a "Users..." message.
 *
 * Build: clang -g -fsanitize=fuzzer,address,undefined -Ilib -Itests/unit \
 *        tests/fuzz/fuzz_json.c lib/jfjson.c -ljson-c -o fuzz_json
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jfjson.h"
#include "jfjson_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_id(const char *id, int may_be_empty)
{
    size_t n = strlen(id);

    if (n == 0 && may_be_empty)
        return;
    if (n != 32)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            abort();
    }
}

static void check_user(const struct jfa_user *u)
{
    if (u->name == NULL || u->name[0] == '\0')
        abort();
    check_id(u->id, 0);
}

static void check_member(struct json_object *o, const char *key, const char *want)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        abort();
    if ((size_t)json_object_get_string_len(v) != strlen(want) ||
        memcmp(json_object_get_string(v), want, strlen(want)) != 0)
        abort();
}

static void body_roundtrip(const char *a, const char *b)
{
    char *body = jfa_json_authenticate_body(a, b);
    struct json_object *o;

    if (body == NULL)
        abort();
    o = json_tokener_parse(body);
    if (o == NULL)
        abort();
    check_member(o, "Username", a);
    check_member(o, "Pw", b);
    json_object_put(o);
    free(body);

    body = jfa_json_password_body(a, b);
    if (body == NULL)
        abort();
    o = json_tokener_parse(body);
    if (o == NULL)
        abort();
    check_member(o, "CurrentPw", a);
    check_member(o, "NewPw", b);
    json_object_put(o);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    char err[512];
    char *str, *second;
    struct jfa_user u;
    struct jfa_auth_result r;
    struct jfa_user_list l, ref;
    struct jfa_system_info s;
    struct jfa_api_key_list k;
    struct jfa_quick_connect q;
    bool b;
    char guid[33];
    int rc;

    if (jfa_json_user(buf, size, &u, err, sizeof(err)) == 0)
        check_user(&u);
    jfa_user_free(&u);

    if (jfa_json_auth_result(buf, size, &r, err, sizeof(err)) == 0) {
        check_user(&r.user);
        if (r.access_token == NULL || r.access_token[0] == '\0')
            abort();
        check_id(r.session_id, 1);
    }
    jfa_auth_result_free(&r);

    err[0] = '\0';
    rc = jfa_json_user_list(buf, size, &l, err, sizeof(err));
    if (rc == 0) {
        for (size_t i = 0; i < l.n; i++)
            check_user(&l.users[i]);
    } else if (strncmp(err, "Users", 5) != 0 || l.n != 0 || l.users != NULL) {
        abort();
    }
    if (!jfa_ref_lists_agree(rc, &l, jfa_ref_user_list(buf, size, &ref), &ref))
        abort();
    jfa_user_list_free(&l);
    jfa_user_list_free(&ref);

    if (jfa_json_system_info(buf, size, &s, err, sizeof(err)) == 0)
        check_id(s.id, 1);
    jfa_system_info_free(&s);

    if (jfa_json_api_keys(buf, size, &k, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < k.n; i++) {
            if (k.keys[i].access_token == NULL)
                abort();
        }
    }
    jfa_api_key_list_free(&k);

    /* QuickConnectResult: the code is shown to people, the secret goes in
     * a URL and a JSON body: only digits and hex digits may come out */
    if (jfa_json_quick_connect(buf, size, &q, err, sizeof(err)) == 0) {
        size_t ns = strlen(q.secret), nc = strlen(q.code);
        char *body;

        if (ns < 32 || ns > JFA_QC_SECRET_MAX || strspn(q.secret, "0123456789abcdefABCDEF") != ns ||
            nc < 4 || nc > JFA_QC_CODE_MAX || strspn(q.code, "0123456789") != nc)
            abort();
        body = jfa_json_quick_connect_body(q.secret);
        if (body == NULL)
            abort();
        free(body);
    }
    jfa_quick_connect_wipe(&q);
    if (jfa_json_bool(buf, size, &b, err, sizeof(err)) != 0 && b)
        abort();

    /* NUL-terminated copies for the string APIs */
    str = malloc(size + 2);
    if (str == NULL)
        return 0;
    memcpy(str, data, size);
    str[size] = '\0';
    str[size + 1] = '\0';
    if (jfa_guid_normalize(str, guid) == 0)
        check_id(guid, 0);
    second = str + strlen(str) + 1;
    if (second > str + size)
        second = str + size + 1; /* "" */
    body_roundtrip(str, second);
    free(str);
    return 0;
}
