/*
 * tools/cmd_common.c - helpers shared by the jellyfin-auth subcommands.
 *
 * Owns: common option handling, error and usage messages, the one-time
 * configuration load, and terminal input (passwords read without echo from
 * /dev/tty, or one line from stdin for scripts; never through stdio
 * buffers, so no stray copy of a password is left behind).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd.h"
#include "fileutil.h"
#include "hostaccts.h"
#include "loginflow.h"
#include "sync.h"

int tool_common_opt(struct tool *t, int opt, const char *arg)
{
    switch (opt) {
    case TOOL_OPT_CONFIG:
        t->config_path = arg;
        return 1;
    case TOOL_OPT_DEBUG:
        t->debug = true;
        t->log.debug = true;
        return 1;
    default:
        return 0;
    }
}

int tool_getopt(int argc, char **argv, const char *shortopts, const struct option *opts)
{
    /* no leading '+': GNU getopt permutes, so options may follow the
     * operands; a "--" still ends the options */
    while (shortopts[0] == '+')
        shortopts++;
    return getopt_long(argc, argv, shortopts, opts, NULL);
}

int tool_parse_opts(struct tool *t, const char *cmd, void (*help)(void), const char *flag,
                    bool *set, int argc, char **argv)
{
    const struct option opts[] = {
        {flag != NULL ? flag : "", no_argument, NULL, TOOL_OPT_FLAG},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = tool_getopt(argc, argv, "h", flag != NULL ? opts : opts + 1)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        if (opt == 'h') {
            help();
            return EXIT_OK;
        }
        if (opt == TOOL_OPT_FLAG) {
            *set = true;
            continue;
        }
        return tool_usage_error(t, cmd, "invalid option");
    }
    return -1;
}

int tool_parse_plain(struct tool *t, const char *cmd, void (*help)(void), int argc, char **argv)
{
    int r = tool_parse_opts(t, cmd, help, NULL, NULL, argc, argv);

    if (r >= 0)
        return r;
    if (optind < argc)
        return tool_usage_error(t, cmd, "unexpected argument '%s'", argv[optind]);
    return -1;
}

int tool_usage_error(const struct tool *t, const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", t->prog, cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s %s --help'.\n", t->prog, cmd);
    return EXIT_USAGE;
}

