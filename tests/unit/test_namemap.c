/*
 * tests/unit/test_namemap.c - unit tests of lib/namemap.c.
 *
 * Owns: every mapping rule (case, kept characters, punctuation, the
 * diacritics table, unmappable characters), invalid UTF-8, the 32-byte
 * boundary, all-digit and badly shaped names, every reserved name, the
 * configured group names, and the gecos sanitiser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "namemap.h"

static enum jfa_name_status map(const char *in, char *out)
{
    char why[256];
    enum jfa_name_status st =
        jfa_name_map(in, "jellyfin-users", "jellyfin-admins", out, why, sizeof(why));
    if (st != JFA_NAME_OK)
        assert_true(why[0] != '\0'); /* every refusal has a reason */
    return st;
}

static void expect_map(const char *in, const char *want)
{
    char out[JFA_NAME_MAX + 1];

    if (map(in, out) != JFA_NAME_OK)
        fail_msg("\"%s\" was refused", in);
    assert_string_equal(out, want);
    assert_true(jfa_name_valid(out));
}

static void expect_status(const char *in, enum jfa_name_status want)
{
    char out[JFA_NAME_MAX + 1];
    enum jfa_name_status st = map(in, out);

    if (st != want)
        fail_msg("\"%s\": status %d, expected %d", in, (int)st, (int)want);
}

static void test_ascii(void **state)
{
    (void)state;
    expect_map("alice", "alice");
    expect_map("Alice", "alice");
    expect_map("ALICE", "alice");
    expect_map("a_b-c.d9", "a_b-c.d9");
    expect_status("_svc", JFA_NAME_RESERVED); /* _* is the form of system accounts */
    expect_map("svc_", "svc_");
    expect_map("9lives", "9lives");
    expect_map("user.name-2", "user.name-2");
}

static void test_punctuation(void **state)
{
    (void)state;
    expect_map("John Smith", "john_smith");
    expect_map("O'Brien", "o_brien");
    expect_map("me@example.org", "me_example.org");
    expect_map("a+b", "a_b");
    expect_status(" lead", JFA_NAME_RESERVED); /* "_lead": _* is reserved */
    expect_map("x lead", "x_lead");
    expect_map("x'@+ y", "x____y");
}

static void test_diacritics(void **state)
{
    (void)state;
    expect_map("J\xc3\xb6hn", "john");         /* ö */
    expect_map("Fran\xc3\xa7ois", "francois"); /* ç */
    expect_map("Ren\xc3\xa9", "rene");         /* é */
    expect_map("\xc3\x91o\xc3\xb1o", "nono");  /* Ñ ñ */
    expect_map("M\xc3\xbcller", "muller");     /* ü */
    expect_map("\xc3\x80\xc3\x81\xc3\x82\xc3\x83\xc3\x84\xc3\x85", "aaaaaa");
    expect_map("\xc3\x86sir", "aesir");   /* Æ */
    expect_map("\xc5\x92uvre", "oeuvre"); /* Œ */
    expect_map("\xc5\x93il", "oeil");     /* œ */
    expect_map("Stra\xc3\x9f"
               "e",
               "strasse");                   /* ß */
    expect_map("\xc3\x98ystein", "oystein"); /* Ø */
    expect_map("\xc3\xb8l", "ol");           /* ø */
    expect_map("\xc4\x90or\xc4\x91"
               "e",
               "dorde"); /* Đ đ */
    expect_map("\xc3\xb0"
               "e",
               "de");                        /* ð */
    expect_map("\xc3\x9e\xc3\xb3r", "thor"); /* Þ ó */
    expect_map("\xc3\xbe"
               "a",
               "tha");                     /* þ */
    expect_map("\xc5\x81ukasz", "lukasz"); /* Ł */
    expect_map("\xc5\x82"
               "a",
               "la");            /* ł */
    expect_map("\xc3\xbf", "y"); /* ÿ U+00FF */
    expect_map("\xc5\xbd"
               "ofia",
               "zofia"); /* Ž */
    expect_map("\xc5\xbf"
               "a",
               "sa"); /* ſ U+017F, last of the table */
    expect_map("\xc4\xb2"
               "sselmeer",
               "ijsselmeer");    /* Ĳ */
    expect_map("\xc3\x80", "a"); /* U+00C0, first of the table */
}

