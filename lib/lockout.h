/*
 * lockout.h - the lockout guard's decision (see lockout.c).
 */
#ifndef JFA_LOCKOUT_H
#define JFA_LOCKOUT_H

#include <stddef.h>

#include "jellyfin.h"

enum jfa_lockout {
    JFA_LOCKOUT_SEND,        /* the password may be sent */
    JFA_LOCKOUT_REFUSE,      /* one more failure would disable the account */
    JFA_LOCKOUT_OFF,         /* lockout_guard = no: nothing was checked */
    JFA_LOCKOUT_NO_KEY,      /* no API key file, or not root: nothing was checked */
    JFA_LOCKOUT_SKIPPED,     /* could not check (why says why); send it */
    JFA_LOCKOUT_UNREACHABLE, /* the server cannot be reached (c->err) */
    JFA_LOCKOUT_TLS,         /* the server's certificate failed verification (c->err):
                              * not "unreachable", the password must not be sent */
    JFA_LOCKOUT_ERROR,       /* this process cannot check (out of descriptors or memory,
                              * e.g. by limits the caller of su set): the password must
                              * not be sent, and it is no reason to go offline */
};

struct jfa_lockout_info {
    int count; /* InvalidLoginAttemptCount, -1 unknown */
    int limit; /* LoginAttemptsBeforeLockout, -1 none or unknown */
};

/* Read the user's counters with the API key (GET /Users/{jf_id}) and
 * decide whether a password may be sent. why is filled for SKIPPED and
 * NO_KEY, safe to log. */
enum jfa_lockout jfa_lockout_check(struct jfa_client *c, const char *jf_id,
                                   struct jfa_lockout_info *info, char *why, size_t whylen);

#endif
