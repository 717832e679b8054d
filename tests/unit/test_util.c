/*
 * tests/unit/test_util.c - unit tests of lib/util.c (libjfacore, libc only):
 * the one UTF-8 decoder (every class of invalid input is refused, the
 * boundaries of each length are decoded) and the hex encoder (lower case;
 * the digit helper in either case).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

/* Decode the len bytes of s (given as a string literal, so NULs allowed). */
static size_t dec(const char *s, size_t len, uint32_t *cp)
{
    *cp = 0xFFFFFFFFu;
    return jfa_utf8_decode((const unsigned char *)s, len, cp);
}

#define DEC(lit, cp) dec(lit, sizeof(lit) - 1, cp)

static void test_utf8_valid(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 0x41},
        {"\x7f", 1, 0x7F},
        {"\xc2\x80", 2, 0x80}, /* lowest 2-byte */
        {"\xc3\xa9", 2, 0xE9},
        {"\xdf\xbf", 2, 0x7FF},     /* highest 2-byte */
        {"\xe0\xa0\x80", 3, 0x800}, /* lowest 3-byte */
        {"\xed\x9f\xbf", 3, 0xD7FF},
        {"\xee\x80\x80", 3, 0xE000},
        {"\xef\xbf\xbf", 3, 0xFFFF},
        {"\xf0\x90\x80\x80", 4, 0x10000},  /* lowest 4-byte */
        {"\xf4\x8f\xbf\xbf", 4, 0x10FFFF}, /* highest code point */
    };
    uint32_t cp;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(dec(cases[i].s, cases[i].len, &cp), cases[i].len);
        assert_int_equal(cp, cases[i].cp);
        /* only the first sequence is read: trailing bytes do not matter */
        char buf[8];
        memcpy(buf, cases[i].s, cases[i].len);
        buf[cases[i].len] = '\xff';
        assert_int_equal(dec(buf, cases[i].len + 1, &cp), cases[i].len);
    }
    /* a NUL byte is the code point 0 */
    assert_int_equal(dec("\0", 1, &cp), 1);
    assert_int_equal(cp, 0);
    /* cp may be NULL */
    assert_int_equal(jfa_utf8_decode((const unsigned char *)"\xe2\x82\xac", 3, NULL), 3);
}

static void test_utf8_invalid(void **state)
{
    static const struct {
        const char *what, *s;
        size_t len;
    } cases[] = {
        {"nothing", "", 0},
        {"continuation as lead", "\x80", 1},
        {"continuation as lead", "\xbf\x80", 2},
        {"C0 lead (overlong 2-byte)", "\xc0\x80", 2},
        {"C1 lead (overlong 2-byte)", "\xc1\xbf", 2},
        {"overlong 3-byte (U+0000)", "\xe0\x80\x80", 3},
        {"overlong 3-byte (U+07FF)", "\xe0\x9f\xbf", 3},
        {"overlong 4-byte (U+0000)", "\xf0\x80\x80\x80", 4},
        {"overlong 4-byte (U+FFFF)", "\xf0\x8f\xbf\xbf", 4},
        {"surrogate U+D800", "\xed\xa0\x80", 3},
        {"surrogate U+DBFF", "\xed\xaf\xbf", 3},
        {"surrogate U+DC00", "\xed\xb0\x80", 3},
        {"surrogate U+DFFF", "\xed\xbf\xbf", 3},
        {"above U+10FFFF (F4 90)", "\xf4\x90\x80\x80", 4},
        {"above U+10FFFF (F5 lead)", "\xf5\x80\x80\x80", 4},
        {"above U+10FFFF (F7 lead)", "\xf7\xbf\xbf\xbf", 4},
        {"5-byte lead", "\xf8\x88\x80\x80\x80", 5},
        {"6-byte lead", "\xfc\x84\x80\x80\x80\x80", 6},
        {"FE", "\xfe", 1},
        {"FF", "\xff", 1},
        {"truncated 2-byte", "\xc3", 1},
        {"truncated 3-byte", "\xe2\x82", 2},
        {"truncated 4-byte", "\xf0\x9f\x98", 3},
        {"ASCII where a continuation belongs", "\xc3\x28", 2},
        {"ASCII in the 3rd byte", "\xe2\x82\x28", 3},
        {"ASCII in the 4th byte", "\xf0\x9f\x98\x28", 4},
        {"lead where a continuation belongs", "\xe2\xc3\xa9", 3},
        {"NUL where a continuation belongs", "\xc3\0", 2},
    };
    uint32_t cp;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (dec(cases[i].s, cases[i].len, &cp) != 0)
            fail_msg("%s: accepted", cases[i].what);
        if (cp != 0xFFFFFFFFu)
            fail_msg("%s: *cp written", cases[i].what);
    }
    /* a valid sequence cut short by n */
    assert_int_equal(dec("\xe2\x82\xac", 2, &cp), 0);
    assert_int_equal(DEC("\xe2\x82\xac", &cp), 3);
}

static void test_hex(void **state)
{
    static const unsigned char in[] = {0x00, 0x01, 0x7f, 0x80, 0x9a, 0xbc, 0xde, 0xf0, 0xff};
    char out[2 * sizeof(in) + 2];

    (void)state;
    memset(out, 'X', sizeof(out));
    jfa_hex_encode(out, in, sizeof(in));
    assert_string_equal(out, "00017f809abcdef0ff"); /* lower case, NUL-terminated */
    assert_int_equal(out[sizeof(out) - 1], 'X');    /* nothing written past 2n + 1 */
    jfa_hex_encode(out, in, 0);
    assert_string_equal(out, "");
    for (unsigned v = 0; v < 16; v++) {
        assert_int_equal(jfa_hex_digit(v, false), "0123456789abcdef"[v]);
        assert_int_equal(jfa_hex_digit(v, true), "0123456789ABCDEF"[v]);
        assert_int_equal(jfa_hex_digit(v | 0xf0u, true), "0123456789ABCDEF"[v]); /* low 4 bits */
        assert_int_equal(jfa_hexval(jfa_hex_digit(v, false)), (int)v);
        assert_int_equal(jfa_hexval(jfa_hex_digit(v, true)), (int)v);
    }
}

/* the one list of code points that change what a terminal shows */
static void test_display_unsafe(void **state)
{
    static const uint32_t bad[] = {0x0,    0x1b,   0x1f,   0x7f,   0x80,   0x9b,   0x9f,   0x61c,
                                   0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2066, 0x2069};
    static const uint32_t good[] = {0x20,   0x7e,   0xa0,   0xe9,   0x61b,  0x200d,
                                    0x2027, 0x202f, 0x2065, 0x206a, 0x20ac, 0x1f600};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!jfa_cp_display_unsafe(bad[i]))
            fail_msg("U+%04X not unsafe", (unsigned)bad[i]);
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (jfa_cp_display_unsafe(good[i]))
            fail_msg("U+%04X unsafe", (unsigned)good[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_display_unsafe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
