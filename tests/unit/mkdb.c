/*
 * mkdb.c - test helper: build a users database from a text spec.
 *
 * Owns: nothing in the product; lets shell tests, the PAM tests and the
 * benchmark make databases without the sync tool, through the real writer
 * (jfa_db_build).
 *
 * Usage: mkdb [-1|-2] [-N] [-m MODE] SPEC OUT
 *   SPEC is a file or "-" (stdin); OUT is written through a temp file in
 *   the same directory and renamed into place (atomic), mode MODE (octal,
 *   default 0644). The file it replaces is NOT marked: mkdb acts as a
 *   writer other than jellyfin-auth would. By default the file is what
 *   sync writes (transitional: version 2 sections and a version 1 view,
 *   db_format.h); -2 writes a plain version 2 file; -1 a plain version 2
 *   file laid out as databases made before the watch block existed
 *   (sections from offset 192, no block, no cell tables), for
 *   compatibility tests; -N writes no cell tables (JFA_DBW_NO_CELLS: the
 *   layout before them, for A/B measurement).
 *        mkdb -M OUT
 *   only marks the database OUT as replaced (jfa_db_mark_replaced), as
 *   jellyfin-auth sync does just before its rename.
 *
 * Spec format: one record per line, fields separated by blanks; empty
 * lines and lines starting with '#' are ignored.
 *   generation N
 *   user  NAME UID GID GECOS HOME SHELL JFNAME JFID FLAGS GIDS
 *   group NAME GID MEMBERS
 * In every field "-" alone means empty, and %XX is a byte in hex (write a
 * space as %20, a percent as %25). JFID is 32 hex digits, or "-" for one
 * derived from the uid (%032x). FLAGS is a number (0x1 admin, 0x2 disabled,
 * 0x4 hidden, 0x8 no remote access) or "-" for 0. GIDS and MEMBERS are
 * comma-separated lists ("-" = none).
 * Example:
 *   user alice 100001 100001 Alice%20A /home/alice /bin/bash Alice - 0x1 100000,100002
 *   group jellyfin 100000 alice,bob
 * Exit status 0, or 1 with a message naming the line on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "db_format.h"
#include "dbwrite.h"

#define MAXF 12

struct spec {
    struct jfa_dbw_user *users;
    size_t n_users, cap_users;
    struct jfa_dbw_group *groups;
    size_t n_groups, cap_groups;
    uint64_t generation;
};

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mkdb: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        perror("mkdb");
        exit(1);
    }
    return d;
}

/* Decode "-" and %XX in place. */
static char *decode(char *s)
{
    char *o = s, *r = s;
    if (strcmp(s, "-") == 0) {
        s[0] = '\0';
        return s;
    }
    while (*r) {
        if (r[0] == '%' && r[1] && r[2]) {
            char hex[3] = {r[1], r[2], 0};
            *o++ = (char)strtoul(hex, NULL, 16);
            r += 3;
        } else {
            *o++ = *r++;
        }
    }
    *o = '\0';
    return s;
}

static uint32_t num(const char *s, long line)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || *end || end == s || v > UINT32_MAX)
        die("bad number \"%s\" on line %ld", s, line);
    return (uint32_t)v;
}

/* Split a comma list into a new array of strings. */
static char **split(const char *s, size_t *n)
{
    char **v = NULL, *copy = xstrdup(s), *save = NULL, *t;
    *n = 0;
    for (t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char **nv = realloc(v, (*n + 1) * sizeof(*v));
        if (!nv)
            exit(1);
        v = nv;
        v[(*n)++] = xstrdup(t);
    }
    free(copy);
    return v;
}

static void parse_line(struct spec *sp, char *line, long ln)
{
    char *f[MAXF], *save = NULL, *t;
    int n = 0;

    for (t = strtok_r(line, " \t\r\n", &save); t && n < MAXF; t = strtok_r(NULL, " \t\r\n", &save))
        f[n++] = t;
    if (n == 0 || f[0][0] == '#')
        return;
    if (strcmp(f[0], "generation") == 0 && n == 2) {
        sp->generation = strtoull(f[1], NULL, 0);
    } else if (strcmp(f[0], "user") == 0 && n == 11) {
        struct jfa_dbw_user *u;
        char **gl;
        size_t ng;
        if (sp->n_users == sp->cap_users) {
            sp->cap_users = sp->cap_users ? 2 * sp->cap_users : 64;
            sp->users = realloc(sp->users, sp->cap_users * sizeof(*sp->users));
            if (!sp->users)
                exit(1);
        }
        u = &sp->users[sp->n_users++];
        memset(u, 0, sizeof(*u));
        u->name = xstrdup(decode(f[1]));
        u->uid = num(f[2], ln);
        u->gid = num(f[3], ln);
        u->gecos = xstrdup(decode(f[4]));
        u->home = xstrdup(decode(f[5]));
        u->shell = xstrdup(decode(f[6]));
        u->jf_name = xstrdup(decode(f[7]));
        decode(f[8]);
        if (!f[8][0])
            snprintf(u->jf_id, sizeof(u->jf_id), "%032" PRIx32, u->uid);
        else
            snprintf(u->jf_id, sizeof(u->jf_id), "%s", f[8]);
        decode(f[9]);
        u->flags = f[9][0] ? num(f[9], ln) : 0;
        gl = split(decode(f[10]), &ng);
        if (ng) {
            uint32_t *g = calloc(ng, sizeof(*g));
            if (!g)
                exit(1);
            for (size_t i = 0; i < ng; i++) {
                g[i] = num(gl[i], ln);
                free(gl[i]);
            }
            u->gids = g;
        }
        free(gl);
        u->n_gids = ng;
    } else if (strcmp(f[0], "group") == 0 && n == 4) {
        struct jfa_dbw_group *g;
        if (sp->n_groups == sp->cap_groups) {
            sp->cap_groups = sp->cap_groups ? 2 * sp->cap_groups : 64;
            sp->groups = realloc(sp->groups, sp->cap_groups * sizeof(*sp->groups));
            if (!sp->groups)
                exit(1);
        }
        g = &sp->groups[sp->n_groups++];
        memset(g, 0, sizeof(*g));
        g->name = xstrdup(decode(f[1]));
        g->gid = num(f[2], ln);
        g->members = (const char *const *)split(decode(f[3]), &g->n_members);
    } else {
        die("cannot parse line starting \"%s\" (line %ld)", f[0], ln);
    }
}

