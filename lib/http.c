/*
 * lib/http.c - the HTTP(S) transport, on libcurl (easy interface).
 *
 * Owns: the URL policy (http/https only; plain http only to a loopback host
 * unless allow_plain_http; no credentials, query or fragment in a base url),
 * TLS verification (always on; the trust store is ca_file, else the system
 * bundle JFA_CA_BUNDLE, read through the trusted-file checks and handed to
 * curl as bytes), deadlines, the response size cap, no redirects, no
 * proxies, no signals, the environment window (below), and fail-over across
 * the configured urls: the next url is tried after a connection failure, a
 * deadline, a 5xx or a certificate failure; any status below 500 is final.
 * A certificate failure on every url is JFA_HTTP_TLS, never "unavailable":
 * callers must not treat it as a server that is down (no offline login).
 * Knows nothing about Jellyfin.
 *
 * The environment is hostile: inside su or passwd it belongs to the
 * caller, and libcurl reads SSLKEYLOGFILE (opened for appending, as root),
 * the proxy variables, NO_PROXY and CURL_SSL_BACKEND with plain getenv.
 * curl_global_init and every curl_easy_perform therefore run inside an
 * "environment window": under env_lock the global `environ` pointer is
 * switched to a filtered copy (env_keep: PATH, TERM, USER, LOGNAME, LANG,
 * LC_*) and switched back afterwards. The caller's environment itself is
 * never modified (no setenv/unsetenv), so what su passes to its child is
 * unchanged; other threads' getenv stays safe because only the pointer
 * changes. Overlapping calls from several threads share one window (a
 * depth count) rather than serialising their network calls. Options pin
 * the rest (no proxy, NOPROXY "*", explicit CA bytes, no CAPATH, no netrc,
 * cookies, alt-svc or HSTS files). See doc/design.md, "Threat model".
 *
 * Deadlines: each attempt has its own total deadline of cfg->timeout seconds
 * (CURLOPT_TIMEOUT_MS), and its connect phase is capped at min(timeout, 5 s)
 * so that a black-holed first url leaves time for the next one. A call is
 * therefore bounded by n_urls * timeout (JFA_MAX_URLS urls at most).
 *
 * Secrets: the Authorization header may carry a token and the body may
 * carry a password. Neither is ever logged (no CURLOPT_VERBOSE, err only
 * holds curl's error text and statuses); the header strings we build and the
 * received body are wiped before they are freed. Copies inside libcurl and
 * the TLS library cannot be wiped from here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/x509.h>

#include "fileutil.h"
#include "http.h"
#include "log.h"

#ifndef JFA_VERSION
#error "JFA_VERSION must be defined by the build (see lib/local.mk)"
#endif

#define JFA_USER_AGENT "jellyfin-auth/" JFA_VERSION
#define JFA_CONNECT_TIMEOUT_MAX 5L  /* seconds */
#define JFA_TIMEOUT_CLAMP_MAX 3600L /* seconds */
#define JFA_BODY_INITIAL 16384u

#ifndef JFA_CA_BUNDLE
#error "JFA_CA_BUNDLE must be defined by the build (see lib/local.mk)"
#endif

extern char **environ;

/* The environment window (see the header comment). */
static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned env_depth; /* windows open; under env_lock */
static char **env_saved;   /* the caller's environ while a window is open */
/* The filtered copy: pointers into the caller's strings, in a static array
 * that is never freed, so another thread that loaded `environ` just before
 * a window closed still reads valid memory. At most ENV_KEEP_MAX entries
 * (a crafted environment with many LC_* names cannot make it grow). */
#define ENV_KEEP_MAX 32
static char *env_filtered[ENV_KEEP_MAX + 1];

/* Variables that no library loaded with libcurl reads in a way that changes
 * what it does (audit: doc/design.md, "Threat model"); kept so that other
 * threads' getenv of them keeps working during a window. */
static bool env_keep(const char *kv)
{
    static const char *const names[] = {"PATH=", "TERM=", "USER=", "LOGNAME=", "LANG="};
    const char *eq;

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strncmp(kv, names[i], strlen(names[i])) == 0)
            return strchr(kv, '/') == NULL || names[i][0] == 'P';
    }
    /* LC_ALL, LC_CTYPE, ...: a locale name, never a path */
    eq = strchr(kv, '=');
    if (strncmp(kv, "LC_", 3) == 0 && eq != NULL)
        return strchr(eq, '/') == NULL;
    return false;
}

