/*
 * pam_split.c - test driver: a login split across two processes, as sshd
 * runs keyboard-interactive authentication.
 *
 * Owns: nothing in the product. With libpam (under pam_wrapper), in the
 * way of OpenSSH's auth-pam.c without pthreads: the parent starts the
 * handle and sets PAM_RHOST; a forked child runs pam_authenticate and
 * pam_acct_mgmt and exits (no pam_end, as sshd's child does not); then
 * the parent, with the same handle, runs (optionally pam_acct_mgmt,)
 * pam_open_session, pam_close_session and pam_end. HOOK runs through
 * system() (LD_PRELOAD unset) with the step name (authenticated, opened,
 * closed) after each stage; a hook failure fails the run.
 * Prints "child=RC acct=RC open=RC close=RC" (PAM codes, - when not run).
 * Usage: pam_split SERVICE USER PASSWORD RHOST HOOK [parent-acct]
 * Exit: 0 when every stage ran to the end, 1 on a hook failure, 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "pam_driver.h"

static int hook(const char *cmd, const char *step)
{
    return pam_driver_hook("pam_split", cmd, step, NULL);
}

static void rc_text(char *out, size_t len, int rc)
{
    if (rc < 0)
        snprintf(out, len, "-");
    else
        snprintf(out, len, "%d", rc);
}

int main(int argc, char **argv)
{
    struct pam_conv c = {pam_driver_password_conv, NULL};
    pam_handle_t *h = NULL;
    int child = -1, acct = -1, opened = -1, closed = -1, status = 0, ret = 1;
    char t[4][16];
    pid_t pid;

    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "parent-acct") == 0)) {
        fprintf(stderr, "usage: pam_split SERVICE USER PASSWORD RHOST HOOK [parent-acct]\n");
        return 2;
    }
    c.appdata_ptr = argv[3];
    if (pam_start(argv[1], argv[2], &c, &h) != PAM_SUCCESS ||
        pam_set_item(h, PAM_RHOST, argv[4]) != PAM_SUCCESS) {
        fprintf(stderr, "pam_split: pam_start failed\n");
        return 1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        perror("pam_split: fork");
        goto out;
    }
    if (pid == 0) {
        int rc = pam_authenticate(h, 0);
        if (rc == PAM_SUCCESS)
            rc = pam_acct_mgmt(h, 0);
        _exit(rc);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
        fprintf(stderr, "pam_split: the child did not exit\n");
        goto out;
    }
    child = WEXITSTATUS(status);
    if (hook(argv[5], "authenticated") != 0)
        goto out;
    if (child == PAM_SUCCESS) {
        if (argc == 7)
            acct = pam_acct_mgmt(h, 0);
        if (acct <= 0) {
            opened = pam_open_session(h, 0);
            if (hook(argv[5], "opened") != 0)
                goto out;
            if (opened == PAM_SUCCESS) {
                closed = pam_close_session(h, 0);
                if (hook(argv[5], "closed") != 0)
                    goto out;
            }
        }
    }
    ret = 0;
out:
    rc_text(t[0], sizeof(t[0]), child);
    rc_text(t[1], sizeof(t[1]), acct);
    rc_text(t[2], sizeof(t[2]), opened);
    rc_text(t[3], sizeof(t[3]), closed);
    printf("child=%s acct=%s open=%s close=%s\n", t[0], t[1], t[2], t[3]);
    pam_end(h, PAM_SUCCESS);
    return ret;
}
