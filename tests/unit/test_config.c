/*
 * tests/unit/test_config.c - unit tests for lib/jfaconf.c.
 *
 * Owns: the defaults, every key with valid and invalid values (errors must
 * carry FILE:LINE and the key), the url list forms and limits, the plain-
 * text edge cases (CRLF, tabs, comments, empty value, missing '=', long
 * lines, NUL bytes), the home template, CIDR parsing and matching, the
 * trust checks of jfa_config_load and the derived paths.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* by path, so no other directory on the include path can shadow it */
#include "../../lib/jfaconf.h"

static char err[JFA_ERRLEN];

/* Parse text (from defaults) as "test.conf"; returns the parser's result. */
static int parse_text(struct jfa_config *cfg, const char *text)
{
    jfa_config_defaults(cfg);
    err[0] = '\0';
    return jfa_config_parse(cfg, text, strlen(text), "test.conf", err, sizeof(err));
}

static void ok(const char *text)
{
    struct jfa_config cfg;

    if (parse_text(&cfg, text) != 0)
        fail_msg("unexpected error for \"%s\": %s", text, err);
    jfa_config_free(&cfg);
}

/*
 * Parse must fail with "test.conf:LINE: " and the error must contain every
 * NULL-terminated needle.
 */
static void bad(const char *text, unsigned line, ...)
{
    struct jfa_config cfg;
    char prefix[64];
    const char *needle;
    va_list ap;

    if (parse_text(&cfg, text) != -1)
        fail_msg("accepted bad config \"%s\"", text);
    snprintf(prefix, sizeof(prefix), "test.conf:%u: ", line);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
    va_start(ap, line);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(err, needle) == NULL) {
            va_end(ap);
            fail_msg("error \"%s\" lacks \"%s\"", err, needle);
        }
    }
    va_end(ap);
    jfa_config_free(&cfg);
}

#define U "url = https://jf.example.org\n"

/* ---- defaults ---- */

static void test_defaults(void **state)
{
    struct jfa_config cfg;
    struct jfa_cidr c;

    (void)state;
    jfa_config_defaults(&cfg);
    assert_null(cfg.path);
    assert_int_equal(cfg.n_urls, 0);
    assert_null(cfg.ca_file);
    assert_int_equal(cfg.timeout, 10);
    assert_string_equal(cfg.api_key_file, SYSCONFDIR "/jellyfin-auth.key");
    assert_string_equal(cfg.state_dir, LOCALSTATEDIR "/lib/jellyfin-auth");
    assert_int_equal(cfg.uid_min, 0x70000000u);
    assert_int_equal(cfg.uid_max, 0x7FFDFFFFu);
    assert_int_equal(cfg.uid_min, 1879048192u);
    assert_int_equal(cfg.uid_max, 2147352575u);
    assert_string_equal(cfg.home, "/home/%u");
    assert_string_equal(cfg.shell, "/bin/bash");
    assert_string_equal(cfg.users_group, "jellyfin-users");
    assert_string_equal(cfg.admin_group, "jellyfin-admins");
    assert_int_equal(cfg.offline_max_age, 604800);
    assert_int_equal(cfg.n_local_networks, 7);
    assert_false(cfg.allow_plain_http);
    assert_int_equal(cfg.throttle_failures, 5);
    assert_int_equal(cfg.throttle_window, 900);
    assert_int_equal(cfg.throttle_max_delay, 3600);
    assert_true(cfg.lockout_guard);
    assert_false(cfg.case_sensitive);
    assert_true(cfg.sync_on_login);
    assert_int_equal(jfa_cidr_parse("127.0.0.0/8", &c), 0);
    assert_memory_equal(&cfg.local_networks[0], &c, sizeof(c));
    /* the default networks cover loopback and private ranges */
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "127.0.0.1"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "::1"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "10.9.8.7"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "172.31.0.1"));
    assert_false(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "172.32.0.1"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "192.168.1.1"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "fd12::1"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "fe80::1"));
    assert_false(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "8.8.8.8"));
    assert_false(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "2001:db8::1"));
    /* freeing defaults only (static strings) is safe, twice too */
    jfa_config_free(&cfg);
    jfa_config_free(&cfg);
    /* defaults twice in a row do not leak (valgrind/ASan would tell) */
    jfa_config_defaults(&cfg);
    jfa_config_defaults(&cfg);
    jfa_config_free(&cfg);
}

static void test_empty_file(void **state)
{
    struct jfa_config cfg;

    (void)state;
    assert_int_equal(parse_text(&cfg, ""), 0);
    assert_int_equal(cfg.n_urls, 0);
    assert_int_equal(cfg.timeout, 10);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "\n\n# only comments\n   \n\t\n"), 0);
    jfa_config_free(&cfg);
}

static void test_all_keys_valid(void **state)
{
    struct jfa_config cfg;
    static const char text[] = "# full example\n"
                               "url = https://a.example.org/jellyfin/, http://127.0.0.1:8096\n"
                               "url = https://[2001:db8::1]:8920\n"
                               "ca_file = /etc/ssl/jf.pem\n"
                               "timeout = 30\n"
                               "api_key_file = /etc/jf.key\n"
                               "state_dir = /srv/state\n"
                               "uid_min = 200000\n"
                               "uid_max = 300000\n"
                               "home = /srv/home/%u\n"
                               "shell = /usr/bin/zsh\n"
                               "users_group = media\n"
                               "admin_group = media_admins\n"
                               "offline_max_age = 2d\n"
                               "local_networks = 192.168.7.0/24, fd00::/8\n"
                               "allow_plain_http = yes\n"
                               "throttle_failures = 3\n"
                               "throttle_window = 10m\n"
                               "throttle_max_delay = 2h\n"
                               "lockout_guard = no\n"
                               "case_sensitive = yes\n"
                               "sync_on_login = no\n";

    (void)state;
    if (parse_text(&cfg, text) != 0)
        fail_msg("%s", err);
    assert_int_equal(cfg.n_urls, 3);
    assert_string_equal(cfg.urls[0], "https://a.example.org/jellyfin");
    assert_string_equal(cfg.urls[1], "http://127.0.0.1:8096");
    assert_string_equal(cfg.urls[2], "https://[2001:db8::1]:8920");
    assert_string_equal(cfg.ca_file, "/etc/ssl/jf.pem");
    assert_int_equal(cfg.timeout, 30);
    assert_string_equal(cfg.api_key_file, "/etc/jf.key");
    assert_string_equal(cfg.state_dir, "/srv/state");
    assert_int_equal(cfg.uid_min, 200000);
    assert_int_equal(cfg.uid_max, 300000);
    assert_string_equal(cfg.home, "/srv/home/%u");
    assert_string_equal(cfg.shell, "/usr/bin/zsh");
    assert_string_equal(cfg.users_group, "media");
    assert_string_equal(cfg.admin_group, "media_admins");
    assert_int_equal(cfg.offline_max_age, 2 * 86400);
    assert_int_equal(cfg.n_local_networks, 2);
    assert_true(jfa_cidr_list_match(cfg.local_networks, 2, "192.168.7.9"));
    assert_false(jfa_cidr_list_match(cfg.local_networks, 2, "192.168.8.9"));
    assert_false(jfa_cidr_list_match(cfg.local_networks, 2, "127.0.0.1")); /* replaced */
    assert_true(cfg.allow_plain_http);
    assert_int_equal(cfg.throttle_failures, 3);
    assert_int_equal(cfg.throttle_window, 600);
    assert_int_equal(cfg.throttle_max_delay, 7200);
    assert_false(cfg.lockout_guard);
    assert_true(cfg.case_sensitive);
    assert_false(cfg.sync_on_login);
    jfa_config_free(&cfg);
}