static void env_enter(void)
{
    pthread_mutex_lock(&env_lock);
    if (env_depth++ == 0) {
        char **src = environ;
        size_t n = 0, k = 0;

        env_saved = src;
        while (src != NULL && src[n] != NULL)
            n++;
        for (size_t i = 0; i < n && k < ENV_KEEP_MAX; i++) {
            if (env_keep(src[i]))
                env_filtered[k++] = src[i];
        }
        env_filtered[k] = NULL;
        environ = env_filtered;
    }
    pthread_mutex_unlock(&env_lock);
}

static void env_leave(void)
{
    pthread_mutex_lock(&env_lock);
    if (env_depth > 0 && --env_depth == 0) {
        /* if something called setenv inside the window, its array is
         * dropped with the change: the caller's pointer comes back as it was */
        environ = env_saved;
        env_saved = NULL;
    }
    pthread_mutex_unlock(&env_lock);
}

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT; /* written once under global_once */

static void global_init_once(void)
{
    /* curl_global_init opens $SSLKEYLOGFILE and loads $OPENSSL_CONF */
    env_enter();
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    env_leave();
}

int jfa_http_global_init(void)
{
    if (pthread_once(&global_once, global_init_once) != 0)
        return -1;
    return global_rc == CURLE_OK ? 0 : -1;
}

/* Append "; text" (or "text" when err is empty) to err, truncating. */
static void add_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    size_t used;

    if (err == NULL || errlen == 0)
        return;
    used = strnlen(err, errlen - 1);
    if (used > 0 && used + 2 < errlen) {
        memcpy(err + used, "; ", 3);
        used += 2;
    }
    if (used + 1 >= errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err + used, errlen - used, fmt, ap);
    va_end(ap);
}

static bool host_is_loopback(const char *host)
{
    unsigned char a6[16];
    struct in_addr a4;
    char buf[64];
    size_t len = strlen(host);

    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "localhost.") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    /* curl hands IPv6 hosts back in brackets */
    if (len >= 2 && host[0] == '[' && host[len - 1] == ']' && len - 2 < sizeof(buf)) {
        memcpy(buf, host + 1, len - 2);
        buf[len - 2] = '\0';
        if (inet_pton(AF_INET6, buf, a6) == 1) {
            static const unsigned char loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

            if (memcmp(a6, loop6, 16) == 0)
                return true;
            return memcmp(a6, mapped, 12) == 0 && a6[12] == 127;
        }
    }
    return false;
}

