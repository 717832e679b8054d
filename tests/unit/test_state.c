/*
 * tests/unit/test_state.c - unit tests for lib/state.c.
 *
 * Owns: the throttle timeline with an injected clock (threshold, 10 s /
 * 20 s / 40 s back-off, the throttle_max_delay cap, window expiry, a clock
 * that went backwards, a window shorter than the delay, success clearing, independent keys, turned
 * off), the pending record (peek, take once, the binding to the login that wrote it, stale
 * records removed and handed back for logout, the sync sweep, malformed, bad ids) and the offline
 * verifier (match, mismatch, expiry, drop, no plaintext on disk), the modes of what state.c
 * creates, the rejected-password memory (window, cap, keyed hash on disk, a lost key), the
 * throttle and verifier views of `jellyfin-auth explain`, and the cross-process locks: parallel
 * failures all counted, one holder of a user lock at a time, a bounded wait, release by a dead
 * holder and across fork, unsafe lock files refused. The integration test pam-throttle.sh checks
 * the same rules through pamtester, where wall time is not ours to choose; this file pins them to
 * the second.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "jfaconf.h"
#include "fileutil.h"
#include "state.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"
#define T0 ((time_t)1900000000)

struct fx {
    pid_t kids[4]; /* holder_child's children not reaped yet (teardown ends them) */
    char dir[64];
    char priv[128];
    char err[512];
    struct jfa_config cfg;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/jfa-state.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->priv, sizeof(f->priv), "%s/private", f->dir);
    jfa_config_defaults(&f->cfg);
    f->cfg.throttle_failures = 3;
    f->cfg.throttle_window = 900;
    f->cfg.throttle_max_delay = 3600;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    size_t i;

    /* a failed assertion leaves its stopped holder behind: end it */
    for (i = 0; i < sizeof(f->kids) / sizeof(f->kids[0]); i++)
        if (f->kids[i] > 0 && kill(f->kids[i], SIGKILL) == 0)
            (void)waitpid(f->kids[i], NULL, 0);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    jfa_config_free(&f->cfg);
    free(f);
    return 0;
}

/* The seconds a key must still wait at `now`, 0 when allowed. */
static long wait_at(struct fx *f, const char *key, time_t now)
{
    long wait = -1;
    int rc = jfa_throttle_check(&f->cfg, f->priv, key, now, &wait);

    assert_true(rc == 0 || rc == 1);
    assert_int_equal(rc == 1, wait > 0);
    return wait;
}

static void fail_n(struct fx *f, const char *key, int n, time_t now)
{
    for (int i = 0; i < n; i++)
        jfa_throttle_failure(&f->cfg, f->priv, key, now);
}

static void test_throttle_threshold(void **state)
{
    struct fx *f = *state;

    assert_int_equal(wait_at(f, ID_A, T0), 0); /* nothing recorded */
    fail_n(f, ID_A, 2, T0);
    assert_int_equal(wait_at(f, ID_A, T0), 0); /* below the threshold */
    fail_n(f, ID_A, 1, T0);
    assert_int_equal(wait_at(f, ID_A, T0), 10);
    assert_int_equal(wait_at(f, ID_A, T0 + 9), 1);
    assert_int_equal(wait_at(f, ID_A, T0 + 10), 0);
}

/* An attempt counted in advance and taken back leaves the record as it was;
 * the last one taken back removes it; a failed write is reported. */
static void test_throttle_undo(void **state)
{
    struct fx *f = *state;
    char path[4096];

    fail_n(f, ID_A, 3, T0);
    assert_int_equal(wait_at(f, ID_A, T0), 10);
    assert_int_equal(jfa_throttle_failure(&f->cfg, f->priv, ID_A, T0), 0); /* 4: 20 s */
    assert_int_equal(wait_at(f, ID_A, T0), 20);
    jfa_throttle_undo(&f->cfg, f->priv, ID_A);
    assert_int_equal(wait_at(f, ID_A, T0), 10);
    for (int i = 0; i < 3; i++)
        jfa_throttle_undo(&f->cfg, f->priv, ID_A);
    assert_int_equal(wait_at(f, ID_A, T0), 0);
    jfa_throttle_undo(&f->cfg, f->priv, ID_A); /* nothing left: harmless */
    fail_n(f, ID_A, 2, T0);
    fail_n(f, ID_A, 1, T0);
    assert_int_equal(wait_at(f, ID_A, T0), 10); /* counting starts afresh */
    /* A record that cannot be written is reported, not silently lost. */
    snprintf(path, sizeof(path), "rm -rf '%s/throttle' && touch '%s/throttle'", f->priv, f->priv);
    assert_int_equal(system(path), 0);
    assert_int_equal(jfa_throttle_failure(&f->cfg, f->priv, ID_A, T0), -1);
}

static void test_throttle_backoff_doubles(void **state)
{
    struct fx *f = *state;
    time_t t = T0;
    long expect = 10;

    fail_n(f, ID_A, 3, t);
    /* Each failure let through after the wait doubles the next wait. */
    for (int i = 0; i < 6; i++) {
        assert_int_equal(wait_at(f, ID_A, t), expect);
        assert_int_equal(wait_at(f, ID_A, t + expect - 1), 1);
        assert_int_equal(wait_at(f, ID_A, t + expect), 0);
        t += expect;
        fail_n(f, ID_A, 1, t);
        expect *= 2;
    }
    assert_int_equal(wait_at(f, ID_A, t), 640);
}

static void test_throttle_cap(void **state)
{
    struct fx *f = *state;

    f->cfg.throttle_max_delay = 60;
    fail_n(f, ID_A, 3 + 3, T0); /* 80 s uncapped */
    assert_int_equal(wait_at(f, ID_A, T0), 60);
    fail_n(f, ID_A, 100, T0); /* far past any shift width */
    assert_int_equal(wait_at(f, ID_A, T0), 60);
    assert_int_equal(wait_at(f, ID_A, T0 + 60), 0);
}

static void test_throttle_window(void **state)
{
    struct fx *f = *state;

    /* Below the threshold a failure is remembered for the window... */
    fail_n(f, ID_A, 2, T0);
    fail_n(f, ID_A, 1, T0 + 900);
    assert_int_equal(wait_at(f, ID_A, T0 + 900), 10);
    /* ...after which counting starts again from one. */
    jfa_throttle_success(f->priv, ID_A);
    fail_n(f, ID_A, 2, T0);
    fail_n(f, ID_A, 1, T0 + 901);
    assert_int_equal(wait_at(f, ID_A, T0 + 901), 0);
    fail_n(f, ID_A, 1, T0 + 901);
    assert_int_equal(wait_at(f, ID_A, T0 + 901), 0);
    fail_n(f, ID_A, 1, T0 + 901);
    assert_int_equal(wait_at(f, ID_A, T0 + 901), 10);
}

static void test_throttle_window_shorter_than_delay(void **state)
{
    struct fx *f = *state;
    time_t t = T0;

    /* At the 1 h cap with a 15 min window, waiting must not reset the
     * count: one try per hour, not three fresh ones. */
    fail_n(f, ID_A, 20, t);
    assert_int_equal(wait_at(f, ID_A, t + 3599), 1);
    assert_int_equal(wait_at(f, ID_A, t + 3600), 0);
    t += 3600 + 900; /* the window after the delay: still remembered */
    fail_n(f, ID_A, 1, t);
    assert_int_equal(wait_at(f, ID_A, t), 3600);
    t += 3600 + 901; /* past it: forgotten */
    assert_int_equal(wait_at(f, ID_A, t), 0);
    fail_n(f, ID_A, 2, t);
    assert_int_equal(wait_at(f, ID_A, t), 0);
    fail_n(f, ID_A, 1, t);
    assert_int_equal(wait_at(f, ID_A, t), 10);
}

