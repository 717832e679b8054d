/*
 * tools/cmd_reset.c - `jellyfin-auth reset USER | --host ADDR [--server]`.
 *
 * Owns: clearing the local back-off (like `faillock --reset`): a user's
 * throttle record and refused-password memory, or a remote host's throttle
 * record; with --server also the user's failed-login count on Jellyfin
 * (POST /Users/{id}/Policy with the API key). It takes the locks the PAM
 * module takes (the user's login lock, then the throttle lock), so it never
 * interleaves with a login of that user in flight.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikey.h"
#include "cmd.h"
#include "db.h"
#include "jellyfin.h"
#include "state.h"

static void help(void)
{
    printf("Usage: jellyfin-auth reset USER [--server] [--host ADDR] [--config PATH] [--debug]\n"
           "       jellyfin-auth reset --host ADDR\n"
           "Clear the local back-off pam_jellyfin keeps after failed logins (as faillock\n"
           "--reset does): USER's failure count and the passwords Jellyfin refused lately,\n"
           "or, with --host, the failure count of a remote host (an address as sshd passes\n"
           "it in PAM_RHOST). Takes the locks the module takes, so a login in flight is\n"
           "waited for. Run as root.\n\n"
           "  --host ADDR  clear the back-off of this remote host\n"
           "  --server     also set USER's failed-login count on Jellyfin to 0 (the\n"
           "               lockout guard's count), with the API key; a user Jellyfin has\n"
           "               already disabled stays disabled (re-enable them in Jellyfin)\n\n"
           "Exit status: 0 when everything asked was cleared, 1 otherwise.\n");
}

static int reset_server(struct tool *t, const struct jfa_db_user *u, const char *esc)
{
    struct jfa_client c;
    char key[33], err[JFA_ERRLEN];
    enum jfa_status st;
    int was = -1;

    if (jfa_api_key_read(&t->cfg, key, err, sizeof(err)) != 0) {
        tool_error(t, "cannot read the API key: %s", err);
        return -1;
    }
    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0) {
        explicit_bzero(key, sizeof(key));
        tool_error(t, "cannot set up the Jellyfin client");
        return -1;
    }
    st = jfa_reset_login_attempts(&c, key, u->jf_id, &was);
    explicit_bzero(key, sizeof(key));
    if (st != JFA_OK) {
        tool_error(t, "cannot reset the failed-login count of '%s' on Jellyfin: %s: %s", esc,
                   jfa_status_str(st), c.err);
        return -1;
    }
    printf("server: failed-login count of '%s' on Jellyfin set to 0 (was %d)\n", esc, was);
    return 0;
}

static int reset_user(struct tool *t, const char *private_dir, const char *user, bool server)
{
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    char esc[128], err[JFA_ERRLEN], why[512];
    unsigned long count = 0, after = 0;
    long wait = 0, left = 0;
    int r, rejected, ret = -1;

    jfa_log_escape(esc, sizeof(esc), user);
    r = tool_find_user(t, user, &db, &u, why, sizeof(why));
    if (r < 0)
        goto out;
    if (r == 1)
        tool_error(t, "'%s' is not in the users database: pam_jellyfin keeps no back-off for it",
                   esc);
    else if (r == 2)
        tool_error(t,
                   "'%s' is not a Jellyfin user here (%s): pam_jellyfin keeps no back-off for it",
                   esc, why);
    if (r != 0)
        goto out;
    /* The module's order: the user's login lock, then the throttle lock
     * (taken inside jfa_throttle_success). */
    r = jfa_state_lock_user(private_dir, u.jf_id, t->cfg.timeout * 1000L,
                            jfa_state_lock_hold_ms(&t->cfg), &lock, err, sizeof(err));
    if (lock.ended_pid != 0)
        printf("local: ended pid %ld, which held the login lock of '%s' and was %s\n",
               lock.ended_pid, esc, lock.ended_why);
    if (r == -ETIMEDOUT) {
        tool_error(t, "a login of '%s' is still being checked; try again", esc);
        goto out;
    }
    if (r != 0) {
        tool_error(t, "cannot take the login lock of '%s' (run as root): %s", esc, err);
        goto out;
    }
    jfa_throttle_info(&t->cfg, private_dir, u.jf_id, time(NULL), &count, &wait);
    rejected =
        jfa_state_rejected_count(private_dir, u.jf_id, time(NULL), t->cfg.throttle_window, &left);
    jfa_throttle_success(private_dir, u.jf_id);
    if (jfa_state_rejected_clear(private_dir, u.jf_id) != 0) {
        tool_error(t, "cannot forget the refused passwords of '%s' under %s", esc, private_dir);
        goto out;
    }
    jfa_throttle_info(&t->cfg, private_dir, u.jf_id, time(NULL), &after, &wait);
    if (after != 0) {
        tool_error(t, "the back-off record of '%s' under %s/throttle could not be removed", esc,
                   private_dir);
        goto out;
    }
    printf("local: back-off of '%s' cleared (%lu failures counted), %d refused passwords "
           "forgotten\n",
           esc, count, rejected);
    if (server && reset_server(t, &u, esc) != 0)
        goto out;
    ret = 0;
out:
    jfa_state_unlock(&lock);
    jfa_db_close(&db);
    return ret;
}

static int reset_host(struct tool *t, const char *private_dir, const char *host)
{
    char key[300], esc[256];
    unsigned long count = 0, after = 0;
    long wait = 0;

    jfa_log_escape(esc, sizeof(esc), host);
    if (host[0] == '\0' || strlen(host) > 255) {
        tool_error(t, "--host: an address or host name of 1 to 255 bytes, not '%s'", esc);
        return -1;
    }
    snprintf(key, sizeof(key), "host:%s", host);
    jfa_throttle_info(&t->cfg, private_dir, key, time(NULL), &count, &wait);
    jfa_throttle_success(private_dir, key);
    jfa_throttle_info(&t->cfg, private_dir, key, time(NULL), &after, &wait);
    if (after != 0) {
        tool_error(t,
                   "the back-off record of %s under %s/throttle could not be removed (run as "
                   "root)",
                   esc, private_dir);
        return -1;
    }
    printf("local: back-off of host %s cleared (%lu failures counted)\n", esc, count);
    return 0;
}

int cmd_reset(struct tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"host", required_argument, NULL, 'H'},
        {"server", no_argument, NULL, 'S'},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *user = NULL, *host = NULL;
    char *private_dir = NULL;
    bool server = false;
    int opt, ret = EXIT_FAIL;

    while ((opt = tool_getopt(argc, argv, "h", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'S':
            server = true;
            break;
        case 'h':
            help();
            return EXIT_OK;
        default:
            return tool_usage_error(t, "reset", "invalid option");
        }
    }
    if (optind + 1 == argc)
        user = argv[optind];
    else if (optind != argc)
        return tool_usage_error(t, "reset", "expected at most one USER");
    if (user == NULL && host == NULL)
        return tool_usage_error(t, "reset", "expected USER or --host ADDR");
    if (server && user == NULL)
        return tool_usage_error(t, "reset", "--server needs USER");
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    private_dir = jfa_config_private_dir(&t->cfg);
    if (private_dir == NULL)
        goto out;
    if (user != NULL && reset_user(t, private_dir, user, server) != 0)
        goto out;
    if (host != NULL && reset_host(t, private_dir, host) != 0)
        goto out;
    ret = EXIT_OK;
out:
    free(private_dir);
    return ret;
}
