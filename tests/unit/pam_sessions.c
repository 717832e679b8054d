/*
 * pam_sessions.c - test driver: two overlapping PAM sessions of one user.
 *
 * Owns: nothing in the product. Runs, with libpam (under pam_wrapper):
 *   handle 1: authenticate, acct_mgmt, open_session   -> HOOK opened1
 *   handle 2: authenticate, acct_mgmt, open_session   -> HOOK opened2
 *   handle 1: close_session, end                      -> HOOK closed1
 *   handle 2: close_session, end                      -> HOOK closed2
 * HOOK is run through system() (LD_PRELOAD unset) with the step name as its
 * argument; a hook failure or a PAM failure fails the run (exit 1).
 * Usage: pam_sessions SERVICE USER PASSWORD HOOK
 */
#include <stdio.h>

#include <security/pam_appl.h>

#include "pam_driver.h"

static int hook(const char *cmd, const char *step)
{
    return pam_driver_hook("pam_sessions", cmd, step, NULL);
}

static pam_handle_t *login(const char *service, const char *user, char *password)
{
    struct pam_conv c = {pam_driver_password_conv, password};
    pam_handle_t *h = NULL;
    int rc;

    rc = pam_start(service, user, &c, &h);
    if (rc == PAM_SUCCESS)
        rc = pam_authenticate(h, 0);
    if (rc == PAM_SUCCESS)
        rc = pam_acct_mgmt(h, 0);
    if (rc == PAM_SUCCESS)
        rc = pam_open_session(h, 0);
    if (rc != PAM_SUCCESS) {
        fprintf(stderr, "pam_sessions: login failed: %s\n", pam_strerror(h, rc));
        if (h != NULL)
            pam_end(h, rc);
        return NULL;
    }
    return h;
}

static int logout(pam_handle_t *h)
{
    int rc = pam_close_session(h, 0);

    pam_end(h, rc);
    if (rc != PAM_SUCCESS)
        fprintf(stderr, "pam_sessions: close_session failed\n");
    return rc == PAM_SUCCESS ? 0 : -1;
}

int main(int argc, char **argv)
{
    pam_handle_t *h1 = NULL, *h2 = NULL;
    int ret = 1;

    if (argc != 5) {
        fprintf(stderr, "usage: pam_sessions SERVICE USER PASSWORD HOOK\n");
        return 2;
    }
    h1 = login(argv[1], argv[2], argv[3]);
    if (h1 == NULL || hook(argv[4], "opened1") != 0)
        goto out;
    h2 = login(argv[1], argv[2], argv[3]);
    if (h2 == NULL || hook(argv[4], "opened2") != 0)
        goto out;
    if (logout(h1) != 0 || hook(argv[4], "closed1") != 0) {
        h1 = NULL;
        goto out;
    }
    h1 = NULL;
    if (logout(h2) != 0 || hook(argv[4], "closed2") != 0) {
        h2 = NULL;
        goto out;
    }
    h2 = NULL;
    ret = 0;
out:
    if (h1 != NULL)
        pam_end(h1, PAM_SUCCESS);
    if (h2 != NULL)
        pam_end(h2, PAM_SUCCESS);
    return ret;
}