static void test_throttle_clock_backwards(void **state)
{
    struct fx *f = *state;

    /* A clock set back must not lock a user out until it catches up. */
    fail_n(f, ID_A, 3, T0);
    assert_int_equal(wait_at(f, ID_A, T0 - 3600), 0);
    fail_n(f, ID_A, 1, T0 - 3600);
    assert_int_equal(wait_at(f, ID_A, T0 - 3600), 0);
}

/* Processes read the clock before they wait for the record's lock, so a
 * record may have been written "a moment later" than the reading of the
 * next one to count: it must count on, not be forgotten as if the clock
 * had been set back (ten parallel failures were recorded as seven). */
static void test_throttle_late_writer(void **state)
{
    struct fx *f = *state;
    const char *host = "host:198.51.100.8";
    long wait = 0;
    char err[256];

    f->cfg.throttle_failures = 100;
    assert_int_equal(jfa_throttle_attempt(&f->cfg, f->priv, host, T0 + 5, &wait, err, sizeof(err)),
                     0);
    assert_int_equal(jfa_throttle_attempt(&f->cfg, f->priv, host, T0, &wait, err, sizeof(err)), 0);
    assert_int_equal(jfa_throttle_failure(&f->cfg, f->priv, host, T0 + 2), 0);
    f->cfg.throttle_failures = 3;
    /* three failures: the back-off runs from the latest of them */
    assert_int_equal(wait_at(f, host, T0), 10);
    assert_int_equal(wait_at(f, host, T0 + 5), 10);
    assert_int_equal(wait_at(f, host, T0 + 14), 1);
    /* a clock set back by more than JFA_THROTTLE_SKEW still forgets */
    assert_int_equal(wait_at(f, host, T0 + 5 - JFA_THROTTLE_SKEW - 1), 0);
}

static void test_throttle_success_and_keys(void **state)
{
    struct fx *f = *state;

    fail_n(f, ID_A, 3, T0);
    fail_n(f, "host:198.51.100.7", 3, T0);
    assert_int_equal(wait_at(f, ID_B, T0), 0);
    assert_int_equal(wait_at(f, "host:198.51.100.8", T0), 0);
    assert_int_equal(wait_at(f, "host:198.51.100.7", T0), 10);
    jfa_throttle_success(f->priv, ID_A);
    assert_int_equal(wait_at(f, ID_A, T0), 0);
    assert_int_equal(wait_at(f, "host:198.51.100.7", T0), 10);
    fail_n(f, ID_A, 2, T0);
    assert_int_equal(wait_at(f, ID_A, T0), 0); /* counting starts over */
}

static void test_throttle_off(void **state)
{
    struct fx *f = *state;
    char path[256];
    struct stat st;

    f->cfg.throttle_failures = 0;
    fail_n(f, ID_A, 50, T0);
    assert_int_equal(wait_at(f, ID_A, T0), 0);
    snprintf(path, sizeof(path), "%s/throttle", f->priv);
    assert_int_equal(stat(path, &st), -1); /* nothing written */
}

static void test_throttle_files(void **state)
{
    struct fx *f = *state;
    char path[256];
    struct stat st;

    fail_n(f, "host:evil\n/../../x", 1, T0);
    snprintf(path, sizeof(path), "%s/throttle", f->priv);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(lstat(f->priv, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    /* The key is hashed: one plain 32-hex-digit file, 0600. */
    snprintf(path, sizeof(path),
             "find '%s/throttle' -type f -perm 0600 -regextype egrep "
             "-regex '.*/[0-9a-f]{32}' | grep -c . | grep -qx 1",
             f->priv);
    assert_int_equal(system(path), 0);
}

static void test_throttle_bad_record(void **state)
{
    struct fx *f = *state;
    char cmd[512];

    fail_n(f, ID_A, 3, T0);
    /* A record that is not ours reads as none, and the next failure
     * replaces it with a good one. */
    snprintf(cmd, sizeof(cmd), "for x in '%s'/throttle/*; do echo garbage >\"$x\"; done", f->priv);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(wait_at(f, ID_A, T0), 0);
    fail_n(f, ID_A, 3, T0);
    assert_int_equal(wait_at(f, ID_A, T0), 10);
}

/* A record bound to this process, for service "sshd" from 192.0.2.7. */
static void bound_record(struct jfa_auth_record *r, const char *token, uint32_t flags)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->token, sizeof(r->token), "%s", token);
    r->flags = flags;
    r->when = time(NULL);
    assert_int_equal(jfa_pending_bind(r, "sshd", "192.0.2.7"), 0);
}

static void reader(struct jfa_pending_reader *me)
{
    assert_int_equal(jfa_pending_reader_init(me, "sshd", "192.0.2.7"), 0);
}

static void test_pending(void **state)
{
    struct fx *f = *state;
    struct jfa_auth_record in, out;
    struct jfa_pending_reader me;
    char path[256];
    struct stat st;

    bound_record(&in, "0123456789abcdef0123456789abcdef", 5);
    reader(&me);
    assert_int_equal(in.pid, (long)getpid());
    assert_int_equal(in.ppid, (long)getppid());
    assert_int_equal(in.start, me.start);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, false, &out, f->err, sizeof(f->err)),
                     JFA_ABSENT);
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), 0);
    snprintf(path, sizeof(path), "%s/pending/%s", f->priv, ID_A);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* peek leaves it, take removes it, a second take finds nothing */
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, false, &out, f->err, sizeof(f->err)),
                     0);
    assert_string_equal(out.token, in.token);
    assert_int_equal(out.flags, 5);
    assert_int_equal(out.when, in.when);
    assert_string_equal(out.service, "sshd");
    assert_string_equal(out.rhost, "192.0.2.7");
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, true, &out, f->err, sizeof(f->err)),
                     0);
    assert_string_equal(out.token, in.token);
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, true, &out, f->err, sizeof(f->err)),
                     JFA_ABSENT);
    assert_string_equal(out.token, "");
    /* another user's record is another file */
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_B, &me, false, &out, f->err, sizeof(f->err)),
                     JFA_ABSENT);
}

/* The binding: who may trust a record, pinned field by field. */
static void test_pending_binding(void **state)
{
    struct jfa_auth_record r;
    struct jfa_pending_reader me;

    (void)state;
    bound_record(&r, "tok", 0);
    reader(&me);
    assert_true(jfa_pending_trusted(&r, &me));
    /* the writer's parent (sshd's monitor after keyboard-interactive) */
    r.ppid = me.pid;
    r.pstart = me.start;
    r.pid = 1;
    r.start = 1;
    assert_true(jfa_pending_trusted(&r, &me));
    /* a parent pid reused by another process: other start time */
    r.pstart = me.start + 1;
    assert_false(jfa_pending_trusted(&r, &me));
    /* another process altogether */
    bound_record(&r, "tok", 0);
    r.pid = me.pid + 100000;
    assert_false(jfa_pending_trusted(&r, &me));
    bound_record(&r, "tok", 0);
    r.start = me.start + 1; /* our pid, an earlier process */
    assert_false(jfa_pending_trusted(&r, &me));
    /* another service, remote host, boot */
    bound_record(&r, "tok", 0);
    snprintf(r.service, sizeof(r.service), "vsftpd");
    assert_false(jfa_pending_trusted(&r, &me));
    bound_record(&r, "tok", 0);
    r.rhost[0] = '\0';
    assert_false(jfa_pending_trusted(&r, &me));
    bound_record(&r, "tok", 0);
    snprintf(r.boot_id, sizeof(r.boot_id), "another-boot");
    assert_false(jfa_pending_trusted(&r, &me));
    /* age: up to JFA_PENDING_MAX_AGE, never in the future */
    bound_record(&r, "tok", 0);
    r.when = me.now - JFA_PENDING_MAX_AGE;
    assert_true(jfa_pending_trusted(&r, &me));
    r.when = me.now - JFA_PENDING_MAX_AGE - 1;
    assert_false(jfa_pending_trusted(&r, &me));
    r.when = me.now + 1;
    assert_false(jfa_pending_trusted(&r, &me));
    /* a reader that cannot identify itself trusts nothing */
    bound_record(&r, "tok", 0);
    me.start = 0;
    r.start = 0;
    assert_false(jfa_pending_trusted(&r, &me));
    /* control bytes in the remote host never make a line of their own */
    bound_record(&r, "tok", 0);
    assert_int_equal(jfa_pending_bind(&r, "sshd", "evil\nflags=0"), 0);
    assert_string_equal(r.rhost, "evil?flags=0");
}