static void test_unmappable(void **state)
{
    (void)state;
    expect_status("a\xc3\x97"
                  "b",
                  JFA_NAME_BAD_CHAR); /* × */
    expect_status("a\xc3\xb7"
                  "b",
                  JFA_NAME_BAD_CHAR);                                     /* ÷ */
    expect_status("\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", JFA_NAME_BAD_CHAR); /* Cyrillic */
    expect_status("\xe6\x9d\x8e", JFA_NAME_BAD_CHAR);                     /* CJK */
    expect_status("\xf0\x9f\x98\x80", JFA_NAME_BAD_CHAR);                 /* emoji */
    expect_status("\xc6\x80", JFA_NAME_BAD_CHAR); /* U+0180, just past the table */
    expect_status("\xc2\xbf", JFA_NAME_BAD_CHAR); /* U+00BF, just before it */
    expect_status("a:b", JFA_NAME_BAD_CHAR);
    expect_status("a/b", JFA_NAME_BAD_CHAR);
    expect_status("a\tb", JFA_NAME_BAD_CHAR);
    expect_status("a\nb", JFA_NAME_BAD_CHAR);
    expect_status("name\n", JFA_NAME_BAD_CHAR);
    expect_status("a$", JFA_NAME_BAD_CHAR);
    expect_status("a*", JFA_NAME_BAD_CHAR);
    expect_status("a,b", JFA_NAME_BAD_CHAR);
    expect_status("a\x7f", JFA_NAME_BAD_CHAR);
}

static void test_bad_utf8(void **state)
{
    (void)state;
    expect_status("\xff", JFA_NAME_BAD_UTF8);
    expect_status("ab\xc3", JFA_NAME_BAD_UTF8);           /* truncated */
    expect_status("\xc0\xaf", JFA_NAME_BAD_UTF8);         /* overlong '/' */
    expect_status("\xe0\x80\xaf", JFA_NAME_BAD_UTF8);     /* overlong, 3 bytes */
    expect_status("\xed\xa0\x80", JFA_NAME_BAD_UTF8);     /* surrogate */
    expect_status("\xf4\x90\x80\x80", JFA_NAME_BAD_UTF8); /* > U+10FFFF */
    expect_status("\x80"
                  "abc",
                  JFA_NAME_BAD_UTF8); /* lone continuation */
    expect_status("\xc3"
                  "a",
                  JFA_NAME_BAD_UTF8); /* bad continuation */
}

static void test_length(void **state)
{
    char in[64], out[JFA_NAME_MAX + 1];

    (void)state;
    memset(in, 'a', 32);
    in[32] = '\0';
    expect_map(in, in); /* exactly 32 bytes */
    memset(in, 'a', 33);
    in[33] = '\0';
    expect_status(in, JFA_NAME_TOO_LONG);
    /* 30 + "ss" = 32 fits; 31 + "ss" = 33 does not */
    memset(in, 'a', 30);
    memcpy(in + 30, "\xc3\x9f", 3);
    assert_int_equal(map(in, out), JFA_NAME_OK);
    assert_int_equal(strlen(out), 32);
    memset(in, 'a', 31);
    memcpy(in + 31, "\xc3\x9f", 3);
    expect_status(in, JFA_NAME_TOO_LONG);
    /* 32 two-byte characters: 64 bytes in, 32 out */
    {
        char big[80];
        for (int i = 0; i < 32; i++)
            memcpy(big + 2 * i, "\xc3\xa9", 2);
        big[64] = '\0';
        assert_int_equal(map(big, out), JFA_NAME_OK);
        assert_int_equal(strlen(out), 32);
    }
    expect_status("", JFA_NAME_EMPTY);
}

static void test_shape(void **state)
{
    (void)state;
    expect_status("12345", JFA_NAME_ALL_DIGITS);
    expect_status("0", JFA_NAME_ALL_DIGITS);
    expect_map("123a", "123a");
    expect_map("1.2", "1.2");
    expect_status(".hidden", JFA_NAME_BAD_FORM);
    expect_status("-x", JFA_NAME_BAD_FORM);
    expect_status(".", JFA_NAME_BAD_FORM);
    expect_status("..", JFA_NAME_BAD_FORM);
    assert_false(jfa_name_valid(""));
    assert_false(jfa_name_valid("Abc"));
    assert_false(jfa_name_valid("-a"));
    assert_false(jfa_name_valid("a b"));
    assert_false(jfa_name_valid("007"));
    assert_true(jfa_name_valid("a-b.c_d"));
}

