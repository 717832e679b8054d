/*
 * tools/cmd_setup.c - `jellyfin-auth setup`: first-time installation.
 *
 * Owns: the API key when none works (administrator login with client
 * "jellyfin-auth", a key named "jellyfin-auth HOST" created and found with
 * cmd_key.c's helpers, admin token logged out; a working key is reused,
 * never duplicated; a refused one is replaced and deleted), the
 * configuration (written when absent; otherwise only the keys setup owns
 * and was given, url, ca_file, api_key_file and state_dir, are changed in
 * place, every other line and comment kept, the previous file saved as
 * PATH.bak), the first sync, and the nsswitch.conf edit (--enable adds the
 * "jellyfin" service to passwd: and group:, --disable removes it;
 * idempotent, one backup, atomic, mode kept).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apikey.h"
#include "authheader.h"
#include "cmd.h"
#include "fileutil.h"
#include "jellyfin.h"
#include "sync.h"

static void help(void)
{
    printf("Usage: jellyfin-auth setup [--url URL] [--user NAME] [--password-stdin]\n"
           "                           [--ca-file FILE] [--key-file FILE] [--state-dir DIR]\n"
           "                           [--force] [--enable | --disable] [--config PATH] [--debug]\n"
           "Create an API key with a Jellyfin administrator's login, write the key file\n"
           "(mode 0600) and the configuration (if absent), run the first sync and print the\n"
           "nsswitch.conf and PAM lines to add. A working API key is reused. An existing\n"
           "configuration is kept: only the settings given here (url, ca_file,\n"
           "api_key_file, state_dir) change, every other line stays, and the previous\n"
           "file is saved as PATH.bak.\n\n"
           "  --url URL          Jellyfin base URL (asked for on the terminal if needed)\n"
           "  --user NAME        administrator name (asked for if needed)\n"
           "  --password-stdin   read the administrator password from standard input\n"
           "  --ca-file FILE     CA bundle for the server's certificate\n"
           "  --key-file FILE    where to keep the API key (default %s)\n"
           "  --state-dir DIR    state directory (default %s)\n"
           "  --force            replace an unreadable or malformed API key file\n"
           "  --enable           also add 'jellyfin' to passwd: and group: in nsswitch.conf\n"
           "                     and run 'pam-auth-update --enable jellyfin'\n"
           "  --disable          only undo --enable (nsswitch.conf, pam-auth-update\n"
           "                     --remove jellyfin), then stop\n",
           JFA_DEFAULT_KEYFILE, JFA_DEFAULT_STATE_DIR);
}

struct setup_opts {
    const char *url, *user, *ca_file, *key_file, *state_dir;
    bool password_stdin, force, enable, disable;
};

/*
 * Wire PAM the Debian way: pam-auth-update --enable/--remove jellyfin
 * (JELLYFIN_AUTH_PAM_AUTH_UPDATE, read with secure_getenv, overrides the
 * path for tests). Where the tool or our profile is missing, say how to do
 * it by hand and succeed: PAM files are the administrator's to edit.
 */
