/*
 * pam_quickconnect.c - passwordless logins with Jellyfin Quick Connect.
 *
 * Owns: the PAM side of a Quick Connect login: the conversation that shows
 * the code, and keeping the login like a password login (jfa_pam_remember:
 * acct_mgmt applies the same flags and close_session logs the token out).
 * The decisions (when it is offered, the throttling of requests, the wait,
 * the checks Jellyfin does not make on the approved account) are the
 * login flow's (lib/loginflow.c, jfa_flow_quick_connect), shared with
 * `jellyfin-auth explain --quick-connect`.
 *
 * The user chooses Quick Connect by answering the password prompt with an
 * empty line. The code is shown in the text of a PAM_PROMPT_ECHO_ON prompt
 * (sshd's keyboard-interactive delivers text only with a prompt); Enter
 * starts the wait, anything else cancels. sshd's password method answers no
 * ECHO_ON prompt: there the empty password just fails.
 */
#include "jfaconf.h"

#include <stdlib.h>
#include <string.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pam_quickconnect.h"

/* Show the code; true when the user pressed Enter. */
static bool show_code(void *ctx, const char *code, const char *jf_name)
{
    struct jfa_pam *p = ctx;
    char *answer = NULL;
    char name[128];
    bool wait = false;
    int rc;

    rc = pam_prompt(p->pamh, PAM_PROMPT_ECHO_ON, &answer,
                    "Jellyfin Quick Connect code: %s\n"
                    "Approve it in a Jellyfin app signed in as %s (Quick Connect in the user "
                    "menu), then press Enter; type q to cancel: ",
                    code, jfa_log_escape(name, sizeof(name), jf_name));
    if (rc != PAM_SUCCESS || answer == NULL)
        jfa_logf(&p->log, LOG_NOTICE,
                 "Quick Connect for '%s' abandoned: the conversation cannot show the code (%s)",
                 p->user_esc, pam_strerror(p->pamh, rc));
    else if (answer[0] != '\0')
        jfa_logf(&p->log, LOG_NOTICE, "Quick Connect for '%s' cancelled by the user", p->user_esc);
    else
        wait = true;
    if (answer != NULL) {
        explicit_bzero(answer, strlen(answer));
        free(answer);
    }
    return wait;
}

static void tell(void *ctx, const char *msg)
{
    jfa_pam_tell(ctx, msg);
}

int jfa_pam_quick_connect(struct jfa_pam *p)
{
    enum jfa_verdict v;
    bool offered = false;

    p->flow.service = jfa_pam_item_text(p, PAM_SERVICE);
    p->flow.show_code = show_code;
    p->flow.tell = tell;
    p->flow.conv_ctx = p;
    v = jfa_flow_quick_connect(&p->flow, &offered);
    return offered ? jfa_pam_code(v) : PAM_IGNORE;
}
