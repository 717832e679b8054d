/*
 * quickconnect.h - the Jellyfin Quick Connect client.
 *
 * Owns: the four Quick Connect calls (Enabled, Initiate, Connect,
 * AuthenticateWithQuickConnect) and the bounded wait for an approval.
 * Uses jellyfin.h's client (Authorization header, deadlines, status
 * mapping) and jfjson.h's decoders. The secret never reaches c->err or a
 * log line: it travels in the query (jfa_client_call's secret_query) and
 * in a request body that is wiped after use.
 */
#ifndef JFA_QUICKCONNECT_H
#define JFA_QUICKCONNECT_H

#include <stdbool.h>
#include <time.h>

#include "jellyfin.h"

/* Seconds between two polls of GET /QuickConnect/Connect. */
#define JFA_QC_POLL_INTERVAL 2

/* GET /QuickConnect/Enabled (anonymous): the server's switch. */
enum jfa_status jfa_qc_enabled(struct jfa_client *c, bool *enabled);

/* POST /QuickConnect/Initiate with the client's identity: a new request
 * with its code and secret (wipe with jfa_quick_connect_wipe). The server's
 * switch off gives JFA_ERR_AUTH (401). */
enum jfa_status jfa_qc_initiate(struct jfa_client *c, struct jfa_quick_connect *out);

/* GET /QuickConnect/Connect?secret=: updates q->authenticated. An expired
 * or unknown secret gives JFA_ERR_NOTFOUND. */
enum jfa_status jfa_qc_check(struct jfa_client *c, struct jfa_quick_connect *q);

/* Check, then every interval seconds until q is approved or CLOCK_MONOTONIC
 * reaches deadline (at least one check; a call may end up to one request
 * timeout after the deadline). JFA_OK: q->authenticated tells which. */
enum jfa_status jfa_qc_wait(struct jfa_client *c, struct jfa_quick_connect *q,
                            const struct timespec *deadline, unsigned interval);

/* POST /Users/AuthenticateWithQuickConnect {"Secret"}: the approved
 * request's AuthenticationResult (free with jfa_auth_result_free). Not
 * approved, unknown or expired: JFA_ERR_NOTFOUND. Jellyfin made this token
 * for whoever approved: the caller checks out->user. */
enum jfa_status jfa_qc_redeem(struct jfa_client *c, const struct jfa_quick_connect *q,
                              struct jfa_auth_result *out);

#endif
