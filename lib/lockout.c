/*
 * lockout.c - the lockout guard's decision, taken by the login flow
 * (lib/loginflow.c) for pam_jellyfin and `jellyfin-auth explain` alike.
 *
 * Owns: whether a password may be sent to Jellyfin without risking that it
 * is the failure that makes Jellyfin disable the account
 * (Policy.LoginAttemptsBeforeLockout). Jellyfin's counter only resets on a
 * successful login, so local back-off alone cannot stop a slow spraying
 * campaign; the live counter, read with the API key, also includes
 * failures through other clients. A limit of 1 is not guarded: guarding it
 * would mean never asking.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "lockout.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apikey.h"
#include "log.h"

enum jfa_lockout jfa_lockout_check(struct jfa_client *c, const char *jf_id,
                                   struct jfa_lockout_info *info, char *why, size_t whylen)
{
    char key[33], err[JFA_ERRLEN];
    struct jfa_user u;
    enum jfa_status st;
    enum jfa_lockout res = JFA_LOCKOUT_SEND;
    int r;

    info->count = -1;
    info->limit = -1;
    if (whylen > 0)
        why[0] = '\0';
    if (!c->cfg->lockout_guard)
        return JFA_LOCKOUT_OFF;
    r = jfa_api_key_read(c->cfg, key, err, sizeof(err));
    if (r == JFA_APIKEY_NOT_NOW) {
        jfa_set_err(why, whylen, "%s", err);
        return JFA_LOCKOUT_ERROR;
    }
    if (r != 0) {
        jfa_set_err(why, whylen, "%s", err);
        /* Only root can read it: elsewhere that is expected, not a fault. */
        return r == JFA_ABSENT || geteuid() != 0 ? JFA_LOCKOUT_NO_KEY : JFA_LOCKOUT_SKIPPED;
    }
    st = jfa_get_user(c, key, jf_id, &u);
    explicit_bzero(key, sizeof(key));
    if (st == JFA_ERR_UNAVAILABLE)
        return JFA_LOCKOUT_UNREACHABLE;
    if (st == JFA_ERR_TLS)
        return JFA_LOCKOUT_TLS;
    if (st == JFA_ERR_INTERNAL) {
        jfa_set_err(why, whylen, "cannot read the user from Jellyfin: %s", c->err);
        return JFA_LOCKOUT_ERROR;
    }
    if (st != JFA_OK) {
        jfa_set_err(why, whylen, "cannot read the user from Jellyfin with the API key: %s: %s",
                    jfa_status_str(st), c->err);
        /* A key the server refuses is the admin's to fix: the guard steps
         * aside. Anything else (an answer we cannot decode: json-c out of
         * memory under a limit the caller of su set) may be the caller's
         * doing in a set-id program: fail closed there. */
        if (st != JFA_ERR_AUTH && st != JFA_ERR_FORBIDDEN && jfa_caller_steers_process())
            return JFA_LOCKOUT_ERROR;
        return JFA_LOCKOUT_SKIPPED;
    }
    info->count = u.policy.invalid_login_attempt_count;
    info->limit = u.policy.login_attempts_before_lockout;
    if (info->limit == 1) {
        jfa_set_err(why, whylen, "Jellyfin disables the account at the first failed login");
        res = JFA_LOCKOUT_SKIPPED;
    } else if (info->limit >= 2 && !u.policy.is_disabled && info->count >= info->limit - 1) {
        res = JFA_LOCKOUT_REFUSE;
    }
    jfa_user_free(&u);
    return res;
}
