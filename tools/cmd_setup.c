/*
 * tools/cmd_setup.c - `jellyfin-auth setup`: first-time installation.
 *
 * Owns: creating the API key (administrator login with client
 * "jellyfin-auth", POST /Auth/Keys?app=NAME with a unique name, GET
 * /Auth/Keys for the newest key of that name, key file written 0600
 * atomically, admin token logged out), writing the configuration when it
 * is absent (or with --force), the first sync, and the nsswitch.conf
 * edit (--enable adds the "jellyfin" service to passwd: and group:,
 * --disable removes it; idempotent, one backup, atomic, mode kept).
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

#define APP_PREFIX "jellyfin-auth"

static void help(void)
{
    printf("Usage: jellyfin-auth setup [--url URL] [--user NAME] [--password-stdin]\n"
           "                           [--ca-file FILE] [--key-file FILE] [--state-dir DIR]\n"
           "                           [--force] [--enable | --disable] [--config PATH] [--debug]\n"
           "Create an API key with a Jellyfin administrator's login, write the key file\n"
           "(mode 0600) and the configuration (if absent), run the first sync and print the\n"
           "nsswitch.conf and PAM lines to add. An existing working key and configuration\n"
           "are kept unless --force is given.\n\n"
           "  --url URL          Jellyfin base URL (asked for on the terminal if needed)\n"
           "  --user NAME        administrator name (asked for if needed)\n"
           "  --password-stdin   read the administrator password from standard input\n"
           "  --ca-file FILE     CA bundle for the server's certificate\n"
           "  --key-file FILE    where to keep the API key (default %s)\n"
           "  --state-dir DIR    state directory (default %s)\n"
           "  --force            rewrite the configuration and create a new key\n"
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

/* Edit nsswitch.conf: enable or disable our service. 0 or -1. */
static int nsswitch_apply(const struct tool *t, bool enable)
{
    const char *path = tool_nsswitch_path();
    char err[JFA_ERRLEN], *text = NULL, *out = NULL, *bak = NULL;
    size_t len = 0;
    struct stat st;
    bool changed = false;
    int ret = -1;

    if (jfa_read_trusted(path, 022, 1u << 20, &text, &len, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        return -1;
    }
    if (strlen(text) != len) {
        tool_error(t, "%s: contains a NUL byte", path);
        goto out;
    }
    if (lstat(path, &st) != 0) {
        tool_error(t, "%s: %s", path, strerror(errno));
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
    if (jfa_write_atomic(path, out, strlen(out), st.st_mode & 07777, err, sizeof(err)) != 0) {
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

static char *config_text(const struct setup_opts *o, const char *url)
{
    char *s = NULL;

    if (asprintf(
            &s,
            "# jellyfin-auth.conf, written by 'jellyfin-auth setup'. See jellyfin-auth.conf(5).\n"
            "# Holds no secrets: the API key lives in api_key_file (root, mode 0600).\n"
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
               "     common-session:  session optional pam_jellyfin.so\n"
               "                      session optional pam_mkhomedir.so umask=0077)\n");
    if (!timer)
        printf("  - start the sync timer:   systemctl enable --now jellyfin-auth-sync.timer\n");
    printf("  - check everything:       jellyfin-auth status\n");
out:
    tool_wiring_free(&w);
}

/* Pick the newest key named app; 0 with key filled, or -1. */
static int newest_key(const struct jfa_api_key_list *keys, const char *app, char key[33])
{
    const struct jfa_api_key *best = NULL;
    size_t i;

    for (i = 0; i < keys->n; i++) {
        const struct jfa_api_key *k = &keys->keys[i];
        if (k->app_name == NULL || k->access_token == NULL || strcmp(k->app_name, app) != 0)
            continue;
        if (best == NULL ||
            (k->date_created != NULL &&
             (best->date_created == NULL || strcmp(k->date_created, best->date_created) >= 0)))
            best = k;
    }
    if (best == NULL || strlen(best->access_token) != 32)
        return -1;
    memcpy(key, best->access_token, 33);
    return 0;
}

/* Log in as an administrator and create a key. 0 or -1 (message printed). */
static int create_key(struct tool *t, const struct setup_opts *o, char key[33])
{
    struct jfa_client c;
    struct jfa_auth_result res;
    struct jfa_api_key_list keys = {0};
    char user[256], pw[TOOL_PASSWORD_MAX], host[128], app[256], stamp[32], esc[256];
    enum jfa_status st;
    time_t now = time(NULL);
    struct tm tm;
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
    snprintf(app, sizeof(app),
             "Password for Jellyfin user %s: ", jfa_log_escape(esc, sizeof(esc), user));
    if (tool_read_password(app, o->password_stdin, pw, sizeof(pw)) != 0)
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
    jfa_device_name(host, sizeof(host));
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
    snprintf(app, sizeof(app), "%s %s %s", APP_PREFIX, host, stamp);
    st = jfa_create_api_key(&c, res.access_token, app);
    if (st != JFA_OK) {
        tool_error(t, "creating the API key (POST /Auth/Keys) failed: %s%s%s", jfa_status_str(st),
                   c.err[0] ? ": " : "", c.err);
        goto logout;
    }
    st = jfa_list_api_keys(&c, res.access_token, &keys);
    if (st != JFA_OK) {
        tool_error(t, "reading the API keys (GET /Auth/Keys) failed: %s%s%s", jfa_status_str(st),
                   c.err[0] ? ": " : "", c.err);
        goto logout;
    }
    if (newest_key(&keys, app, key) != 0) {
        tool_error(t, "the server did not list the new API key \"%s\"", app);
        goto logout;
    }
    printf("API key \"%s\" created\n", app);
    ret = 0;
logout:
    st = jfa_logout(&c, res.access_token);
    if (st != JFA_OK)
        tool_error(t, "warning: logging the administrator session out failed: %s",
                   jfa_status_str(st));
out:
    explicit_bzero(pw, sizeof(pw));
    jfa_api_key_list_free(&keys);
    jfa_auth_result_free(&res);
    return ret;
}

/* Does the key work for GET /Users? */
static bool key_works(struct tool *t, const char *key, size_t *n)
{
    struct jfa_client c;
    struct jfa_user_list list = {0};
    enum jfa_status st;

    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0)
        return false;
    st = jfa_list_users(&c, key, &list);
    *n = list.n;
    jfa_user_list_free(&list);
    if (st != JFA_OK)
        jfa_logf(&t->log, LOG_INFO, "GET /Users with the API key: %s%s%s", jfa_status_str(st),
                 c.err[0] ? ": " : "", c.err);
    return st == JFA_OK;
}

int cmd_setup(struct tool *t, int argc, char **argv)
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
    struct setup_opts o;
    struct jfa_sync_options so;
    struct jfa_sync_summary sum;
    const char *cfg_path;
    char url[1024], key[33], err[JFA_ERRLEN], keyline[34], *text = NULL;
    struct stat st;
    bool cfg_exists, write_cfg, need_key = true;
    size_t n_users = 0;
    int opt, r, ret = EXIT_FAIL;

    memset(&o, 0, sizeof(o));
    memset(key, 0, sizeof(key));
    while ((opt = tool_getopt(argc, argv, "h", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'u':
            o.url = optarg;
            break;
        case 'U':
            o.user = optarg;
            break;
        case 'p':
            o.password_stdin = true;
            break;
        case 'C':
            o.ca_file = optarg;
            break;
        case 'k':
            o.key_file = optarg;
            break;
        case 's':
            o.state_dir = optarg;
            break;
        case 'f':
            o.force = true;
            break;
        case 'e':
            o.enable = true;
            break;
        case 'd':
            o.disable = true;
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
    if (o.enable && o.disable)
        return tool_usage_error(t, "setup", "--enable and --disable exclude each other");
    if (check_option_values(t, &o) != 0)
        return EXIT_USAGE;
    if (setup_need_root(t, &o, tool_config_path(t)) != 0)
        return EXIT_FAIL;
    if (o.disable)
        return nsswitch_apply(t, false) == 0 && pam_apply(t, false) == 0 ? EXIT_OK : EXIT_FAIL;

    /* 1. the configuration: keep an existing one unless --force */
    cfg_path = tool_config_path(t);
    cfg_exists = lstat(cfg_path, &st) == 0;
    write_cfg = !cfg_exists || o.force;
    if (!write_cfg) {
        if (o.url || o.ca_file || o.key_file || o.state_dir)
            return tool_usage_error(
                t, "setup", "%s exists: add --force to rewrite it with new settings", cfg_path);
        if (tool_load_config(t) != 0)
            return EXIT_FAIL;
        printf("configuration %s: kept\n", cfg_path);
    } else {
        if (o.url != NULL)
            snprintf(url, sizeof(url), "%s", o.url);
        else if (tool_read_line("Jellyfin URL (e.g. https://jellyfin.example:8920): ", url,
                                sizeof(url)) != 0)
            return EXIT_FAIL;
        if (url[0] == '\0' || strpbrk(url, " \t\r\n") != NULL)
            return tool_usage_error(t, "setup", "a URL without blanks is required");
        if (o.url == NULL) {
            jfa_config_defaults(&t->cfg);
            if (jfa_config_set(&t->cfg, "url", url, "the URL typed", err, sizeof(err)) != 0) {
                jfa_config_free(&t->cfg);
                jfa_config_defaults(&t->cfg);
                return tool_usage_error(t, "setup", "%s", err);
            }
        }
        text = config_text(&o, url);
        if (text == NULL) {
            tool_error(t, "out of memory");
            return EXIT_FAIL;
        }
        jfa_config_free(&t->cfg);
        jfa_config_defaults(&t->cfg);
        if (jfa_config_parse(&t->cfg, text, strlen(text), cfg_path, err, sizeof(err)) != 0) {
            tool_error(t, "%s", err);
            goto out;
        }
        t->cfg_loaded = true;
    }

    /* 2. the API key: keep one that works unless --force */
    r = jfa_api_key_read(&t->cfg, key, err, sizeof(err));
    if (r == 0 && !o.force) {
        if (key_works(t, key, &n_users)) {
            printf("API key %s: kept (GET /Users lists %zu users)\n", t->cfg.api_key_file, n_users);
            need_key = false;
        } else {
            printf("API key %s: refused by the server; creating a new one\n", t->cfg.api_key_file);
        }
    } else if (r < 0 && !o.force) {
        tool_error(t, "%s (fix it or use --force to replace it)", err);
        goto out;
    }
    if (need_key) {
        explicit_bzero(key, sizeof(key));
        if (create_key(t, &o, key) != 0)
            goto out;
        snprintf(keyline, sizeof(keyline), "%s\n", key);
        if (jfa_write_atomic(t->cfg.api_key_file, keyline, 33, 0600, err, sizeof(err)) != 0) {
            explicit_bzero(keyline, sizeof(keyline));
            tool_error(t, "writing the API key: %s", err);
            goto out;
        }
        explicit_bzero(keyline, sizeof(keyline));
        printf("API key written to %s (mode 0600)\n", t->cfg.api_key_file);
        if (!key_works(t, key, &n_users)) {
            tool_error(t, "the new API key does not work for GET /Users");
            goto out;
        }
    }

    /* 3. the configuration file, once the key is in place */
    if (write_cfg) {
        if (jfa_write_atomic(cfg_path, text, strlen(text), 0644, err, sizeof(err)) != 0) {
            tool_error(t, "writing the configuration: %s", err);
            goto out;
        }
        printf("configuration written to %s\n", cfg_path);
    }

    /* 4. the first sync */
    memset(&so, 0, sizeof(so));
    if (jfa_sync_run(&t->cfg, &t->log, &so, &sum, err, sizeof(err)) != 0) {
        tool_error(t, "first sync failed: %s", err);
        goto out;
    }

    /* 5. NSS and PAM wiring */
    if (o.enable && (nsswitch_apply(t, true) != 0 || pam_apply(t, true) != 0))
        goto out;
    print_next_steps();
    ret = EXIT_OK;
out:
    explicit_bzero(key, sizeof(key));
    free(text);
    return ret;
}