void tool_error(const struct tool *t, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", t->prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int tool_need_root(const struct tool *t, const char *cmd, const char *path, bool write)
{
    struct stat st;
    char *copy = NULL;
    const char *dir, *why = NULL;
    int ret = 0;

    if (geteuid() == 0 || path == NULL)
        return 0;
    if (stat(path, &st) == 0) {
        if (faccessat(AT_FDCWD, path, write ? W_OK : R_OK, AT_EACCESS) != 0)
            why = write ? "cannot write" : "cannot read";
    } else if (errno == ENOENT && write) {
        copy = strdup(path);
        dir = copy != NULL ? dirname(copy) : "/";
        if (stat(dir, &st) == 0 && faccessat(AT_FDCWD, dir, W_OK, AT_EACCESS) != 0) {
            why = "cannot create files in";
            path = dir;
        }
    } else if (errno == EACCES) {
        fprintf(stderr,
                "%s %s: must run as root (cannot reach %s: a directory on the way is closed to "
                "uid %u)\n",
                t->prog, cmd, path, (unsigned)geteuid());
        ret = -1;
    }
    if (why != NULL) {
        fprintf(stderr, "%s %s: must run as root (%s %s: owned by uid %u, mode %04o)\n", t->prog,
                cmd, why, path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        ret = -1;
    }
    free(copy);
    return ret;
}

const char *tool_config_path(const struct tool *t)
{
    return t->config_path != NULL ? t->config_path : jfa_config_path();
}

int tool_load_config(struct tool *t)
{
    char err[JFA_ERRLEN];

    if (t->cfg_loaded)
        return 0;
    if (jfa_config_load(&t->cfg, tool_config_path(t), err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        jfa_config_free(&t->cfg);
        return -1;
    }
    t->cfg_loaded = true;
    return 0;
}

char *tool_ledger_path(struct tool *t, const char *cmd, int argc, char **argv, bool write, int *ret)
{
    char *path;

    *ret = EXIT_FAIL;
    if (optind < argc) {
        *ret = tool_usage_error(t, cmd, "unexpected argument '%s'", argv[optind]);
        return NULL;
    }
    if (tool_load_config(t) != 0)
        return NULL;
    path = jfa_sync_ledger_path(&t->cfg);
    if (path == NULL) {
        tool_error(t, "out of memory");
        return NULL;
    }
    /* the ledger lives in state_dir/private (0700, root's) */
    if (tool_need_root(t, cmd, path, write) != 0) {
        free(path);
        return NULL;
    }
    return path;
}

/* The last refusal of a resolution (for tool_find_user). */
static void keep_stop(void *ctx, const struct jfa_flow_step *s)
{
    struct jfa_flow_step *last = ctx;

    if (s->result == JFA_STEP_STOP)
        snprintf(last->detail, sizeof(last->detail), "%s", s->detail);
}

int tool_find_user(struct tool *t, const char *user, struct jfa_db *db, struct jfa_db_user *u,
                   char *why, size_t whylen)
{
    struct jfa_flow f;
    struct jfa_flow_step stop;
    struct jfa_log quiet = t->log;
    char user_esc[JFA_FLOW_ESC_LEN];
    enum jfa_verdict v;

    /* the module's own resolution, its log lines with --debug only */
    if (!t->debug)
        quiet.fn = NULL;
    memset(db, 0, sizeof(*db));
    memset(&stop, 0, sizeof(stop));
    memset(&f, 0, sizeof(f));
    f.cfg = &t->cfg;
    f.log = &quiet;
    f.user = user;
    f.rhost = "";
    f.db = db;
    f.dbu = u;
    f.user_esc = user_esc;
    f.on_step = keep_stop;
    f.step_ctx = &stop;
    v = jfa_flow_resolve(&f);
    snprintf(why, whylen, "%s", stop.detail);
    if (v == JFA_V_SUCCESS)
        return 0;
    if (v == JFA_V_USER_UNKNOWN)
        return f.unknown_user ? 1 : 2;
    tool_error(t, "%s", stop.detail[0] != '\0' ? stop.detail : "out of memory");
    return -1;
}

/* Read one line from fd byte by byte into buf. 0, or -1 (too long, EOF
 * before anything, read error). */
static int read_line_fd(int fd, char *buf, size_t len)
{
    size_t n = 0;
    bool got = false;

    for (;;) {
        char ch;
        ssize_t r = read(fd, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got = true;
        if (ch == '\n')
            break;
        if (n + 1 >= len) {
            explicit_bzero(buf, len);
            return -1;
        }
        buf[n++] = ch;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return got ? 0 : -1;
}

int tool_read_password(const char *prompt, bool from_stdin, char *buf, size_t len)
{
    struct termios old, quiet;
    int fd, ret;
    bool restore = false;

    if (from_stdin) {
        if (read_line_fd(STDIN_FILENO, buf, len) != 0) {
            fprintf(stderr, "jellyfin-auth: no password on standard input (or too long)\n");
            return -1;
        }
        return 0;
    }
    fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fprintf(stderr,
                "jellyfin-auth: no terminal to ask for the password; use --password-stdin\n");
        return -1;
    }
    if (tcgetattr(fd, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        restore = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* the prompt is a courtesy */
    }
    ret = read_line_fd(fd, buf, len);
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* ignore */
    }
    close(fd);
    if (ret != 0)
        fprintf(stderr, "jellyfin-auth: no password read (or too long)\n");
    return ret;
}

int tool_read_line(const char *prompt, char *buf, size_t len)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY), ret;

    if (fd < 0) {
        fprintf(stderr, "jellyfin-auth: no terminal to ask on; pass the value as an option\n");
        return -1;
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* ignore */
    }
    ret = read_line_fd(fd, buf, len);
    close(fd);
    return ret;
}

const char *tool_nsswitch_path(void)
{
    const char *p = secure_getenv("JELLYFIN_AUTH_NSSWITCH");
    return p != NULL && p[0] != '\0' ? p : "/etc/nsswitch.conf";
}

/* Find the token "jellyfin" in [s, e) of line; its offset or -1. */
static ssize_t ns_find_token(const char *line, size_t s, size_t e)
{
    size_t i = s;

    while (i < e) {
        size_t t;
        while (i < e && (line[i] == ' ' || line[i] == '\t'))
            i++;
        t = i;
        while (i < e && line[i] != ' ' && line[i] != '\t')
            i++;
        if (i - t == 8 && memcmp(line + t, "jellyfin", 8) == 0)
            return (ssize_t)t;
    }
    return -1;
}

void tool_nsswitch_check(const char *text, bool *passwd, bool *group)
{
    const char *line = text;

    *passwd = *group = false;
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line), s, e;
        const char *db = jfa_nsswitch_db_line(line, len, &s, &e);

        if (db != NULL && ns_find_token(line, s, e) >= 0) {
            if (strcmp(db, "passwd") == 0)
                *passwd = true;
            else
                *group = true;
        }
        line += len + (nl ? 1 : 0);
    }
}

