/*
 * tests/unit/jf_getparts.c - a C model of Jellyfin's Authorization parser.
 *
 * Owns: the transcription of AuthorizationContext.GetAuthorization (scheme
 * before the first space, compared case-insensitively with MediaBrowser)
 * and GetParts (a '"' toggles "inside quotes"; outside quotes '=' ends a
 * whitespace-trimmed key and ',' ends a value; a value is the raw text with
 * only '"' trimmed from both ends, then WebUtility.UrlDecode: "+" -> space,
 * %XX -> byte, a malformed '%' left as it is; empty values are skipped;
 * a duplicate key takes its last value). Shared by test_authheader and
 * fuzz_authheader.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jf_getparts.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* .NET string.Trim(): here ASCII whitespace, which is all a key can hold. */
static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char *trim_key(const char *s, size_t len)
{
    while (len > 0 && is_ws(*s)) {
        s++;
        len--;
    }
    while (len > 0 && is_ws(s[len - 1]))
        len--;
    return strndup(s, len);
}

/* Trim('"') then WebUtility.UrlDecode. */
static char *decode_value(const char *s, size_t len)
{
    char *out, *o;

    while (len > 0 && *s == '"') {
        s++;
        len--;
    }
    while (len > 0 && s[len - 1] == '"')
        len--;
    out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    o = out;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* result[key] = value: replace an existing key or append. */
static int put(struct jf_parts *p, const char *key, char *val)
{
    char *k;

    if (val == NULL)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->keys[i], key) == 0) {
            free(p->vals[i]);
            p->vals[i] = val;
            return 0;
        }
    }
    if (p->n >= JF_PARTS_MAX) {
        free(val);
        return -1;
    }
    k = strdup(key);
    if (k == NULL) {
        free(val);
        return -1;
    }
    p->keys[p->n] = k;
    p->vals[p->n] = val;
    p->n++;
    return 0;
}

int jf_getparts(const char *header, struct jf_parts *out)
{
    const char *sp, *h;
    size_t start = 0, i, len;
    char *key = NULL;
    int escaped = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (header == NULL)
        return -1;
    sp = strchr(header, ' ');
    if (sp == NULL || (size_t)(sp - header) != strlen("MediaBrowser") ||
        strncasecmp(header, "MediaBrowser", (size_t)(sp - header)) != 0)
        return -1;
    h = sp + 1;
    len = strlen(h);
    key = strdup("");
    if (key == NULL)
        return -1;

    for (i = 0; i < len; i++) {
        char t = h[i];

        if (t == '"' || t == ',') {
            escaped = (!escaped) == (t == '"');
            if (t == ',' && !escaped) {
                if (start < i) {
                    if (put(out, key, decode_value(h + start, i - start)) < 0)
                        goto out;
                    free(key);
                    key = strdup("");
                    if (key == NULL)
                        goto out;
                }
                start = i + 1;
            }
        } else if (!escaped && t == '=') {
            free(key);
            key = trim_key(h + start, i - start);
            if (key == NULL)
                goto out;
            start = i + 1;
        }
    }
    if (start < i && put(out, key, decode_value(h + start, i - start)) < 0)
        goto out;
    rc = 0;
out:
    free(key);
    if (rc < 0)
        jf_parts_free(out);
    return rc;
}

const char *jf_parts_get(const struct jf_parts *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->keys[i], key) == 0)
            return p->vals[i];
    }
    return NULL;
}

void jf_parts_free(struct jf_parts *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->keys[i]);
        free(p->vals[i]);
    }
    memset(p, 0, sizeof(*p));
}