/* ---- url ---- */

static void test_url_forms(void **state)
{
    struct jfa_config cfg;

    (void)state;
    assert_int_equal(parse_text(&cfg, "url = https://a.example https://b.example\t"
                                      "https://c.example,https://d.example ,, https://e.example\n"
                                      "url=HTTPS://F.example///\n"),
                     0);
    assert_int_equal(cfg.n_urls, 6);
    assert_string_equal(cfg.urls[0], "https://a.example");
    assert_string_equal(cfg.urls[3], "https://d.example");
    assert_string_equal(cfg.urls[4], "https://e.example");
    assert_string_equal(cfg.urls[5], "https://F.example"); /* scheme lowered, host kept */
    jfa_config_free(&cfg);

    assert_int_equal(parse_text(&cfg, "url = https://jf.example:8920/base/path/\n"), 0);
    assert_string_equal(cfg.urls[0], "https://jf.example:8920/base/path");
    jfa_config_free(&cfg);

    assert_int_equal(parse_text(&cfg, "url = http://[::1]:8096/\n"), 0);
    assert_string_equal(cfg.urls[0], "http://[::1]:8096");
    jfa_config_free(&cfg);

    ok("url = https://host_with_underscore.lan\n");
    ok("url = https://jf.example/a%20b/~x\n");
    ok("url = https://[2001:db8::1]/jf\n");
    ok("url = http://[::ffff:127.0.0.1]:8096\n");
    ok("url = https://jf.example:1\n");
    ok("url = https://jf.example:65535/\n");
    ok("url = https://jf.example./\n");
    ok("url = https://JF.EXAMPLE/Base/\n");
}

static void test_url_limits(void **state)
{
    struct jfa_config cfg;
    char text[1024];
    int i, n = 0;

    (void)state;
    /* exactly JFA_MAX_URLS over several lines */
    for (i = 0; i < JFA_MAX_URLS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "url = https://h%d.example\n", i);
    assert_int_equal(parse_text(&cfg, text), 0);
    assert_int_equal(cfg.n_urls, JFA_MAX_URLS);
    jfa_config_free(&cfg);
    /* one more fails on that line */
    snprintf(text + n, sizeof(text) - (size_t)n, "url = https://one-too-many.example\n");
    bad(text, JFA_MAX_URLS + 1, "url", "too many urls", NULL);
    /* and on one line */
    bad("url = https://1 https://2 https://3 https://4 https://5 https://6 https://7 "
        "https://8 https://9\n",
        1, "url", "too many urls", NULL);
}

static void test_url_invalid(void **state)
{
    (void)state;
    bad("url = ftp://jf.example\n", 1, "url", "ftp://jf.example", "http:// or https://", NULL);
    bad("url = jf.example\n", 1, "url", "jf.example", NULL);
    bad("url = https://\n", 1, "url", "missing host", NULL);
    bad("url = https:///path\n", 1, "url", "missing host", NULL);
    bad("url = https://:8096\n", 1, "url", "missing host", NULL);
    bad("url = https://user:pw@jf.example\n", 1, "url", "user name or password", NULL);
    bad("url = https://jf.example/?x=1\n", 1, "url", "query or fragment", NULL);
    bad("url = https://jf.example/#top\n", 1, "url", "query or fragment", NULL);
    bad("url = https://jf.example:0\n", 1, "url", "bad port", NULL);
    bad("url = https://jf.example:65536\n", 1, "url", "bad port", NULL);
    bad("url = https://jf.example:http\n", 1, "url", "bad port", NULL);
    bad("url = https://jf.example:\n", 1, "url", "bad port", NULL);
    bad("url = https://[::1]:\n", 1, "url", "bad port", NULL);
    bad("url = https://jf.example:99999999999\n", 1, "url", "bad port", NULL);
    bad("url = https://jf.example:-1\n", 1, "url", "bad port", NULL);
    bad("url = https://[::1\n", 1, "url", "IPv6", NULL);
    bad("url = https://[zz::1]/\n", 1, "url", "IPv6", NULL);
    bad("url = https://jf.example/a\"b\n", 1, "url", "invalid character", "\\x22", NULL);
    bad("url = https://-bad.example\n", 1, "url", "bad host", NULL);
    bad("url = https://jf.example # main server\n", 1, "url", "line of their own", NULL);
    /* what libcurl's URL API (7.88) accepts and our rules refuse */
    bad("url = https:/jf.example\n", 1, "url", "http:// or https://", NULL);
    bad("url = https:jf.example\n", 1, "url", "http:// or https://", NULL);
    bad("url = https:////jf.example\n", 1, "url", "http:// or https://", NULL);
    bad("url = file:///etc/passwd\n", 1, "url", "http:// or https://", NULL);
    bad("url = xyz://jf.example\n", 1, "url", "http:// or https://", NULL);
    bad("url = //jf.example\n", 1, "url", "http:// or https://", NULL);
    bad("url = https://jf.example/?\n", 1, "url", "query or fragment", NULL);
    bad("url = https://jf.example/#\n", 1, "url", "query or fragment", NULL);
    bad("url = https://jf.example/base?\n", 1, "url", "query or fragment", NULL);
    bad("url = https://@jf.example\n", 1, "url", "user name or password", NULL);
    bad("url = https://user@jf.example\n", 1, "url", "user name or password", NULL);
    bad("url = https://:pw@jf.example\n", 1, "url", "user name or password", NULL);
    bad("url = https://u;auth=x@jf.example\n", 1, "url", "user name or password", NULL);
    bad("url = https://jf%2eexample\n", 1, "url", "percent-encoding", NULL);
    bad("url = https://[fe80::1%25eth0]/\n", 1, "url", "percent-encoding", NULL);
    bad("url = https://.jf.example\n", 1, "url", "bad host", NULL);
    bad("url = https://jf.example\\path\n", 1, "url", NULL);
    bad("url = https://jf.example/\xc3\xa9\n", 1, "url", "invalid character", NULL);
    bad("url = https://jf.example/a|b\n", 1, "url", "invalid character", NULL);
    /* the second url on line 3 is the bad one */
    bad(U "\n"
          "url = https://ok.example, gopher://x\n",
        3, "url", "gopher://x", NULL);
}