char *tool_nsswitch_edit(const char *text, bool enable, bool *changed)
{
    size_t tlen = strlen(text), cap = tlen + 64, used = 0;
    char *out, *lb = malloc(tlen + 16);
    const char *line = text, *p;
    bool seen_passwd = false, seen_group = false;

    *changed = false;
    for (p = text; *p != '\0'; p++)
        if (*p == '\n')
            cap += 9; /* at most " jellyfin" per line */
    out = malloc(cap);
    if (out == NULL || lb == NULL) {
        free(out);
        free(lb);
        return NULL;
    }
    while (*line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line), s, e;
        const char *db;
        ssize_t tok;

        memcpy(lb, line, len);
        lb[len] = '\0';
        db = jfa_nsswitch_db_line(lb, len, &s, &e);
        if (db != NULL) {
            if (strcmp(db, "passwd") == 0)
                seen_passwd = true;
            else
                seen_group = true;
            tok = ns_find_token(lb, s, e);
            if (enable && tok < 0) {
                memmove(lb + e + 9, lb + e, len - e + 1);
                memcpy(lb + e, " jellyfin", 9);
                len += 9;
                *changed = true;
            }
            while (!enable && tok >= 0) {
                size_t from = (size_t)tok, to = (size_t)tok + 8;
                /* drop the token and the blanks before it */
                while (from > s && (lb[from - 1] == ' ' || lb[from - 1] == '\t'))
                    from--;
                memmove(lb + from, lb + to, len - to + 1);
                len -= to - from;
                e -= to - from;
                *changed = true;
                tok = ns_find_token(lb, s, e);
            }
        }
        memcpy(out + used, lb, len);
        used += len;
        if (nl != NULL)
            out[used++] = '\n';
        line += (nl ? (size_t)(nl - line) + 1 : strlen(line));
    }
    if (enable && (!seen_passwd || !seen_group)) {
        if (used > 0 && out[used - 1] != '\n')
            out[used++] = '\n';
        if (!seen_passwd)
            used += (size_t)sprintf(out + used, "passwd: files jellyfin\n");
        if (!seen_group)
            used += (size_t)sprintf(out + used, "group: files jellyfin\n");
        *changed = true;
    }
    out[used] = '\0';
    free(lb);
    return out;
}

void tool_print_json(struct json_object *root)
{
    const unsigned char *s = (const unsigned char *)json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = s != NULL ? strlen((const char *)s) : 0, i = 0;

    while (i < n) {
        uint32_t cp = 0;
        size_t used = jfa_utf8_decode(s + i, n - i, &cp);

        if (used == 0) {
            fputs("\\ufffd", stdout);
            i++;
            continue;
        }
        if (cp >= 0x7f && jfa_cp_display_unsafe(cp)) /* C0: escaped by json-c, or layout */
            printf("\\u%04x", (unsigned)cp);
        else
            fwrite(s + i, 1, used, stdout);
        i += used;
    }
    putchar('\n');
}

const char *tool_pam_dir(void)
{
    const char *d = secure_getenv("JELLYFIN_AUTH_PAM_DIR");
    return d != NULL && d[0] != '\0' ? d : "/etc/pam.d";
}

/* Does the file mention pam_jellyfin.so outside a comment? */
static bool file_mentions_module(const char *path)
{
    FILE *f = fopen(path, "re");
    char line[1024];
    bool found = false;

    while (f != NULL && !found && fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        found = strstr(line, "pam_jellyfin.so") != NULL;
    }
    if (f != NULL)
        fclose(f);
    return found;
}

/* A file in the PAM directory that mentions pam_jellyfin.so, or NULL. */
static char *pam_configured(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *found = NULL;

    if (d == NULL)
        return NULL;
    while (found == NULL && (e = readdir(d)) != NULL) {
        char *path = NULL;
        if (e->d_name[0] == '.' || asprintf(&path, "%s/%s", dir, e->d_name) < 0)
            continue;
        if (file_mentions_module(path))
            found = path;
        else
            free(path);
    }
    closedir(d);
    return found;
}

const char *const tool_pam_common_files[TOOL_PAM_COMMON] = {"common-auth", "common-account",
                                                            "common-session", "common-password"};

void tool_wiring_check(struct tool_wiring *w)
{
    char *text = NULL, path[PATH_MAX];
    size_t len = 0;

    memset(w, 0, sizeof(*w));
    w->nsswitch = tool_nsswitch_path();
    if (jfa_read_trusted(w->nsswitch, 022, 1u << 20, &text, &len, w->ns_err, sizeof(w->ns_err)) ==
        0) {
        w->ns_read = true;
        tool_nsswitch_check(text, &w->ns_passwd, &w->ns_group);
    }
    free(text);
    w->pam_dir = tool_pam_dir();
    w->pam_any = pam_configured(w->pam_dir);
    for (size_t i = 0; i < TOOL_PAM_COMMON; i++) {
        snprintf(path, sizeof(path), "%s/%s", w->pam_dir, tool_pam_common_files[i]);
        if (access(path, F_OK) != 0)
            continue;
        w->common_exists[i] = true;
        w->common_uses[i] = file_mentions_module(path);
    }
}

bool tool_wiring_pam_ok(const struct tool_wiring *w)
{
    if (w->pam_any == NULL)
        return false;
    /* Debian's layout: auth, account and session must each use the module */
    for (size_t i = 0; i < 3; i++)
        if (w->common_exists[i] && !w->common_uses[i])
            return false;
    return true;
}

void tool_wiring_free(struct tool_wiring *w)
{
    free(w->pam_any);
    w->pam_any = NULL;
}