bool jfa_http_url_allowed(const struct jfa_config *cfg, const char *url, char *err, size_t errlen)
{
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *part = NULL;
    bool ok = false;

    if (url == NULL || url[0] == '\0') {
        jfa_set_err(err, errlen, "empty url");
        goto out;
    }
    u = curl_url();
    if (u == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", url);
        goto out;
    }
    /* no CURLU_GUESS_SCHEME, no CURLU_DEFAULT_SCHEME: a scheme is required */
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        jfa_set_err(err, errlen, "%s: not a valid absolute url", url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || scheme == NULL) {
        jfa_set_err(err, errlen, "%s: url has no scheme", url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL || host[0] == '\0') {
        jfa_set_err(err, errlen, "%s: url has no host", url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
        jfa_set_err(err, errlen, "%s: credentials in the url are not allowed", url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        jfa_set_err(err, errlen, "%s: a base url may not have a query or fragment", url);
        goto out;
    }
    if (strcasecmp(scheme, "https") == 0) {
        ok = true;
    } else if (strcasecmp(scheme, "http") == 0) {
        if (host_is_loopback(host) || (cfg != NULL && cfg->allow_plain_http))
            ok = true;
        else
            jfa_set_err(err, errlen,
                        "%s: plain http to a non-loopback host is refused "
                        "(use https, or set allow_plain_http = yes)",
                        url);
    } else {
        jfa_set_err(err, errlen, "%s: scheme %s is not allowed (http or https only)", url, scheme);
    }
out:
    curl_free(part);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return ok;
}

struct body_buf {
    char *data;
    size_t len, cap;
    size_t max; /* size cap of this answer */
    CURL *h;    /* the transfer, for the announced length */
    bool too_large;
    bool nomem;
};

/* Grow to at least need+1 bytes, wiping the old block (it may hold a token). */
static int body_reserve(struct body_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : JFA_BODY_INITIAL;
    char *n;

    if (need + 1 <= b->cap)
        return 0;
    while (cap < need + 1)
        cap *= 2;
    n = malloc(cap);
    if (n == NULL)
        return -1;
    if (b->data != NULL) {
        memcpy(n, b->data, b->len);
        explicit_bzero(b->data, b->cap);
        free(b->data);
    }
    b->data = n;
    b->cap = cap;
    return 0;
}

/*
 * Before the first byte is stored: when the server announced the length (and
 * it is within the cap), allocate exactly that once. A 20 MB user list then
 * costs no growth copies, wipes or page faults on discarded blocks. Only a
 * hint: a missing, wrong or compressed-size length just means growing later.
 */
static void body_presize(struct body_buf *b)
{
    curl_off_t cl = -1;

    if (b->data != NULL || b->h == NULL)
        return;
    if (curl_easy_getinfo(b->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK || cl <= 0 ||
        (unsigned long long)cl > b->max || (unsigned long long)cl <= JFA_BODY_INITIAL)
        return;
    b->data = malloc((size_t)cl + 1);
    if (b->data != NULL)
        b->cap = (size_t)cl + 1;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body_buf *b = userdata;
    size_t n = size * nmemb;

    if (n == 0)
        return 0;
    if (n > b->max || b->len > b->max - n) {
        b->too_large = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    body_presize(b);
    if (body_reserve(b, b->len + n) < 0) {
        b->nomem = true;
        return 0;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static void body_free(struct body_buf *b)
{
    if (b->data != NULL) {
        explicit_bzero(b->data, b->cap);
        free(b->data);
    }
    memset(b, 0, sizeof(*b));
}

/* Free a header list whose strings may hold a token, wiping them first. */
static void slist_free_wiped(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p != NULL; p = p->next) {
        if (p->data != NULL)
            explicit_bzero(p->data, strlen(p->data));
    }
    curl_slist_free_all(l);
}

static struct curl_slist *build_headers(const struct jfa_http_request *req)
{
    struct curl_slist *l = NULL, *n;
    char *auth = NULL;
    const char *fixed[3];
    size_t nfixed = 0;

    fixed[nfixed++] = "Accept: application/json";
    fixed[nfixed++] = "Expect:"; /* no 100-continue round trip */
    /* with no body, drop curl's default x-www-form-urlencoded type */
    fixed[nfixed++] = req->body != NULL ? "Content-Type: application/json" : "Content-Type:";
    for (size_t i = 0; i < nfixed; i++) {
        n = curl_slist_append(l, fixed[i]);
        if (n == NULL)
            goto fail;
        l = n;
    }
    if (req->authorization != NULL) {
        if (strpbrk(req->authorization, "\r\n") != NULL)
            goto fail;
        if (asprintf(&auth, "Authorization: %s", req->authorization) < 0) {
            auth = NULL;
            goto fail;
        }
        n = curl_slist_append(l, auth);
        explicit_bzero(auth, strlen(auth));
        free(auth);
        if (n == NULL)
            goto fail;
        l = n;
    }
    return l;
fail:
    slist_free_wiped(l);
    return NULL;
}

enum attempt_result {
    ATTEMPT_ANSWER, /* status < 500 */
    ATTEMPT_RETRY,  /* network error, deadline, 5xx */
    ATTEMPT_TLS,    /* the server's certificate could not be verified */
    ATTEMPT_TOO_LARGE,
    ATTEMPT_INTERNAL,
};

/*
 * Is this failure a certificate problem rather than an unreachable server?
 * vr is CURLINFO_SSL_VERIFYRESULT: curl sets it to 1 (X509_V_ERR_UNSPECIFIED)
 * when a handshake starts, so a handshake cut by a reset keeps 1 and stays
 * "unavailable"; a real verification result replaces it.
 */
static bool tls_failure(CURLcode rc, long vr)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return true;
    case CURLE_SSL_CONNECT_ERROR:
        return vr != X509_V_OK && vr != X509_V_ERR_UNSPECIFIED;
    default:
        return false;
    }
}

/*
 * The names the server's certificate holds (its subjectAltName, else its
 * subject), from CURLINFO_CERTINFO, escaped: for a host name mismatch the
 * message says which names would have matched. "" if curl has none.
 */
static void cert_names(CURL *h, char *out, size_t outlen)
{
    struct curl_certinfo *ci = NULL;
    const char *san = NULL, *subject = NULL;
    static const char san_tag[] = "X509v3 Subject Alternative Name:", subj_tag[] = "Subject:";

    out[0] = '\0';
    if (curl_easy_getinfo(h, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
        ci->num_of_certs < 1)
        return;
    /* certinfo[0] is the server's own certificate */
    for (struct curl_slist *f = ci->certinfo[0]; f != NULL; f = f->next) {
        if (strncmp(f->data, san_tag, sizeof(san_tag) - 1) == 0)
            san = f->data + sizeof(san_tag) - 1;
        else if (strncmp(f->data, subj_tag, sizeof(subj_tag) - 1) == 0)
            subject = f->data + sizeof(subj_tag) - 1;
    }
    if (san != NULL)
        jfa_log_escape(out, outlen, san);
    else if (subject != NULL)
        jfa_log_escape(out, outlen, subject);
}

/* One line for the log and the tool: what is wrong and what to do. */
static void tls_reason(CURL *h, char *err, size_t errlen, const char *base, CURLcode rc, long vr,
                       const char *curlmsg)
{
    const char *hint = "";
    char names[256];

    if (rc == CURLE_SSL_CACERT_BADFILE) {
        add_err(err, errlen, "%s: TLS: the CA certificates cannot be used (check ca_file): %s",
                base, curlmsg);
        return;
    }
    if (vr == X509_V_OK || vr == X509_V_ERR_UNSPECIFIED) {
        /* curl checks the host name itself, after OpenSSL's verification:
         * the chain is trusted, the name in url is not one it holds */
        cert_names(h, names, sizeof(names));
        if (rc == CURLE_PEER_FAILED_VERIFICATION && names[0] != '\0')
            add_err(err, errlen,
                    "%s: TLS: host name mismatch: the server's certificate is for %s, not for "
                    "the host name in url (use one of those names in url, or a certificate "
                    "for this name)",
                    base, names);
        else
            add_err(err, errlen, "%s: TLS: certificate rejected: %s", base, curlmsg);
        return;
    }
    switch (vr) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        hint = " (untrusted issuer: set ca_file (setup: --ca-file) to the CA that signed the "
               "server's certificate)";
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        hint = " (the server's certificate has expired: renew it; check this machine's clock too)";
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        hint = " (the server's certificate is not valid yet: check the clock)";
        break;
    default:
        break;
    }
    add_err(err, errlen, "%s: TLS: certificate verification failed: %s%s", base,
            X509_verify_cert_error_string(vr), hint);
}

static enum attempt_result attempt(const struct jfa_config *cfg, const char *base,
                                   const struct jfa_http_request *req, struct curl_slist *headers,
                                   const struct curl_blob *ca, struct jfa_http_response *resp,
                                   char *err, size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE];
    struct body_buf body = {.max = req->max_body != 0 ? req->max_body : JFA_HTTP_MAX_BODY};
    enum attempt_result ar = ATTEMPT_INTERNAL;
    char *url = NULL;
    char *ctype = NULL;
    /* config validates the range; clamp anyway so *1000 cannot overflow */
    long timeout = cfg->timeout <= 0                      ? 10
                   : cfg->timeout > JFA_TIMEOUT_CLAMP_MAX ? JFA_TIMEOUT_CLAMP_MAX
                                                          : cfg->timeout;
    long connect_timeout = timeout < JFA_CONNECT_TIMEOUT_MAX ? timeout : JFA_CONNECT_TIMEOUT_MAX;
    long status = 0;
    CURLcode rc;
    CURL *h = NULL;

    errbuf[0] = '\0';
    if (asprintf(&url, "%s%s%s", base, req->path,
                 req->secret_query != NULL ? req->secret_query : "") < 0) {
        url = NULL;
        add_err(err, errlen, "%s: out of memory", base);
        goto out;
    }
    h = curl_easy_init();
    if (h == NULL) {
        add_err(err, errlen, "%s: curl_easy_init failed", base);
        goto out;
    }
    body.h = h;

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(h, opt, val) != CURLE_OK) {                                           \
            add_err(err, errlen, "%s: cannot set curl option %s", base, #opt);                     \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_NOPROGRESS, 1L);
    SETOPT(CURLOPT_VERBOSE, 0L);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* never a proxy, whatever the environment says: "" disables the
     * *_proxy variables, "*" means NO_PROXY is never read */
    SETOPT(CURLOPT_PROXY, "");
    SETOPT(CURLOPT_NOPROXY, "*");
    SETOPT(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    /* keep the certificates' fields (public data, no I/O): a host name
     * mismatch can then name what the certificate is for */
    SETOPT(CURLOPT_CERTINFO, 1L);
    /* trust exactly the bytes read through the trusted-file checks: no
     * built-in path, no CA directory, no check-then-use race */
    SETOPT(CURLOPT_CAINFO, (char *)NULL);
    SETOPT(CURLOPT_CAPATH, (char *)NULL);
    if (ca != NULL)
        SETOPT(CURLOPT_CAINFO_BLOB, ca);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout * 1000L);
    SETOPT(CURLOPT_TIMEOUT_MS, timeout * 1000L);
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body.max);
    SETOPT(CURLOPT_WRITEFUNCTION, write_cb);
    SETOPT(CURLOPT_WRITEDATA, &body);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_USERAGENT, JFA_USER_AGENT);
    SETOPT(CURLOPT_HTTPHEADER, headers);

    if (strcmp(req->method, "GET") == 0) {
        SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "POST") == 0) {
        SETOPT(CURLOPT_POST, 1L);
        /* POSTFIELDS does not copy: the caller's buffer (and its wiping) stays in charge */
        SETOPT(CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body != NULL ? req->body_len : 0));
    } else if (strcmp(req->method, "DELETE") == 0) {
        SETOPT(CURLOPT_CUSTOMREQUEST, "DELETE");
        if (req->body != NULL) {
            SETOPT(CURLOPT_POSTFIELDS, req->body);
            SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
    } else {
        add_err(err, errlen, "unsupported method");
        goto out;
    }
#undef SETOPT

    env_enter();
    rc = curl_easy_perform(h);
    env_leave();
    if (body.nomem) {
        add_err(err, errlen, "%s: out of memory reading the answer", base);
        ar = ATTEMPT_INTERNAL;
        goto out;
    }
    if (body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        add_err(err, errlen, "%s: answer larger than %zu bytes", base, body.max);
        ar = ATTEMPT_TOO_LARGE;
        goto out;
    }
    if (rc != CURLE_OK) {
        long vr = X509_V_OK;

        if (curl_easy_getinfo(h, CURLINFO_SSL_VERIFYRESULT, &vr) != CURLE_OK)
            vr = X509_V_OK;
        if (tls_failure(rc, vr)) {
            tls_reason(h, err, errlen, base, rc, vr, errbuf[0] ? errbuf : curl_easy_strerror(rc));
            ar = ATTEMPT_TLS;
            goto out;
        }
        add_err(err, errlen, "%s: %s", base, errbuf[0] ? errbuf : curl_easy_strerror(rc));
        ar = ATTEMPT_RETRY;
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 500 || status < 100) {
        add_err(err, errlen, "%s: HTTP %ld", base, status);
        resp->status = status;
        resp->url = base;
        ar = ATTEMPT_RETRY;
        goto out;
    }
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL) {
        resp->content_type = strdup(ctype);
        if (resp->content_type == NULL) {
            add_err(err, errlen, "%s: out of memory", base);
            goto out;
        }
    }
    if (body.data == NULL && body_reserve(&body, 0) < 0) {
        add_err(err, errlen, "%s: out of memory", base);
        goto out;
    }
    body.data[body.len] = '\0';
    resp->status = status;
    resp->body = body.data;
    resp->body_len = body.len;
    resp->url = base;
    body.data = NULL; /* handed over */
    body.cap = 0;
    ar = ATTEMPT_ANSWER;
out:
    body_free(&body);
    if (h != NULL)
        curl_easy_cleanup(h);
    if (url != NULL)
        explicit_bzero(url, strlen(url));
    free(url);
    return ar;
}