static void test_reserved(void **state)
{
    static const char *const names[] = {
        "root",
        "daemon",
        "bin",
        "sys",
        "sync",
        "games",
        "man",
        "lp",
        "mail",
        "news",
        "uucp",
        "proxy",
        "www-data",
        "backup",
        "list",
        "irc",
        "gnats",
        "nobody",
        "nogroup",
        "_apt",
        "sshd",
        "ftp",
        "messagebus",
        "adm",
        "admin",
        "wheel",
        "sudo",
        "staff",
        "users",
        "operator",
        "shadow",
        "utmp",
        "tty",
        "disk",
        "kmem",
        "dialout",
        "cdrom",
        "floppy",
        "audio",
        "video",
        "plugdev",
        "netdev",
        "src",
        "voice",
        "tape",
        "input",
        "render",
        "sgx",
        "kvm",
        "systemd-network",
        "systemd-timesync",
        "systemd-x",
        "jellyfin-users",
        "jellyfin-admins",
    };
    char out[JFA_NAME_MAX + 1], why[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        expect_status(names[i], JFA_NAME_RESERVED);
        assert_true(jfa_name_reserved(names[i], "jellyfin-users", "jellyfin-admins"));
    }
    /* every name of the built-in list is refused, with the rule and the name */
    for (i = 0; i < jfa_name_reserved_count(); i++) {
        const char *r = jfa_name_reserved_at(i);
        if (jfa_name_map(r, "jellyfin-users", "jellyfin-admins", out, why, sizeof(why)) !=
            JFA_NAME_RESERVED)
            fail_msg("reserved name %s was mapped", r);
        if (strstr(why, "is reserved: ") == NULL || strstr(why, r) == NULL)
            fail_msg("reason for %s does not say why: %s", r, why);
    }
    assert_null(jfa_name_reserved_at(jfa_name_reserved_count()));
    /* the groups packages create (a Jellyfin user "docker" would pre-claim
     * the group and own the socket), and base-passwd's names */
    {
        static const char *const must[] = {
            "docker", "lxd", "incus", "incus-admin", "libvirt", "libvirt-qemu", "libvirt-dnsmasq",
            "kvm", "lpadmin", "sambashare", "wireshark", "vboxusers", "bluetooth", "scanner",
            "netdev", "render", "sgx", "input", "i2c", "tss", "polkitd", "messagebus", "sshd",
            "_ssh", "ftp", "avahi", "colord", "pulse", "pulse-access", "rtkit", "saned", "uuidd",
            "tcpdump", "_chrony", "ntp", "crontab", "ssl-cert", "systemd-journal", "adm", "wheel",
            "admin", "postgres", "mysql", "redis", "jellyfin", "root", "daemon", "bin", "sys",
            "tty", "disk", "lp", "mail", "news", "uucp", "man", "proxy", "kmem", "dialout", "fax",
            "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip", "www-data", "backup",
            "operator", "list", "irc", "src", "gnats", "shadow", "utmp", "video", "sasl", "plugdev",
            "staff", "games", "users", "nogroup", "nobody", "_apt", "sync", "nopasswdlogin",
            "_anything",
            /* added in the third review: groups that
             * grant something (ssh-agent's group before
             * _ssh, mount.davfs, winbind's privileged
             * pipe, routing vty, capture, VM networks) */
            "ssh", "davfs2", "winbindd_priv", "frrvty", "quaggavty", "kismet", "uml-net",
            "vde2-net", "powerdev", "rdma", "bumblebee", "frr", "nm-openvpn", "cockpit-ws",
            "jenkins"};
        char rwhy[128];
        for (i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
            if (jfa_name_map(must[i], NULL, NULL, out, why, sizeof(why)) != JFA_NAME_RESERVED)
                fail_msg("%s is not reserved", must[i]);
            assert_non_null(jfa_name_reserved_why(must[i], NULL, NULL, rwhy, sizeof(rwhy)));
        }
        assert_int_equal(jfa_name_map("Docker", NULL, NULL, out, why, sizeof(why)),
                         JFA_NAME_RESERVED);
        assert_string_equal(why, "mapped name \"docker\" is reserved: a system group packages "
                                 "may create (docker)");
        assert_int_equal(jfa_name_map("systemd-foo", NULL, NULL, out, why, sizeof(why)),
                         JFA_NAME_RESERVED);
        assert_non_null(strstr(why, "systemd-*"));
        assert_int_equal(jfa_name_map("@home", NULL, NULL, out, why, sizeof(why)),
                         JFA_NAME_RESERVED); /* "_home" */
        assert_non_null(strstr(why, "(_*)"));
        assert_int_equal(jfa_name_map("media", "media", NULL, out, why, sizeof(why)),
                         JFA_NAME_RESERVED);
        assert_non_null(strstr(why, "users_group"));
        assert_null(jfa_name_reserved_why("dockers", NULL, NULL, rwhy, sizeof(rwhy)));
        /* cloud-init's NOPASSWD sudoers file outlives `userdel ubuntu` */
        assert_int_equal(jfa_name_map("Ubuntu", NULL, NULL, out, why, sizeof(why)),
                         JFA_NAME_RESERVED);
        assert_non_null(strstr(why, "sudoers rules outlive it"));
        for (i = 0; i < 4; i++)
            assert_non_null(
                jfa_name_reserved_why((const char *[]){"debian", "ec2-user", "vagrant", "pi"}[i],
                                      NULL, NULL, rwhy, sizeof(rwhy)));
    }
    expect_status("Root", JFA_NAME_RESERVED); /* after lower-casing */
    expect_status("NoBody", JFA_NAME_RESERVED);
    expect_map("www data", "www_data"); /* only www-data is reserved */
    expect_map("systemd", "systemd");   /* only systemd-* */
    expect_map("rooty", "rooty");
    /* configured groups are reserved, and only when configured */
    assert_int_equal(jfa_name_map("Media", "media", NULL, out, why, sizeof(why)),
                     JFA_NAME_RESERVED);
    assert_int_equal(jfa_name_map("Media", "other", "", out, why, sizeof(why)), JFA_NAME_OK);
    assert_int_equal(jfa_name_map("jellyfin-users", NULL, NULL, out, why, sizeof(why)),
                     JFA_NAME_OK);
    assert_int_equal(jfa_name_map("boss", "x", "boss", out, why, sizeof(why)), JFA_NAME_RESERVED);
}

