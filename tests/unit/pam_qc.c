/*
 * pam_qc.c - test driver: a scripted PAM conversation for Quick Connect.
 *
 * Owns: nothing in the product. Runs, with libpam (under pam_wrapper),
 * authenticate, acct_mgmt, open_session, close_session in one handle.
 * Every message is printed as "STYLE: text". Prompts are answered in turn
 * with ANSWER... ("-" is the empty line; "!" makes the conversation fail,
 * as sshd's password method does for an echo-on prompt; with no answer
 * left the conversation fails too). Before answering a prompt that shows a
 * Quick Connect code ("code: DIGITS"), "HOOK code DIGITS" runs; after
 * open_session "HOOK opened", after close_session "HOOK closed". Prints
 * "STEP: pam_strerror" for each step and exits 0 when all succeeded, 1 on a
 * PAM failure, 3 when a hook failed.
 * Usage: pam_qc SERVICE USER RHOST|- HOOK [ANSWER...]
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "pam_driver.h"

static char **answers;
static int n_answers;
static const char *hook_cmd;
static int hook_failed;

static int hook(const char *step, const char *arg)
{
    if (pam_driver_hook("pam_qc", hook_cmd, step, arg) != 0) {
        hook_failed = 1;
        return -1;
    }
    return 0;
}

static const char *style(int s)
{
    switch (s) {
    case PAM_PROMPT_ECHO_OFF:
        return "PROMPT_ECHO_OFF";
    case PAM_PROMPT_ECHO_ON:
        return "PROMPT_ECHO_ON";
    case PAM_ERROR_MSG:
        return "ERROR_MSG";
    case PAM_TEXT_INFO:
        return "TEXT_INFO";
    }
    return "OTHER";
}

/* one message: print it; a prompt showing a code runs the hook first */
static int answer(const struct pam_message *msg, char **out, void *data)
{
    const char *m = msg->msg, *code;

    (void)data;
    printf("%s: %s\n", style(msg->msg_style), m);
    fflush(stdout);
    if (msg->msg_style != PAM_PROMPT_ECHO_OFF && msg->msg_style != PAM_PROMPT_ECHO_ON)
        return 0;
    code = strstr(m, "code: ");
    if (code != NULL && isdigit((unsigned char)code[6])) {
        char digits[32];
        size_t k = 0;

        for (code += 6; isdigit((unsigned char)*code) && k + 1 < sizeof(digits); code++)
            digits[k++] = *code;
        digits[k] = '\0';
        hook("code", digits);
    }
    if (n_answers == 0 || strcmp(answers[0], "!") == 0)
        return -1;
    *out = strdup(strcmp(answers[0], "-") == 0 ? "" : answers[0]);
    answers++;
    n_answers--;
    return 0;
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    return pam_driver_converse(n, msg, resp, answer, data);
}

static int step(pam_handle_t *h, const char *name, int rc)
{
    printf("%s: %s\n", name, pam_strerror(h, rc));
    fflush(stdout);
    return rc;
}

int main(int argc, char **argv)
{
    struct pam_conv c = {conv, NULL};
    pam_handle_t *h = NULL;
    int rc;

    if (argc < 5) {
        fprintf(stderr, "usage: pam_qc SERVICE USER RHOST|- HOOK [ANSWER...]\n");
        return 2;
    }
    hook_cmd = argv[4];
    answers = argv + 5;
    n_answers = argc - 5;
    rc = pam_start(argv[1], argv[2], &c, &h);
    if (rc != PAM_SUCCESS) {
        fprintf(stderr, "pam_qc: pam_start failed\n");
        return 1;
    }
    if (strcmp(argv[3], "-") != 0)
        rc = pam_set_item(h, PAM_RHOST, argv[3]);
    if (rc == PAM_SUCCESS)
        rc = step(h, "authenticate", pam_authenticate(h, 0));
    if (rc == PAM_SUCCESS)
        rc = step(h, "acct_mgmt", pam_acct_mgmt(h, 0));
    if (rc == PAM_SUCCESS)
        rc = step(h, "open_session", pam_open_session(h, 0));
    if (rc == PAM_SUCCESS) {
        hook("opened", "-");
        rc = step(h, "close_session", pam_close_session(h, 0));
        if (rc == PAM_SUCCESS)
            hook("closed", "-");
    }
    pam_end(h, rc);
    if (hook_failed)
        return 3;
    return rc == PAM_SUCCESS ? 0 : 1;
}