/* ---- other keys ---- */

static void test_paths(void **state)
{
    (void)state;
    ok(U "ca_file = /etc/ssl/certs/jf ca.pem\n"); /* inner space is fine */
    bad(U "ca_file = certs/ca.pem\n", 2, "ca_file", "certs/ca.pem", "absolute", NULL);
    bad(U "api_key_file = jf.key\n", 2, "api_key_file", "jf.key", "absolute", NULL);
    bad(U "state_dir = ./state\n", 2, "state_dir", "./state", "absolute", NULL);
    bad(U "shell = bash\n", 2, "shell", "bash", "absolute", NULL);
    bad(U "shell = /bin/ba\x01sh\n", 2, "shell", "\\x01", NULL);
    bad(U "shell = /bin/a:b\n", 2, "shell", "':'", NULL);
}

static void test_timeout(void **state)
{
    struct jfa_config cfg;

    (void)state;
    assert_int_equal(parse_text(&cfg, "timeout = 1\n"), 0);
    assert_int_equal(cfg.timeout, 1);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "timeout = 300\n"), 0);
    assert_int_equal(cfg.timeout, 300);
    jfa_config_free(&cfg);
    bad("timeout = 0\n", 1, "timeout", "\"0\"", "1..300", NULL);
    bad("timeout = 301\n", 1, "timeout", "\"301\"", NULL);
    bad("timeout = -5\n", 1, "timeout", "\"-5\"", NULL);
    bad("timeout = +5\n", 1, "timeout", NULL);
    bad("timeout = 10s\n", 1, "timeout", "\"10s\"", NULL);
    bad("timeout = ten\n", 1, "timeout", "\"ten\"", NULL);
    bad("timeout = 99999999999999999999999\n", 1, "timeout", NULL);
    bad("timeout = 10 # seconds\n", 1, "timeout", "line of their own", NULL);
}

static void test_uids(void **state)
{
    struct jfa_config cfg;

    (void)state;
    assert_int_equal(parse_text(&cfg, "uid_min = 0x10000\nuid_max = 0x1FFFF\n"), 0);
    assert_int_equal(cfg.uid_min, 0x10000);
    assert_int_equal(cfg.uid_max, 0x1FFFF);
    jfa_config_free(&cfg);
    /* smallest legal range: exactly 1000 ids */
    ok("uid_min = 1000\nuid_max = 1999\n");
    ok("uid_max = 2147483646\n");
    bad("uid_min = 999\n", 1, "uid_min", "\"999\"", "1000..2147483646", NULL);
    bad("uid_min = 0\n", 1, "uid_min", NULL);
    bad("uid_max = 2147483647\n", 1, "uid_max", "\"2147483647\"", NULL);
    bad("uid_max = 4294967295\n", 1, "uid_max", NULL);
    bad("uid_min = -1\n", 1, "uid_min", NULL);
    bad("uid_min = lots\n", 1, "uid_min", NULL);
    bad("uid_min = 0x\n", 1, "uid_min", NULL);
    /* cross checks are reported at the later of the two lines */
    bad("uid_min = 50000\nuid_max = 40000\n", 2, "uid_max", "above", NULL);
    bad("uid_max = 40000\n\nuid_min = 50000\n", 3, "uid_min", "above", NULL);
    bad("uid_min = 1000\nuid_max = 1998\n", 2, "uid_max", "fewer than 1000", NULL);
    /* against a default: uid_min above the default uid_max */
    bad("uid_min = 2147483000\n", 1, "uid_min", NULL);
}

static void test_home(void **state)
{
    struct jfa_config cfg;
    char *h;

    (void)state;
    assert_int_equal(parse_text(&cfg, "home = /srv/%u/100%%/%u\n"), 0);
    h = jfa_config_home(&cfg, "alice");
    assert_non_null(h);
    assert_string_equal(h, "/srv/alice/100%/alice");
    free(h);
    assert_null(jfa_config_home(&cfg, ""));
    assert_null(jfa_config_home(&cfg, NULL));
    assert_null(jfa_config_home(&cfg, "../root"));
    assert_null(jfa_config_home(&cfg, ".."));
    jfa_config_free(&cfg);

    jfa_config_defaults(&cfg);
    h = jfa_config_home(&cfg, "bob");
    assert_string_equal(h, "/home/bob");
    free(h);
    jfa_config_free(&cfg);

    ok("home = /home/shared\n"); /* no %u is allowed */
    bad("home = /home/%n\n", 1, "home", "/home/%n", "%n", NULL);
    bad("home = /home/%U\n", 1, "home", "%U", NULL);
    bad("home = /home/%\n", 1, "home", "lone %", NULL);
    bad("home = /home/%%%\n", 1, "home", NULL);
    bad("home = home/%u\n", 1, "home", "absolute", NULL);
    bad("home = ~/%u\n", 1, "home", "absolute", NULL);
    bad("home = /home/%u:x\n", 1, "home", "':'", NULL);
}

static void test_groups(void **state)
{
    (void)state;
    ok("users_group = _media-1\nadmin_group = a\n");
    ok("users_group = abcdefghijklmnopqrstuvwxyz012345\n"); /* 32 */
    bad("users_group = abcdefghijklmnopqrstuvwxyz0123456\n", 1, "users_group", NULL);
    bad("users_group = Media\n", 1, "users_group", "\"Media\"", "[a-z_]", NULL);
    bad("admin_group = 1admins\n", 1, "admin_group", "\"1admins\"", NULL);
    bad("admin_group = -admins\n", 1, "admin_group", NULL);
    bad("admin_group = ad mins\n", 1, "admin_group", NULL);
    bad("admin_group = adm.ins\n", 1, "admin_group", NULL);
    bad("admin_group = jellyfin-users\n", 1, "admin_group", "must differ", NULL);
    bad("users_group = g\nadmin_group = g\n", 2, "admin_group", "must differ", NULL);
}