/* A record this reader may not use is removed and handed back for logout. */
static void test_pending_stale(void **state)
{
    struct fx *f = *state;
    struct jfa_auth_record in, out;
    struct jfa_pending_reader me;
    char path[256];
    struct stat st;

    reader(&me);
    snprintf(path, sizeof(path), "%s/pending/%s", f->priv, ID_A);
    /* another login's record: a peek does not trust it and removes it */
    bound_record(&in, "other-login-token", 0);
    in.pid = me.pid + 100000;
    in.ppid = me.pid + 100001;
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, false, &out, f->err, sizeof(f->err)),
                     JFA_PENDING_STALE);
    assert_string_equal(out.token, "other-login-token");
    assert_int_equal(lstat(path, &st), -1);
    /* too old */
    bound_record(&in, "old-token", 2);
    in.when -= JFA_PENDING_MAX_AGE + 5;
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, true, &out, f->err, sizeof(f->err)),
                     JFA_PENDING_STALE);
    assert_string_equal(out.token, "old-token");
    assert_int_equal(lstat(path, &st), -1);
    /* another service */
    bound_record(&in, "ftp-token", 0);
    snprintf(in.service, sizeof(in.service), "vsftpd");
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, false, &out, f->err, sizeof(f->err)),
                     JFA_PENDING_STALE);
    assert_string_equal(out.token, "ftp-token");
    /* the format of version 1 (no binding) is stale; its token is still read */
    assert_int_equal(jfa_write_atomic(path,
                                      "jellyfin-auth pending 1\ntoken=v1tok\nflags=0\ntime=1\n", 52,
                                      0600, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, false, &out, f->err, sizeof(f->err)),
                     JFA_PENDING_STALE);
    assert_string_equal(out.token, "v1tok");
    assert_int_equal(lstat(path, &st), -1);
    /* garbage: stale, no token */
    assert_int_equal(jfa_write_atomic(path, "hello\n", 6, 0600, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, true, &out, f->err, sizeof(f->err)),
                     JFA_PENDING_STALE);
    assert_string_equal(out.token, "");
    assert_int_equal(lstat(path, &st), -1);
    /* a current record with a field missing */
    assert_int_equal(jfa_write_atomic(path, "jellyfin-auth pending 2\ntoken=x\n", 32, 0600, f->err,
                                      sizeof(f->err)),
                     0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, false, &out, f->err, sizeof(f->err)),
                     JFA_PENDING_STALE);
    assert_string_equal(out.token, "x");
}

static void test_pending_refusals(void **state)
{
    struct fx *f = *state;
    struct jfa_auth_record in, out;
    struct jfa_pending_reader me;
    char path[256];
    struct stat st;
    const char *bad_ids[] = {"", "../../../../etc/passwd", ID_A "0",
                             "0123456789ABCDEF0123456789abcdef",
                             "0123456789abcdef0123456789abcde/"};

    bound_record(&in, "", 1);
    reader(&me);
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        assert_int_equal(jfa_state_put_pending(f->priv, bad_ids[i], &in, f->err, sizeof(f->err)),
                         -1);
        assert_int_equal(
            jfa_state_get_pending(f->priv, bad_ids[i], &me, false, &out, f->err, sizeof(f->err)),
            -1);
    }
    snprintf(in.token, sizeof(in.token), "abc\nflags=1");
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), -1);
    snprintf(in.token, sizeof(in.token), "abc");
    snprintf(in.rhost, sizeof(in.rhost), "a\nflags=0");
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), -1);
    /* group-writable: refused, not trusted, not touched */
    bound_record(&in, "abc", 1);
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), 0);
    snprintf(path, sizeof(path), "%s/pending/%s", f->priv, ID_A);
    assert_int_equal(chmod(path, 0620), 0);
    assert_int_equal(jfa_state_get_pending(f->priv, ID_A, &me, true, &out, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, path));
    assert_int_equal(lstat(path, &st), 0);
}

struct swept {
    int n;
    char ids[4][33];
    char tokens[4][JFA_TOKEN_MAX];
};

static void sweep_logout(void *ctx, const char *jf_id, const char *token)
{
    struct swept *s = ctx;

    if (s->n < 4) {
        snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", jf_id);
        snprintf(s->tokens[s->n], sizeof(s->tokens[0]), "%s", token);
    }
    s->n++;
}

/* The sync sweep: records older than the maximum age (or dated in the
 * future, or leftovers of a claim) go, their tokens logged out; young
 * ones stay. Injected clock. */
static void test_pending_sweep(void **state)
{
    struct fx *f = *state;
    struct jfa_auth_record in;
    struct swept s;
    char path[256];
    struct stat st;

    memset(&s, 0, sizeof(s));
    assert_int_equal(
        jfa_state_sweep_pending(f->priv, T0, 120, sweep_logout, &s, f->err, sizeof(f->err)),
        0); /* no directory yet */
    bound_record(&in, "young", 0);
    in.when = T0 - 120;
    assert_int_equal(jfa_state_put_pending(f->priv, ID_A, &in, f->err, sizeof(f->err)), 0);
    bound_record(&in, "old", 0);
    in.when = T0 - 121;
    assert_int_equal(jfa_state_put_pending(f->priv, ID_B, &in, f->err, sizeof(f->err)), 0);
    assert_int_equal(
        jfa_state_sweep_pending(f->priv, T0, 120, sweep_logout, &s, f->err, sizeof(f->err)), 1);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ids[0], ID_B);
    assert_string_equal(s.tokens[0], "old");
    snprintf(path, sizeof(path), "%s/pending/%s", f->priv, ID_B);
    assert_int_equal(lstat(path, &st), -1);
    snprintf(path, sizeof(path), "%s/pending/%s", f->priv, ID_A);
    assert_int_equal(lstat(path, &st), 0);
    /* later, the young one is old too; a record from the future goes as well */
    bound_record(&in, "future", 0);
    in.when = T0 + 10000;
    assert_int_equal(jfa_state_put_pending(f->priv, ID_B, &in, f->err, sizeof(f->err)), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        jfa_state_sweep_pending(f->priv, T0 + 1000, 120, sweep_logout, &s, f->err, sizeof(f->err)),
        2);
    assert_int_equal(s.n, 2);
    assert_int_equal(lstat(path, &st), -1);
    /* a leftover claim of a crashed reader, and a v1 record */
    snprintf(path, sizeof(path), "%s/pending/%s.claim.123", f->priv, ID_A);
    assert_int_equal(jfa_write_atomic(path,
                                      "jellyfin-auth pending 1\ntoken=v1tok\nflags=0\ntime=1\n", 52,
                                      0600, f->err, sizeof(f->err)),
                     0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(
        jfa_state_sweep_pending(f->priv, T0, 120, sweep_logout, &s, f->err, sizeof(f->err)), 1);
    assert_string_equal(s.tokens[0], "v1tok");
    assert_int_equal(lstat(path, &st), -1);
}