enum jfa_http_result jfa_http_call(const struct jfa_config *cfg, const struct jfa_log *log,
                                   const struct jfa_http_request *req,
                                   struct jfa_http_response *resp, char *err, size_t errlen)
{
    enum jfa_http_result res = JFA_HTTP_INTERNAL;
    struct curl_slist *headers = NULL;
    struct curl_blob ca = {.flags = CURL_BLOB_NOCOPY};
    char *ca_bytes = NULL;
    bool any_usable = false, tls_seen = false;

    memset(resp, 0, sizeof(*resp));
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg == NULL || req == NULL || req->method == NULL || req->path == NULL) {
        jfa_set_err(err, errlen, "internal error: bad http request");
        goto out;
    }
    if (req->path[0] != '/' || strpbrk(req->path, " \r\n") != NULL) {
        jfa_set_err(err, errlen, "internal error: bad request path");
        goto out;
    }
    if (jfa_http_global_init() < 0) {
        jfa_set_err(err, errlen, "curl_global_init failed");
        goto out;
    }
    if (cfg->n_urls == 0) {
        jfa_set_err(err, errlen, "no url configured");
        res = JFA_HTTP_POLICY;
        goto out;
    }
    headers = build_headers(req);
    if (headers == NULL) {
        jfa_set_err(err, errlen, "cannot build request headers");
        goto out;
    }

    for (size_t i = 0; i < cfg->n_urls && i < JFA_MAX_URLS; i++) {
        const char *base = cfg->urls[i];
        char perr[JFA_ERRLEN];
        enum attempt_result ar;

        perr[0] = '\0';

        if (base == NULL)
            continue;
        if (!jfa_http_url_allowed(cfg, base, perr, sizeof(perr))) {
            add_err(err, errlen, "%s", perr);
            jfa_logf(log, LOG_WARNING, "%s", perr);
            continue;
        }
        any_usable = true;
        if (ca_bytes == NULL && strncasecmp(base, "https:", 6) == 0) {
            if (jfa_http_read_ca(cfg, &ca_bytes, &ca.len, perr, sizeof(perr)) != 0) {
                add_err(err, errlen, "TLS: %s", perr);
                res = JFA_HTTP_TLS;
                goto out;
            }
            ca.data = ca_bytes;
        }
        /* a 5xx kept from an earlier url is dropped when this one is tried */
        resp->status = 0;
        resp->url = NULL;
        ar = attempt(cfg, base, req, headers, ca_bytes != NULL ? &ca : NULL, resp, perr,
                     sizeof(perr));
        if (ar != ATTEMPT_ANSWER)
            add_err(err, errlen, "%s", perr);
        switch (ar) {
        case ATTEMPT_ANSWER:
            jfa_logf(log, LOG_DEBUG, "%s %s%s: HTTP %ld", req->method, base, req->path,
                     resp->status);
            res = JFA_HTTP_OK;
            goto out;
        case ATTEMPT_TOO_LARGE:
            res = JFA_HTTP_TOO_LARGE;
            goto out;
        case ATTEMPT_INTERNAL:
            res = JFA_HTTP_INTERNAL;
            goto out;
        case ATTEMPT_TLS:
            tls_seen = true;
            /* another configured url may be fine */
            __attribute__((fallthrough));
        case ATTEMPT_RETRY:
            jfa_logf(log, i + 1 < cfg->n_urls ? LOG_WARNING : LOG_DEBUG, "%s %s: %s%s", req->method,
                     req->path, perr, i + 1 < cfg->n_urls ? " (trying the next url)" : "");
            break;
        }
    }
    /* one certificate failure is enough: a man in the middle must not be
     * able to pass for a server that is down */
    res = tls_seen ? JFA_HTTP_TLS : any_usable ? JFA_HTTP_UNAVAILABLE : JFA_HTTP_POLICY;