static void test_durations(void **state)
{
    struct jfa_config cfg;

    (void)state;
    assert_int_equal(parse_text(&cfg, "offline_max_age = 0\n"), 0);
    assert_int_equal(cfg.offline_max_age, 0);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "offline_max_age = 12h\n"), 0);
    assert_int_equal(cfg.offline_max_age, 43200);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "offline_max_age = 90m\n"), 0);
    assert_int_equal(cfg.offline_max_age, 5400);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "offline_max_age = 30s\n"), 0);
    assert_int_equal(cfg.offline_max_age, 30);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "offline_max_age = 365d\n"), 0);
    assert_int_equal(cfg.offline_max_age, 365L * 86400);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "offline_max_age = 31536000\n"), 0);
    jfa_config_free(&cfg);
    bad("offline_max_age = 366d\n", 1, "offline_max_age", "\"366d\"", "0..365d", NULL);
    bad("offline_max_age = 31536001\n", 1, "offline_max_age", NULL);
    bad("offline_max_age = 1w\n", 1, "offline_max_age", "\"1w\"", NULL);
    bad("offline_max_age = 7 d\n", 1, "offline_max_age", NULL);
    bad("offline_max_age = 7dd\n", 1, "offline_max_age", NULL);
    bad("offline_max_age = d\n", 1, "offline_max_age", NULL);
    bad("offline_max_age = -1\n", 1, "offline_max_age", NULL);
    bad("offline_max_age = 99999999999999999999999d\n", 1, "offline_max_age", NULL);

    assert_int_equal(parse_text(&cfg, "throttle_failures = 0\nthrottle_window = 1\n"
                                      "throttle_max_delay = 1d\n"),
                     0);
    assert_int_equal(cfg.throttle_failures, 0);
    assert_int_equal(cfg.throttle_window, 1);
    assert_int_equal(cfg.throttle_max_delay, 86400);
    jfa_config_free(&cfg);
    ok("throttle_failures = 1000\nthrottle_window = 7d\n");
    bad("throttle_failures = 1001\n", 1, "throttle_failures", NULL);
    bad("throttle_failures = many\n", 1, "throttle_failures", "\"many\"", NULL);
    bad("throttle_window = 0\n", 1, "throttle_window", "\"0\"", "1s..7d", NULL);
    bad("throttle_window = 8d\n", 1, "throttle_window", NULL);
    bad("throttle_max_delay = 0\n", 1, "throttle_max_delay", NULL);
    bad("throttle_max_delay = 25h\n", 1, "throttle_max_delay", "\"25h\"", NULL);
}

static void test_bools(void **state)
{
    static const char *const yes[] = {"yes", "true", "1", "YES", "True", "on"};
    static const char *const no[] = {"no", "false", "0", "NO", "off"};
    struct jfa_config cfg;
    char text[64];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        snprintf(text, sizeof(text), "allow_plain_http = %s\n", yes[i]);
        assert_int_equal(parse_text(&cfg, text), 0);
        assert_true(cfg.allow_plain_http);
        jfa_config_free(&cfg);
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        snprintf(text, sizeof(text), "allow_plain_http = %s\n", no[i]);
        assert_int_equal(parse_text(&cfg, text), 0);
        assert_false(cfg.allow_plain_http);
        jfa_config_free(&cfg);
    }
    bad("allow_plain_http = maybe\n", 1, "allow_plain_http", "\"maybe\"", "yes or no", NULL);
    bad("allow_plain_http = 2\n", 1, "allow_plain_http", NULL);
    bad("case_sensitive = perhaps\n", 1, "case_sensitive", "\"perhaps\"", "yes or no", NULL);
    bad("sync_on_login = 1x\n", 1, "sync_on_login", "yes or no", NULL);
    assert_int_equal(parse_text(&cfg, "lockout_guard = off\n"), 0);
    assert_false(cfg.lockout_guard);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "lockout_guard = On\n"), 0);
    assert_true(cfg.lockout_guard);
    jfa_config_free(&cfg);
    bad("lockout_guard = sometimes\n", 1, "lockout_guard", "\"sometimes\"", "yes or no", NULL);
}

static void test_local_networks(void **state)
{
    struct jfa_config cfg;
    char text[2048];
    int i, n;

    (void)state;
    assert_int_equal(parse_text(&cfg, "local_networks = 10.1.0.0/16\n"
                                      "local_networks = 2001:db8::/32, 192.0.2.7\n"),
                     0);
    assert_int_equal(cfg.n_local_networks, 3);
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "10.1.200.3"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "2001:db8:5::1"));
    assert_true(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "192.0.2.7"));
    assert_false(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "192.0.2.8"));
    assert_false(jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "127.0.0.1"));
    jfa_config_free(&cfg);

    bad("local_networks = 10.0.0.0/33\n", 1, "local_networks", "10.0.0.0/33", NULL);
    bad("local_networks = 10.0.0.0/8, bogus\n", 1, "local_networks", "\"bogus\"", NULL);
    bad("local_networks = ,,\n", 1, "local_networks", NULL);
    bad("local_networks = 10.0.0.0/8 # lan\n", 1, "local_networks", "line of their own", NULL);

    /* exactly JFA_MAX_NETWORKS, then one more */
    n = snprintf(text, sizeof(text), "local_networks =");
    for (i = 0; i < JFA_MAX_NETWORKS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, " 10.%d.0.0/16", i);
    snprintf(text + n, sizeof(text) - (size_t)n, "\n");
    assert_int_equal(parse_text(&cfg, text), 0);
    assert_int_equal(cfg.n_local_networks, JFA_MAX_NETWORKS);
    jfa_config_free(&cfg);
    snprintf(text + n, sizeof(text) - (size_t)n, "\nlocal_networks = 192.168.0.0/16\n");
    bad(text, 2, "local_networks", "too many networks", NULL);
}

static void test_reserved_names(void **state)
{
    struct jfa_config cfg;
    char text[40000];
    int i, n;

    (void)state;
    jfa_config_defaults(&cfg);
    assert_int_equal(cfg.n_reserved_names, 0);
    assert_false(jfa_config_name_reserved(&cfg, "media"));
    /* comma or space separated; the key may repeat and adds up; dups once */
    assert_int_equal(parse_text(&cfg, U "reserved_names = media, backup-ops\n"
                                        "reserved_names = john.smith _svc 007x media\n"),
                     0);
    assert_int_equal(cfg.n_reserved_names, 5);
    assert_true(jfa_config_name_reserved(&cfg, "media"));
    assert_true(jfa_config_name_reserved(&cfg, "backup-ops"));
    assert_true(jfa_config_name_reserved(&cfg, "john.smith"));
    assert_true(jfa_config_name_reserved(&cfg, "_svc"));
    assert_true(jfa_config_name_reserved(&cfg, "007x"));
    assert_false(jfa_config_name_reserved(&cfg, "medi"));
    jfa_config_free(&cfg);

    /* not login names: the error names the line, the key and the name */
    bad(U "reserved_names = Media\n", 2, "reserved_names", "\"Media\"", NULL);
    bad(U "reserved_names = ok, .hidden\n", 2, "reserved_names", "\".hidden\"", NULL);
    bad(U "reserved_names = -x\n", 2, "reserved_names", "\"-x\"", NULL);
    bad(U "reserved_names = 1234\n", 2, "reserved_names", "\"1234\"", NULL);
    bad(U "reserved_names = a/b\n", 2, "reserved_names", "\"a/b\"", NULL);
    bad(U "reserved_names = abcdefghijabcdefghijabcdefghijabc\n", 2, "reserved_names", NULL);
    bad(U "reserved_names = ,\n", 2, "reserved_names", NULL);
    bad(U "reserved_names = media # ours\n", 2, "reserved_names", "line of their own", NULL);
    bad(U "reserved_names = x\xc3\xa9\n", 2, "reserved_names", NULL);

    /* a cap, with a clear error */
    n = 0;
    for (i = 0; i < JFA_MAX_RESERVED; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "%sn%d%s",
                      i % 128 == 0 ? "reserved_names =" : "", i, i % 128 == 127 ? "\n" : " ");
    assert_int_equal(JFA_MAX_RESERVED % 128, 0);
    assert_int_equal(parse_text(&cfg, text), 0);
    assert_int_equal(cfg.n_reserved_names, JFA_MAX_RESERVED);
    jfa_config_free(&cfg);
    snprintf(text + n, sizeof(text) - (size_t)n, "reserved_names = one-more\n");
    bad(text, JFA_MAX_RESERVED / 128 + 1, "reserved_names", "too many", NULL);
}

