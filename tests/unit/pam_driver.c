/*
 * pam_driver.c - what the PAM test drivers (pam_split, pam_sessions,
 * pam_qc) share: the conversation loop and the hook runner.
 *
 * Owns: nothing in the product; test code only (see pam_driver.h).
 */
#include "pam_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pam_driver_converse(int n, const struct pam_message **msg, struct pam_response **resp,
                        pam_driver_answer_fn answer, void *data)
{
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    int i;

    if (r == NULL)
        return PAM_BUF_ERR;
    for (i = 0; i < n; i++) {
        if (answer(msg[i], &r[i].resp, data) != 0)
            goto fail;
    }
    *resp = r;
    return PAM_SUCCESS;
fail:
    for (i = 0; i < n; i++)
        free(r[i].resp);
    free(r);
    return PAM_CONV_ERR;
}

static int password_answer(const struct pam_message *msg, char **out, void *password)
{
    if (msg->msg_style == PAM_PROMPT_ECHO_OFF || msg->msg_style == PAM_PROMPT_ECHO_ON)
        *out = strdup(password);
    return 0;
}

int pam_driver_password_conv(int n, const struct pam_message **msg, struct pam_response **resp,
                             void *password)
{
    return pam_driver_converse(n, msg, resp, password_answer, password);
}

int pam_driver_hook(const char *prog, const char *cmd, const char *step, const char *arg)
{
    char line[4096];
    char *preload = getenv("LD_PRELOAD");
    int rc;

    preload = preload != NULL ? strdup(preload) : NULL;
    unsetenv("LD_PRELOAD");
    if (arg != NULL)
        snprintf(line, sizeof(line), "%s %s %s", cmd, step, arg);
    else
        snprintf(line, sizeof(line), "%s %s", cmd, step);
    rc = system(line);
    if (preload != NULL) {
        setenv("LD_PRELOAD", preload, 1);
        free(preload);
    }
    if (rc != 0) {
        fprintf(stderr, "%s: hook failed at %s\n", prog, step);
        return -1;
    }
    return 0;
}
