/*
 * tests/unit/test_samba.c - unit tests for lib/samba.c.
 *
 * Owns: the `pdbedit -L -w` parser (good lines, flags, CRLF, every kind of
 * malformed line named by number), the "already current" record (HMAC
 * inputs, key creation and modes, match / mismatch / drop, no password on
 * disk), the helper runner (trust checks, fixed environment, argv, stdin
 * on a pipe, exit status, output cap, none of the caller's umask, cwd,
 * limits, nice or signal dispositions, the deadline killing the whole
 * process group, SIGCHLD restored and a reaping host handler defeated) and
 * jfa_samba_set_password against a fake smbpasswd (the pipe protocol, skip
 * when current, skip for newline and over-long passwords, failure names
 * the exit status and never echoes the password, a failure forgets the
 * record), and jfa_samba_disable_all (what the package's removal disables
 * and lists). Runs as any user: helpers are scripts in a private temp dir.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "jfaconf.h"
#include "samba.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210"

struct fx {
    char dir[64];
    char priv[128];
    char err[512];
    struct jfa_config cfg;
    char *def_smbpasswd; /* the static default: never freed */
};

static void set_helper(struct fx *f, const char *path)
{
    if (f->cfg.samba_smbpasswd != f->def_smbpasswd)
        free(f->cfg.samba_smbpasswd);
    f->cfg.samba_smbpasswd = strdup(path);
    assert_non_null(f->cfg.samba_smbpasswd);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 65536);

    assert_non_null(buf);
    if (f != NULL) {
        size_t n = fread(buf, 1, 65535, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static void script(struct fx *f, const char *name, const char *body, char *path, size_t len);

/* pdbedit -P "bad lockout attempt": the value in $dir/lockout (default 5),
 * or a failure when it says "fail" */
static void fake_pdbedit(struct fx *f)
{
    char body[1024], path[256];

    snprintf(body, sizeof(body),
             "v=$(cat '%1$s/lockout' 2>/dev/null || echo 5)\n"
             "[ \"$v\" = fail ] && { echo 'Unable to get account policy' >&2; exit 1; }\n"
             "echo 'account policy \"bad lockout attempt\" description: lockout after N'\n"
             "echo \"account policy \\\"bad lockout attempt\\\" value is: $v\"\n",
             f->dir);
    script(f, "pdbedit", body, path, sizeof(path));
    if (f->cfg.samba_pdbedit != NULL)
        free(f->cfg.samba_pdbedit);
    f->cfg.samba_pdbedit = strdup(path);
    assert_non_null(f->cfg.samba_pdbedit);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/jfa-samba.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->priv, sizeof(f->priv), "%s/private", f->dir);
    jfa_config_defaults(&f->cfg);
    f->cfg.samba_sync = true;
    f->cfg.samba_timeout = 2;
    f->def_smbpasswd = f->cfg.samba_smbpasswd;
    f->cfg.samba_pdbedit = NULL; /* the default is static: not freed */
    fake_pdbedit(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    jfa_config_free(&f->cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

/* ---- parser -------------------------------------------------------- */

static void test_parse_good(void **state)
{
    static const char text[] =
        "alice:2014792917:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:E0FBA38268D0EC66EF1CB452D5885E53:"
        "[U          ]:LCT-6B13F54F:\n"
        "carol:1880130687:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:"
        "[DU         ]:LCT-00000000:\r\n"
        "\n"
        "host$:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:0123456789abcdef0123456789ABCDEF:"
        "[W          ]:LCT-6B13F54F:";
    struct jfa_samba_list l;
    char err[256];
    const struct jfa_samba_entry *e;

    (void)state;
    assert_int_equal(jfa_samba_parse_list(text, strlen(text), &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 3);
    e = jfa_samba_find(&l, "alice");
    assert_non_null(e);
    assert_int_equal(e->uid, 2014792917u);
    assert_true(e->normal);
    assert_false(e->disabled);
    assert_true(e->has_password);
    e = jfa_samba_find(&l, "carol");
    assert_non_null(e);
    assert_true(e->disabled);
    assert_false(e->has_password);
    e = jfa_samba_find(&l, "host$");
    assert_non_null(e);
    assert_false(e->normal);
    assert_null(jfa_samba_find(&l, "bob"));
    assert_null(jfa_samba_find(&l, "alic"));
    jfa_samba_list_free(&l);
    /* pdbedit's order is not sorted: every name is still found */
    {
        static const char unsorted[] =
            "zed:3:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:[U ]:LCT-0:\n"
            "amy:1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:[U ]:LCT-0:\n"
            "kim:2:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:[U ]:LCT-0:\n";
        const char *names[] = {"zed", "amy", "kim"};

        assert_int_equal(jfa_samba_parse_list(unsorted, strlen(unsorted), &l, err, sizeof(err)), 0);
        for (size_t i = 0; i < 3; i++) {
            e = jfa_samba_find(&l, names[i]);
            assert_non_null(e);
            assert_int_equal(e->uid, (uint32_t)(names[i][0] == 'z'   ? 3
                                                : names[i][0] == 'a' ? 1
                                                                     : 2));
        }
        assert_null(jfa_samba_find(&l, "bob"));
        jfa_samba_list_free(&l);
    }
    /* empty output: no entries */
    assert_int_equal(jfa_samba_parse_list("", 0, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 0);
    jfa_samba_list_free(&l);
}

static void bad_list(const char *line2, const char *why)
{
    char text[1024], err[256];
    struct jfa_samba_list l;

    snprintf(text, sizeof(text),
             "alice:1:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:[U ]:"
             "LCT-0:\n%s\n",
             line2);
    if (jfa_samba_parse_list(text, strlen(text), &l, err, sizeof(err)) == 0)
        fail_msg("accepted %s: \"%s\"", why, line2);
    if (strstr(err, "line 2") == NULL)
        fail_msg("error for %s does not name line 2: %s", why, err);
    assert_null(l.items);
    assert_int_equal(l.n, 0);
}

static void test_parse_bad(void **state)
{
    static const char H[] = "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX";
    char line[512];

    (void)state;
    bad_list("alice", "a lone name");
    bad_list("alice:1:2:3", "too few fields");
    snprintf(line, sizeof(line), ":1:%s:%s:[U]:LCT-0:", H, H);
    bad_list(line, "an empty name");
    snprintf(line, sizeof(line), "bob:x1:%s:%s:[U]:LCT-0:", H, H);
    bad_list(line, "a non-numeric uid");
    snprintf(line, sizeof(line), "bob:99999999999:%s:%s:[U]:LCT-0:", H, H);
    bad_list(line, "a uid over 32 bits");
    snprintf(line, sizeof(line), "bob:1:%s:ABC:[U]:LCT-0:", H);
    bad_list(line, "a short NT hash");
    snprintf(line, sizeof(line), "bob:1:%s:%.31sG:[U]:LCT-0:", H, H);
    bad_list(line, "a non-hex NT hash");
    snprintf(line, sizeof(line), "bob:1:%s:%s:U:LCT-0:", H, H);
    bad_list(line, "flags without brackets");
    snprintf(line, sizeof(line), "bob:1:%s:%s:[U]:XYZ:", H, H);
    bad_list(line, "no LCT field");
    snprintf(line, sizeof(line), "b\x01ob:1:%s:%s:[U]:LCT-0:", H, H);
    bad_list(line, "a control byte in the name");
    snprintf(line, sizeof(line), "%s:1:%s:%s:[U]:LCT-0:",
             "a123456789012345678901234567890123456789012345678901234567890123", H, H);
    bad_list(line, "a 64-byte name");
}

/* ---- the record ---------------------------------------------------- */

static void test_mac(void **state)
{
    unsigned char k1[JFA_SAMBA_KEY_LEN], k2[JFA_SAMBA_KEY_LEN];
    unsigned char a[JFA_SAMBA_MAC_LEN], b[JFA_SAMBA_MAC_LEN];

    (void)state;
    memset(k1, 1, sizeof(k1));
    memset(k2, 2, sizeof(k2));
    assert_int_equal(jfa_samba_mac(k1, ID_A, "alice", "pw", a), 0);
    assert_int_equal(jfa_samba_mac(k1, ID_A, "alice", "pw", b), 0);
    assert_memory_equal(a, b, sizeof(a));
    assert_int_equal(jfa_samba_mac(k2, ID_A, "alice", "pw", b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(jfa_samba_mac(k1, ID_B, "alice", "pw", b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(jfa_samba_mac(k1, ID_A, "alicia", "pw", b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_int_equal(jfa_samba_mac(k1, ID_A, "alice", "pw2", b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    /* fields are separated: ("alice", "xpw") is not ("alicex", "pw") */
    assert_int_equal(jfa_samba_mac(k1, ID_A, "alicex", "pw", a), 0);
    assert_int_equal(jfa_samba_mac(k1, ID_A, "alice", "xpw", b), 0);
    assert_memory_not_equal(a, b, sizeof(a));
}

static void test_key_and_record(void **state)
{
    struct fx *f = *state;
    unsigned char key[JFA_SAMBA_KEY_LEN], again[JFA_SAMBA_KEY_LEN];
    unsigned char m1[JFA_SAMBA_MAC_LEN], m2[JFA_SAMBA_MAC_LEN];
    char path[256], *text;
    struct stat st;

    assert_int_equal(jfa_samba_key(f->priv, false, key, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "samba.key"));
    assert_int_equal(jfa_samba_key(f->priv, true, key, f->err, sizeof(f->err)), 0);
    snprintf(path, sizeof(path), "%s/samba.key", f->priv);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, JFA_SAMBA_KEY_LEN);
    assert_int_equal(jfa_samba_key(f->priv, true, again, f->err, sizeof(f->err)), 0);
    assert_memory_equal(key, again, sizeof(key));

    assert_int_equal(jfa_samba_mac(key, ID_A, "alice", "secret-pw", m1), 0);
    assert_int_equal(jfa_samba_mac(key, ID_A, "alice", "other-pw", m2), 0);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_A, m1, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_samba_record_put(f->priv, ID_A, m1, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_A, m1, f->err, sizeof(f->err)), 1);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_A, m2, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_B, m1, f->err, sizeof(f->err)), 0);
    snprintf(path, sizeof(path), "%s/samba/%s", f->priv, ID_A);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    snprintf(path, sizeof(path), "%s/samba", f->priv);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    snprintf(path, sizeof(path), "%s/samba/%s", f->priv, ID_A);
    text = read_text(path);
    assert_null(strstr(text, "secret-pw"));
    free(text);
    /* the record's text is pinned: records written by earlier versions
     * (lower-case hex) must keep matching */
    for (size_t i = 0; i < sizeof(m2); i++)
        m2[i] = (unsigned char)(i * 8 + 7);
    assert_int_equal(jfa_samba_record_put(f->priv, ID_A, m2, f->err, sizeof(f->err)), 0);
    text = read_text(path);
    assert_string_equal(text, "jellyfin-auth samba 1\nok "
                              "070f171f272f373f474f575f676f777f878f979fa7afb7bfc7cfd7dfe7eff7ff\n");
    free(text);
    assert_int_equal(jfa_samba_record_put(f->priv, ID_A, m1, f->err, sizeof(f->err)), 0);
    /* a record that is a symlink is refused, not followed */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_A, m1, f->err, sizeof(f->err)), -1);
    assert_int_equal(jfa_samba_record_drop(f->priv, ID_A), 0);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_A, m1, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_samba_record_drop(f->priv, ID_A), 0); /* absent is fine */
    /* ids that are not 32 hex digits never become paths */
    assert_int_equal(jfa_samba_record_put(f->priv, "../../etc/x", m1, f->err, sizeof(f->err)), -1);
    assert_int_equal(jfa_samba_record_drop(f->priv, "../ledger"), -1);
    /* a key of the wrong size is an error, not a silent new key */
    snprintf(path, sizeof(path), "%s/samba.key", f->priv);
    write_file(path, "short", 0600);
    assert_int_equal(jfa_samba_key(f->priv, true, key, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "32-byte"));
}

/* ---- running helpers ----------------------------------------------- */

static void script(struct fx *f, const char *name, const char *body, char *path, size_t len)
{
    char text[2048];

    snprintf(path, len, "%s/%s", f->dir, name);
    snprintf(text, sizeof(text), "#!/bin/sh\n%s", body);
    write_file(path, text, 0755);
}

static void test_exec_env_argv_stdin(void **state)
{
    struct fx *f = *state;
    char path[256];
    const char *argv[] = {"tool", "-x", "a b", NULL};
    struct jfa_samba_run res;

    script(f, "envdump",
           "printf 'ARGS:'; for a in \"$@\"; do printf '[%s]' \"$a\"; done; echo\n"
           "env | grep -v '^PWD=\\|^SHLVL=\\|^_=' | sort\nread -r l; echo \"IN:$l\"\n"
           "echo to-stderr >&2\nexit 7\n",
           path, sizeof(path));
    setenv("JFA_TEST_SECRET", "do-not-pass", 1);
    assert_int_equal(
        jfa_samba_exec(path, argv, "line1\nline2\n", 12, 5000, 4096, &res, f->err, sizeof(f->err)),
        0);
    unsetenv("JFA_TEST_SECRET");
    assert_false(res.timed_out);
    assert_int_equal(res.status, 7);
    assert_non_null(strstr(res.out, "ARGS:[-x][a b]\n"));
    assert_non_null(strstr(res.out, "LANG=C\nLC_ALL=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
    assert_null(strstr(res.out, "JFA_TEST_SECRET"));
    assert_null(strstr(res.out, "HOME="));
    assert_non_null(strstr(res.out, "IN:line1\n"));
    assert_non_null(strstr(res.out, "to-stderr\n"));
    jfa_samba_run_free(&res);

    /* the output cap */
    script(f, "chatty", "i=0; while [ $i -lt 2000 ]; do echo 0123456789; i=$((i+1)); done\n", path,
           sizeof(path));
    assert_int_equal(jfa_samba_exec(path, argv, NULL, 0, 5000, 100, &res, f->err, sizeof(f->err)),
                     0);
    assert_int_equal(res.status, 0);
    assert_int_equal(res.out_len, 100);
    assert_int_equal(strlen(res.out), 100);
    jfa_samba_run_free(&res);
}

/* The caller of su owns the process' umask, cwd, limits, nice and signal
 * dispositions; smbpasswd runs as root and must inherit none of them (a
 * file-size limit tears the passdb it writes, a core of a root process
 * lands in the caller's cwd). Set them in a forked copy of this process,
 * as a caller would, and look at what the helper got. */
static void test_exec_caller_process_state(void **state)
{
    struct fx *f = *state;
    char path[256], out[1024];
    const char *argv[] = {"tool", NULL};
    int pfd[2], status = 0;
    ssize_t n;
    pid_t pid;

    script(f, "procdump",
           "echo \"umask=$(umask) cwd=$(pwd) fsize=$(ulimit -f) core=$(ulimit -c) "
           "cpu=$(ulimit -t) as=$(ulimit -v) nofile=$(ulimit -n) "
           "nice=$(cut -d')' -f2 /proc/$$/stat | cut -d' ' -f18)\"\n"
           "grep -E '^Sig(Ign|Blk):' /proc/$$/status | tr -d '\\t' | tr '\\n' ' '\n",
           path, sizeof(path));
    assert_int_equal(pipe(pfd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct jfa_samba_run res;
        struct rlimit small = {4, RLIM_INFINITY}, core = {RLIM_INFINITY, RLIM_INFINITY};
        struct rlimit cpu = {3600, RLIM_INFINITY}, nofile = {16, 4096};
        char err[512];
        sigset_t block;
        int ok;

        close(pfd[0]);
        umask(0);
        ok = chdir(f->dir) == 0 && setrlimit(RLIMIT_FSIZE, &small) == 0 &&
             setrlimit(RLIMIT_CORE, &core) == 0 && setrlimit(RLIMIT_CPU, &cpu) == 0 &&
             setrlimit(RLIMIT_NOFILE, &nofile) == 0 && nice(5) != -1;
        signal(SIGXFSZ, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGALRM);
        sigprocmask(SIG_BLOCK, &block, NULL);
        if (!ok || jfa_samba_exec(path, argv, NULL, 0, 5000, 1000, &res, err, sizeof(err)) != 0)
            _exit(2);
        if (write(pfd[1], res.out, res.out_len) != (ssize_t)res.out_len)
            _exit(3);
        _exit(0);
    }
    close(pfd[1]);
    n = read(pfd[0], out, sizeof(out) - 1);
    close(pfd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(n > 0);
    out[n] = '\0';
    printf("the helper saw: %s\n", out);
    assert_non_null(strstr(out, "umask=0022 "));
    assert_non_null(strstr(out, "cwd=/ "));
    assert_non_null(strstr(out, "fsize=unlimited "));
    assert_non_null(strstr(out, "core=0 "));
    assert_non_null(strstr(out, "cpu=unlimited "));
    assert_non_null(strstr(out, "as=unlimited "));
    assert_null(strstr(out, "nofile=16 "));
    /* signals 32 and 33 are glibc's own (cancellation, setxid): sigaction
     * refuses them, and every glibc program installs its handlers anew */
    {
        const char *ign = strstr(out, "SigIgn:");
        assert_non_null(ign);
        assert_int_equal(strtoull(ign + 7, NULL, 16) & ~0x180000000ULL, 0);
    }
    assert_non_null(strstr(out, "SigBlk:0000000000000000 "));
    if (geteuid() == 0) /* only root may lower nice again */
        assert_non_null(strstr(out, "nice=0\n"));
}

/* A helper that exits without reading its stdin: the writer gets EPIPE,
 * and the caller must not die of SIGPIPE (default action: terminate). */
static void test_exec_helper_ignores_stdin(void **state)
{
    struct fx *f = *state;
    char path[256], *big;
    const char *argv[] = {"deaf", NULL};
    struct jfa_samba_run res;
    size_t n = 1u << 20;
    sigset_t pending;

    signal(SIGPIPE, SIG_DFL);
    script(f, "deaf", "exec 0<&-\nsleep 0.2\nexit 4\n", path, sizeof(path));
    big = malloc(n);
    assert_non_null(big);
    memset(big, 'x', n);
    assert_int_equal(jfa_samba_exec(path, argv, big, n, 5000, 64, &res, f->err, sizeof(f->err)), 0);
    free(big);
    assert_int_equal(res.status, 4);
    jfa_samba_run_free(&res);
    /* and no SIGPIPE is left pending for the host either */
    sigemptyset(&pending);
    assert_int_equal(sigpending(&pending), 0);
    assert_int_equal(sigismember(&pending, SIGPIPE), 0);
}

static bool gone(pid_t pid)
{
    char path[64], *text;
    bool g;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (access(path, F_OK) != 0)
        return true;
    text = read_text(path);
    /* "pid (comm) S ...": a zombie waits for its new parent only */
    g = strstr(text, ") Z ") != NULL;
    free(text);
    return g;
}

static volatile sig_atomic_t reaped_by_handler;
static void reaper(int sig)
{
    int saved = errno;

    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        reaped_by_handler++;
    errno = saved;
}

static void test_exec_deadline_kills_group(void **state)
{
    struct fx *f = *state;
    char path[256], pids[256], *text;
    const char *argv[] = {"hang", NULL};
    struct jfa_samba_run res;
    struct sigaction sa, now;
    int a = 0, b = 0;

    snprintf(pids, sizeof(pids), "%s/pids", f->dir);
    {
        char body[512];
        snprintf(body, sizeof(body), "sleep 30 &\necho $$ $! >'%s'\nwait\n", pids);
        script(f, "hang", body, path, sizeof(path));
    }
    /* a host whose SIGCHLD handler reaps everything */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = reaper;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGCHLD, &sa, NULL), 0);
    reaped_by_handler = 0;
    assert_int_equal(jfa_samba_exec(path, argv, NULL, 0, 700, 4096, &res, f->err, sizeof(f->err)),
                     0);
    assert_true(res.timed_out);
    assert_int_equal(res.status, -1);
    jfa_samba_run_free(&res);
    /* our handler is back, and it never got our child */
    assert_int_equal(sigaction(SIGCHLD, NULL, &now), 0);
    assert_ptr_equal(now.sa_handler, reaper);
    assert_int_equal(reaped_by_handler, 0);
    /* a helper that exits while we wait for its output: the host's handler
     * would reap it and its exit status would be lost */
    {
        char quick[256];
        const char *qargv[] = {"quick", NULL};

        script(f, "quick", "sleep 0.2; exit 5\n", quick, sizeof(quick));
        assert_int_equal(
            jfa_samba_exec(quick, qargv, NULL, 0, 5000, 64, &res, f->err, sizeof(f->err)), 0);
        assert_false(res.timed_out);
        assert_int_equal(res.status, 5);
        assert_int_equal(reaped_by_handler, 0);
        jfa_samba_run_free(&res);
    }
    signal(SIGCHLD, SIG_DFL);
    /* the shell and its background sleep were both killed */
    text = read_text(pids);
    assert_int_equal(sscanf(text, "%d %d", &a, &b), 2);
    free(text);
    assert_true(gone(a));
    for (int i = 0; i < 100 && !gone(b); i++)
        usleep(10000);
    assert_true(gone(b));
}

static void test_exec_trust(void **state)
{
    struct fx *f = *state;
    char path[256], link[256];
    const char *argv[] = {"x", NULL};
    struct jfa_samba_run res;

    script(f, "ok", "exit 0\n", path, sizeof(path));
    snprintf(link, sizeof(link), "%s/link", f->dir);
    assert_int_equal(symlink(path, link), 0);
    assert_int_equal(jfa_samba_exec(link, argv, NULL, 0, 5000, 64, &res, f->err, sizeof(f->err)),
                     0); /* a symlink is resolved, then checked */
    assert_int_equal(res.status, 0);
    jfa_samba_run_free(&res);

    assert_int_equal(chmod(path, 0775), 0);
    assert_int_equal(jfa_samba_exec(path, argv, NULL, 0, 5000, 64, &res, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, "unsafe owner or mode"));
    assert_null(res.out);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(jfa_samba_exec(path, argv, NULL, 0, 5000, 64, &res, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, "not an executable"));
    assert_int_equal(jfa_samba_exec("/nonexistent/smbpasswd", argv, NULL, 0, 5000, 64, &res, f->err,
                                    sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, "/nonexistent/smbpasswd: No such file"));
    assert_int_equal(
        jfa_samba_exec("smbpasswd", argv, NULL, 0, 5000, 64, &res, f->err, sizeof(f->err)), -1);
    assert_non_null(strstr(f->err, "not an absolute path"));
    /* a directory others may write to */
    assert_int_equal(chmod(path, 0755), 0);
    assert_int_equal(chmod(f->dir, 0777), 0);
    assert_int_equal(jfa_samba_exec(path, argv, NULL, 0, 5000, 64, &res, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, "writable by others"));
    assert_int_equal(chmod(f->dir, 0700), 0);
}

/* ---- set_password against a fake smbpasswd ------------------------- */

/* Records argv, checks that the two stdin lines match, writes them to
 * $dir/got; behaves as $dir/mode says. */
static void fake_smbpasswd(struct fx *f)
{
    char body[1024], path[256];

    snprintf(body, sizeof(body),
             "echo \"$*\" >>'%1$s/argv'\n"
             "case \"$(cat '%1$s/mode' 2>/dev/null)\" in\n"
             "fail) echo 'Failed to find entry for user' >&2; exit 3 ;;\n"
             "echo) read -r a; echo \"got: $a\" >&2; exit 1 ;;\n"
             "esac\n"
             "case \"$1\" in -e|-d) exit 0 ;; esac\n"
             "read -r a; read -r b\n"
             "[ \"$a\" = \"$b\" ] || { echo Mismatch >&2; exit 1; }\n"
             "printf '%%s' \"$a\" >'%1$s/got'\n"
             "echo \"Added user $4.\"\n",
             f->dir);
    script(f, "smbpasswd", body, path, sizeof(path));
    set_helper(f, path);
}

static int runs(struct fx *f)
{
    char path[256], *text;
    int n = 0;

    snprintf(path, sizeof(path), "%s/argv", f->dir);
    text = read_text(path);
    for (char *p = text; (p = strchr(p, '\n')) != NULL; p++)
        n++;
    free(text);
    return n;
}

static void set_mode(struct fx *f, const char *mode)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/mode", f->dir);
    write_file(path, mode, 0644);
}

static void test_set_password(void **state)
{
    struct fx *f = *state;
    char path[256], *text, longpw[300];

    fake_smbpasswd(f);
    assert_int_equal(jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "Pw with spaces \"1\"",
                                            f->err, sizeof(f->err)),
                     JFA_SAMBA_SET_WRITTEN);
    snprintf(path, sizeof(path), "%s/got", f->dir);
    text = read_text(path);
    assert_string_equal(text, "Pw with spaces \"1\"");
    free(text);
    snprintf(path, sizeof(path), "%s/argv", f->dir);
    text = read_text(path);
    assert_string_equal(text, "-s -a -- alice\n-e -- alice\n");
    free(text);
    assert_int_equal(runs(f), 2);

    /* the same password again: nothing runs */
    assert_int_equal(jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "Pw with spaces \"1\"",
                                            f->err, sizeof(f->err)),
                     JFA_SAMBA_SET_CURRENT);
    assert_int_equal(runs(f), 2);
    /* renamed: the entry under the new name must be written */
    assert_int_equal(jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alicia",
                                            "Pw with spaces \"1\"", f->err, sizeof(f->err)),
                     JFA_SAMBA_SET_WRITTEN);
    assert_int_equal(runs(f), 4);

    /* passwords the pipe protocol cannot carry are skipped, nothing runs */
    assert_int_equal(jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "two\nlines", f->err,
                                            sizeof(f->err)),
                     JFA_SAMBA_SET_SKIPPED);
    assert_non_null(strstr(f->err, "newline"));
    memset(longpw, 'p', 255);
    longpw[255] = '\0';
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", longpw, f->err, sizeof(f->err)),
        JFA_SAMBA_SET_SKIPPED);
    assert_non_null(strstr(f->err, "254"));
    assert_int_equal(runs(f), 4);
    longpw[254] = '\0';
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", longpw, f->err, sizeof(f->err)),
        JFA_SAMBA_SET_WRITTEN);
    assert_int_equal(runs(f), 6);

    /* a failure names the status and the helper's message; the record is
     * gone, so the old password is written again next time */
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "new-pw-2", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_WRITTEN);
    set_mode(f, "fail");
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "new-pw-3", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_FAILED);
    assert_non_null(strstr(f->err, "smbpasswd -a: exit status 3: Failed to find entry for user"));
    set_mode(f, "ok");
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "new-pw-2", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_WRITTEN);

    /* a helper that echoes the password: the log text withholds it */
    set_mode(f, "echo");
    assert_int_equal(jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "echoed-secret",
                                            f->err, sizeof(f->err)),
                     JFA_SAMBA_SET_FAILED);
    assert_null(strstr(f->err, "echoed-secret"));
    assert_non_null(strstr(f->err, "withheld"));

    /* a missing helper */
    set_helper(f, "/nonexistent/smbpasswd");
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "x-pw", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_FAILED);
    assert_non_null(strstr(f->err, "No such file"));
}

