/*
 * tools/cmd_samba.c - `jellyfin-auth samba disable-all`: what the package
 * does to Samba's passdb when jellyfin-auth is removed.
 *
 * Owns: the command line of the step (root only, nothing to do without a
 * configuration or without Samba's tools) and its report; the decisions
 * (which entries are a Jellyfin user's, the list the purge reads) are
 * jfa_samba_disable_all's (lib/samba_sync.c). debian/jellyfin-auth.prerm
 * runs it on remove, debian/jellyfin-auth.postrm removes the listed
 * entries on purge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "samba.h"

static void help(void)
{
    printf("Usage: jellyfin-auth samba disable-all [--config PATH] [--debug]\n"
           "Disable (smbpasswd -d) the Samba passdb entry of every Jellyfin user: the\n"
           "login names of the users database, and names the ledger says a Jellyfin\n"
           "user held that no other account source knows now. Entries of local\n"
           "accounts and unknown names are left alone. The names go to PRIVATE/%s\n"
           "(root only), which the package's purge reads to remove those entries\n"
           "(smbpasswd -x). The package runs it when jellyfin-auth is removed: then\n"
           "nothing keeps the passdb in step with Jellyfin any more. Done also with\n"
           "samba_sync = no (entries of an earlier samba_sync = yes). A sync or a login\n"
           "after a reinstall enables an entry again. Root only.\n",
           JFA_SAMBA_ENTRIES_FILE);
}

int cmd_samba(struct tool *t, int argc, char **argv)
{
    char err[JFA_ERRLEN];
    const char *tools[2];
    size_t listed = 0;
    struct stat st;
    int ret, r;

    ret = tool_parse_opts(t, "samba", help, NULL, NULL, argc, argv);
    if (ret >= 0)
        return ret;
    if (optind >= argc)
        return tool_usage_error(t, "samba", "expected 'disable-all'");
    if (strcmp(argv[optind], "disable-all") != 0)
        return tool_usage_error(t, "samba", "unknown action '%s' (disable-all)", argv[optind]);
    if (++optind < argc)
        return tool_usage_error(t, "samba", "unexpected argument '%s'", argv[optind]);
    if (geteuid() != 0) {
        fprintf(stderr, "%s samba: must run as root (smbpasswd changes Samba's passdb)\n", t->prog);
        return EXIT_FAIL;
    }
    if (stat(tool_config_path(t), &st) != 0 && errno == ENOENT) {
        printf("samba: no configuration at %s (setup never ran): nothing to do\n",
               tool_config_path(t));
        return EXIT_OK;
    }
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    tools[0] = t->cfg.samba_pdbedit;
    tools[1] = t->cfg.samba_smbpasswd;
    for (size_t i = 0; i < 2; i++) {
        if (stat(tools[i], &st) != 0 && errno == ENOENT) {
            printf("samba: %s is not installed: no passdb to change\n", tools[i]);
            return EXIT_OK;
        }
    }
    r = jfa_samba_disable_all(&t->cfg, &t->log, stdout, &listed, err, sizeof(err));
    if (r < 0) {
        tool_error(t, "samba disable-all: %s", err);
        return EXIT_FAIL;
    }
    printf("samba: %zu Jellyfin user entr%s disabled%s\n", listed, listed == 1 ? "y" : "ies",
           r > 0 ? "; some could not be (see above)" : "");
    return r > 0 ? EXIT_FAIL : EXIT_OK;
}