static void test_verifier(void **state)
{
    struct fx *f = *state;
    char path[256], cmd[512];
    uint32_t flags = 0;
    struct stat st;

    assert_int_equal(
        jfa_state_check_verifier(f->priv, ID_A, "pw", 3600, &flags, f->err, sizeof(f->err)),
        JFA_ABSENT);
    assert_int_equal(
        jfa_state_put_verifier(f->priv, ID_A, "correct horse", 3, f->err, sizeof(f->err)), 0);
    snprintf(path, sizeof(path), "%s/verifiers/%s", f->priv, ID_A);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    snprintf(cmd, sizeof(cmd), "grep -q 'correct horse' '%s'", path);
    assert_int_not_equal(system(cmd), 0); /* no plaintext */
    snprintf(cmd, sizeof(cmd), "grep -q '^hash=\\$y\\$' '%s'", path);
    assert_int_equal(system(cmd), 0); /* yescrypt */
    assert_int_equal(jfa_state_check_verifier(f->priv, ID_A, "correct horse", 3600, &flags, f->err,
                                              sizeof(f->err)),
                     JFA_VERIFIER_MATCH);
    assert_int_equal(flags, 3);
    assert_int_equal(jfa_state_check_verifier(f->priv, ID_A, "correct horsE", 3600, &flags, f->err,
                                              sizeof(f->err)),
                     JFA_VERIFIER_MISMATCH);
    assert_int_equal(
        jfa_state_check_verifier(f->priv, ID_A, "", 3600, &flags, f->err, sizeof(f->err)), 0);
    /* offline logins off: nothing is consulted */
    assert_int_equal(
        jfa_state_check_verifier(f->priv, ID_A, "correct horse", 0, &flags, f->err, sizeof(f->err)),
        JFA_ABSENT);
    /* too old: move its time back two hours */
    snprintf(cmd, sizeof(cmd), "sed -i \"s/^time=.*/time=$(( $(date +%%s) - 7200 ))/\" '%s'", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(jfa_state_check_verifier(f->priv, ID_A, "correct horse", 3600, &flags, f->err,
                                              sizeof(f->err)),
                     JFA_ABSENT);
    assert_int_equal(jfa_state_check_verifier(f->priv, ID_A, "correct horse", 10800, &flags, f->err,
                                              sizeof(f->err)),
                     JFA_VERIFIER_MATCH);
    /* a new password replaces the old verifier; drop removes it */
    assert_int_equal(
        jfa_state_put_verifier(f->priv, ID_A, "battery staple", 0, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_check_verifier(f->priv, ID_A, "correct horse", 3600, &flags, f->err,
                                              sizeof(f->err)),
                     JFA_VERIFIER_MISMATCH);
    assert_int_equal(jfa_state_drop_verifier(f->priv, ID_A), 0);
    assert_int_equal(jfa_state_check_verifier(f->priv, ID_A, "battery staple", 3600, &flags, f->err,
                                              sizeof(f->err)),
                     JFA_ABSENT);
    assert_int_equal(jfa_state_drop_verifier(f->priv, "not-an-id"), -1);
}

/* The count of the only throttle record, -1 if there is not exactly one. */
static long throttle_count(struct fx *f)
{
    char path[512];
    char buf[256];
    struct dirent *de;
    long count = -1;
    int files = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/throttle", f->priv);
    d = opendir(path);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        FILE *fp;

        if (de->d_name[0] == '.')
            continue;
        files++;
        snprintf(path, sizeof(path), "%s/throttle/%s", f->priv, de->d_name);
        fp = fopen(path, "r");
        assert_non_null(fp);
        while (fgets(buf, sizeof(buf), fp) != NULL)
            if (strncmp(buf, "count=", 6) == 0)
                count = strtol(buf + 6, NULL, 10);
        fclose(fp);
    }
    closedir(d);
    return files == 1 ? count : -1;
}

/* wait for pid; its exit status, or -1 if it did not exit normally */
static int reap(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define PAR_PROCS 8
#define PAR_EACH 25

static void test_throttle_parallel_failures(void **state)
{
    struct fx *f = *state;
    pid_t pids[PAR_PROCS];
    int go[2];
    char c;

    /* Children start together on a closed pipe, then count failures for
     * one key at once: every one of them must be in the record. */
    f->cfg.throttle_failures = 1000;
    assert_int_equal(pipe(go), 0);
    for (int i = 0; i < PAR_PROCS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            close(go[1]);
            if (read(go[0], &c, 1) != 0)
                _exit(2);
            fail_n(f, "host:198.51.100.7", PAR_EACH, T0);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < PAR_PROCS; i++)
        assert_int_equal(reap(pids[i]), 0);
    assert_int_equal(throttle_count(f), PAR_PROCS * PAR_EACH);
    /* the stripe lock they shared: one file, 0600 (a host key's) */
    {
        char path[512], dir[256];
        struct stat st;
        struct dirent *de;
        DIR *d;
        int n = 0;

        snprintf(dir, sizeof(dir), "%s/locks", f->priv);
        d = opendir(dir);
        assert_non_null(d);
        while ((de = readdir(d)) != NULL) {
            if (strncmp(de->d_name, "throttle.", 9) != 0)
                continue;
            n++;
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            assert_int_equal(lstat(path, &st), 0);
            assert_true(S_ISREG(st.st_mode));
            assert_int_equal(st.st_mode & 07777, 0600);
        }
        closedir(d);
        assert_int_equal(n, 1);
    }
}

static int lock_a(struct fx *f, long timeout_ms, struct jfa_state_lock *lock)
{
    return jfa_state_lock_user(f->priv, ID_A, timeout_ms, 60000, lock, f->err, sizeof(f->err));
}

/* In a child: try to take ID_A's lock within timeout_ms; exit 0 if taken,
 * 1 on a timeout, 2 on any other result. Returns the exit status. */
static int child_lock_a(struct fx *f, long timeout_ms)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
        int r = lock_a(f, timeout_ms, &l);

        jfa_state_unlock(&l);
        _exit(r == 0 ? 0 : r == -ETIMEDOUT ? 1 : 2);
    }
    return reap(pid);
}

static void test_lock_user_exclusive(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT, l2 = JFA_STATE_LOCK_INIT;
    char path[256];
    struct stat st;
    int fdflags;

    assert_int_equal(lock_a(f, 0, &l), 0);
    assert_true(l.fd >= 0);
    fdflags = fcntl(l.fd, F_GETFD);
    assert_true(fdflags >= 0 && (fdflags & FD_CLOEXEC)); /* not inherited by exec */
    /* Another process waits, then gives up: the wait is bounded. */
    assert_int_equal(child_lock_a(f, 100), 1);
    /* So does another open in this process (a threaded PAM host). */
    assert_int_equal(lock_a(f, 50, &l2), -ETIMEDOUT);
    assert_int_equal(l2.fd, -1);
    assert_non_null(strstr(f->err, "still held"));
    /* Other users are independent. */
    assert_int_equal(jfa_state_lock_user(f->priv, ID_B, 0, 60000, &l2, f->err, sizeof(f->err)), 0);
    jfa_state_unlock(&l2);
    jfa_state_unlock(&l);
    assert_int_equal(l.fd, -1);
    jfa_state_unlock(&l); /* twice: a no-op */
    assert_int_equal(child_lock_a(f, 100), 0);
    /* The file and its directory. */
    snprintf(path, sizeof(path), "%s/locks/%s", f->priv, ID_A);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_uid, geteuid());
    snprintf(path, sizeof(path), "%s/locks", f->priv);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
}

