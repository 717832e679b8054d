/*
 * tests/unit/test_log.c - unit tests for lib/log.c.
 *
 * Owns: the escaping rules of jfa_log_escape (control bytes, quotes,
 * backslash, invalid and C1 UTF-8, truncation on unit boundaries), and
 * jfa_logf's filtering and truncation through a capturing sink.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

struct capture {
    int calls;
    int priority;
    char msg[2048];
};

static void capture_fn(void *ctx, int priority, const char *msg)
{
    struct capture *c = ctx;

    c->calls++;
    c->priority = priority;
    snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

static void test_escape_plain(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "alice"), "alice");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), ""), "");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "a b.c-d_e@f+g"), "a b.c-d_e@f+g");
}

static void test_escape_null_src(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), NULL), "(null)");
}

static void test_escape_controls(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "a\nb"), "a\\x0ab");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\r\t\x1b[31m"), "\\x0d\\x09\\x1b[31m");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "x\x7fy"), "x\\x7fy");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\x01"), "\\x01");
}

static void test_escape_quotes_backslash(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "say \"hi\""), "say \\x22hi\\x22");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "o'neil"), "o\\x27neil");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "a\\b"), "a\\x5cb");
}

static void test_escape_utf8(void **state)
{
    char buf[64];

    (void)state;
    /* valid two-, three- and four-byte sequences pass through */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "Jos\xc3\xa9"), "Jos\xc3\xa9");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xe2\x82\xac"), "\xe2\x82\xac");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xf0\x9f\x8e\xac"), "\xf0\x9f\x8e\xac");
    /* lone continuation byte, truncated sequence, bad lead byte */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "a\x80z"), "a\\x80z");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xc3"), "\\xc3");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xe2\x82z"), "\\xe2\\x82z");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xff\xfe"), "\\xff\\xfe");
    /* overlong '/' and NUL, surrogate, above U+10FFFF */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xc0\xaf"), "\\xc0\\xaf");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xed\xa0\x80"), "\\xed\\xa0\\x80");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xf4\x90\x80\x80"),
                        "\\xf4\\x90\\x80\\x80");
    /* C1 control U+009B (CSI) is escaped byte by byte */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xc2\x9b"), "\\xc2\\x9b");
    /* bidirectional controls reorder what a terminal or log viewer shows
     * (U+202E RIGHT-TO-LEFT OVERRIDE, U+2066 LRI, U+200F RLM, U+061C ALM) */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf),
                                       "a\xe2\x80\xae"
                                       "b"),
                        "a\\xe2\\x80\\xaeb");
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xe2\x81\xa6\xe2\x80\x8f\xd8\x9c"),
                        "\\xe2\\x81\\xa6\\xe2\\x80\\x8f\\xd8\\x9c");
    /* other non-ASCII stays: U+2030 (per mille) next to the bidi block */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "\xe2\x80\xb0"), "\xe2\x80\xb0");
}

static void test_escape_truncation(void **state)
{
    char buf[10];
    char big[512];

    (void)state;
    /* exactly fits: 9 chars */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "123456789"), "123456789");
    /* one more: cut with "..." */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "1234567890"), "123456...");
    /* an escape is never split: "12345" + "\x0a" would need 9 + "..." */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "12345\n7890"), "12345...");
    /* a UTF-8 sequence is never split */
    assert_string_equal(jfa_log_escape(buf, sizeof(buf), "12345\xe2\x82\xac\xe2\x82\xac"),
                        "12345...");
    /* tiny buffers */
    assert_string_equal(jfa_log_escape(buf, 3, "abcdef"), "..");
    assert_string_equal(jfa_log_escape(buf, 1, "abcdef"), "");
    assert_string_equal(jfa_log_escape(buf, 4, "abcdef"), "...");
    assert_string_equal(jfa_log_escape(buf, 4, "abc"), "abc");
    /* dstlen 0: untouched */
    buf[0] = 'Q';
    assert_ptr_equal(jfa_log_escape(buf, 0, "abc"), buf);
    assert_int_equal(buf[0], 'Q');
    /* output always bounded and terminated */
    memset(big, '\n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    jfa_log_escape(buf, sizeof(buf), big);
    assert_true(strlen(buf) < sizeof(buf));
    assert_string_equal(buf, "\\x0a...");
}

static void test_logf_basic(void **state)
{
    struct capture cap = {0};
    struct jfa_log log = {capture_fn, &cap, false};

    (void)state;
    jfa_logf(&log, LOG_ERR, "user %s: %d", "bob", 42);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.priority, LOG_ERR);
    assert_string_equal(cap.msg, "user bob: 42");
    jfa_logf(&log, LOG_INFO, "info");
    assert_int_equal(cap.calls, 2);
    assert_int_equal(cap.priority, LOG_INFO);
}

static void test_logf_debug_filter(void **state)
{
    struct capture cap = {0};
    struct jfa_log log = {capture_fn, &cap, false};

    (void)state;
    jfa_logf(&log, LOG_DEBUG, "hidden");
    assert_int_equal(cap.calls, 0);
    /* with a facility in the priority, still filtered */
    jfa_logf(&log, LOG_AUTHPRIV | LOG_DEBUG, "hidden");
    assert_int_equal(cap.calls, 0);
    log.debug = true;
    jfa_logf(&log, LOG_DEBUG, "shown");
    assert_int_equal(cap.calls, 1);
    assert_string_equal(cap.msg, "shown");
}

static void test_logf_null_sinks(void **state)
{
    struct jfa_log log = {NULL, NULL, true};

    (void)state;
    /* must not crash */
    jfa_logf(NULL, LOG_ERR, "x");
    jfa_logf(&log, LOG_ERR, "x");
}

static void test_logf_truncation(void **state)
{
    struct capture cap = {0};
    struct jfa_log log = {capture_fn, &cap, false};
    char big[3000];
    size_t n;

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    jfa_logf(&log, LOG_WARNING, "%s", big);
    assert_int_equal(cap.calls, 1);
    n = strlen(cap.msg);
    assert_true(n < 2000);
    assert_true(n > 500);
    assert_string_equal(cap.msg + n - 3, "...");
}

static void test_logf_keeps_errno(void **state)
{
    struct capture cap = {0};
    struct jfa_log log = {capture_fn, &cap, false};

    (void)state;
    errno = ENOENT;
    jfa_logf(&log, LOG_ERR, "x");
    assert_int_equal(errno, ENOENT);
}

static void test_stderr_sink(void **state)
{
    char path[] = "/tmp/jfa-test-log.XXXXXX";
    char buf[128] = {0};
    FILE *f;
    int fd, saved;
    size_t n;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) == 2);
    jfa_log_stderr(NULL, LOG_ERR, "hello");
    fflush(stderr);
    assert_true(dup2(saved, 2) == 2);
    close(saved);
    close(fd);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    unlink(path);
    buf[n] = '\0';
    assert_string_equal(buf, "jellyfin-auth: hello\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_plain),     cmocka_unit_test(test_escape_null_src),
        cmocka_unit_test(test_escape_controls),  cmocka_unit_test(test_escape_quotes_backslash),
        cmocka_unit_test(test_escape_utf8),      cmocka_unit_test(test_escape_truncation),
        cmocka_unit_test(test_logf_basic),       cmocka_unit_test(test_logf_debug_filter),
        cmocka_unit_test(test_logf_null_sinks),  cmocka_unit_test(test_logf_truncation),
        cmocka_unit_test(test_logf_keeps_errno), cmocka_unit_test(test_stderr_sink),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
