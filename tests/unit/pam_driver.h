/*
 * pam_driver.h - what the PAM test drivers (pam_split, pam_sessions,
 * pam_qc) share: the conversation loop and the hook runner.
 *
 * Owns: nothing in the product; test code only.
 */
#ifndef JFA_TEST_PAM_DRIVER_H
#define JFA_TEST_PAM_DRIVER_H

#include <security/pam_appl.h>

/*
 * Answers one message: sets *out to a malloc'ed answer (left NULL for no
 * answer) and returns 0, or returns -1 to fail the whole conversation.
 */
typedef int (*pam_driver_answer_fn)(const struct pam_message *msg, char **out, void *data);

/*
 * The body of a PAM conversation function: calls ANSWER for each message
 * in turn. Returns PAM_SUCCESS with *resp set, PAM_BUF_ERR, or
 * PAM_CONV_ERR (nothing allocated) when ANSWER failed.
 */
int pam_driver_converse(int n, const struct pam_message **msg, struct pam_response **resp,
                        pam_driver_answer_fn answer, void *data);

/*
 * A conversation function answering every prompt (echo on or off) with the
 * password passed as appdata_ptr.
 */
int pam_driver_password_conv(int n, const struct pam_message **msg, struct pam_response **resp,
                             void *password);

/*
 * Runs "CMD STEP" (or "CMD STEP ARG") through system() with LD_PRELOAD
 * unset: hooks talk to the fake and read files, and a shell under
 * pam_wrapper would take (and copy the service files into) one more of its
 * /tmp/pam.X directories. Returns 0 when it exited 0, else prints
 * "PROG: hook failed at STEP" and returns -1.
 */
int pam_driver_hook(const char *prog, const char *cmd, const char *step, const char *arg);

#endif