/* ---- stuck holders (design.md "Login lock") ---- */

/* A child that takes ID_A's lock with a deadline hold_ms ahead (bare: a
 * bare flock of the lock file, no record), says so on a pipe, then stops
 * itself (stop) or waits, running, for a signal. The parent returns once
 * the child holds the lock (and, for stop, is seen stopped by waitpid). */
static pid_t lock_child(struct fx *f, long hold_ms, bool stop, bool bare)
{
    char path[256], c = 0;
    int p[2], st;
    pid_t pid;

    snprintf(path, sizeof(path), "%s/locks/%s", f->priv, ID_A);
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
        int fd;

        close(p[0]);
        if (bare ? (fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0
                 : jfa_state_lock_user(f->priv, ID_A, 0, hold_ms, &l, f->err, sizeof(f->err)) != 0)
            _exit(3);
        if (write(p[1], "1", 1) != 1)
            _exit(4);
        if (stop)
            raise(SIGSTOP);
        for (;;)
            pause();
    }
    close(p[1]);
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    for (size_t i = 0; i < sizeof(f->kids) / sizeof(f->kids[0]); i++)
        if (f->kids[i] == 0) {
            f->kids[i] = pid;
            break;
        }
    if (stop) {
        assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
        assert_true(WIFSTOPPED(st));
    }
    return pid;
}

static pid_t holder_child(struct fx *f, long hold_ms, bool stop)
{
    return lock_child(f, hold_ms, stop, false);
}

/* pid has been reaped: teardown must not signal it (its pid may be reused). */
static void reaped(struct fx *f, pid_t pid)
{
    for (size_t i = 0; i < sizeof(f->kids) / sizeof(f->kids[0]); i++)
        if (f->kids[i] == pid)
            f->kids[i] = 0;
}

/* The child is still there (not killed); then end it. */
static void assert_spared_then_end(struct fx *f, pid_t pid)
{
    int st;

    assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    reaped(f, pid);
}

static void assert_killed(struct fx *f, pid_t pid)
{
    int st;

    assert_int_equal(waitpid(pid, &st, 0), pid);
    reaped(f, pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
}

static void lock_file_path(struct fx *f, char *path, size_t len)
{
    snprintf(path, len, "%s/locks/%s", f->priv, ID_A);
}

/* ID_A's lock file exists, held by nobody, its record wiped; its path. */
static void lock_file_made(struct fx *f, char *path, size_t len)
{
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;

    assert_int_equal(lock_a(f, 0, &l), 0);
    jfa_state_unlock(&l);
    lock_file_path(f, path, len);
}

/* A stopped holder past its deadline is ended by a root waiter, which then
 * holds the lock and says whom it ended and why. */
static void test_lock_ends_stuck_holder(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    struct jfa_lock_holder h;
    pid_t pid;

    if (geteuid() != 0)
        skip();
    pid = holder_child(f, 0, true);
    assert_int_equal(jfa_state_lock_holder(f->priv, ID_A, &h), 0);
    assert_true(h.alive && h.stuck);
    assert_int_equal(h.pid, pid);
    assert_true(h.overdue_ms >= 0);
    assert_string_equal(h.why, "stopped");
    assert_int_equal(lock_a(f, 5000, &l), 0);
    assert_int_equal(l.ended_pid, pid);
    assert_non_null(strstr(l.ended_why, "stopped"));
    assert_killed(f, pid);
    jfa_state_unlock(&l);
    /* unlocked: the record is wiped, it names nobody */
    assert_int_equal(jfa_state_lock_holder(f->priv, ID_A, &h), -1);
}

/* A child that holds ID_A's lock file with a bare flock, writing no
 * record: what a holder is between its flock and its record, where the
 * caller of su can stop it. Stopped (stop) or running. */
static pid_t unrecorded_child(struct fx *f, bool stop)
{
    char path[256];

    lock_file_made(f, path, sizeof(path));
    return lock_child(f, 0, stop, true);
}

/* A holder stopped before its record was written is named by the kernel
 * (/proc/locks) and ended once seen stuck for LOCK_NOREC_STUCK_MS (750 ms:
 * a shorter wait ends nobody); a running one without a record is never
 * ended. Before, such a holder could never be ended: the caller of su who
 * stopped it there locked the user out for ever. */
static void test_lock_ends_unrecorded_holder(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    pid_t pid;

    if (geteuid() != 0)
        skip();
    pid = unrecorded_child(f, false);
    assert_int_equal(lock_a(f, 1500, &l), -ETIMEDOUT);
    assert_int_equal(l.ended_pid, 0);
    assert_spared_then_end(f, pid);

    pid = unrecorded_child(f, true);
    assert_int_equal(lock_a(f, 600, &l), -ETIMEDOUT);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
    assert_int_equal(lock_a(f, 5000, &l), 0);
    assert_int_equal(l.ended_pid, pid);
    assert_non_null(strstr(l.ended_why, "stopped, holding it with no record"));
    assert_killed(f, pid);
    jfa_state_unlock(&l);
}

/* A flock belongs to an open file description, and /proc/locks names the
 * process that took it even when a child it forked now holds it alone.
 * The taker opens ID_A's lock file, takes a bare flock and forks the
 * holder; then either the taker exits and the holder stops (the caller of
 * su stops the Samba helper's child between its fork and its exec, then
 * kills su), or the taker closes its descriptor and stops, the holder
 * waiting (running). The test process adopts the holder (subreaper). */
static void forked_holder(struct fx *f, bool taker_stays, pid_t *taker, pid_t *holder)
{
    char path[256];
    int p[2], st;
    pid_t pid, h = 0;

    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    lock_file_made(f, path, sizeof(path));
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(path, O_RDWR | O_CLOEXEC);

        close(p[0]);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 || (h = fork()) < 0)
            _exit(3);
        if (h == 0) {
            if (!taker_stays)
                raise(SIGSTOP);
            for (;;)
                pause();
        }
        if (write(p[1], &h, sizeof(h)) != (ssize_t)sizeof(h))
            _exit(4);
        if (!taker_stays)
            _exit(0);
        close(fd);
        raise(SIGSTOP);
        for (;;)
            pause();
    }
    close(p[1]);
    assert_int_equal(read(p[0], &h, sizeof(h)), (ssize_t)sizeof(h));
    close(p[0]);
    assert_true(h > 0);
    for (size_t i = 0, n = 0; i < sizeof(f->kids) / sizeof(f->kids[0]) && n < 2; i++)
        if (f->kids[i] == 0)
            f->kids[i] = n++ == 0 ? pid : h;
    if (taker_stays) {
        assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
        assert_true(WIFSTOPPED(st));
    } else {
        assert_int_equal(waitpid(pid, &st, 0), pid); /* the holder is ours now */
        reaped(f, pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        assert_int_equal(waitpid(h, &st, WUNTRACED), h);
        assert_true(WIFSTOPPED(st));
    }
    *taker = pid;
    *holder = h;
}

/* The holder /proc/locks does not name is found and ended (before, a lock
 * whose taker was gone was never freed: the user locked out for ever);
 * and a stopped process /proc/locks names but that holds nothing (it
 * closed its descriptor; or a process that took the pid of a dead taker)
 * is never ended (before, it was killed, and the lock stayed held). */