/* SMB logins never reach PAM: a password is never published into a passdb
 * whose account policy lets anyone guess it without limit ("bad lockout
 * attempt" 0, Samba's default) or whose policy cannot be read. */
static void test_set_password_lockout_policy(void **state)
{
    struct fx *f = *state;
    char path[256], lockout[256];
    struct stat st;
    long v = -1;

    snprintf(lockout, sizeof(lockout), "%s/lockout", f->dir);
    snprintf(path, sizeof(path), "%s/samba/%s", f->priv, ID_A);
    fake_smbpasswd(f);
    write_file(lockout, "0\n", 0644);
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "alice-pw", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_SKIPPED);
    assert_non_null(strstr(f->err, "\"bad lockout attempt\" is 0"));
    assert_int_equal(runs(f), 0);
    assert_int_not_equal(stat(path, &st), 0); /* no "already current" record */
    write_file(lockout, "fail\n", 0644);
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "alice-pw", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_SKIPPED);
    assert_non_null(strstr(f->err, "cannot read Samba's account policy"));
    assert_non_null(strstr(f->err, "Unable to get account policy"));
    assert_int_equal(runs(f), 0);
    write_file(lockout, "3\n", 0644);
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_A, "alice", "alice-pw", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_WRITTEN);
    assert_int_equal(runs(f), 2);
    assert_int_equal(jfa_samba_lockout_attempts(&f->cfg, 2000, &v, f->err, sizeof(f->err)), 0);
    assert_int_equal(v, 3);

    /* the parser: pdbedit's answer, nothing else */
    assert_int_equal(
        jfa_samba_parse_lockout("account policy \"bad lockout attempt\" value is: 12\n", &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(
        jfa_samba_parse_lockout("account policy \"bad lockout attempt\" value is: x\n", &v), -1);
    assert_int_equal(
        jfa_samba_parse_lockout("account policy \"bad lockout attempt\" value is: -1\n", &v), -1);
    assert_int_equal(
        jfa_samba_parse_lockout("account policy \"lockout duration\" value is: 30\n", &v), -1);
    assert_int_equal(
        jfa_samba_parse_lockout("account policy \"bad lockout attempt\" value is: 5z", &v), -1);
    assert_int_equal(jfa_samba_parse_lockout("", &v), -1);
}

static void test_set_password_timeout(void **state)
{
    struct fx *f = *state;
    char path[256];

    script(f, "slow", "sleep 30\n", path, sizeof(path));
    set_helper(f, path);
    f->cfg.samba_timeout = 1;
    assert_int_equal(
        jfa_samba_set_password(&f->cfg, f->priv, ID_B, "bob", "bob-pw", f->err, sizeof(f->err)),
        JFA_SAMBA_SET_FAILED);
    assert_non_null(strstr(f->err, "smbpasswd -a timed out after 1 s"));
}

/* The package's removal (jellyfin-auth samba disable-all): every Jellyfin
 * user's entry is disabled (the ledger's claims and deleted users' last
 * names, no database yet), nothing else is touched, the list for the purge
 * names exactly the entries that are disabled now (an entry smbpasswd
 * could not disable is a failure and not listed), and the "already
 * current" records go. */
static void test_disable_all(void **state)
{
    struct fx *f = *state;
    char path[256], body[1024], *text;
    unsigned char mac[JFA_SAMBA_MAC_LEN] = {1};
    size_t listed = 99;
    struct stat st;
    FILE *out;

    snprintf(body, sizeof(body),
             "case \"$1\" in -L) cat '%1$s/passdb'; exit 0 ;; esac\n"
             "echo 'account policy \"bad lockout attempt\" value is: 5'\n",
             f->dir);
    script(f, "pdbedit-L", body, path, sizeof(path));
    free(f->cfg.samba_pdbedit);
    f->cfg.samba_pdbedit = strdup(path);
    snprintf(body, sizeof(body),
             "echo \"$*\" >>'%1$s/argv'\n"
             "case \"$*\" in *jfazfail*) echo 'Failed to modify entry' >&2; exit 3 ;; esac\n",
             f->dir);
    script(f, "smbpasswd-d", body, path, sizeof(path));
    set_helper(f, path);
    f->cfg.state_dir = strdup(f->dir);
    assert_non_null(f->cfg.state_dir);
    assert_int_equal(mkdir(f->priv, 0700), 0);
    /* no users.db: setup never synced; the ledger knows three Ids */
    snprintf(path, sizeof(path), "%s/ledger", f->priv);
    write_file(path,
               "jellyfin-auth-ledger 2\n"
               "user " ID_A " 70001 active jfazalice 1700000000 1700000000\n"
               "user " ID_B " 70002 deleted jfazbob 1700000000 1700000100\n"
               "user 00000000000000000000000000000003 70003 active jfazfail 1700000000 "
               "1700000000\n"
               "name jfazalice " ID_A " 1700000000\n"
               "name jfazbob " ID_B " 1700000000\n"
               "name jfazfail 00000000000000000000000000000003 1700000000\n",
               0600);
    snprintf(path, sizeof(path), "%s/passdb", f->dir);
    write_file(path,
               "jfazalice:70001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:0123456789ABCDEF0123456789ABCDEF:"
               "[U          ]:LCT-6B145C9C:\n"
               "jfazbob:70002:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:0123456789ABCDEF0123456789ABCDEF:"
               "[DU         ]:LCT-6B145C9C:\n"
               "jfazfail:70003:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:0123456789ABCDEF0123456789ABCDEF:"
               "[U          ]:LCT-6B145C9C:\n"
               "jfazlocal:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:0123456789ABCDEF0123456789ABCDEF:"
               "[U          ]:LCT-6B145C9C:\n"
               "jfazalice$:70004:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:0123456789ABCDEF0123456789ABCDEF:"
               "[W          ]:LCT-6B145C9C:\n",
               0600);
    assert_int_equal(jfa_samba_record_put(f->priv, ID_A, mac, f->err, sizeof(f->err)), 0);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_A, mac, f->err, sizeof(f->err)), 1);

    out = tmpfile();
    assert_non_null(out);
    assert_int_equal(jfa_samba_disable_all(&f->cfg, NULL, out, &listed, f->err, sizeof(f->err)),
                     1); /* jfazfail could not be disabled */
    fclose(out);
    snprintf(path, sizeof(path), "%s/argv", f->dir);
    text = read_text(path);
    /* only the enabled entries of Jellyfin users: not the disabled one, not
     * the local account's, not the machine account */
    assert_string_equal(text, "-d -- jfazalice\n-d -- jfazfail\n");
    free(text);
    assert_int_equal(listed, 2);
    snprintf(path, sizeof(path), "%s/%s", f->priv, JFA_SAMBA_ENTRIES_FILE);
    text = read_text(path);
    assert_string_equal(text, "jfazalice\njfazbob\n");
    free(text);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(jfa_samba_record_matches(f->priv, ID_A, mac, f->err, sizeof(f->err)), 0);

    /* a passdb that cannot be listed: an error, and no list is written */
    assert_int_equal(unlink(path), 0);
    free(f->cfg.samba_pdbedit);
    f->cfg.samba_pdbedit = strdup("/nonexistent/pdbedit");
    assert_int_equal(jfa_samba_disable_all(&f->cfg, NULL, NULL, &listed, f->err, sizeof(f->err)),
                     -1);
    assert_non_null(strstr(f->err, "cannot list the Samba passdb"));
    assert_int_equal(lstat(path, &st), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_mac),
        cmocka_unit_test_setup_teardown(test_key_and_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_env_argv_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_helper_ignores_stdin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_caller_process_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_deadline_kills_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_trust, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_password_lockout_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_password_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_all, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
