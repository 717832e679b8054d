/*
 * tests/unit/test_rhost.c - unit tests for lib/rhost.c.
 *
 * Owns: what jfa_rhost_classify makes of a PAM_RHOST: none, a host name, an
 * address that is the peer of a connected stream socket of this process
 * (v4, v4-mapped v6, bracketed), one no socket is connected to (another
 * address, a connection closed, a connected UDP socket, a listening
 * socket), and the scan without /proc's answer (descriptors above the
 * limit are not looked at: fail closed).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/jfaconf.h"
#include "../../lib/rhost.h"

static enum jfa_rhost_kind kind(const char *rhost)
{
    unsigned char addr[16];

    return jfa_rhost_classify(rhost, addr);
}

/* A listener on 127.0.0.1 and a client connected to it; *srv the accepted end. */
static void connect_loopback(int *lis, int *cli, int *srv)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *lis = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*lis >= 0);
    assert_int_equal(bind(*lis, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(*lis, 1), 0);
    assert_int_equal(getsockname(*lis, (struct sockaddr *)&sin, &len), 0);
    *cli = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*cli >= 0);
    assert_int_equal(connect(*cli, (struct sockaddr *)&sin, sizeof(sin)), 0);
    *srv = accept(*lis, NULL, NULL);
    assert_true(*srv >= 0);
}

static void test_kinds(void **state)
{
    (void)state;
    assert_int_equal(kind(NULL), JFA_RHOST_NONE);
    assert_int_equal(kind(""), JFA_RHOST_NONE);
    assert_int_equal(kind("gw.example"), JFA_RHOST_NAME);
    assert_int_equal(kind("10.0.0.5.example"), JFA_RHOST_NAME);
    assert_int_equal(kind("10.0.0.5:22"), JFA_RHOST_NAME);
    /* no socket of this process is connected anywhere */
    assert_int_equal(kind("127.0.0.1"), JFA_RHOST_UNCONFIRMED);
    assert_int_equal(kind("10.9.8.7"), JFA_RHOST_UNCONFIRMED);
    assert_int_equal(kind("::1"), JFA_RHOST_UNCONFIRMED);
}

static void test_peer(void **state)
{
    int lis, cli, srv;
    unsigned char addr[16];

    (void)state;
    /* a listening socket has no peer */
    connect_loopback(&lis, &cli, &srv);
    close(cli);
    close(srv);
    assert_int_equal(kind("127.0.0.1"), JFA_RHOST_UNCONFIRMED);
    close(lis);
    connect_loopback(&lis, &cli, &srv);
    close(lis);
    assert_int_equal(jfa_rhost_classify("127.0.0.1", addr), JFA_RHOST_PEER);
    assert_int_equal(addr[10], 0xFF);
    assert_int_equal(addr[12], 127);
    assert_int_equal(addr[15], 1);
    assert_int_equal(kind("::ffff:127.0.0.1"), JFA_RHOST_PEER);
    assert_int_equal(kind("[::ffff:127.0.0.1]"), JFA_RHOST_PEER);
    /* only the peer's address counts: not another one, not a name */
    assert_int_equal(kind("127.0.0.2"), JFA_RHOST_UNCONFIRMED);
    assert_int_equal(kind("10.9.8.7"), JFA_RHOST_UNCONFIRMED);
    assert_int_equal(kind("localhost"), JFA_RHOST_NAME);
    /* one end closed: the other still has its peer */
    close(cli);
    assert_int_equal(kind("127.0.0.1"), JFA_RHOST_PEER);
    close(srv);
    assert_int_equal(kind("127.0.0.1"), JFA_RHOST_UNCONFIRMED);
}

/* A connected datagram socket is not a client's connection. */
static void test_udp(void **state)
{
    struct sockaddr_in sin;
    int s;

    (void)state;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(9);
    sin.sin_addr.s_addr = htonl(0x7F000003); /* 127.0.0.3 */
    s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    assert_int_equal(connect(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(kind("127.0.0.3"), JFA_RHOST_UNCONFIRMED);
    close(s);
}

/* No descriptor left for /proc/self/fd: every descriptor below the limit
 * is asked instead; one above it is not (fail closed). */
static void test_no_proc(void **state)
{
    struct rlimit old, rl;
    int lis, cli, srv, extra[256], n = 0, top;

    (void)state;
    connect_loopback(&lis, &cli, &srv);
    close(lis);
    top = cli > srv ? cli : srv;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    rl = old;
    rl.rlim_cur = (rlim_t)top + 1;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    while (n < 256 && (extra[n] = dup(0)) >= 0)
        n++;
    assert_int_equal(errno, EMFILE);
    assert_int_equal(kind("127.0.0.1"), JFA_RHOST_PEER);
    /* both ends above the limit */
    rl.rlim_cur = (rlim_t)(cli < srv ? cli : srv);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_int_equal(kind("127.0.0.1"), JFA_RHOST_UNCONFIRMED);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    while (n > 0)
        close(extra[--n]);
    assert_int_equal(kind("127.0.0.1"), JFA_RHOST_PEER);
    close(cli);
    close(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_peer),
        cmocka_unit_test(test_udp),
        cmocka_unit_test(test_no_proc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
