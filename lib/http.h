/*
 * http.h - the HTTP(S) transport, on libcurl.
 *
 * Owns: URL policy (TLS always verified, ca_file, plain http only to
 * loopback unless allow_plain_http), deadlines (connect and total, from the
 * config timeout), the response size cap, no redirects, no signals, and the
 * fail-over across the configured urls (next url on connection failure or
 * 5xx only). Knows nothing about Jellyfin.
 */
#ifndef JFA_HTTP_H
#define JFA_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "jfaconf.h"
#include "log.h"

#define JFA_HTTP_MAX_BODY (4u * 1024u * 1024u)
/* Cap for the user list (GET /Users): a UserDto is about 2 KB, so this
 * allows some 60,000 users. */
#define JFA_HTTP_MAX_LIST_BODY (128u * 1024u * 1024u)

struct jfa_http_request {
    const char *method;        /* "GET", "POST", "DELETE" */
    const char *path;          /* "/Users/AuthenticateByName?x=y", appended to each base url */
    const char *secret_query;  /* appended after path ("?secret=..."), never logged; or NULL */
    const char *authorization; /* full header value, or NULL */
    const char *body;          /* JSON body or NULL; sent as application/json */
    size_t body_len;
    size_t max_body; /* answer size cap; 0 = JFA_HTTP_MAX_BODY */
};

struct jfa_http_response {
    long status; /* HTTP status of the answer that was kept */
    char *body;  /* NUL-terminated, malloc'd (may be empty) */
    size_t body_len;
    char *content_type; /* malloc'd or NULL */
    const char *url;    /* the base url that answered (points into cfg) */
};

enum jfa_http_result {
    JFA_HTTP_OK = 0,      /* a status < 500 was received: see response.status */
    JFA_HTTP_UNAVAILABLE, /* every url failed: network error, deadline or 5xx */
    JFA_HTTP_TLS,         /* a url failed certificate verification, or the CA cannot be
                           * read: never "server down" (err names the reason) */
    JFA_HTTP_POLICY,      /* a url is refused by policy (plain http to non-loopback, bad scheme) */
    JFA_HTTP_TOO_LARGE,   /* a response body exceeded JFA_HTTP_MAX_BODY */
    JFA_HTTP_INTERNAL,    /* out of memory, curl init failure */
};

/* One-time global init (curl_global_init); safe to call repeatedly. */
int jfa_http_global_init(void);

/*
 * Perform the request against cfg->urls in order. On JFA_HTTP_UNAVAILABLE
 * where the last attempt got a 5xx, resp->status holds it. err gets a
 * one-line reason (never contains headers or the body). resp must be freed
 * with jfa_http_response_free whatever the result.
 */
enum jfa_http_result jfa_http_call(const struct jfa_config *cfg, const struct jfa_log *log,
                                   const struct jfa_http_request *req,
                                   struct jfa_http_response *resp, char *err, size_t errlen);

void jfa_http_response_free(struct jfa_http_response *resp);

/*
 * Read the trust anchor: cfg->ca_file, else the system bundle JFA_CA_BUNDLE.
 * Symlinks are resolved, the target passes the trusted-file checks (regular
 * file, owner root or geteuid(), not group/other writable, at most
 * JFA_CA_FILE_MAX bytes) and must hold a PEM certificate. 0, or -1 with err
 * naming the file and the problem.
 */
int jfa_http_read_ca(const struct jfa_config *cfg, char **out, size_t *len, char *err,
                     size_t errlen);

/* Is plain http to this URL allowed by policy? (loopback host or allow_plain_http) */
bool jfa_http_url_allowed(const struct jfa_config *cfg, const char *url, char *err, size_t errlen);

#endif