/* ---- syntax ---- */

static void test_syntax_whitespace(void **state)
{
    struct jfa_config cfg;

    (void)state;
    assert_int_equal(parse_text(&cfg, "\xEF\xBB\xBF# BOM, CRLF, tabs\r\n"
                                      "\ttimeout\t=\t20\t\r\n"
                                      "  shell =   /bin/sh   \r\n"
                                      "   # indented comment\r\n"
                                      "\r\n"
                                      "home=/h/%u"), /* no final newline */
                     0);
    assert_int_equal(cfg.timeout, 20);
    assert_string_equal(cfg.shell, "/bin/sh");
    assert_string_equal(cfg.home, "/h/%u");
    jfa_config_free(&cfg);
    /* '=' inside a value is kept */
    assert_int_equal(parse_text(&cfg, "home = /h/a=b/%u\n"), 0);
    assert_string_equal(cfg.home, "/h/a=b/%u");
    jfa_config_free(&cfg);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    bad("timeout\n", 1, "expected \"key = value\"", "no '='", NULL);
    bad(U "timeout 10\n", 2, "no '='", NULL);
    /* a line without '=' is never echoed (it could be a key file read by mistake) */
    bad("0123456789abcdef0123456789abcdef\n", 1, "no '='", NULL);
    assert_null(strstr(err, "0123456789abcdef"));
    bad("= 10\n", 1, "missing key", NULL);
    bad("timeout =\n", 1, "timeout", "empty value", NULL);
    bad("timeout =   \t\r\n", 1, "timeout", "empty value", NULL);
    bad("url =\n", 1, "url", "empty value", NULL);
    bad("colour = blue\n", 1, "unknown key", "colour", NULL);
    bad("Timeout = 10\n", 1, "unknown key", "Timeout", NULL);
    bad("time out = 10\n", 1, "unknown key", NULL);
    bad("bad\x1bkey = 1\n", 1, "unknown key", "\\x1b", NULL);
    bad("# c\n\ntimeout = 10\n\n# c\ntimeout = 20\n", 6, "timeout", "duplicate",
        "first set on line 3", NULL);
    bad(U "shell = /bin/sh\nshell = /bin/zsh\n", 3, "shell", "duplicate", NULL);
    /* errors carry the line number through CRLF files too */
    bad("timeout = 5\r\n\r\nshell = sh\r\n", 3, "shell", NULL);
}

static void test_syntax_long_lines(void **state)
{
    struct jfa_config cfg;
    size_t cap = 2 * 4096 + 64;
    char *text = malloc(cap);
    size_t n;

    (void)state;
    assert_non_null(text);
    /* a 4096-byte comment line is fine */
    text[0] = '#';
    memset(text + 1, 'x', 4095);
    memcpy(text + 4096, "\ntimeout = 7\n", 14);
    assert_int_equal(parse_text(&cfg, text), 0);
    assert_int_equal(cfg.timeout, 7);
    jfa_config_free(&cfg);
    /* a 4096-byte value line is fine too */
    n = (size_t)snprintf(text, cap, "home = /");
    memset(text + n, 'h', 4096 - n);
    text[4096] = '\0';
    assert_int_equal(parse_text(&cfg, text), 0);
    assert_int_equal(strlen(cfg.home), 4096 - 7);
    jfa_config_free(&cfg);
    /* 4097 bytes is not, even in a comment */
    memcpy(text, "timeout = 3\n#", 13);
    memset(text + 13, 'x', 4096);
    memcpy(text + 13 + 4096, "\n", 2);
    bad(text, 2, "line too long", "4097", NULL);
    free(text);
}

static void test_syntax_nul(void **state)
{
    struct jfa_config cfg;
    static const char text[] = "timeout = 10\nshell = /bin/sh\0evil\n";

    (void)state;
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_parse(&cfg, text, sizeof(text) - 1, "nul.conf", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "nul.conf:2: "));
    assert_non_null(strstr(err, "NUL byte"));
    jfa_config_free(&cfg);
    /* in a comment too */
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_parse(&cfg, "#\0\n", 3, "nul.conf", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nul.conf:1: "));
    jfa_config_free(&cfg);
}