static void test_lock_forked_holder(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    pid_t taker, holder;

    if (geteuid() != 0)
        skip();
    forked_holder(f, false, &taker, &holder);
    assert_int_equal(lock_a(f, 5000, &l), 0);
    assert_int_equal(l.ended_pid, holder);
    assert_non_null(strstr(l.ended_why, "stopped, holding it with no record"));
    assert_killed(f, holder);
    jfa_state_unlock(&l);

    forked_holder(f, true, &taker, &holder);
    assert_int_equal(lock_a(f, 1500, &l), -ETIMEDOUT);
    assert_int_equal(l.ended_pid, 0);
    assert_spared_then_end(f, taker);
    assert_spared_then_end(f, holder);
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

/* In a PID namespace whose /proc is another namespace's (unshare -p
 * without a /proc of its own), the pids /proc gives are not the pids
 * pidfd_open and kill take. A root waiter there must end nobody: before,
 * it judged the host's stopped holder H through /proc, then opened and
 * killed pid H of its own namespace, here a bystander made to take it. */
static int waiter_in_pidns(struct fx *f, pid_t h)
{
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    char last[32];
    pid_t v;
    int fd, st, r, ok;

    if (unshare(CLONE_NEWPID) != 0)
        return 77;
    if ((v = fork()) < 0)
        return 2;
    if (v > 0) /* the new namespace's init does the rest */
        return waitpid(v, &st, 0) == v && WIFEXITED(st) ? WEXITSTATUS(st) : 2;
    /* pid 1 of the new namespace, /proc still the old one's */
    snprintf(last, sizeof(last), "%ld", (long)h - 1);
    fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, last, strlen(last)) != (ssize_t)strlen(last))
        _exit(77);
    close(fd);
    if ((v = fork()) < 0)
        _exit(2);
    if (v == 0) {
        raise(SIGSTOP);
        for (;;)
            pause();
    }
    if (v != h || waitpid(v, &st, WUNTRACED) != v || !WIFSTOPPED(st)) {
        kill(v, SIGKILL);
        _exit(77);
    }
    r = lock_a(f, 3000, &l);
    ok = r == -ETIMEDOUT && l.ended_pid == 0 && waitpid(v, &st, WNOHANG) == 0;
    if (!ok)
        fprintf(stderr, "waiter in a PID namespace: rc %d, ended %ld (%s)\n", r, l.ended_pid,
                l.ended_why);
    jfa_state_unlock(&l);
    kill(v, SIGKILL);
    _exit(ok ? 0 : 1);
}

static void test_lock_proc_of_another_pidns(void **state)
{
    struct fx *f = *state;
    pid_t pid, w;
    int st;

    if (geteuid() != 0)
        skip();
    pid = holder_child(f, 0, true); /* stopped, past its deadline */
    w = fork();
    assert_true(w >= 0);
    if (w == 0)
        _exit(waiter_in_pidns(f, pid));
    assert_int_equal(waitpid(w, &st, 0), w);
    assert_true(WIFEXITED(st));
    assert_spared_then_end(f, pid);
    if (WEXITSTATUS(st) == 77)
        skip();
    assert_int_equal(WEXITSTATUS(st), 0);
}

static bool write_at(int dir, const char *file, const char *text)
{
    int fd = openat(dir, file, O_WRONLY | O_CLOEXEC);
    bool ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);

    if (fd >= 0)
        close(fd);
    return ok;
}