out:
    if (res == JFA_HTTP_OK && err != NULL && errlen > 0)
        err[0] = '\0';
    slist_free_wiped(headers);
    free(ca_bytes);
    return res;
}

int jfa_http_read_ca(const struct jfa_config *cfg, char **out, size_t *len, char *err,
                     size_t errlen)
{
    const char *path = cfg != NULL && cfg->ca_file != NULL ? cfg->ca_file : JFA_CA_BUNDLE;
    char e[JFA_ERRLEN];
    int ret = -1;

    *out = NULL;
    *len = 0;
    e[0] = '\0';
    if (jfa_read_trusted_resolved(path, 022, JFA_CA_FILE_MAX, out, len, e, sizeof(e)) != 0) {
        jfa_set_err(err, errlen, "%s %s",
                    cfg != NULL && cfg->ca_file != NULL ? "ca_file" : "CA bundle", e);
        goto out;
    }
    if (strstr(*out, "-----BEGIN CERTIFICATE-----") == NULL) {
        jfa_set_err(err, errlen, "%s %s: no PEM certificate in it",
                    cfg != NULL && cfg->ca_file != NULL ? "ca_file" : "CA bundle", path);
        goto out;
    }
    ret = 0;
out:
    if (ret != 0) {
        free(*out);
        *out = NULL;
        *len = 0;
    }
    return ret;
}

void jfa_http_response_free(struct jfa_http_response *resp)
{
    if (resp == NULL)
        return;
    if (resp->body != NULL) {
        explicit_bzero(resp->body, resp->body_len);
        free(resp->body);
    }
    free(resp->content_type);
    memset(resp, 0, sizeof(*resp));
}