static void test_parse_args(void **state)
{
    struct jfa_config cfg;
    char small[16];

    (void)state;
    /* NULL name is replaced, NULL err is tolerated, tiny err is bounded */
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_parse(&cfg, "x\n", 2, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: "));
    assert_int_equal(jfa_config_parse(&cfg, "x\n", 2, "n", NULL, 0), -1);
    assert_int_equal(jfa_config_parse(&cfg, "x\n", 2, "n", small, sizeof(small)), -1);
    assert_true(strlen(small) < sizeof(small));
    /* an empty buffer may be NULL */
    assert_int_equal(jfa_config_parse(&cfg, NULL, 0, "n", err, sizeof(err)), 0);
    jfa_config_free(&cfg);
    /* a config that was freed (no defaults) is refused, not crashed on */
    assert_int_equal(jfa_config_parse(&cfg, "timeout = 1\n", 12, "n", err, sizeof(err)), -1);
}

/* ---- cidr ---- */

static void test_cidr_parse(void **state)
{
    struct jfa_cidr c;
    static const unsigned char mapped10[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10};

    (void)state;
    assert_int_equal(jfa_cidr_parse("10.0.0.0/8", &c), 0);
    assert_int_equal(c.prefix, 104);
    assert_memory_equal(c.addr, mapped10, 16);
    /* host bits are cleared */
    assert_int_equal(jfa_cidr_parse("10.1.2.3/8", &c), 0);
    assert_memory_equal(c.addr, mapped10, 16);
    assert_int_equal(jfa_cidr_parse("192.168.1.5", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(c.addr[15], 5);
    assert_int_equal(jfa_cidr_parse("0.0.0.0/0", &c), 0);
    assert_int_equal(c.prefix, 96);
    assert_int_equal(jfa_cidr_parse("::1", &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(c.addr[15], 1);
    assert_int_equal(jfa_cidr_parse("fe80::/10", &c), 0);
    assert_int_equal(c.prefix, 10);
    assert_int_equal(c.addr[0], 0xfe);
    assert_int_equal(c.addr[1], 0x80);
    assert_int_equal(jfa_cidr_parse("fe80:ffff::/9", &c), 0);
    assert_int_equal(c.addr[1], 0x80); /* masked to 9 bits */
    assert_int_equal(c.addr[2], 0);
    assert_int_equal(jfa_cidr_parse("::/0", &c), 0);
    assert_int_equal(c.prefix, 0);
    assert_int_equal(jfa_cidr_parse("::ffff:10.0.0.0/104", &c), 0);
    assert_int_equal(c.prefix, 104);
    assert_memory_equal(c.addr, mapped10, 16);

    assert_int_equal(jfa_cidr_parse("10.0.0.0/33", &c), -1);
    assert_int_equal(jfa_cidr_parse("::/129", &c), -1);
    assert_int_equal(jfa_cidr_parse("10.0.0.0/", &c), -1);
    assert_int_equal(jfa_cidr_parse("/8", &c), -1);
    assert_int_equal(jfa_cidr_parse("10.0.0.0/8/8", &c), -1);
    assert_int_equal(jfa_cidr_parse("10.0.0.0/-8", &c), -1);
    assert_int_equal(jfa_cidr_parse("10.0.0.0/0008", &c), -1);
    assert_int_equal(jfa_cidr_parse("10.0.0", &c), -1);
    assert_int_equal(jfa_cidr_parse("10.0.0.256", &c), -1);
    assert_int_equal(jfa_cidr_parse("localhost", &c), -1);
    assert_int_equal(jfa_cidr_parse("", &c), -1);
    assert_int_equal(jfa_cidr_parse(NULL, &c), -1);
    assert_int_equal(jfa_cidr_parse("fe80::1%eth0", &c), -1);
    assert_int_equal(jfa_cidr_parse("1.2.3.4 /8", &c), -1);
}

static void test_cidr_match(void **state)
{
    struct jfa_cidr nets[3];

    (void)state;
    assert_int_equal(jfa_cidr_parse("192.168.0.0/16", &nets[0]), 0);
    assert_int_equal(jfa_cidr_parse("2001:db8::/32", &nets[1]), 0);
    assert_int_equal(jfa_cidr_parse("10.0.0.1", &nets[2]), 0);
    assert_true(jfa_cidr_list_match(nets, 3, "192.168.44.1"));
    assert_true(jfa_cidr_list_match(nets, 3, "::ffff:192.168.44.1")); /* mapped form */
    assert_true(jfa_cidr_list_match(nets, 3, "::FFFF:192.168.0.0"));
    assert_false(jfa_cidr_list_match(nets, 3, "192.169.0.1"));
    assert_true(jfa_cidr_list_match(nets, 3, "2001:db8:1:2::3"));
    assert_true(jfa_cidr_list_match(nets, 3, "[2001:db8::1]"));
    assert_false(jfa_cidr_list_match(nets, 3, "2001:db9::1"));
    assert_true(jfa_cidr_list_match(nets, 3, "10.0.0.1"));
    assert_false(jfa_cidr_list_match(nets, 3, "10.0.0.2"));
    /* not addresses */
    assert_false(jfa_cidr_list_match(nets, 3, "router.lan"));
    assert_false(jfa_cidr_list_match(nets, 3, "192.168.1.1/32"));
    assert_false(jfa_cidr_list_match(nets, 3, ""));
    assert_false(jfa_cidr_list_match(nets, 3, NULL));
    assert_false(jfa_cidr_list_match(nets, 0, "192.168.1.1"));
    /* a v4 network never matches a plain v6 address with the same low bits */
    assert_false(jfa_cidr_list_match(nets, 3, "::192.168.1.1"));
    /* zone ids are ignored */
    assert_int_equal(jfa_cidr_parse("fe80::/10", &nets[0]), 0);
    assert_true(jfa_cidr_list_match(nets, 1, "fe80::1%eth0"));
    /* ::/0 matches v4 too (mapped) */
    assert_int_equal(jfa_cidr_parse("::/0", &nets[0]), 0);
    assert_true(jfa_cidr_list_match(nets, 1, "8.8.8.8"));
    /* 0.0.0.0/0 matches all v4 but no v6 */
    assert_int_equal(jfa_cidr_parse("0.0.0.0/0", &nets[0]), 0);
    assert_true(jfa_cidr_list_match(nets, 1, "8.8.8.8"));
    assert_false(jfa_cidr_list_match(nets, 1, "2001:db8::1"));
}

/* ---- derived paths, env ---- */

static void test_paths_derived(void **state)
{
    struct jfa_config cfg;
    char *p;

    (void)state;
    jfa_config_defaults(&cfg);
    p = jfa_config_db_path(&cfg);
    assert_string_equal(p, LOCALSTATEDIR "/lib/jellyfin-auth/users.db");
    assert_string_equal(p, JFA_DEFAULT_DB);
    free(p);
    p = jfa_config_private_dir(&cfg);
    assert_string_equal(p, LOCALSTATEDIR "/lib/jellyfin-auth/private");
    free(p);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "state_dir = /srv/st//\n"), 0);
    p = jfa_config_db_path(&cfg);
    assert_string_equal(p, "/srv/st/users.db");
    free(p);
    jfa_config_free(&cfg);
}

static void test_config_path_env(void **state)
{
    (void)state;
    unsetenv("JELLYFIN_AUTH_CONF");
    assert_string_equal(jfa_config_path(), SYSCONFDIR "/jellyfin-auth.conf");
    setenv("JELLYFIN_AUTH_CONF", "", 1);
    assert_string_equal(jfa_config_path(), JFA_DEFAULT_CONF);
    setenv("JELLYFIN_AUTH_CONF", "/tmp/x.conf", 1);
    assert_string_equal(jfa_config_path(), "/tmp/x.conf");
    unsetenv("JELLYFIN_AUTH_CONF");
}

/* ---- load ---- */

struct loadfx {
    char dir[64];
    char path[256];
};

static int load_setup(void **state)
{
    struct loadfx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/jfa-config.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/jellyfin-auth.conf", f->dir);
    *state = f;
    return 0;
}

static int load_teardown(void **state)
{
    struct loadfx *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void write_conf(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void test_load_ok(void **state)
{
    struct loadfx *f = *state;
    struct jfa_config cfg;

    write_conf(f->path, "url = https://jf.example\ntimeout = 4\n", 0644);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), 0);
    assert_string_equal(cfg.path, f->path);
    assert_int_equal(cfg.n_urls, 1);
    assert_int_equal(cfg.timeout, 4);
    jfa_config_free(&cfg);

    /* path NULL: the environment override */
    setenv("JELLYFIN_AUTH_CONF", f->path, 1);
    assert_int_equal(jfa_config_load(&cfg, NULL, err, sizeof(err)), 0);
    assert_string_equal(cfg.path, f->path);
    unsetenv("JELLYFIN_AUTH_CONF");
    jfa_config_free(&cfg);

    /* a caller that set defaults first does not leak */
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), 0);
    jfa_config_free(&cfg);
}

static void test_load_refusals(void **state)
{
    struct loadfx *f = *state;
    struct jfa_config cfg;
    char link[300];

    write_conf(f->path, "url = https://jf.example\n", 0666);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "mode 0666"));
    jfa_config_free(&cfg);

    write_conf(f->path, "url = https://jf.example\n", 0620);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mode 0620"));
    jfa_config_free(&cfg);

    /* world-readable is fine: the config holds no secrets */
    write_conf(f->path, "url = https://jf.example\n", 0644);
    snprintf(link, sizeof(link), "%s.link", f->path);
    assert_int_equal(symlink(f->path, link), 0);
    assert_int_equal(jfa_config_load(&cfg, link, err, sizeof(err)), -1);
    assert_non_null(strstr(err, link));
    assert_non_null(strstr(err, "symbolic link"));
    jfa_config_free(&cfg);

    snprintf(link, sizeof(link), "%s/missing.conf", f->dir);
    assert_int_equal(jfa_config_load(&cfg, link, err, sizeof(err)), -1);
    assert_non_null(strstr(err, link));
    assert_non_null(strstr(err, strerror(ENOENT)));
    jfa_config_free(&cfg);

    assert_int_equal(jfa_config_load(&cfg, f->dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    jfa_config_free(&cfg);
}

static void test_load_content_errors(void **state)
{
    struct loadfx *f = *state;
    struct jfa_config cfg;
    char expect[300];
    char *big;

    write_conf(f->path, "# nothing\ntimeout = 5\n", 0600);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect), "%s: no url set", f->path);
    assert_string_equal(err, expect);
    jfa_config_free(&cfg);

    write_conf(f->path, "url = https://jf.example\ntimeout = never\n", 0600);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect), "%s:2: timeout", f->path);
    assert_non_null(strstr(err, expect));
    jfa_config_free(&cfg);

    /* more than 64 KiB of comments */
    big = malloc(70000);
    assert_non_null(big);
    for (size_t i = 0; i < 69999; i++)
        big[i] = (i % 100 == 99) ? '\n' : '#';
    big[69999] = '\0';
    write_conf(f->path, big, 0644);
    free(big);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "larger than 65536 bytes"));
    jfa_config_free(&cfg);
}

