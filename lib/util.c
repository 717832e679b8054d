/*
 * lib/util.c - the small conventions every file shares, libc only.
 *
 * Owns: what util.h declares: jfa_set_err, the hex helpers, the UTF-8
 * decoder, the login-name grammar, jfa_free_secret,
 * jfa_caller_steers_process, jfa_child_reset and jfa_child_close_fds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

void jfa_set_errv(char *err, size_t errlen, const char *fmt, va_list ap)
{
    if (err == NULL || errlen == 0)
        return;
    vsnprintf(err, errlen, fmt, ap);
}

void jfa_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    jfa_set_errv(err, errlen, fmt, ap);
    va_end(ap);
}

int jfa_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char jfa_hex_digit(unsigned v, bool upper)
{
    return (upper ? "0123456789ABCDEF" : "0123456789abcdef")[v & 15u];
}

void jfa_hex_encode(char *out, const unsigned char *in, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = jfa_hex_digit(in[i] >> 4, false);
        out[2 * i + 1] = jfa_hex_digit(in[i], false);
    }
    out[2 * n] = '\0';
}

bool jfa_cp_display_unsafe(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t jfa_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len, i;

    if (n == 0)
        return 0;
    if (s[0] < 0x80) {
        len = 1;
        c = s[0];
    } else if (s[0] >= 0xC2 && s[0] <= 0xDF) { /* C0, C1: overlong */
        len = 2;
        c = s[0] & 0x1Fu;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        c = s[0] & 0x0Fu;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) { /* F5..FF: above U+10FFFF */
        len = 4;
        c = s[0] & 0x07u;
    } else {
        return 0; /* a continuation byte, or C0, C1, F5..FF */
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000))
        return 0; /* overlong */
    if (c >= 0xD800 && c <= 0xDFFF)
        return 0; /* surrogate */
    if (c > 0x10FFFF)
        return 0;
    if (cp != NULL)
        *cp = c;
    return len;
}

bool jfa_name_valid_n(const char *s, size_t len)
{
    size_t i;
    bool all_digits = true;

    if (len == 0 || len > JFA_NAME_MAX)
        return false;
    for (i = 0; i < len; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                  (i > 0 && (ch == '.' || ch == '-'));
        if (!ok)
            return false;
        if (ch < '0' || ch > '9')
            all_digits = false;
    }
    return !all_digits;
}

bool jfa_name_valid(const char *name)
{
    return jfa_name_valid_n(name, strlen(name));
}

void jfa_free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

bool jfa_caller_steers_process(void)
{
    return getauxval(AT_SECURE) != 0 || getuid() != geteuid() || getgid() != getegid();
}

/* Raise a limit to at least want (RLIM_INFINITY: none): the hard limit
 * too when we may (root), else the soft limit up to the hard one. */
static void raise_limit(int resource, rlim_t want)
{
    struct rlimit rl;

    if (getrlimit(resource, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        (want != RLIM_INFINITY && rl.rlim_cur >= want))
        return;
    if (rl.rlim_max != RLIM_INFINITY && (want == RLIM_INFINITY || rl.rlim_max < want)) {
        struct rlimit up = {want, want};
        if (setrlimit(resource, &up) == 0)
            return;
    }
    rl.rlim_cur = want == RLIM_INFINITY || rl.rlim_max < want ? rl.rlim_max : want;
    (void)setrlimit(resource, &rl);
}

void jfa_child_close_fds(void)
{
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
        for (int fd = 3; fd < 65536; fd++)
            (void)close(fd);
}

void jfa_child_reset(void)
{
    static const struct rlimit no_core = {0, 0};
    struct sched_param sp;
    struct sigaction dfl;
    sigset_t none;

    (void)umask(022);
    if (chdir("/") != 0)
        _exit(126);
    (void)setrlimit(RLIMIT_CORE, &no_core);
    raise_limit(RLIMIT_FSIZE, RLIM_INFINITY);
    raise_limit(RLIMIT_CPU, RLIM_INFINITY);
    raise_limit(RLIMIT_AS, RLIM_INFINITY);
    raise_limit(RLIMIT_DATA, RLIM_INFINITY);
    raise_limit(RLIMIT_NOFILE, 1024);
    raise_limit(RLIMIT_STACK, 8UL << 20);
    if (geteuid() == 0) {
        memset(&sp, 0, sizeof(sp));
        (void)sched_setscheduler(0, SCHED_OTHER, &sp);
        (void)setpriority(PRIO_PROCESS, 0, 0);
    }
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            (void)sigaction(s, &dfl, NULL);
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}
