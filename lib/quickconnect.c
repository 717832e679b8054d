/*
 * lib/quickconnect.c - the Jellyfin Quick Connect client.
 *
 * Owns: GET /QuickConnect/Enabled, POST /QuickConnect/Initiate, GET
 * /QuickConnect/Connect?secret=, POST /Users/AuthenticateWithQuickConnect
 * and the polling loop (jfa_qc_wait). Server behaviour: jellyfin-api.md
 * section 11. Transport, Authorization header and status mapping come from
 * jellyfin.c (jfa_client_call); decoding from jfjson.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "quickconnect.h"

enum jfa_status jfa_qc_enabled(struct jfa_client *c, bool *enabled)
{
    static const char path[] = "/QuickConnect/Enabled";
    struct jfa_http_response resp;
    char derr[JFA_ERRLEN];
    enum jfa_status st;

    *enabled = false;
    st = jfa_client_call(c, "GET", path, NULL, NULL, NULL, true, &resp);
    if (st != JFA_OK)
        return st;
    if (jfa_json_bool(resp.body, resp.body_len, enabled, derr, sizeof(derr)) < 0)
        st = jfa_client_decode_failed(c, "GET", path, &resp, derr);
    jfa_http_response_free(&resp);
    return st;
}

/* Decode a QuickConnectResult answer and free it. */
static enum jfa_status decode_result(struct jfa_client *c, const char *method, const char *path,
                                     struct jfa_http_response *resp, struct jfa_quick_connect *out)
{
    char derr[JFA_ERRLEN];
    enum jfa_status st = JFA_OK;

    if (jfa_json_quick_connect(resp->body, resp->body_len, out, derr, sizeof(derr)) < 0)
        st = jfa_client_decode_failed(c, method, path, resp, derr);
    jfa_http_response_free(resp); /* wipes the body */
    return st;
}

enum jfa_status jfa_qc_initiate(struct jfa_client *c, struct jfa_quick_connect *out)
{
    static const char path[] = "/QuickConnect/Initiate";
    struct jfa_http_response resp;
    enum jfa_status st;

    memset(out, 0, sizeof(*out));
    st = jfa_client_call(c, "POST", path, NULL, NULL, NULL, true, &resp);
    if (st != JFA_OK)
        return st;
    return decode_result(c, "POST", path, &resp, out);
}

enum jfa_status jfa_qc_check(struct jfa_client *c, struct jfa_quick_connect *q)
{
    static const char path[] = "/QuickConnect/Connect";
    struct jfa_quick_connect now;
    struct jfa_http_response resp;
    char query[sizeof(q->secret) + 16];
    enum jfa_status st;

    snprintf(query, sizeof(query), "?secret=%s", q->secret);
    st = jfa_client_call(c, "GET", path, query, NULL, NULL, true, &resp);
    explicit_bzero(query, sizeof(query));
    if (st != JFA_OK)
        return st;
    st = decode_result(c, "GET", path, &resp, &now);
    if (st == JFA_OK) {
        if (strcmp(now.secret, q->secret) != 0) {
            snprintf(c->err, sizeof(c->err),
                     "GET %s: the answer is about another Quick Connect request", path);
            st = JFA_ERR_PROTOCOL;
        } else {
            q->authenticated = now.authenticated;
        }
    }
    jfa_quick_connect_wipe(&now);
    return st;
}

static bool reached(const struct timespec *deadline)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > deadline->tv_sec ||
           (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

enum jfa_status jfa_qc_wait(struct jfa_client *c, struct jfa_quick_connect *q,
                            const struct timespec *deadline, unsigned interval)
{
    struct timespec wake;
    enum jfa_status st;

    for (;;) {
        st = jfa_qc_check(c, q);
        if (st != JFA_OK || q->authenticated || reached(deadline))
            return st;
        /* sleep interval seconds, or less when the deadline is nearer */
        clock_gettime(CLOCK_MONOTONIC, &wake);
        wake.tv_sec += interval;
        if (wake.tv_sec > deadline->tv_sec ||
            (wake.tv_sec == deadline->tv_sec && wake.tv_nsec > deadline->tv_nsec))
            wake = *deadline;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, NULL) == EINTR)
            ;
    }
}

enum jfa_status jfa_qc_redeem(struct jfa_client *c, const struct jfa_quick_connect *q,
                              struct jfa_auth_result *out)
{
    static const char path[] = "/Users/AuthenticateWithQuickConnect";
    struct jfa_http_response resp;
    char derr[JFA_ERRLEN];
    enum jfa_status st;
    char *body;

    memset(out, 0, sizeof(*out));
    body = jfa_json_quick_connect_body(q->secret);
    if (body == NULL) {
        snprintf(c->err, sizeof(c->err), "POST %s: cannot build the request body", path);
        return JFA_ERR_INTERNAL;
    }
    st = jfa_client_call(c, "POST", path, NULL, NULL, body, true, &resp);
    explicit_bzero(body, strlen(body));
    free(body);
    if (st != JFA_OK)
        return st;
    if (jfa_json_auth_result(resp.body, resp.body_len, out, derr, sizeof(derr)) < 0)
        st = jfa_client_decode_failed(c, "POST", path, &resp, derr);
    jfa_http_response_free(&resp); /* wipes the body (token) */
    return st;
}