static bool frozen_at(int dir)
{
    char buf[256] = "";
    int fd = openat(dir, "cgroup.events", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    if (fd >= 0)
        close(fd);
    if (n > 0)
        buf[n] = '\0';
    return strstr(buf, "frozen 1\n") != NULL;
}

/* A holder past its deadline in a frozen cgroup v2 whose path is target
 * characters long (a user nests cgroups that deep in a subtree delegated
 * to them, runs su there and freezes it) is ended like any frozen holder.
 * Before, a path of 4080 did not fit the buffers of proc_frozen, and one
 * of 5000 is cut by the kernel: such a holder was never seen frozen, and
 * the user of the lock was locked out. */
static void frozen_deep(void **state, size_t target)
{
    static const char *const mnts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    char names[32][256], pidtxt[32];
    int dirs[33], n = 0, r = -1;
    size_t len, i;
    pid_t pid;
    bool frozen = false;

    if (geteuid() != 0)
        skip();
    for (i = 0, dirs[0] = -1; i < sizeof(mnts) / sizeof(mnts[0]) && dirs[0] < 0; i++) {
        struct statfs sfs;

        dirs[0] = open(mnts[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirs[0] >= 0 && (fstatfs(dirs[0], &sfs) != 0 || sfs.f_type != 0x63677270)) {
            close(dirs[0]);
            dirs[0] = -1;
        }
    }
    if (dirs[0] < 0)
        skip(); /* no cgroup v2 here */
    snprintf(names[0], sizeof(names[0]), "jfa-test-deep-%ld", (long)getpid());
    for (len = 1 + strlen(names[0]); n < 32; n++) {
        if (mkdirat(dirs[n], names[n], 0755) != 0 ||
            (dirs[n + 1] = openat(dirs[n], names[n], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
            break;
        if (len >= target) {
            n++;
            break;
        }
        i = target - len - 1 > 250 ? 250 : target - len - 1;
        memset(names[n + 1], 'a', i);
        names[n + 1][i] = '\0';
        len += 1 + i;
    }
    pid = holder_child(f, 0, false); /* running (waiting), past its deadline */
    snprintf(pidtxt, sizeof(pidtxt), "%ld", (long)pid);
    if (n > 0 && len == target && write_at(dirs[n], "cgroup.procs", pidtxt) &&
        write_at(dirs[n], "cgroup.freeze", "1")) {
        for (i = 0; i < 250 && !(frozen = frozen_at(dirs[n])); i++)
            usleep(20000);
    }
    if (frozen)
        r = lock_a(f, 5000, &l);
    if (n > 0)
        (void)write_at(dirs[n], "cgroup.freeze", "0");
    if (r == 0 && l.ended_pid == pid)
        assert_killed(f, pid);
    else
        assert_spared_then_end(f, pid);
    jfa_state_unlock(&l);
    for (; n > 0; n--) {
        close(dirs[n]);
        (void)unlinkat(dirs[n - 1], names[n - 1], AT_REMOVEDIR);
    }
    close(dirs[0]);
    if (!frozen)
        skip(); /* no cgroup v2 freezer usable here */
    assert_int_equal(r, 0);
    assert_int_equal(l.ended_pid, pid);
    assert_non_null(strstr(l.ended_why, "in a frozen cgroup"));
}

static void test_lock_ends_holder_frozen_deep(void **state)
{
    frozen_deep(state, 4080);
    frozen_deep(state, 5000);
}

/* Never ended: a stopped holder within its deadline, a running holder past
 * it, and any waiter that is not root or does not wait (explain). */
static void test_lock_spares_live_holders(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    struct jfa_lock_holder h;
    pid_t pid;

    if (geteuid() != 0)
        skip();
    pid = holder_child(f, 60000, true); /* stopped, 60 s left */
    assert_int_equal(jfa_state_lock_holder(f->priv, ID_A, &h), 0);
    assert_true(h.alive && h.stuck && h.overdue_ms < 0);
    assert_int_equal(lock_a(f, 600, &l), -ETIMEDOUT);
    assert_int_equal(l.ended_pid, 0);
    assert_spared_then_end(f, pid);

    pid = holder_child(f, 0, false); /* running (waiting), past its deadline */
    assert_int_equal(jfa_state_lock_holder(f->priv, ID_A, &h), 0);
    assert_true(h.alive && !h.stuck && h.overdue_ms >= 0);
    assert_int_equal(lock_a(f, 600, &l), -ETIMEDOUT);
    assert_int_equal(l.ended_pid, 0);
    assert_spared_then_end(f, pid);

    pid = holder_child(f, 0, true); /* stuck and overdue, but explain never waits */
    assert_int_equal(lock_a(f, 0, &l), -ETIMEDOUT);
    assert_int_equal(l.ended_pid, 0);
    assert_spared_then_end(f, pid);
}

/* Replace the holder record with one built from the child's own (good),
 * one field changed (what: 'b' boot, 's' start time, 'n' PID namespace,
 * 't' torn: one byte of the deadline changed without a new checksum). */
static void forge_record(struct fx *f, const char *good, char what)
{
    char path[256], buf[512], boot[40] = "", forged[512];
    unsigned long long start = 0, ns = 0;
    long long until = 0;
    long pid = 0;
    int fd;

    lock_file_path(f, path, sizeof(path));
    fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    snprintf(buf, sizeof(buf), "%s", good);
    assert_int_equal(
        sscanf(buf, "jellyfin-auth lock 1 pid=%ld start=%llu boot=%39s pidns=%llu until=%lld", &pid,
               &start, boot, &ns, &until),
        5);
    if (what == 't') {
        char *u = strstr(buf, "until=") + 6;

        *u = *u == '1' ? '2' : '1';
        memcpy(forged, buf, sizeof(forged));
    } else {
        if (what == 'b')
            memcpy(boot, "00000000-0000-0000-0000-000000000000", 37);
        start += what == 's';
        ns += what == 'n';
        assert_true(jfa_lock_record_format(forged, sizeof(forged), pid, start, boot, ns, until) >
                    0);
    }
    assert_int_equal(pwrite(fd, forged, strlen(forged), 0), (ssize_t)strlen(forged));
    close(fd);
}

/* A record that does not name this very process means nothing: torn,
 * another boot, another start time (the pid reused), another PID
 * namespace; and a lock file that is not 0600 is not trusted at all. The
 * same child is ended once its true record is back. */
static void test_lock_record_means_nothing(void **state)
{
    static const char kinds[] = {'t', 'b', 's', 'n'};
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    struct jfa_lock_holder h;
    char path[256], good[512];
    pid_t pid;
    size_t i;
    int fd;

    if (geteuid() != 0)
        skip();
    pid = holder_child(f, 0, true);
    lock_file_path(f, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    memset(good, 0, sizeof(good));
    assert_true(pread(fd, good, sizeof(good) - 1, 0) > 0);
    close(fd);
    for (i = 0; i < sizeof(kinds); i++) {
        forge_record(f, good, kinds[i]);
        assert_int_equal(jfa_state_lock_holder(f->priv, ID_A, &h), -1);
        assert_int_equal(lock_a(f, 600, &l), -ETIMEDOUT);
        assert_int_equal(l.ended_pid, 0);
        assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
    }
    /* the true record, in a file group-readable: not trusted */
    fd = open(path, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, good, strlen(good), 0), (ssize_t)strlen(good));
    close(fd);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(lock_a(f, 600, &l), -1);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0);
    /* 0600 again: the stuck child is ended */
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(lock_a(f, 5000, &l), 0);
    assert_int_equal(l.ended_pid, pid);
    assert_killed(f, pid);
    jfa_state_unlock(&l);
}

static void test_lock_dead_holder(void **state)
{
    struct fx *f = *state;
    int held[2];
    pid_t pid;
    char c;

    assert_int_equal(pipe(held), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct jfa_state_lock l = JFA_STATE_LOCK_INIT;

        close(held[0]);
        if (lock_a(f, 0, &l) != 0 || write(held[1], "x", 1) != 1)
            _exit(2);
        for (;;)
            pause(); /* killed holding it */
    }
    close(held[1]);
    assert_int_equal(read(held[0], &c, 1), 1);
    close(held[0]);
    assert_int_equal(child_lock_a(f, 0), 1);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(reap(pid), -1);
    assert_int_equal(child_lock_a(f, 0), 0);
}

static void test_lock_fork_while_held(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    int hold[2];
    pid_t pid;
    char c;

    /* A PAM host forks while we hold the lock; the child shares the open
     * file description. Our unlock must still release it. */
    assert_int_equal(lock_a(f, 0, &l), 0);
    assert_int_equal(pipe(hold), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(hold[1]);
        _exit(read(hold[0], &c, 1) == 0 ? 0 : 2); /* alive until the parent says */
    }
    close(hold[0]);
    jfa_state_unlock(&l);
    assert_int_equal(child_lock_a(f, 0), 0);
    close(hold[1]);
    assert_int_equal(reap(pid), 0);
}

static void test_lock_refusals(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock l = JFA_STATE_LOCK_INIT;
    const char *bad_ids[] = {"", "throttle", "../../../../tmp/x", ID_A "0",
                             "0123456789ABCDEF0123456789abcdef"};
    char path[256], target[256], cmd[512];
    struct stat st;

    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        assert_int_equal(
            jfa_state_lock_user(f->priv, bad_ids[i], 0, 60000, &l, f->err, sizeof(f->err)), -1);
        assert_int_equal(l.fd, -1);
    }
    snprintf(path, sizeof(path), "%s/locks", f->priv);
    assert_int_equal(lstat(path, &st), -1); /* nothing created for them */

    /* A symlink in place of the lock file: refused, its target untouched. */
    assert_int_equal(lock_a(f, 0, &l), 0);
    jfa_state_unlock(&l);
    snprintf(path, sizeof(path), "%s/locks/%s", f->priv, ID_A);
    snprintf(target, sizeof(target), "%s/target", f->dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(lock_a(f, 0, &l), -1);
    assert_int_equal(l.fd, -1);
    assert_non_null(strstr(f->err, path));
    assert_int_equal(lstat(target, &st), -1);
    /* A lock file others may write: refused. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(lock_a(f, 0, &l), 0);
    jfa_state_unlock(&l);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(lock_a(f, 0, &l), -1);
    assert_non_null(strstr(f->err, "too open"));
    assert_int_equal(chmod(path, 0600), 0);
    /* Not a regular file. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(lock_a(f, 0, &l), -1);
    assert_int_equal(unlink(path), 0);
    /* Owned by someone else (needs root to set up). */
    if (geteuid() == 0) {
        assert_int_equal(lock_a(f, 0, &l), 0);
        jfa_state_unlock(&l);
        assert_int_equal(chown(path, 12345, 12345), 0);
        assert_int_equal(lock_a(f, 0, &l), -1);
        assert_non_null(strstr(f->err, "owned by uid 12345"));
    }
    /* The locks directory itself must be private. */
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/locks' && mkdir -m 0755 '%s/locks'", f->priv, f->priv);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(chmod(f->priv, 0700), 0);
    snprintf(path, sizeof(path), "%s/locks", f->priv);
    assert_int_equal(chmod(path, 0755), 0);
    assert_int_equal(lock_a(f, 0, &l), -1);
    assert_int_equal(l.fd, -1);
}

/* --- rejected-password memory --- */

static void test_rejected_remember_and_expire(void **state)
{
    struct fx *f = *state;
    long age = -1, left = -1;

    assert_int_equal(
        jfa_state_rejected_check(f->priv, ID_A, "typo", T0, 900, &age, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_rejected_add(f->priv, ID_A, "typo", T0, 900, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(
        jfa_state_rejected_check(f->priv, ID_A, "typo", T0 + 10, 900, &age, f->err, sizeof(f->err)),
        1);
    assert_int_equal(age, 10);
    /* another password, another user: not remembered */
    assert_int_equal(jfa_state_rejected_check(f->priv, ID_A, "typo2", T0 + 10, 900, &age, f->err,
                                              sizeof(f->err)),
                     0);
    assert_int_equal(
        jfa_state_rejected_check(f->priv, ID_B, "typo", T0 + 10, 900, &age, f->err, sizeof(f->err)),
        0);
    assert_int_equal(jfa_state_rejected_count(f->priv, ID_A, T0 + 10, 900, &left), 1);
    assert_int_equal(left, 890);
    /* the window: remembered up to 899 s, forgotten at 900 */
    assert_int_equal(jfa_state_rejected_check(f->priv, ID_A, "typo", T0 + 899, 900, &age, f->err,
                                              sizeof(f->err)),
                     1);
    assert_int_equal(jfa_state_rejected_check(f->priv, ID_A, "typo", T0 + 900, 900, &age, f->err,
                                              sizeof(f->err)),
                     0);
    /* a clock set back forgets it too */
    assert_int_equal(
        jfa_state_rejected_check(f->priv, ID_A, "typo", T0 - 5, 900, &age, f->err, sizeof(f->err)),
        0);
    /* refused again: the time is renewed, no duplicate */
    assert_int_equal(
        jfa_state_rejected_add(f->priv, ID_A, "typo", T0 + 500, 900, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_rejected_count(f->priv, ID_A, T0 + 500, 900, &left), 1);
    assert_int_equal(jfa_state_rejected_check(f->priv, ID_A, "typo", T0 + 1300, 900, &age, f->err,
                                              sizeof(f->err)),
                     1);
    /* clear */
    assert_int_equal(jfa_state_rejected_clear(f->priv, ID_A), 0);
    assert_int_equal(jfa_state_rejected_check(f->priv, ID_A, "typo", T0 + 501, 900, &age, f->err,
                                              sizeof(f->err)),
                     0);
    assert_int_equal(jfa_state_rejected_clear(f->priv, ID_A), 0); /* absent: fine */
}

/* Inside su the real uid is the caller's, who cannot search the private
 * directory: the first remembered password must still create the key (an
 * access() probe asked with the real uid and never created it). */
static void test_rejected_key_real_uid_caller(void **state)
{
    struct fx *f = *state;
    char path[256];
    struct stat st;
    pid_t pid;
    int status;

    if (geteuid() != 0)
        skip();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        long age = -1;

        if (setresuid(65534, 0, 0) != 0 || getuid() != 65534)
            _exit(3);
        if (jfa_state_rejected_add(f->priv, ID_A, "typo", T0, 900, f->err, sizeof(f->err)) != 0)
            _exit(1);
        if (jfa_state_rejected_check(f->priv, ID_A, "typo", T0 + 1, 900, &age, f->err,
                                     sizeof(f->err)) != 1)
            _exit(2);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    snprintf(path, sizeof(path), "%s/rejected.key", f->priv);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_uid, 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_rejected_cap_and_disk(void **state)
{
    struct fx *f = *state;
    char path[256], pw[32], *buf = NULL;
    size_t len = 0;
    long age, left;
    struct stat st;
    int i;

    for (i = 0; i < JFA_REJECTED_MAX + 4; i++) {
        snprintf(pw, sizeof(pw), "wrong-%d", i);
        assert_int_equal(
            jfa_state_rejected_add(f->priv, ID_A, pw, T0 + i, 900, f->err, sizeof(f->err)), 0);
    }
    assert_int_equal(jfa_state_rejected_count(f->priv, ID_A, T0 + 30, 900, &left),
                     JFA_REJECTED_MAX);
    /* the oldest went first */
    assert_int_equal(jfa_state_rejected_check(f->priv, ID_A, "wrong-0", T0 + 30, 900, &age, f->err,
                                              sizeof(f->err)),
                     0);
    snprintf(pw, sizeof(pw), "wrong-%d", JFA_REJECTED_MAX + 3);
    assert_int_equal(
        jfa_state_rejected_check(f->priv, ID_A, pw, T0 + 30, 900, &age, f->err, sizeof(f->err)), 1);
    /* never in clear; 0600 files in a 0700 directory; the key 0600 */
    snprintf(path, sizeof(path), "%s/rejected/%s", f->priv, ID_A);
    assert_int_equal(jfa_read_trusted(path, 077, 1 << 20, &buf, &len, f->err, sizeof(f->err)), 0);
    assert_null(memmem(buf, len, "wrong-", 6));
    free(buf);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(path, sizeof(path), "%s/rejected", f->priv);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/rejected.key", f->priv);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a new key (a reinstall) makes old entries unrecognisable, not wrong */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(
        jfa_state_rejected_check(f->priv, ID_A, pw, T0 + 30, 900, &age, f->err, sizeof(f->err)), 0);
    /* a malformed record is ignored line by line, never trusted */
    snprintf(path, sizeof(path), "%s/rejected/%s", f->priv, ID_B);
    assert_int_equal(jfa_write_atomic(path,
                                      "jellyfin-auth rejected 1\nzz 1\n"
                                      "00 1900000000\n\n",
                                      strlen("jellyfin-auth rejected 1\nzz 1\n"
                                             "00 1900000000\n\n"),
                                      0600, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(jfa_state_rejected_count(f->priv, ID_B, T0, 900, &left), 0);
    assert_int_equal(
        jfa_state_rejected_check(f->priv, ID_B, "x", T0, 900, &age, f->err, sizeof(f->err)), 0);
    /* bad ids are refused */
    assert_int_equal(jfa_state_rejected_add(f->priv, "../x", "x", T0, 900, f->err, sizeof(f->err)),
                     -1);
}

static void test_throttle_and_verifier_info(void **state)
{
    struct fx *f = *state;
    unsigned long count = 9;
    long wait = 9;
    time_t when = 0;
    uint32_t fl = 0;

    jfa_throttle_info(&f->cfg, f->priv, ID_A, T0, &count, &wait);
    assert_int_equal(count, 0);
    assert_int_equal(wait, 0);
    jfa_throttle_failure(&f->cfg, f->priv, ID_A, T0);
    jfa_throttle_failure(&f->cfg, f->priv, ID_A, T0 + 1);
    jfa_throttle_info(&f->cfg, f->priv, ID_A, T0 + 2, &count, &wait);
    assert_int_equal(count, 2);
    assert_int_equal(wait, 0);
    jfa_throttle_failure(&f->cfg, f->priv, ID_A, T0 + 2);
    jfa_throttle_info(&f->cfg, f->priv, ID_A, T0 + 5, &count, &wait);
    assert_int_equal(count, 3);
    assert_int_equal(wait, JFA_THROTTLE_BASE - 3);
    /* forgotten once the window after the back-off has passed */
    jfa_throttle_info(&f->cfg, f->priv, ID_A, T0 + 2 + JFA_THROTTLE_BASE + 901, &count, &wait);
    assert_int_equal(count, 0);
    assert_int_equal(jfa_state_verifier_info(f->priv, ID_A, &when, &fl, f->err, sizeof(f->err)),
                     JFA_ABSENT);
    assert_int_equal(jfa_state_put_verifier(f->priv, ID_A, "pw", 0x8, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_state_verifier_info(f->priv, ID_A, &when, &fl, f->err, sizeof(f->err)), 0);
    assert_int_equal(fl, 0x8);
    assert_true(when > 0 && when <= time(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_throttle_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_undo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_backoff_doubles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_window_shorter_than_delay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_clock_backwards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_late_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_success_and_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_bad_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verifier, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_parallel_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_user_exclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_dead_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_fork_while_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_ends_stuck_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_ends_unrecorded_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_forked_holder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_proc_of_another_pidns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_ends_holder_frozen_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_spares_live_holders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_record_means_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_remember_and_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_cap_and_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_key_real_uid_caller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttle_and_verifier_info, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
