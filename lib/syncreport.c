/*
 * lib/syncreport.c - the sync-report file: the Jellyfin users the last sync
 * left out, and why.
 *
 * Owns: its text format (JFA_REPORT_MAGIC, the generation line, one
 * tab-separated "omit" line per user with \\ \t \n \xNN escapes), reading it
 * back (jfa_read_trusted, owner root, not group/world-writable) and freeing
 * omission lists. `sync` writes it; `users`, `names` and `status` read it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileutil.h"
#include "log.h"
#include "sync.h"

void jfa_omissions_free(struct jfa_omission *items, size_t n)
{
    size_t i;

    if (items == NULL)
        return;
    for (i = 0; i < n; i++) {
        free(items[i].jf_name);
        free(items[i].reason);
    }
    free(items);
}

void jfa_report_free(struct jfa_sync_report *rep)
{
    jfa_omissions_free(rep->items, rep->n);
    memset(rep, 0, sizeof(*rep));
}

/* Write a field of the tab-separated report: \\ \t \n and \xNN for other
 * control bytes; every other byte as it is (a name's bytes, UTF-8 or not,
 * come back exactly). Not jfa_log_escape: that one is one-way, bounded and
 * truncating, and escapes quotes, backslashes and bytes that are not
 * printable UTF-8; this one is a reversible file encoding (unescape_field)
 * with no length limit. */
static void escape_field(FILE *f, const char *src)
{
    for (; *src != '\0'; src++) {
        unsigned char ch = (unsigned char)*src;
        if (ch == '\\')
            fputs("\\\\", f);
        else if (ch == '\t')
            fputs("\\t", f);
        else if (ch == '\n')
            fputs("\\n", f);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\x%c%c", jfa_hex_digit(ch >> 4, false), jfa_hex_digit(ch, false));
        else
            fputc(ch, f);
    }
}

/* A hex digit as the report writes it (lowercase only), or -1. */
static int unhex(char c)
{
    return c >= 'A' && c <= 'F' ? -1 : jfa_hexval((unsigned char)c);
}

/* In-place unescape; -1 on a bad escape or an escaped NUL. */
static int unescape_field(char *s)
{
    char *r = s, *w = s;

    while (*r != '\0') {
        if (*r != '\\') {
            *w++ = *r++;
            continue;
        }
        r++;
        if (*r == '\\') {
            *w++ = '\\';
            r++;
        } else if (*r == 't') {
            *w++ = '\t';
            r++;
        } else if (*r == 'n') {
            *w++ = '\n';
            r++;
        } else if (*r == 'x' && unhex(r[1]) >= 0 && unhex(r[2]) >= 0) {
            int v = unhex(r[1]) * 16 + unhex(r[2]);
            if (v == 0)
                return -1;
            *w++ = (char)v;
            r += 3;
        } else {
            return -1;
        }
    }
    *w = '\0';
    return 0;
}

char *jfa_report_format(const struct jfa_omission *items, size_t n, uint64_t generation,
                        size_t *len)
{
    char *buf = NULL;
    size_t used = 0, i;
    FILE *f = open_memstream(&buf, &used);

    if (f == NULL)
        return NULL;
    fprintf(f, "%s\ngeneration %" PRIu64 "\n", JFA_REPORT_MAGIC, generation);
    for (i = 0; i < n; i++) {
        fprintf(f, "omit\t%s\t", items[i].id);
        escape_field(f, items[i].jf_name);
        fputc('\t', f);
        escape_field(f, items[i].reason);
        fputc('\n', f);
    }
    if (ferror(f) != 0) {
        fclose(f);
        free(buf);
        return NULL;
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    if (len != NULL)
        *len = used;
    return buf;
}

int jfa_report_read(const char *path, struct jfa_sync_report *rep, char *err, size_t errlen)
{
    char *buf = NULL, *line, *next;
    size_t len = 0, lineno = 0, cap = 0;
    int ret = -1;

    memset(rep, 0, sizeof(*rep));
    ret = jfa_read_trusted(path, 022, JFA_REPORT_MAX_FILE, &buf, &len, err, errlen);
    if (ret != 0)
        return ret == JFA_ABSENT ? JFA_ABSENT : -1;
    ret = -1;
    if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len) != NULL) {
        jfa_set_err(err, errlen, "%s: truncated or not text", path);
        goto out;
    }
    for (line = buf; *line != '\0'; line = next) {
        next = strchr(line, '\n');
        *next++ = '\0';
        lineno++;
        if (lineno == 1) {
            if (strcmp(line, JFA_REPORT_MAGIC) != 0) {
                jfa_set_err(err, errlen, "%s:1: not a version 1 sync report", path);
                goto out;
            }
        } else if (lineno == 2) {
            char *end;
            errno = 0;
            if (strncmp(line, "generation ", 11) != 0)
                goto bad;
            rep->generation = strtoull(line + 11, &end, 10);
            if (errno != 0 || *end != '\0' || end == line + 11)
                goto bad;
        } else {
            char *f[4], *p = line;
            int k;
            struct jfa_omission *o;

            for (k = 0; k < 4; k++) {
                f[k] = p;
                p = strchr(p, '\t');
                if (p == NULL)
                    break;
                *p++ = '\0';
            }
            if (k != 3 || strcmp(f[0], "omit") != 0 || strlen(f[1]) != 32 ||
                unescape_field(f[2]) != 0 || unescape_field(f[3]) != 0)
                goto bad;
            if (rep->n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct jfa_omission *ni = realloc(rep->items, ncap * sizeof(*ni));
                if (ni == NULL)
                    goto oom;
                rep->items = ni;
                cap = ncap;
            }
            o = &rep->items[rep->n];
            memset(o, 0, sizeof(*o));
            memcpy(o->id, f[1], 33);
            o->jf_name = strdup(f[2]);
            o->reason = strdup(f[3]);
            rep->n++;
            if (o->jf_name == NULL || o->reason == NULL)
                goto oom;
        }
    }
    if (lineno < 2) {
        jfa_set_err(err, errlen, "%s: truncated", path);
        goto out;
    }
    ret = 0;
    goto out;
bad:
    jfa_set_err(err, errlen, "%s:%zu: malformed line", path, lineno);
    goto out;
oom:
    jfa_set_err(err, errlen, "%s: out of memory", path);
out:
    if (ret != 0)
        jfa_report_free(rep);
    free(buf);
    return ret;
}