static void free_spec(struct spec *sp)
{
    for (size_t i = 0; i < sp->n_users; i++) {
        free((char *)sp->users[i].name);
        free((char *)sp->users[i].gecos);
        free((char *)sp->users[i].home);
        free((char *)sp->users[i].shell);
        free((char *)sp->users[i].jf_name);
        free((uint32_t *)sp->users[i].gids);
    }
    for (size_t i = 0; i < sp->n_groups; i++) {
        free((char *)sp->groups[i].name);
        for (size_t k = 0; k < sp->groups[i].n_members; k++)
            free((char *)sp->groups[i].members[k]);
        free((char **)sp->groups[i].members);
    }
    free(sp->users);
    free(sp->groups);
}

/* Rewrite img in place as a writer without the watch block made it: the
 * sections move down 8 bytes to start at 192; size and checksum follow. */
static void to_old_layout(unsigned char *img, size_t *len)
{
    size_t n = *len - JFA_DB_WATCH_SIZE;

    memmove(img + JFA_DB_HDR_SIZE, img + JFA_DB_HDR_SIZE + JFA_DB_WATCH_SIZE, n - JFA_DB_HDR_SIZE);
    for (int s = 0; s < JFA_SEC_COUNT; s++)
        jfa_put64(img + JFA_DBH_SECTIONS + 16 * s,
                  jfa_le64(img + JFA_DBH_SECTIONS + 16 * s) - JFA_DB_WATCH_SIZE);
    jfa_put64(img + JFA_DBH_FILESIZE, n);
    jfa_put64(img + JFA_DBH_CHECKSUM, jfa_db_checksum(img + JFA_DB_HDR_SIZE, n - JFA_DB_HDR_SIZE));
    *len = n;
}

int main(int argc, char **argv)
{
    struct spec sp = {0};
    FILE *in;
    char *line = NULL, *tmp, err[512];
    size_t cap = 0, len;
    unsigned char *img;
    long ln = 0;
    mode_t mode = 0644;
    int fd, opt;
    bool old_layout = false;
    unsigned flags = 0;

    while ((opt = getopt(argc, argv, "12Nm:M:")) != -1) {
        if (opt == '1') {
            old_layout = true;
            flags |= JFA_DBW_NO_V1_VIEW | JFA_DBW_NO_CELLS;
        } else if (opt == '2') {
            flags |= JFA_DBW_NO_V1_VIEW;
        } else if (opt == 'N') {
            flags |= JFA_DBW_NO_CELLS;
        } else if (opt == 'm') {
            mode = (mode_t)strtoul(optarg, NULL, 8);
        } else if (opt == 'M') {
            if (jfa_db_mark_replaced(optarg, err, sizeof(err)) != 1)
                die("%s: not marked: %s", optarg, err[0] ? err : "no watch block");
            return 0;
        } else {
            fprintf(stderr, "usage: mkdb [-1|-2] [-N] [-m MODE] SPEC OUT | mkdb -M OUT\n");
            return 1;
        }
    }
    if (argc - optind != 2) {
        fprintf(stderr, "usage: mkdb [-1|-2] [-N] [-m MODE] SPEC OUT | mkdb -M OUT\n");
        return 1;
    }
    in = strcmp(argv[optind], "-") == 0 ? stdin : fopen(argv[optind], "r");
    if (!in)
        die("cannot open %s: %s", argv[optind], strerror(errno));
    while (getline(&line, &cap, in) > 0)
        parse_line(&sp, line, ++ln);
    free(line);
    if (jfa_db_build_flags(sp.users, sp.n_users, sp.groups, sp.n_groups, sp.generation, flags, &img,
                           &len, err, sizeof(err)) != 0)
        die("%s", err);
    if (old_layout)
        to_old_layout(img, &len);
    if (asprintf(&tmp, "%s.tmpXXXXXX", argv[optind + 1]) < 0)
        return 1;
    fd = mkstemp(tmp);
    if (fd < 0)
        die("cannot create a temp file for %s: %s", argv[optind + 1], strerror(errno));
    if (write(fd, img, len) != (ssize_t)len || fchmod(fd, mode) != 0 || close(fd) != 0 ||
        rename(tmp, argv[optind + 1]) != 0) {
        unlink(tmp);
        die("cannot write %s: %s", argv[optind + 1], strerror(errno));
    }
    free(tmp);
    free(img);
    free_spec(&sp);
    if (in != stdin)
        fclose(in);
    return 0;
}