static int pam_apply(const struct tool *t, bool enable)
{
    const char *cmd = secure_getenv("JELLYFIN_AUTH_PAM_AUTH_UPDATE");
    char *argv[] = {"pam-auth-update", enable ? "--enable" : "--remove", "jellyfin", NULL};
    int status = 0;
    pid_t pid;

    if (cmd == NULL || cmd[0] == '\0')
        cmd = "/usr/sbin/pam-auth-update";
    if (access(cmd, X_OK) != 0) {
        printf("%s not found: %s pam_jellyfin.so by hand (see pam_jellyfin(8))\n", cmd,
               enable ? "add" : "remove");
        return 0;
    }
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        tool_error(t, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setenv("DEBIAN_FRONTEND", "noninteractive", 1);
        execv(cmd, argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        tool_error(t, "%s %s jellyfin failed (exit %d): PAM is unchanged", cmd, argv[1],
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    printf("PAM: %s %s jellyfin done\n", cmd, argv[1]);
    return 0;
}

/* Times nsswitch.conf is read again when another program changed it while
 * we edited it, before setup gives up. */
#define NSSWITCH_TRIES 3

/* One read-edit-replace of nsswitch.conf. 0, JFA_WRITE_RACED (another
 * program changed it meanwhile: nothing written), or -1 (reported). */
static int nsswitch_apply_once(const struct tool *t, const char *path, bool enable)
{
    char err[JFA_ERRLEN], *text = NULL, *out = NULL, *bak = NULL;
    size_t len = 0;
    struct stat st;
    bool changed = false;
    int ret = -1, r;

    /* identity first: a change between it and the read is caught by the
     * compare before replace (the bytes differ or the identity does) */
    if (lstat(path, &st) != 0) {
        tool_error(t, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (jfa_read_trusted(path, 022, 1u << 20, &text, &len, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        return -1;
    }
    if (strlen(text) != len) {
        tool_error(t, "%s: contains a NUL byte", path);
        goto out;
    }
    out = tool_nsswitch_edit(text, enable, &changed);
    if (out == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    if (!changed) {
        printf("%s: already %s\n", path,
               enable ? "lists jellyfin for passwd and group" : "free of jellyfin");
        ret = 0;
        goto out;
    }
    if (asprintf(&bak, "%s.jellyfin-auth.bak", path) < 0) {
        bak = NULL;
        goto out;
    }
    if (access(bak, F_OK) != 0) {
        if (jfa_write_atomic(bak, text, len, st.st_mode & 07777, err, sizeof(err)) != 0) {
            tool_error(t, "backup: %s", err);
            goto out;
        }
        printf("%s: original saved as %s\n", path, bak);
    }
    /* compare before replace: an edit another program made since the read
     * must not be lost under ours */
    r = jfa_write_atomic_unchanged(path, out, strlen(out), st.st_mode & 07777, text, len, &st, err,
                                   sizeof(err));
    if (r == JFA_WRITE_RACED) {
        ret = r;
        goto out;
    }
    if (r != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    printf("%s: %s 'jellyfin' on the passwd: and group: lines\n", path,
           enable ? "added" : "removed");
    ret = 0;
out:
    free(text);
    free(out);
    free(bak);
    return ret;
}

/* Edit nsswitch.conf: enable or disable our service. 0 or -1. */
static int nsswitch_apply(const struct tool *t, bool enable)
{
    const char *path = tool_nsswitch_path();
    int i, r = JFA_WRITE_RACED;

    for (i = 0; i < NSSWITCH_TRIES && r == JFA_WRITE_RACED; i++) {
        r = nsswitch_apply_once(t, path, enable);
        if (r == JFA_WRITE_RACED)
            printf("%s: changed by another program while being edited: reading it again\n", path);
    }
    if (r == JFA_WRITE_RACED)
        tool_error(t,
                   "%s: changed by another program each of %d times it was edited: nothing "
                   "written; run this again once that program is done",
                   path, NSSWITCH_TRIES);
    return r == 0 ? 0 : -1;
}

static char *config_text(const struct setup_opts *o, const char *url)
{
    char *s = NULL;

    if (asprintf(
            &s,
            "# jellyfin-auth.conf, written by 'jellyfin-auth setup'. See jellyfin-auth.conf(5).\n"
            "# Holds no secrets: the API key lives in api_key_file (root, mode 0600).\n"
            "# 'jellyfin-auth setup' changes only url, ca_file, api_key_file and state_dir\n"
            "# here, and keeps every other line.\n"
            "url = %s\n"
            "%s%s%s"
            "api_key_file = %s\n"
            "state_dir = %s\n"
            "# timeout = 10\n"
            "# uid_min = 1879048192\n"
            "# uid_max = 2147352575\n"
            "# home = /home/%%u\n"
            "# shell = /bin/bash\n"
            "# users_group = jellyfin-users\n"
            "# admin_group = jellyfin-admins\n",
            url, o->ca_file ? "ca_file = " : "", o->ca_file ? o->ca_file : "",
            o->ca_file ? "\n" : "", o->key_file ? o->key_file : JFA_DEFAULT_KEYFILE,
            o->state_dir ? o->state_dir : JFA_DEFAULT_STATE_DIR) < 0)
        return NULL;
    return s;
}

/* Is line (up to its end) a setting of key? "  key = v", "key=v". */
static bool line_sets(const char *line, const char *key)
{
    size_t n = strlen(key);

    line += strspn(line, " \t");
    if (strncmp(line, key, n) != 0)
        return false;
    line += n;
    line += strspn(line, " \t");
    return *line == '=';
}

/*
 * Set key = value in the configuration text: the line that sets it is
 * replaced (the parser refuses duplicates, so there is at most one), or
 * the setting is appended. Comments and every other line are kept byte
 * for byte. Returns a new malloc'd text or NULL (out of memory).
 */
static char *config_set(const char *text, const char *key, const char *value, bool *changed)
{
    char *out = NULL, *line = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    const char *p = text;
    bool done = false;

    if (f == NULL)
        return NULL;
    if (asprintf(&line, "%s = %s", key, value) < 0) {
        line = NULL;
        goto fail;
    }
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (line_sets(p, key)) {
            size_t old = len > 0 && p[len - 1] == '\r' ? len - 1 : len;
            if (old != strlen(line) || memcmp(p, line, old) != 0)
                *changed = true;
            fputs(line, f);
            if (old != len)
                fputc('\r', f);
            done = true;
        } else {
            fwrite(p, 1, len, f);
        }
        if (eol == NULL)
            break;
        fputc('\n', f);
        p = eol + 1;
    }
    if (!done) {
        if (outlen > 0 || ftell(f) > 0) {
            fflush(f);
            if (outlen > 0 && out[outlen - 1] != '\n')
                fputc('\n', f);
        }
        fprintf(f, "%s\n", line);
        *changed = true;
    }
    free(line);
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
fail:
    free(line);
    fclose(f);
    free(out);
    return NULL;
}

/* Log in as an administrator; create and find a key. 0 or -1 (printed).
 * stale: a refused key of this file to delete with the admin token. */
static int create_key(struct tool *t, const struct setup_opts *o, const char *stale, char key[33])
{
    struct jfa_client c;
    struct jfa_auth_result res;
    char user[256], pw[TOOL_PASSWORD_MAX], prompt[300], esc[256];
    enum jfa_status st;
    int ret = -1;

    memset(&res, 0, sizeof(res));
    memset(pw, 0, sizeof(pw));
    if (o->user != NULL) {
        snprintf(user, sizeof(user), "%s", o->user);
    } else if (tool_read_line("Jellyfin administrator name: ", user, sizeof(user)) != 0) {
        return -1;
    }
    if (user[0] == '\0') {
        tool_error(t, "no administrator name given");
        return -1;
    }
    snprintf(prompt, sizeof(prompt),
             "Password for Jellyfin user %s: ", jfa_log_escape(esc, sizeof(esc), user));
    if (tool_read_password(prompt, o->password_stdin, pw, sizeof(pw)) != 0)
        return -1;
    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0) {
        tool_error(t, "cannot set up the Jellyfin client");
        goto out;
    }
    st = jfa_authenticate(&c, user, pw, &res);
    explicit_bzero(pw, sizeof(pw));
    if (st != JFA_OK) {
        tool_error(t, "administrator login failed: %s%s%s", jfa_status_str(st),
                   c.err[0] ? ": " : "", c.err);
        goto out;
    }
    if (!res.user.policy.is_administrator) {
        tool_error(t, "Jellyfin user \"%s\" is not an administrator: an API key needs one",
                   jfa_log_escape(esc, sizeof(esc), user));
        goto logout;
    }
    if (tool_key_create(t, res.access_token, key) != 0)
        goto logout;
    /* The refused key may still exist (disabled, another server's): it
     * must not pile up. DELETE is a no-op for an unknown key. */
    if (stale != NULL && tool_key_delete(t, res.access_token, stale) == 0)
        printf("the refused API key was deleted on the server\n");
    ret = 0;
logout:
    st = jfa_logout(&c, res.access_token);
    if (st != JFA_OK)
        tool_error(t, "warning: logging the administrator session out failed: %s",
                   jfa_status_str(st));
out:
    explicit_bzero(pw, sizeof(pw));
    jfa_auth_result_free(&res);
    return ret;
}

/*
 * The configuration text setup will use: the existing file with only the
 * given settings changed, or a new one. *changed tells whether it must be
 * written. NULL on error (printed).
 */
static char *config_plan(struct tool *t, const struct setup_opts *o, const char *cfg_path,
                         bool exists, bool *changed)
{
    const struct {
        const char *key, *value;
    } mine[] = {
        {"url", o->url},
        {"ca_file", o->ca_file},
        {"api_key_file", o->key_file},
        {"state_dir", o->state_dir},
    };
    char url[1024], err[JFA_ERRLEN], *text = NULL, *next;
    size_t len = 0, i;

    *changed = false;
    /* one line each: a newline would add settings of its own */
    for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
        if (mine[i].value != NULL &&
            (mine[i].value[0] == '\0' || strpbrk(mine[i].value, "\r\n") != NULL)) {
            tool_error(t, "%s: a value on one line is required", mine[i].key);
            return NULL;
        }
    }
    if (!exists) {
        if (o->url != NULL)
            snprintf(url, sizeof(url), "%s", o->url);
        else if (tool_read_line("Jellyfin URL (e.g. https://jellyfin.example:8920): ", url,
                                sizeof(url)) != 0)
            return NULL;
        if (url[0] == '\0' || strpbrk(url, " \t\r\n") != NULL) {
            tool_error(t, "a URL without blanks is required");
            return NULL;
        }
        if (o->url == NULL) {
            struct jfa_config scratch;
            int bad;

            jfa_config_defaults(&scratch);
            bad = jfa_config_set(&scratch, "url", url, "the URL typed", err, sizeof(err));
            jfa_config_free(&scratch);
            if (bad != 0) {
                tool_error(t, "%s", err);
                return NULL;
            }
        }
        text = config_text(o, url);
        if (text == NULL)
            tool_error(t, "out of memory");
        *changed = text != NULL;
        return text;
    }
    if (jfa_read_trusted(cfg_path, 022, 1u << 20, &text, &len, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        return NULL;
    }
    if (strlen(text) != len) {
        tool_error(t, "%s: contains a NUL byte", cfg_path);
        free(text);
        return NULL;
    }
    for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
        if (mine[i].value == NULL)
            continue;
        next = config_set(text, mine[i].key, mine[i].value, changed);
        free(text);
        if (next == NULL) {
            tool_error(t, "out of memory");
            return NULL;
        }
        text = next;
    }
    return text;
}

/*
 * Check each value given on the command line as the configuration parser
 * would, so that an error names the option ("--url: invalid url ...")
 * rather than a line of a configuration file that was never written.
 */
static int check_option_values(const struct tool *t, const struct setup_opts *o)
{
    static const struct {
        const char *key, *opt;
        size_t off;
    } vals[] = {
        {"url", "--url", offsetof(struct setup_opts, url)},
        {"ca_file", "--ca-file", offsetof(struct setup_opts, ca_file)},
        {"api_key_file", "--key-file", offsetof(struct setup_opts, key_file)},
        {"state_dir", "--state-dir", offsetof(struct setup_opts, state_dir)},
    };
    struct jfa_config scratch;
    char err[JFA_ERRLEN];
    int ret = 0;

    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]) && ret == 0; i++) {
        const char *v = *(const char *const *)((const char *)o + vals[i].off);
        if (v == NULL)
            continue;
        jfa_config_defaults(&scratch);
        if (jfa_config_set(&scratch, vals[i].key, v, vals[i].opt, err, sizeof(err)) != 0) {
            tool_usage_error(t, "setup", "%s", err);
            ret = -1;
        }
        jfa_config_free(&scratch);
    }
    return ret;
}

/* Does setup's work need root here? Says so first (before any key is made). */
static int setup_need_root(const struct tool *t, const struct setup_opts *o, const char *cfg_path)
{
    struct jfa_config cur;
    char err[JFA_ERRLEN];
    int ret = 0;

    if (o->enable || o->disable) {
        if (tool_need_root(t, "setup", tool_nsswitch_path(), true) != 0)
            return -1;
        if (o->disable)
            return 0;
    }
    if (tool_need_root(t, "setup", cfg_path, true) != 0)
        return -1;
    /* the key file: where the existing configuration or the options put it */
    if (jfa_config_load(&cur, cfg_path, err, sizeof(err)) != 0) {
        jfa_config_free(&cur);
        jfa_config_defaults(&cur);
    }
    if (tool_need_root(t, "setup", o->key_file ? o->key_file : cur.api_key_file, true) != 0)
        ret = -1;
    jfa_config_free(&cur);
    return ret;
}

/* Is the sync timer enabled? (a link in timers.target.wants; the directory
 * is JELLYFIN_AUTH_SYSTEMD_DIR, for tests, or /etc/systemd/system) */
static bool timer_enabled(void)
{
    const char *dir = secure_getenv("JELLYFIN_AUTH_SYSTEMD_DIR");
    char path[4096];

    if (dir == NULL || dir[0] == '\0')
        dir = "/etc/systemd/system";
    snprintf(path, sizeof(path), "%s/timers.target.wants/jellyfin-auth-sync.timer", dir);
    return access(path, F_OK) == 0;
}

/* The steps that remain, from the state of the machine: what is already
 * done is not repeated. */
static void print_next_steps(void)
{
    struct tool_wiring w;
    bool ns, pam, timer;

    tool_wiring_check(&w);
    ns = w.ns_read && w.ns_passwd && w.ns_group;
    pam = tool_wiring_pam_ok(&w);
    timer = timer_enabled();
    if (ns && pam && timer) {
        printf("\nNSS, PAM and the sync timer are in place; check with 'jellyfin-auth status'.\n");
        goto out;
    }
    printf("\nNext steps:\n");
    if (!ns)
        printf("  - add 'jellyfin' to %s (or run 'jellyfin-auth setup --enable'):\n"
               "        passwd:         files jellyfin\n"
               "        group:          files jellyfin\n",
               w.nsswitch);
    if (!pam)
        printf("  - enable the PAM module:  pam-auth-update --enable jellyfin\n"
               "    (by hand: see pam_jellyfin(8); after pam_unix in common-auth, and in\n"
               "     common-account:  account [success=ok new_authtok_reqd=done ignore=ignore "
               "user_unknown=ignore authinfo_unavail=ignore default=bad] pam_jellyfin.so\n"
               "     common-session:  session [success=ok new_authtok_reqd=ok session_err=die "
               "default=ignore] pam_jellyfin.so)\n");
    if (!timer)
        printf("  - start the sync timer:   systemctl enable --now jellyfin-auth-sync.timer\n");
    printf("  - check everything:       jellyfin-auth status\n");
out:
    tool_wiring_free(&w);
}

/* setup's options into o: -1 to go on, else the exit status (EXIT_OK
 * after --help, EXIT_USAGE after a usage error, printed). */
static int parse_options(struct tool *t, int argc, char **argv, struct setup_opts *o)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"user", required_argument, NULL, 'U'},
        {"password-stdin", no_argument, NULL, 'p'},
        {"ca-file", required_argument, NULL, 'C'},
        {"key-file", required_argument, NULL, 'k'},
        {"state-dir", required_argument, NULL, 's'},
        {"force", no_argument, NULL, 'f'},
        {"enable", no_argument, NULL, 'e'},
        {"disable", no_argument, NULL, 'd'},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    int opt;

    memset(o, 0, sizeof(*o));
    while ((opt = tool_getopt(argc, argv, "h", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'u':
            o->url = optarg;
            break;
        case 'U':
            o->user = optarg;
            break;
        case 'p':
            o->password_stdin = true;
            break;
        case 'C':
            o->ca_file = optarg;
            break;
        case 'k':
            o->key_file = optarg;
            break;
        case 's':
            o->state_dir = optarg;
            break;
        case 'f':
            o->force = true;
            break;
        case 'e':
            o->enable = true;
            break;
        case 'd':
            o->disable = true;
            break;
        case 'h':
            help();
            return EXIT_OK;
        default:
            return tool_usage_error(t, "setup", "invalid option");
        }
    }
    if (optind < argc)
        return tool_usage_error(t, "setup", "unexpected argument '%s'", argv[optind]);
    if (o->enable && o->disable)
        return tool_usage_error(t, "setup", "--enable and --disable exclude each other");
    if (check_option_values(t, o) != 0)
        return EXIT_USAGE;
    return -1;
}

/* Step 1, the configuration: the existing one with only our given keys
 * changed, or a new one; validated now and made t->cfg, written (step 3)
 * once the key works. The text, with *exists and *write, or NULL
 * (printed). */
static char *plan_configuration(struct tool *t, const struct setup_opts *o, const char *cfg_path,
                                bool *exists, bool *write)
{
    char err[JFA_ERRLEN], *text;
    struct stat st;

    *exists = lstat(cfg_path, &st) == 0;
    text = config_plan(t, o, cfg_path, *exists, write);
    if (text == NULL)
        return NULL;
    jfa_config_free(&t->cfg);
    jfa_config_defaults(&t->cfg);
    if (jfa_config_parse(&t->cfg, text, strlen(text), cfg_path, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        free(text);
        return NULL;
    }
    t->cfg_loaded = true;
    if (*exists && !*write)
        printf("configuration %s: kept\n", cfg_path);
    return text;
}

/* Step 2, the API key: a working one is reused, never duplicated; a
 * refused one is replaced (and deleted on the server); an unreadable one
 * only with --force. 0 or -1 (printed). */
static int ensure_api_key(struct tool *t, const struct setup_opts *o)
{
    char key[33], old[33], err[JFA_ERRLEN];
    bool have_old = false;
    enum jfa_status kst;
    size_t n_users = 0;
    int r, ret = -1;

    memset(key, 0, sizeof(key));
    memset(old, 0, sizeof(old));
    r = jfa_api_key_read(&t->cfg, key, err, sizeof(err));
    if (r == 0) {
        kst = tool_key_check(t, key, &n_users, err, sizeof(err));
        if (kst == JFA_OK) {
            printf("API key %s: kept (GET /Users lists %zu users)\n", t->cfg.api_key_file, n_users);
            ret = 0;
            goto out;
        }
        if (kst != JFA_ERR_AUTH && kst != JFA_ERR_FORBIDDEN) {
            /* not a verdict on the key: never replace it for a network error */
            tool_error(t, "GET /Users with the API key %s: %s; nothing changed",
                       t->cfg.api_key_file, err);
            goto out;
        }
        printf("API key %s: refused by the server; creating a new one\n", t->cfg.api_key_file);
        memcpy(old, key, sizeof(old));
        have_old = true;
    } else if (r < 0 && !o->force) {
        tool_error(t, "%s (fix it, or use --force to replace it)", err);
        goto out;
    }
    explicit_bzero(key, sizeof(key));
    if (create_key(t, o, have_old ? old : NULL, key) != 0 || tool_key_write(t, key) != 0)
        goto out;
    printf("API key written to %s (mode 0600)\n", t->cfg.api_key_file);
    if (!tool_key_works(t, key, &n_users)) {
        tool_error(t, "the new API key does not work for GET /Users");
        goto out;
    }
    ret = 0;
out:
    explicit_bzero(key, sizeof(key));
    explicit_bzero(old, sizeof(old));
    return ret;
}

/* Step 3, the configuration file, once the key is in place; a previous
 * one is kept as PATH.bak. 0 or -1 (printed). */
static int write_configuration(struct tool *t, const char *cfg_path, const char *text, bool exists)
{
    char err[JFA_ERRLEN], *prev = NULL, *bak = NULL;
    size_t prev_len = 0;
    int ret = -1;

    if (exists) {
        if (jfa_read_trusted(cfg_path, 022, 1u << 20, &prev, &prev_len, err, sizeof(err)) != 0 ||
            asprintf(&bak, "%s.bak", cfg_path) < 0) {
            bak = NULL;
            tool_error(t, "backup of %s: %s", cfg_path, err);
            goto out;
        }
        if (jfa_write_atomic(bak, prev, prev_len, 0644, err, sizeof(err)) != 0) {
            tool_error(t, "backup: %s", err);
            goto out;
        }
        printf("previous configuration saved as %s\n", bak);
    }
    if (jfa_write_atomic(cfg_path, text, strlen(text), 0644, err, sizeof(err)) != 0) {
        tool_error(t, "writing the configuration: %s", err);
        goto out;
    }
    printf("configuration written to %s%s\n", cfg_path,
           exists ? " (only the settings given changed)" : "");
    ret = 0;
out:
    free(prev);
    free(bak);
    return ret;
}

/* Step 4, the first sync, its changes printed as `sync` prints them. 0 or
 * -1 (printed). */
static int first_sync(struct tool *t)
{
    struct jfa_sync_options so;
    struct jfa_sync_summary sum;
    struct tool_sync_printer pr = {NULL, 0};
    char err[JFA_ERRLEN];

    memset(&so, 0, sizeof(so));
    so.on_change = tool_sync_print_change;
    so.change_ctx = &pr;
    if (jfa_sync_run(&t->cfg, &t->log, &so, &sum, err, sizeof(err)) != 0) {
        tool_error(t, "first sync failed: %s", err);
        return -1;
    }
    tool_sync_print_summary(&pr, &so, &sum);
    return 0;
}

int cmd_setup(struct tool *t, int argc, char **argv)
{
    struct setup_opts o;
    const char *cfg_path;
    char *text = NULL;
    bool cfg_exists = false, write_cfg = false;
    int ret;

    ret = parse_options(t, argc, argv, &o);
    if (ret >= 0)
        return ret;
    if (setup_need_root(t, &o, tool_config_path(t)) != 0)
        return EXIT_FAIL;
    if (o.disable)
        return nsswitch_apply(t, false) == 0 && pam_apply(t, false) == 0 ? EXIT_OK : EXIT_FAIL;
    ret = EXIT_FAIL;
    cfg_path = tool_config_path(t);
    text = plan_configuration(t, &o, cfg_path, &cfg_exists, &write_cfg);
    if (text == NULL || ensure_api_key(t, &o) != 0 ||
        (write_cfg && write_configuration(t, cfg_path, text, cfg_exists) != 0) ||
        first_sync(t) != 0)
        goto out;
    /* Step 5, NSS and PAM wiring: done with --enable, else the steps left */
    if (o.enable && (nsswitch_apply(t, true) != 0 || pam_apply(t, true) != 0))
        goto out;
    print_next_steps();
    ret = EXIT_OK;
out:
    free(text);
    return ret;
}