/* ca_file is the trust anchor: the file is checked at load, errors say
 * "file:line: ca_file: ..." and name the file and the problem. */
static void test_load_ca_file(void **state)
{
    static const char pem[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    struct loadfx *f = *state;
    struct jfa_config cfg;
    char ca[300], link[300], text[700], expect[1400];

    snprintf(ca, sizeof(ca), "%s/ca.pem", f->dir);
    snprintf(link, sizeof(link), "%s/ca-link.pem", f->dir);
    snprintf(text, sizeof(text), "url = https://jf.example\nca_file = %s\n", link);
    write_conf(ca, pem, 0644);
    assert_int_equal(symlink(ca, link), 0);

    /* a link to a good file */
    write_conf(f->path, text, 0644);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), 0);
    assert_string_equal(cfg.ca_file, link);
    jfa_config_free(&cfg);

    /* world- then group-writable target, through the link */
    snprintf(expect, sizeof(expect), "%s:2: ca_file: %s (a link to %s): %s: mode 0666 is too open",
             f->path, link, ca, ca);
    assert_int_equal(chmod(ca, 0666), 0);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, expect));
    jfa_config_free(&cfg);
    assert_int_equal(chmod(ca, 0664), 0);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "mode 0664 is too open"));
    jfa_config_free(&cfg);
    assert_int_equal(chmod(ca, 0644), 0);

    /* owned by another user */
    if (geteuid() == 0) {
        assert_int_equal(chown(ca, 65534, 65534), 0);
        assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "owned by uid 65534"));
        jfa_config_free(&cfg);
        assert_int_equal(chown(ca, 0, 0), 0);
    }

    /* missing, and not a certificate */
    assert_int_equal(unlink(ca), 0);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    snprintf(expect, sizeof(expect), "%s:2: ca_file: %s: No such file", f->path, link);
    assert_non_null(strstr(err, expect));
    jfa_config_free(&cfg);
    write_conf(ca, "hello\n", 0644);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no PEM certificate"));
    jfa_config_free(&cfg);
}

/* A non-ASCII host would go through libidn2 and the caller's locale. */
static void test_url_non_ascii_host(void **state)
{
    struct jfa_config cfg;

    (void)state;
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_parse(&cfg, "url = https://j\xc3\xa9llyfin.example\n", 32, "t.conf",
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "punycode"));
    assert_non_null(strstr(err, "t.conf:1: url: invalid url"));
    jfa_config_free(&cfg);
    /* libcurl decodes a percent-encoded host name: the same name, refused */
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_parse(&cfg, "url = https://j%C3%A9llyfin.example\n", 36, "t.conf",
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "t.conf:1: url: invalid url"));
    jfa_config_free(&cfg);
    /* a fullwidth full stop (U+FF0E) that IDNA would map to '.' */
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_parse(&cfg,
                                      "url = https://127\xef\xbc\x8e"
                                      "0.0.1\n",
                                      26, "t.conf", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "punycode"));
    jfa_config_free(&cfg);
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_parse(&cfg, "url = https://xn--jllyfin-fya.example\n", 38, "t.conf",
                                      err, sizeof(err)),
                     0);
    jfa_config_free(&cfg);
}

static void test_load_owner(void **state)
{
    struct loadfx *f = *state;
    struct jfa_config cfg;

    write_conf(f->path, "url = https://jf.example\n", 0644);
    if (geteuid() != 0)
        skip(); /* the positive case (owned by us) is test_load_ok */
    assert_int_equal(chown(f->path, 65534, 65534), 0);
    assert_int_equal(jfa_config_load(&cfg, f->path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, f->path));
    assert_non_null(strstr(err, "owned by uid 65534"));
    jfa_config_free(&cfg);
}

/* quick_connect: off by default; no/local/yes; the timeout is a bounded duration. */
static void test_quick_connect(void **state)
{
    struct jfa_config cfg;

    (void)state;
    jfa_config_defaults(&cfg);
    assert_int_equal(cfg.quick_connect, JFA_QC_NO);
    assert_int_equal(cfg.quick_connect_timeout, 120);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "quick_connect = local\nquick_connect_timeout = 30s\n"), 0);
    assert_int_equal(cfg.quick_connect, JFA_QC_LOCAL);
    assert_int_equal(cfg.quick_connect_timeout, 30);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "quick_connect = yes\nquick_connect_timeout = 10m\n"), 0);
    assert_int_equal(cfg.quick_connect, JFA_QC_YES);
    assert_int_equal(cfg.quick_connect_timeout, 600);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "quick_connect = no\n"), 0);
    assert_int_equal(cfg.quick_connect, JFA_QC_NO);
    jfa_config_free(&cfg);
    bad("quick_connect = true\n", 1, "quick_connect", "no, local or yes", NULL);
    bad("quick_connect = Yes\n", 1, "quick_connect", NULL);
    bad("quick_connect =\n", 1, "quick_connect", NULL);
    bad("quick_connect = no\nquick_connect = yes\n", 2, "quick_connect", NULL);
    bad("quick_connect_timeout = 4s\n", 1, "quick_connect_timeout", "5s..10m", NULL);
    bad("quick_connect_timeout = 11m\n", 1, "quick_connect_timeout", NULL);
    bad("quick_connect_timeout = -1\n", 1, "quick_connect_timeout", NULL);
}

