/*
 * pam_lockout.c - the lockout guard and the login lock in pam_jellyfin.
 *
 * Owns: the PAM results of lib/loginflow.c's guard and per-user login lock
 * for the password group (pam_password.c); authentication runs the whole
 * flow in lib/loginflow.c. The guard needs the root-only API key; where
 * the module does not run as root it steps aside and local throttling is
 * the only protection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "pam_lockout.h"

int jfa_pam_lockout_guard(struct jfa_pam *p, struct jfa_client *c)
{
    /* No password: the verifier rule is for logins, not password changes. */
    return jfa_pam_code(jfa_flow_guard(&p->flow, c, NULL));
}

int jfa_pam_login_lock(struct jfa_pam *p, struct jfa_state_lock *lock)
{
    return jfa_pam_code(jfa_flow_login_lock(&p->flow, lock));
}