static void test_gecos(void **state)
{
    char out[64];

    (void)state;
    assert_string_equal(jfa_gecos_sanitize(out, sizeof(out), "J\xc3\xb6hn Doe"), "J\xc3\xb6hn Doe");
    assert_string_equal(jfa_gecos_sanitize(out, sizeof(out),
                                           "a:b,c\nd\x01"
                                           "e\x7f"),
                        "a_b_c_d_e_");
    /* truncation never leaves half a UTF-8 sequence */
    assert_string_equal(jfa_gecos_sanitize(out, 4, "ab\xc3\xa9"), "ab");
    assert_string_equal(jfa_gecos_sanitize(out, 5, "ab\xc3\xa9z"), "ab\xc3\xa9");
    assert_string_equal(jfa_gecos_sanitize(out, 3, "abc"), "ab");
    assert_string_equal(jfa_gecos_sanitize(out, 1, "abc"), "");
    /* getent passwd prints the gecos to a terminal: C1 controls (U+009B is
     * CSI in UTF-8 terminals), bidirectional overrides and isolates, and
     * bytes that are not UTF-8 become '_' (one per character or byte) */
    assert_string_equal(jfa_gecos_sanitize(out, sizeof(out),
                                           "a\xc2\x9b"
                                           "2Jb\xc2\x85"
                                           "c"),
                        "a_2Jb_c");
    assert_string_equal(jfa_gecos_sanitize(out, sizeof(out), "x\xe2\x80\xaeyz\xe2\x81\xa6w"),
                        "x_yz_w");
    assert_string_equal(jfa_gecos_sanitize(out, sizeof(out), "\xff\xc3(\xed\xa0\x80"), "__(___");
    assert_string_equal(jfa_gecos_sanitize(out, sizeof(out), "\xc2\xa0\xe2\x82\xac"),
                        "\xc2\xa0\xe2\x82\xac"); /* other non-ASCII stays */
    /* truncation still on a character boundary after a replacement */
    assert_string_equal(jfa_gecos_sanitize(out, 4, "\xc2\x9b\xc3\xa9"), "_\xc3\xa9");
    assert_string_equal(jfa_gecos_sanitize(out, 3, "\xc2\x9b\xc3\xa9"), "_");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii),      cmocka_unit_test(test_punctuation),
        cmocka_unit_test(test_diacritics), cmocka_unit_test(test_unmappable),
        cmocka_unit_test(test_bad_utf8),   cmocka_unit_test(test_length),
        cmocka_unit_test(test_shape),      cmocka_unit_test(test_reserved),
        cmocka_unit_test(test_gecos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