/* The EXAMPLE section of jellyfin-auth.conf(5) must be a valid file. */
/* samba_* keys (issue 9): defaults, values, refusals */
static void test_samba_keys(void **state)
{
    struct jfa_config cfg;

    (void)state;
    assert_int_equal(parse_text(&cfg, ""), 0);
    assert_false(cfg.samba_sync);
    assert_string_equal(cfg.samba_smbpasswd, "/usr/bin/smbpasswd");
    assert_string_equal(cfg.samba_pdbedit, "/usr/bin/pdbedit");
    assert_null(cfg.samba_conf);
    assert_int_equal(cfg.samba_timeout, 5);
    jfa_config_free(&cfg);
    assert_int_equal(parse_text(&cfg, "samba_sync = yes\nsamba_smbpasswd = /opt/s/smbpasswd\n"
                                      "samba_pdbedit = /opt/s/pdbedit\n"
                                      "samba_conf = /etc/samba/other.conf\nsamba_timeout = 2s\n"),
                     0);
    assert_true(cfg.samba_sync);
    assert_string_equal(cfg.samba_smbpasswd, "/opt/s/smbpasswd");
    assert_string_equal(cfg.samba_pdbedit, "/opt/s/pdbedit");
    assert_string_equal(cfg.samba_conf, "/etc/samba/other.conf");
    assert_int_equal(cfg.samba_timeout, 2);
    jfa_config_free(&cfg);
    bad("samba_conf = /a.conf\nsamba_conf = /b.conf\n", 2, "samba_conf", "duplicate key", NULL);
    bad("samba_sync = perhaps\n", 1, "samba_sync", "yes or no", NULL);
    bad("samba_smbpasswd = smbpasswd\n", 1, "samba_smbpasswd", "absolute path", NULL);
    bad("samba_pdbedit = bin/pdbedit\n", 1, "samba_pdbedit", "absolute path", NULL);
    bad("samba_conf = smb.conf\n", 1, "samba_conf", "absolute path", NULL);
    bad("samba_timeout = 0\n", 1, "samba_timeout", NULL);
    bad("samba_timeout = 2m\n", 1, "samba_timeout", NULL);
}

static void test_manpage_example(void **state)
{
    const char *srcdir = getenv("top_srcdir");
    char path[512], *text, *start, *end;
    struct jfa_config cfg;
    FILE *f;
    size_t n;

    (void)state;
    if (srcdir == NULL)
        skip(); /* run through make check */
    snprintf(path, sizeof(path), "%s/doc/jellyfin-auth.conf.5", srcdir);
    f = fopen(path, "r");
    assert_non_null(f);
    text = calloc(1, 65536);
    assert_non_null(text);
    n = fread(text, 1, 65535, f);
    fclose(f);
    assert_true(n > 0);
    start = strstr(text, ".SH EXAMPLE\n.nf\n");
    assert_non_null(start);
    start += strlen(".SH EXAMPLE\n.nf\n");
    end = strstr(start, "\n.fi\n");
    assert_non_null(end);
    end[1] = '\0';
    jfa_config_defaults(&cfg);
    if (jfa_config_parse(&cfg, start, strlen(start), "EXAMPLE", err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_true(cfg.n_urls >= 1);
    jfa_config_free(&cfg);
    free(text);
}

/* jfa_config_set: a command-line value is named as one, never as file:line */
static void test_set_from_option(void **state)
{
    struct jfa_config cfg;

    (void)state;
    jfa_config_defaults(&cfg);
    assert_int_equal(jfa_config_set(&cfg, "url", "ftp://x", "--url", err, sizeof(err)), -1);
    assert_string_equal(err, "--url: invalid url \"ftp://x\" (must start with http:// or "
                             "https://)");
    assert_int_equal(jfa_config_set(&cfg, "ca_file", "ca.pem", "--ca-file", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--ca-file: invalid value \"ca.pem\" (must be an absolute path)"));
    assert_int_equal(strncmp(err, "--ca-file: ", 11), 0);
    /* the file checks of ca_file apply too */
    assert_int_equal(
        jfa_config_set(&cfg, "ca_file", "/nonexistent/ca.pem", "--ca-file", err, sizeof(err)), -1);
    assert_int_equal(strncmp(err, "--ca-file: ", 11), 0);
    assert_int_equal(jfa_config_set(&cfg, "state_dir", "", "--state-dir", err, sizeof(err)), -1);
    assert_string_equal(err, "--state-dir: empty value");
    assert_int_equal(jfa_config_set(&cfg, "nosuchkey", "1", "--x", err, sizeof(err)), -1);
    assert_int_equal(
        jfa_config_set(&cfg, "url", "https://jf.example:8920/", "--url", err, sizeof(err)), 0);
    assert_int_equal(cfg.n_urls, 1);
    assert_string_equal(cfg.urls[0], "https://jf.example:8920");
    assert_int_equal(jfa_config_set(&cfg, "state_dir", "/srv/jfa", "--state-dir", err, sizeof(err)),
                     0);
    assert_string_equal(cfg.state_dir, "/srv/jfa");
    jfa_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_all_keys_valid),
        cmocka_unit_test(test_url_forms),
        cmocka_unit_test(test_url_limits),
        cmocka_unit_test(test_url_invalid),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_uids),
        cmocka_unit_test(test_home),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_local_networks),
        cmocka_unit_test(test_reserved_names),
        cmocka_unit_test(test_syntax_whitespace),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_syntax_long_lines),
        cmocka_unit_test(test_syntax_nul),
        cmocka_unit_test(test_parse_args),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_cidr_match),
        cmocka_unit_test(test_paths_derived),
        cmocka_unit_test(test_config_path_env),
        cmocka_unit_test(test_samba_keys),
        cmocka_unit_test(test_quick_connect),
        cmocka_unit_test(test_manpage_example),
        cmocka_unit_test_setup_teardown(test_load_ok, load_setup, load_teardown),
        cmocka_unit_test_setup_teardown(test_load_refusals, load_setup, load_teardown),
        cmocka_unit_test_setup_teardown(test_load_content_errors, load_setup, load_teardown),
        cmocka_unit_test_setup_teardown(test_load_ca_file, load_setup, load_teardown),
        cmocka_unit_test(test_url_non_ascii_host),
        cmocka_unit_test(test_set_from_option),
        cmocka_unit_test_setup_teardown(test_load_owner, load_setup, load_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
