/*
 * lib/log.c - logging sink shared by the PAM module and the admin tool.
 *
 * Owns: formatting a message into a bounded stack buffer and handing it to
 * the caller's sink (struct jfa_log), the escaping of untrusted text so it
 * is safe inside one log line, and the stderr sink used by the tool. There
 * is no global state here.
 */
/* _GNU_SOURCE normally comes from configure (AC_USE_SYSTEM_EXTENSIONS, -D) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* Longest message handed to a sink, including the NUL. */
#define JFA_LOG_MSGLEN 1024

void jfa_logf(const struct jfa_log *log, int priority, const char *fmt, ...)
{
    char buf[JFA_LOG_MSGLEN];
    va_list ap;
    int saved_errno = errno;
    int n;

    if (log == NULL || log->fn == NULL || fmt == NULL)
        goto out;
    if (LOG_PRI(priority) == LOG_DEBUG && !log->debug)
        goto out;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(buf, sizeof(buf), "(unformattable log message)");
    } else if ((size_t)n >= sizeof(buf)) {
        /* mark the cut so a reader knows the line is incomplete */
        memcpy(buf + sizeof(buf) - 4, "...", 4);
    }
    log->fn(log->ctx, priority, buf);
out:
    errno = saved_errno;
}

/*
 * Length of the valid UTF-8 sequence at s (at most `avail` bytes), or 0 if
 * the bytes there are not a well-formed, printable sequence: what
 * jfa_utf8_decode refuses, the C1 controls (U+0080..U+009F), the
 * bidirectional controls (U+061C, U+200E-F, U+202A-E, U+2066-9) and U+2028-9
 * are escaped byte-wise by the caller.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    uint32_t cp;
    size_t len = jfa_utf8_decode(s, avail, &cp);

    if (len != 0 && jfa_cp_display_unsafe(cp))
        return 0; /* C1 or bidirectional control, line/paragraph separator */
    return len;
}

static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == 0x7F || c == '\\' || c == '"' || c == '\'';
}

/*
 * Walk src unit by unit (an escaped byte is 4 output bytes, a valid UTF-8
 * sequence or a plain byte is copied). With dst NULL only count. Stops
 * before the first unit that would make the output exceed `limit` bytes and
 * returns the number of output bytes; *done tells whether all of src fit.
 */
static size_t escape_units(char *dst, size_t limit, const char *src, bool *done)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t srclen = strlen(src);
    size_t i = 0, out = 0;

    while (i < srclen) {
        size_t seq = 0, unit;

        if (needs_escape(s[i]))
            unit = 4;
        else if ((seq = utf8_seq_len(s + i, srclen - i)) == 0)
            unit = 4;
        else
            unit = seq;
        if (out + unit > limit) {
            *done = false;
            return out;
        }
        if (dst != NULL) {
            if (unit == 4 && seq == 0) {
                dst[out] = '\\';
                dst[out + 1] = 'x';
                dst[out + 2] = jfa_hex_digit(s[i] >> 4, false);
                dst[out + 3] = jfa_hex_digit(s[i], false);
            } else {
                memcpy(dst + out, s + i, seq);
            }
        }
        out += unit;
        i += (seq != 0) ? seq : 1;
    }
    *done = true;
    return out;
}

char *jfa_log_escape(char *dst, size_t dstlen, const char *src)
{
    size_t cap, n;
    bool done;

    if (dst == NULL || dstlen == 0)
        return dst;
    if (src == NULL)
        src = "(null)";
    cap = dstlen - 1;

    /* first pass: does everything fit? */
    escape_units(NULL, cap, src, &done);
    if (done) {
        n = escape_units(dst, cap, src, &done);
        dst[n] = '\0';
        return dst;
    }
    /* truncate on a unit boundary and append as much of "..." as fits */
    if (cap >= 3) {
        n = escape_units(dst, cap - 3, src, &done);
        memcpy(dst + n, "...", 3);
        n += 3;
    } else {
        memset(dst, '.', cap);
        n = cap;
    }
    dst[n] = '\0';
    return dst;
}

void jfa_log_stderr(void *ctx, int priority, const char *msg)
{
    (void)ctx;
    (void)priority;
    fprintf(stderr, "jellyfin-auth: %s\n", msg != NULL ? msg : "(null)");
}
