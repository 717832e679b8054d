/*
 * lib/util.c - the small conventions every file shares, libc only.
 *
 * Owns: what util.h declares: jfa_set_err, the hex helpers, the
 * login-name grammar and jfa_free_secret.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void jfa_hex_encode(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
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
