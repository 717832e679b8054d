/*
 * tools/main.c - jellyfin-auth: entry point and subcommand dispatch.
 *
 * Owns: global options given before the subcommand (--config, --debug,
 * --help, --version), the top-level usage text, and calling the
 * subcommand with argv starting at its name.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "jfaconf.h"

static const struct {
    const char *name;
    int (*fn)(struct tool *t, int argc, char **argv);
    const char *what;
} commands[] = {
    {"setup", cmd_setup, "create the API key and config, run the first sync, wire NSS and PAM"},
    {"key", cmd_key, "rotate or revoke the API key (key rotate | key revoke)"},
    {"status", cmd_status, "check the server, the API key and the last sync"},
    {"sync", cmd_sync, "update the users database from Jellyfin"},
    {"users", cmd_users, "list the mapped users and the users left out"},
    {"names", cmd_names, "list, release, set or unset login names (names set ID LOGIN)"},
    {"ledger", cmd_ledger, "export or import the UID ledger (one set of UIDs for a fleet)"},
    {"explain", cmd_explain, "show every decision pam_jellyfin takes for a login of USER"},
    {"login", cmd_explain, "explain USER, asking for the password (a login as PAM does it)"},
    {"reset", cmd_reset, "clear the back-off of USER or --host ADDR (--server: Jellyfin's count)"},
    {"doctor", cmd_doctor, "check files, modes, NSS and PAM wiring"},
    {"samba", cmd_samba, "disable the Jellyfin users' Samba entries (samba disable-all)"},
};

static void usage(FILE *f)
{
    size_t i;

    fprintf(f, "Usage: jellyfin-auth [--config PATH] [--debug] COMMAND [OPTIONS]\n"
               "Let Jellyfin accounts log in to this machine (PAM + NSS).\n\n"
               "Commands:\n");
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
    fprintf(f,
            "\nCommon options (before or after COMMAND):\n"
            "  --config PATH  configuration file (default: $JELLYFIN_AUTH_CONF or %s)\n"
            "  --debug        more detail on stderr\n"
            "  --help         this text; 'jellyfin-auth COMMAND --help' for a command\n"
            "  --version      print the version\n\n"
            "Exit status: 0 success, 1 failure, 2 usage error. See jellyfin-auth(8).\n",
            JFA_DEFAULT_CONF);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        TOOL_COMMON_OPTIONS,
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct tool t;
    int opt, ret = EXIT_USAGE;
    size_t i;

    memset(&t, 0, sizeof(t));
    t.prog = "jellyfin-auth";
    t.log.fn = jfa_log_stderr;
    jfa_config_defaults(&t.cfg);

    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (tool_common_opt(&t, opt, optarg))
            continue;
        if (opt == 'h') {
            usage(stdout);
            ret = EXIT_OK;
            goto out;
        }
        if (opt == 'V') {
            printf("jellyfin-auth %s\n", JFA_VERSION);
            ret = EXIT_OK;
            goto out;
        }
        fprintf(stderr, "jellyfin-auth: unknown option '%s'\n", argv[optind - 1]);
        usage(stderr);
        goto out;
    }
    if (optind >= argc) {
        fprintf(stderr, "jellyfin-auth: no command given\n");
        usage(stderr);
        goto out;
    }
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[optind], commands[i].name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 0; /* re-initialise getopt for the subcommand */
            opterr = 1;
            ret = commands[i].fn(&t, sub_argc, sub_argv);
            goto out;
        }
    }
    fprintf(stderr, "jellyfin-auth: unknown command '%s'\n", argv[optind]);
    usage(stderr);
out:
    jfa_config_free(&t.cfg);
    return ret;
}
