/*
 * tests/unit/test_authheader.c - unit tests for lib/authheader.c.
 *
 * Owns: the exact header text for plain and awkward values (quotes, commas,
 * spaces, '=', '%', '+', non-ASCII UTF-8), the token being omitted when
 * absent, percent-encoding bounds, the DeviceId (stable, 32 hex, distinct
 * per user and client), Device= never empty, and the round trip through a
 * C model of the server's GetParts parser (tests/unit/jf_getparts.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "authheader.h"
#include "jf_getparts.h"

static void test_percent_encode(void **state)
{
    char buf[64];

    (void)state;
    assert_int_equal(jfa_percent_encode(buf, sizeof(buf), "abcXYZ019"), 9);
    assert_string_equal(buf, "abcXYZ019");
    assert_int_equal(jfa_percent_encode(buf, sizeof(buf), "a b"), 5);
    assert_string_equal(buf, "a%20b");
    jfa_percent_encode(buf, sizeof(buf), "-._~\"%,=+/");
    assert_string_equal(buf, "%2D%2E%5F%7E%22%25%2C%3D%2B%2F");
    jfa_percent_encode(buf, sizeof(buf), "J\xc3\xb6hn");
    assert_string_equal(buf, "J%C3%B6hn");
    assert_int_equal(jfa_percent_encode(buf, sizeof(buf), ""), 0);
    assert_string_equal(buf, "");

    /* exact fit: "a b" needs 5 + NUL */
    memset(buf, 'Q', sizeof(buf));
    assert_int_equal(jfa_percent_encode(buf, 6, "a b"), 5);
    assert_string_equal(buf, "a%20b");
    /* too small: -1 and dst untouched */
    memset(buf, 'Q', sizeof(buf));
    assert_int_equal(jfa_percent_encode(buf, 5, "a b"), (size_t)-1);
    assert_int_equal(buf[0], 'Q');
    assert_int_equal(jfa_percent_encode(buf, 0, "a"), (size_t)-1);
    assert_int_equal(jfa_percent_encode(buf, 1, "a"), (size_t)-1);
    assert_int_equal(jfa_percent_encode(buf, 1, ""), 0);
}

static void test_header_simple(void **state)
{
    char *h;

    (void)state;
    h = jfa_auth_header("pam_jellyfin", "host1", "0123456789abcdef0123456789abcdef", "1.0.0", NULL);
    assert_non_null(h);
    assert_string_equal(h, "MediaBrowser Client=\"pam%5Fjellyfin\", Device=\"host1\", "
                           "DeviceId=\"0123456789abcdef0123456789abcdef\", "
                           "Version=\"1%2E0%2E0\"");
    free(h);

    h = jfa_auth_header("c", "d", "i", "v", "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    assert_non_null(h);
    assert_string_equal(h, "MediaBrowser Client=\"c\", Device=\"d\", DeviceId=\"i\", "
                           "Version=\"v\", Token=\"0a1b2c3d4e5f60718293a4b5c6d7e8f9\"");
    free(h);

    /* an empty token is omitted like a NULL one */
    h = jfa_auth_header("c", "d", "i", "v", "");
    assert_non_null(h);
    assert_string_equal(h,
                        "MediaBrowser Client=\"c\", Device=\"d\", DeviceId=\"i\", Version=\"v\"");
    free(h);

    /* required fields */
    assert_null(jfa_auth_header(NULL, "d", "i", "v", NULL));
    assert_null(jfa_auth_header("c", NULL, "i", "v", NULL));
    assert_null(jfa_auth_header("c", "d", NULL, "v", NULL));
    assert_null(jfa_auth_header("c", "d", "i", NULL, NULL));
}

static void test_header_awkward_values(void **state)
{
    char *h;

    (void)state;
    h = jfa_auth_header("my \"client\"", "box, the=one", "50%+", "J\xc3\xb6hn", "a\\b");
    assert_non_null(h);
    assert_string_equal(h, "MediaBrowser Client=\"my%20%22client%22\", "
                           "Device=\"box%2C%20the%3Done\", DeviceId=\"50%25%2B\", "
                           "Version=\"J%C3%B6hn\", Token=\"a%5Cb\"");
    /* nothing but the scheme, keys, separators and [A-Za-z0-9%] */
    for (const char *p = strchr(h, ' ') + 1; *p; p++)
        assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789%\"=, ",
                               *p));
    free(h);

    /* CR/LF can never reach the header line */
    h = jfa_auth_header("c\r\nX-Evil: 1", "d", "i", "v", NULL);
    assert_non_null(h);
    assert_null(strpbrk(h, "\r\n"));
    free(h);
}

static void roundtrip(const char *client, const char *device, const char *device_id,
                      const char *version, const char *token)
{
    struct jf_parts p;
    char *h = jfa_auth_header(client, device, device_id, version, token);

    assert_non_null(h);
    assert_int_equal(jf_getparts(h, &p), 0);
    assert_non_null(jf_parts_get(&p, "Client"));
    assert_string_equal(jf_parts_get(&p, "Client"), client);
    assert_string_equal(jf_parts_get(&p, "Device"), device);
    assert_string_equal(jf_parts_get(&p, "DeviceId"), device_id);
    assert_string_equal(jf_parts_get(&p, "Version"), version);
    if (token != NULL && token[0] != '\0') {
        assert_non_null(jf_parts_get(&p, "Token"));
        assert_string_equal(jf_parts_get(&p, "Token"), token);
        assert_int_equal(p.n, 5);
    } else {
        assert_null(jf_parts_get(&p, "Token"));
        assert_int_equal(p.n, 4);
    }
    jf_parts_free(&p);
    free(h);
}

static void test_roundtrip_getparts(void **state)
{
    (void)state;
    roundtrip("pam_jellyfin", "host1", "0123456789abcdef0123456789abcdef", "0.1.0", NULL);
    roundtrip("jellyfin-auth", "media box", "x", "1", "0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    roundtrip("a \"quoted\" name", "comma, here", "eq=ual", "50% + 1", "tok,en=\"x\"");
    roundtrip("J\xc3\xb6hn", "\xe6\x97\xa5\xe6\x9c\xac", "%41", "++", "%zz");
    roundtrip("", "", "", "", "");
    roundtrip(" lead", "trail ", "\t", "Token=\"evil\"", NULL);
}

/* The model parser itself, on hand-written headers from jellyfin-api.md §2. */
static void test_getparts_model(void **state)
{
    struct jf_parts p;

    (void)state;
    /* quotes optional, scheme case-insensitive */
    assert_int_equal(jf_getparts("mediabrowser Token=abc", &p), 0);
    assert_string_equal(jf_parts_get(&p, "Token"), "abc");
    jf_parts_free(&p);
    /* commas inside quotes are kept; + is a space; malformed % left */
    assert_int_equal(jf_getparts("MediaBrowser Device=\"a,b\", Client=\"x+y%2\"", &p), 0);
    assert_string_equal(jf_parts_get(&p, "Device"), "a,b");
    assert_string_equal(jf_parts_get(&p, "Client"), "x y%2");
    jf_parts_free(&p);
    /* keys are case-sensitive; a duplicate takes the last value */
    assert_int_equal(jf_getparts("MediaBrowser token=\"a\", Token=\"b\", Token=\"c\"", &p), 0);
    assert_string_equal(jf_parts_get(&p, "Token"), "c");
    assert_string_equal(jf_parts_get(&p, "token"), "a");
    jf_parts_free(&p);
    /* a space before the opening quote corrupts the value */
    assert_int_equal(jf_getparts("MediaBrowser Client= \"v\", Device=\"d\"", &p), 0);
    assert_string_not_equal(jf_parts_get(&p, "Client"), "v");
    jf_parts_free(&p);
    /* other schemes give no fields */
    assert_int_equal(jf_getparts("Bearer Token=abc", &p), -1);
    assert_int_equal(jf_getparts("Emby Token=abc", &p), -1);
    assert_int_equal(jf_getparts("MediaBrowser", &p), -1);
}

static bool is_hex32(const char *s)
{
    if (strlen(s) != 32)
        return false;
    for (; *s; s++) {
        if (!strchr("0123456789abcdef", *s))
            return false;
    }
    return true;
}

static void test_device_id(void **state)
{
    char a[33], b[33], c[33], d[33], e[33];

    (void)state;
    assert_int_equal(jfa_device_id("pam_jellyfin", "1234", a), 0);
    assert_true(is_hex32(a));
    assert_int_equal(jfa_device_id("pam_jellyfin", "1234", b), 0);
    assert_string_equal(a, b); /* stable */
    assert_int_equal(jfa_device_id("pam_jellyfin", "1235", c), 0);
    assert_string_not_equal(a, c); /* per user */
    assert_int_equal(jfa_device_id("jellyfin-auth", "1234", d), 0);
    assert_string_not_equal(a, d); /* per client */
    assert_int_equal(jfa_device_id("pam_jellyfin", NULL, e), 0);
    assert_true(is_hex32(e));
    assert_string_not_equal(a, e);
    assert_int_equal(jfa_device_id("pam_jellyfin", "", b), 0);
    assert_string_equal(e, b); /* NULL user key == "" */
    /* the separator matters: ("ab","c") and ("a","bc") differ */
    assert_int_equal(jfa_device_id("ab", "c", b), 0);
    assert_int_equal(jfa_device_id("a", "bc", c), 0);
    assert_string_not_equal(b, c);
    assert_int_equal(jfa_device_id(NULL, "x", b), -1);
}

/* The device id is pinned (a changed id would be a new device to Jellyfin):
 * the first 16 bytes of SHA-256(machine-id NUL client NUL user key) in
 * lower-case hex, computed here independently. */
static void test_device_id_value(void **state)
{
    static const unsigned char sep = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char mid[64], want[33], got[33];
    size_t n = 0;
    FILE *f = fopen("/etc/machine-id", "r");

    (void)state;
    if (f != NULL) {
        int ch;

        while (n < 32 && (ch = fgetc(f)) != EOF && strchr("0123456789abcdef", ch) != NULL)
            mid[n++] = (char)ch;
        fclose(f);
    }
    if (n != 32)
        skip(); /* no machine-id: the id falls back to the host name */
    {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        assert_non_null(ctx);
        assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, mid, 32), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, &sep, 1), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, "pam_jellyfin", 12), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, &sep, 1), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, "1234", 4), 1);
        assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
        EVP_MD_CTX_free(ctx);
    }
    for (size_t i = 0; i < 16; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    assert_int_equal(jfa_device_id("pam_jellyfin", "1234", got), 0);
    assert_string_equal(got, want);
}

static void test_device_name(void **state)
{
    char buf[256], small[4];

    (void)state;
    jfa_device_name(buf, sizeof(buf));
    assert_true(buf[0] != '\0');
    jfa_device_name(small, sizeof(small));
    assert_true(strlen(small) <= 3 && small[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_encode),        cmocka_unit_test(test_header_simple),
        cmocka_unit_test(test_header_awkward_values), cmocka_unit_test(test_roundtrip_getparts),
        cmocka_unit_test(test_getparts_model),        cmocka_unit_test(test_device_id),
        cmocka_unit_test(test_device_id_value),       cmocka_unit_test(test_device_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
