/*
 * tests/unit/test_http.c - unit tests for lib/http.c against local servers.
 *
 * Owns: the transport's contract: URL policy (refused before any connect),
 * status pass-through, no redirects, fail-over (refused connection, 5xx)
 * and its absence (status < 500), the deadline, the body cap, the request
 * shape (headers, body, no Expect, no proxy from the environment) and TLS
 * verification with and without the right ca_file.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "http.h"
#include "net_testutil.h"

static struct net_server srv_a, srv_b, srv_tls;

static char keylog[512];

static int group_setup(void **state)
{
    (void)state;
    /* before curl_global_init, which is where libcurl opens it */
    snprintf(keylog, sizeof(keylog), "%s/keylog", net_scratch());
    setenv("SSLKEYLOGFILE", keylog, 1);
    if (jfa_http_global_init() != 0)
        return -1;
    if (net_server_start(&srv_a, "a", NULL, NULL) != 0 ||
        net_server_start(&srv_b, "b", NULL, NULL) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    net_server_stop(&srv_a);
    net_server_stop(&srv_b);
    net_server_stop(&srv_tls);
    net_scratch_cleanup();
    return 0;
}

static enum jfa_http_result call(const struct jfa_config *cfg, const char *method, const char *path,
                                 const char *auth, const char *body, struct jfa_http_response *resp,
                                 char *err, size_t errlen)
{
    struct jfa_http_request req = {
        .method = method,
        .path = path,
        .authorization = auth,
        .body = body,
        .body_len = body ? strlen(body) : 0,
    };

    return jfa_http_call(cfg, NULL, &req, resp, err, errlen);
}

static void test_url_policy(void **state)
{
    struct jfa_config cfg;
    char err[JFA_ERRLEN];
    static const struct {
        const char *url;
        bool strict, relaxed; /* allowed without / with allow_plain_http */
    } cases[] = {
        {"https://jellyfin.example.com", true, true},
        {"https://192.0.2.1:8920/jf", true, true},
        {"http://127.0.0.1:8096", true, true},
        {"http://127.5.6.7", true, true},
        {"http://localhost:8096/jellyfin", true, true},
        {"http://LOCALHOST", true, true},
        {"http://[::1]:8096", true, true},
        {"http://[::ffff:127.0.0.1]:8096", true, true},
        {"http://192.0.2.1", false, true},
        {"http://jellyfin.example.com", false, true},
        {"http://127.0.0.1.example.com", false, true},
        {"http://localhost.example.com", false, true},
        {"http://[::2]", false, true},
        {"ftp://127.0.0.1/", false, false},
        {"file:///etc/passwd", false, false},
        {"gopher://127.0.0.1", false, false},
        {"127.0.0.1:8096", false, false},
        {"", false, false},
        {"http://user:secret@127.0.0.1:8096", false, false},
        {"https://h.example.com/?a=b", false, false},
        {"https://h.example.com/#frag", false, false},
    };

    (void)state;
    net_cfg(&cfg, 5, NULL, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        cfg.allow_plain_http = false;
        if (jfa_http_url_allowed(&cfg, cases[i].url, err, sizeof(err)) != cases[i].strict)
            fail_msg("strict policy wrong for '%s' (%s)", cases[i].url, err);
        if (!cases[i].strict)
            assert_true(err[0] != '\0');
        cfg.allow_plain_http = true;
        if (jfa_http_url_allowed(&cfg, cases[i].url, err, sizeof(err)) != cases[i].relaxed)
            fail_msg("allow_plain_http policy wrong for '%s' (%s)", cases[i].url, err);
    }
    /* the credentials are not echoed into the error */
    cfg.allow_plain_http = false;
    assert_false(jfa_http_url_allowed(&cfg, "http://192.0.2.1", err, sizeof(err)));
    assert_non_null(strstr(err, "plain http"));
    net_cfg_free(&cfg);
}

static void test_policy_refused_before_connect(void **state)
{
    const char *urls[] = {"http://192.0.2.1:9"};
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN];
    double t0;

    (void)state;
    net_cfg(&cfg, 10, urls, 1);
    t0 = net_now();
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_POLICY);
    assert_true(net_now() - t0 < 2.0);
    assert_non_null(strstr(err, "http://192.0.2.1:9"));
    assert_non_null(strstr(err, "plain http"));
    assert_int_equal(resp.status, 0);
    jfa_http_response_free(&resp);

    /* allowed by policy with allow_plain_http (not connected to: TEST-NET) */
    cfg.allow_plain_http = true;
    assert_true(jfa_http_url_allowed(&cfg, urls[0], err, sizeof(err)));
    net_cfg_free(&cfg);

    /* no url at all */
    net_cfg(&cfg, 10, NULL, 0);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_POLICY);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
}

static void test_policy_skips_to_allowed_url(void **state)
{
    const char *urls[] = {"http://192.0.2.1:9", srv_a.url};
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN];

    (void)state;
    net_server_routes(&srv_a, "{\"/ok\": {\"status\": 200, \"body\": \"{}\"}}");
    net_cfg(&cfg, 5, urls, 2);
    assert_int_equal(call(&cfg, "GET", "/ok", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.url, srv_a.url);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
}

static void test_status_passthrough(void **state)
{
    static const long statuses[] = {200, 204, 400, 401, 403, 404, 415, 418, 302};
    const char *urls[] = {srv_a.url, srv_b.url};
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN], routes[512];

    (void)state;
    net_cfg(&cfg, 5, urls, 2);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        int before_b = net_server_count(&srv_b);

        snprintf(routes, sizeof(routes),
                 "{\"/s\": {\"status\": %ld, \"body\": \"%s\", "
                 "\"headers\": {\"Location\": \"%s/elsewhere\"}}}",
                 statuses[i], statuses[i] == 204 ? "" : "{\\\"k\\\": 1}", srv_b.url);
        net_server_routes(&srv_a, routes);
        assert_int_equal(call(&cfg, "GET", "/s", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
        assert_int_equal(resp.status, statuses[i]);
        assert_string_equal(resp.url, srv_a.url);
        assert_non_null(resp.body);
        assert_int_equal(resp.body_len, strlen(resp.body));
        if (statuses[i] != 204)
            assert_string_equal(resp.body, "{\"k\": 1}");
        assert_non_null(resp.content_type);
        assert_non_null(strstr(resp.content_type, "application/json"));
        /* a status < 500 is final, and redirects are never followed */
        assert_int_equal(net_server_count(&srv_b), before_b);
        jfa_http_response_free(&resp);
    }
    net_cfg_free(&cfg);
}

static void test_5xx_unavailable(void **state)
{
    const char *urls[] = {srv_a.url};
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN];

    (void)state;
    net_cfg(&cfg, 5, urls, 1);
    net_server_routes(&srv_a, "{\"*\": {\"status\": 503, \"body\": \"\"}}");
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_UNAVAILABLE);
    assert_int_equal(resp.status, 503);
    assert_non_null(strstr(err, "HTTP 503"));
    assert_non_null(strstr(err, srv_a.url));
    jfa_http_response_free(&resp);

    net_server_routes(&srv_a, "{\"*\": {\"status\": 500, \"body\": \"Error processing "
                              "request.\", \"ctype\": \"text/plain\"}}");
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_UNAVAILABLE);
    assert_int_equal(resp.status, 500);
    assert_null(strstr(err, "Error processing")); /* never the body */
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
}

static void test_failover_refused(void **state)
{
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN], refused[64];
    const char *urls[2];
    int fd, port;

    (void)state;
    port = net_refusing_port(&fd);
    assert_true(port > 0);
    snprintf(refused, sizeof(refused), "http://127.0.0.1:%d", port);
    urls[0] = refused;
    urls[1] = srv_b.url;
    net_cfg(&cfg, 5, urls, 2);
    net_server_routes(&srv_b, "{\"/x\": {\"status\": 200, \"body\": \"[]\"}}");
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.url, srv_b.url);
    assert_string_equal(resp.body, "[]");
    jfa_http_response_free(&resp);

    /* only the refusing url: unavailable, with the reason and the url */
    cfg.n_urls = 1;
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_UNAVAILABLE);
    assert_int_equal(resp.status, 0);
    assert_non_null(strstr(err, refused));
    jfa_http_response_free(&resp);
    cfg.n_urls = 2;
    net_cfg_free(&cfg);
    close(fd);
}

static void test_failover_503_and_not_401(void **state)
{
    const char *urls[] = {srv_a.url, srv_b.url};
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN];
    int na, nb;

    (void)state;
    net_cfg(&cfg, 5, urls, 2);
    net_server_routes(&srv_a, "{\"*\": {\"status\": 503}}");
    net_server_routes(&srv_b,
                      "{\"/x\": {\"status\": 200, \"body\": \"{\\\"from\\\": \\\"b\\\"}\"}}");
    na = net_server_count(&srv_a);
    nb = net_server_count(&srv_b);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.url, srv_b.url);
    assert_string_equal(resp.body, "{\"from\": \"b\"}");
    assert_int_equal(net_server_count(&srv_a), na + 1);
    assert_int_equal(net_server_count(&srv_b), nb + 1);
    jfa_http_response_free(&resp);

    /* both 5xx: unavailable, the status of the last attempt kept */
    net_server_routes(&srv_b, "{\"*\": {\"status\": 502}}");
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_UNAVAILABLE);
    assert_int_equal(resp.status, 502);
    assert_non_null(strstr(err, "HTTP 503"));
    assert_non_null(strstr(err, "HTTP 502"));
    jfa_http_response_free(&resp);

    /* 401 on the first url is final: the second is never asked */
    net_server_routes(&srv_a, "{\"*\": {\"status\": 401}}");
    net_server_routes(&srv_b, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");
    nb = net_server_count(&srv_b);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    assert_int_equal(resp.status, 401);
    assert_string_equal(resp.url, srv_a.url);
    assert_int_equal(net_server_count(&srv_b), nb);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
}

static void test_deadline(void **state)
{
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN], hole[64];
    const char *urls[2];
    double t0, dt;
    int fd, port;

    (void)state;
    port = net_blackhole_port(&fd);
    assert_true(port > 0);
    snprintf(hole, sizeof(hole), "http://127.0.0.1:%d", port);
    urls[0] = hole;
    net_cfg(&cfg, 1, urls, 1);
    t0 = net_now();
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_UNAVAILABLE);
    /* loose bounds (a loaded machine is slow): the point is that the call
     * ends at all, not after the server's 3 s or never */
    dt = net_now() - t0;
    assert_true(dt >= 0.9);
    assert_true(dt < 10.0);
    assert_non_null(strstr(err, hole));
    assert_non_null(strcasestr(err, "timed out"));
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);

    /* a server that accepts and answers too late, then fail-over to a good one */
    net_server_routes(&srv_a, "{\"*\": {\"status\": 200, \"hang\": 3, \"body\": \"{}\"}}");
    net_server_routes(&srv_b, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");
    urls[0] = srv_a.url;
    urls[1] = srv_b.url;
    net_cfg(&cfg, 1, urls, 2);
    t0 = net_now();
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    dt = net_now() - t0;
    assert_true(dt < 10.0);
    assert_string_equal(resp.url, srv_b.url);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
    close(fd);
}

static void test_body_cap(void **state)
{
    const char *urls[] = {srv_a.url, srv_b.url};
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN], routes[256];
    int nb;

    (void)state;
    net_cfg(&cfg, 10, urls, 2);
    nb = net_server_count(&srv_b);

    /* exactly the cap is fine */
    snprintf(routes, sizeof(routes), "{\"*\": {\"size\": %u}}", JFA_HTTP_MAX_BODY);
    net_server_routes(&srv_a, routes);
    assert_int_equal(call(&cfg, "GET", "/big", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    assert_int_equal(resp.body_len, JFA_HTTP_MAX_BODY);
    assert_int_equal(resp.body[JFA_HTTP_MAX_BODY], '\0');
    jfa_http_response_free(&resp);

    /* one byte over, announced by Content-Length */
    snprintf(routes, sizeof(routes), "{\"*\": {\"size\": %u}}", JFA_HTTP_MAX_BODY + 1);
    net_server_routes(&srv_a, routes);
    assert_int_equal(call(&cfg, "GET", "/big", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_TOO_LARGE);
    assert_null(resp.body);
    assert_non_null(strstr(err, srv_a.url));
    jfa_http_response_free(&resp);

    /* 5 MiB with no Content-Length: cut off by the write callback */
    snprintf(routes, sizeof(routes), "{\"*\": {\"size\": %u, \"nolength\": true}}",
             5u * 1024u * 1024u);
    net_server_routes(&srv_a, routes);
    assert_int_equal(call(&cfg, "GET", "/big", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_TOO_LARGE);
    jfa_http_response_free(&resp);
    /* an oversized answer is not a reason to ask the next url */
    assert_int_equal(net_server_count(&srv_b), nb);

    /* a request may raise its own cap (the user list does) ... */
    {
        struct jfa_http_request req = {.method = "GET", .path = "/big", .max_body = 6u << 20};
        snprintf(routes, sizeof(routes), "{\"*\": {\"size\": %u, \"nolength\": true}}",
                 5u * 1024u * 1024u);
        net_server_routes(&srv_a, routes);
        assert_int_equal(jfa_http_call(&cfg, NULL, &req, &resp, err, sizeof(err)), JFA_HTTP_OK);
        assert_int_equal(resp.body_len, 5u * 1024u * 1024u);
        jfa_http_response_free(&resp);
        /* ... and it is still a cap */
        req.max_body = 1u << 20;
        assert_int_equal(jfa_http_call(&cfg, NULL, &req, &resp, err, sizeof(err)),
                         JFA_HTTP_TOO_LARGE);
        jfa_http_response_free(&resp);
    }
    net_cfg_free(&cfg);
}

static void test_request_shape(void **state)
{
    const char *urls[] = {srv_a.url};
    const char *auth = "MediaBrowser Client=\"c\", Device=\"d\", DeviceId=\"i\", "
                       "Version=\"1\", Token=\"s3cr3tt0k3n\"";
    const char *body = "{\"Username\":\"alice\",\"Pw\":\"p\\\"w\"}";
    struct jfa_config cfg;
    struct jfa_http_response resp;
    struct json_object *req;
    char err[JFA_ERRLEN];

    (void)state;
    net_cfg(&cfg, 5, urls, 1);
    net_server_routes(&srv_a, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");

    assert_int_equal(
        call(&cfg, "POST", "/Users/AuthenticateByName?x=1", auth, body, &resp, err, sizeof(err)),
        JFA_HTTP_OK);
    jfa_http_response_free(&resp);
    req = net_server_last(&srv_a);
    assert_non_null(req);
    assert_string_equal(net_req_str(req, "method"), "POST");
    assert_string_equal(net_req_str(req, "path"), "/Users/AuthenticateByName?x=1");
    assert_string_equal(net_req_str(req, "body"), body);
    assert_string_equal(net_req_header(req, "authorization"), auth);
    assert_string_equal(net_req_header(req, "content-type"), "application/json");
    assert_string_equal(net_req_header(req, "accept"), "application/json");
    assert_string_equal(net_req_header(req, "user-agent"), "jellyfin-auth/" JFA_VERSION);
    assert_null(net_req_header(req, "expect"));
    json_object_put(req);

    /* GET: no body, no Content-Type, no Authorization when none is given */
    assert_int_equal(call(&cfg, "GET", "/System/Info/Public", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_OK);
    jfa_http_response_free(&resp);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "GET");
    assert_null(net_req_header(req, "content-type"));
    assert_null(net_req_header(req, "authorization"));
    json_object_put(req);

    /* POST without a body: empty, and not form-encoded */
    assert_int_equal(call(&cfg, "POST", "/Sessions/Logout", auth, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_OK);
    jfa_http_response_free(&resp);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "POST");
    assert_string_equal(net_req_str(req, "body"), "");
    assert_null(net_req_header(req, "content-type"));
    json_object_put(req);

    /* DELETE */
    assert_int_equal(call(&cfg, "DELETE", "/Auth/Keys/abc", auth, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_OK);
    jfa_http_response_free(&resp);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "DELETE");
    json_object_put(req);

    /* bad requests never reach the network */
    assert_int_equal(call(&cfg, "GET", "no-slash", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_INTERNAL);
    jfa_http_response_free(&resp);
    assert_int_equal(call(&cfg, "GET", "/a b", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_INTERNAL);
    jfa_http_response_free(&resp);
    assert_int_equal(call(&cfg, "PUT", "/x", NULL, NULL, &resp, err, sizeof(err)),
                     JFA_HTTP_INTERNAL);
    jfa_http_response_free(&resp);
    assert_int_equal(call(&cfg, "GET", "/x", "MediaBrowser Token=\"a\"\r\nX-Evil: 1", NULL, &resp,
                          err, sizeof(err)),
                     JFA_HTTP_INTERNAL);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
}

static void test_errors_never_hold_secrets(void **state)
{
    const char *auth = "MediaBrowser Client=\"c\", Device=\"d\", DeviceId=\"i\", "
                       "Version=\"1\", Token=\"tok3nSECRET\"";
    const char *body = "{\"Pw\":\"passSECRET\"}";
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN], refused[64];
    const char *urls[2];
    int fd, port;

    (void)state;
    port = net_refusing_port(&fd);
    snprintf(refused, sizeof(refused), "http://127.0.0.1:%d", port);
    urls[0] = refused;
    urls[1] = srv_a.url;
    net_server_routes(&srv_a, "{\"*\": {\"status\": 503, \"body\": \"tok3nSECRET\"}}");
    net_cfg(&cfg, 5, urls, 2);
    assert_int_equal(call(&cfg, "POST", "/x", auth, body, &resp, err, sizeof(err)),
                     JFA_HTTP_UNAVAILABLE);
    assert_null(strstr(err, "SECRET"));
    assert_null(strchr(err, '\n'));
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
    close(fd);
}

static void test_env_proxy_ignored(void **state)
{
    const char *urls[] = {srv_a.url};
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN], proxy[64];
    enum jfa_http_result res;
    int fd, port;

    (void)state;
    port = net_refusing_port(&fd);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port);
    setenv("http_proxy", proxy, 1);
    setenv("HTTPS_PROXY", proxy, 1);
    setenv("ALL_PROXY", proxy, 1);
    net_server_routes(&srv_a, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");
    net_cfg(&cfg, 5, urls, 1);
    res = call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err));
    unsetenv("http_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("ALL_PROXY");
    assert_int_equal(res, JFA_HTTP_OK);
    assert_int_equal(resp.status, 200);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
    close(fd);
}

static void test_tls(void **state)
{
    char cert[512], key[512], other[512], okey[512];
    struct jfa_config cfg;
    struct jfa_http_response resp;
    char err[JFA_ERRLEN];
    const char *urls[1];

    (void)state;
    if (net_make_cert("server", cert, sizeof(cert), key, sizeof(key)) != 0 ||
        net_make_cert("other", other, sizeof(other), okey, sizeof(okey)) != 0)
        skip(); /* no openssl binary */
    assert_int_equal(net_server_start(&srv_tls, "tls", cert, key), 0);
    net_server_routes(&srv_tls, "{\"*\": {\"status\": 200, \"body\": \"{\\\"tls\\\": true}\"}}");
    urls[0] = srv_tls.url;
    net_cfg(&cfg, 5, urls, 1);

    /* the right CA */
    cfg.ca_file = strdup(cert);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "{\"tls\": true}");
    jfa_http_response_free(&resp);

    /* a wrong CA: refused, nothing reaches the handler */
    free(cfg.ca_file);
    cfg.ca_file = strdup(other);
    assert_int_equal(net_server_count(&srv_tls), 1);
    /* a certificate failure is never "server unavailable" */
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    assert_non_null(strstr(err, srv_tls.url));
    assert_non_null(strcasestr(err, "certificate"));
    assert_non_null(strstr(err, "untrusted issuer: set ca_file"));
    jfa_http_response_free(&resp);

    /* the system store does not know a self-signed test cert either */
    free(cfg.ca_file);
    cfg.ca_file = NULL;
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    jfa_http_response_free(&resp);
    assert_int_equal(net_server_count(&srv_tls), 1);

    /* a trusted certificate for another name: refused (host name verification) */
    net_server_stop(&srv_tls);
    if (net_make_cert_san("misnamed", "DNS:other.example", other, sizeof(other), okey,
                          sizeof(okey)) != 0)
        fail_msg("openssl failed");
    assert_int_equal(net_server_start(&srv_tls, "tls2", other, okey), 0);
    net_server_routes(&srv_tls, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");
    net_cfg_free(&cfg);
    urls[0] = srv_tls.url;
    net_cfg(&cfg, 5, urls, 1);
    cfg.ca_file = strdup(other);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    assert_non_null(strstr(err, srv_tls.url));
    assert_non_null(strstr(err, "TLS"));
    assert_non_null(strcasestr(err, "host name"));
    /* what the certificate is for, so that the admin can fix url */
    assert_non_null(strstr(err, "certificate is for DNS:other.example, not for"));
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
    assert_int_equal(net_server_count(&srv_tls), 0);
    net_server_stop(&srv_tls);
}

/* An expired certificate (trusted, right name) is a TLS failure, named. */
static void test_tls_expired(void **state)
{
    char cert[512], key[512], err[JFA_ERRLEN];
    struct jfa_config cfg;
    struct jfa_http_response resp;
    const char *urls[1];

    (void)state;
    if (net_make_cert_expired("expired", cert, sizeof(cert), key, sizeof(key)) != 0)
        skip();
    assert_int_equal(net_server_start(&srv_tls, "tls3", cert, key), 0);
    net_server_routes(&srv_tls, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");
    urls[0] = srv_tls.url;
    net_cfg(&cfg, 5, urls, 1);
    cfg.ca_file = strdup(cert);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    assert_non_null(strstr(err, "expired"));
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
    assert_int_equal(net_server_count(&srv_tls), 0);
    net_server_stop(&srv_tls);
}

/* A TLS failure on the first url, a refused second one: still TLS, the
 * caller must not take it for a server that is down. */
static void test_tls_then_refused_is_tls(void **state)
{
    char cert[512], key[512], other[512], okey[512], err[JFA_ERRLEN], refused[64];
    struct jfa_config cfg;
    struct jfa_http_response resp;
    const char *urls[2];
    int fd, port;

    (void)state;
    if (net_make_cert("srv4", cert, sizeof(cert), key, sizeof(key)) != 0 ||
        net_make_cert("other4", other, sizeof(other), okey, sizeof(okey)) != 0)
        skip();
    assert_int_equal(net_server_start(&srv_tls, "tls4", cert, key), 0);
    port = net_refusing_port(&fd);
    snprintf(refused, sizeof(refused), "http://127.0.0.1:%d", port);
    urls[0] = srv_tls.url;
    urls[1] = refused;
    net_cfg(&cfg, 5, urls, 2);
    cfg.ca_file = strdup(other);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
    close(fd);
    net_server_stop(&srv_tls);
}

/*
 * The environment of the caller never reaches libcurl: SSLKEYLOGFILE (set
 * before curl_global_init in group_setup) is not created by a TLS call, and
 * the caller's environment is the same afterwards (no unsetenv).
 */
static void test_env_keylog_ignored(void **state)
{
    char cert[512], key[512], err[JFA_ERRLEN];
    struct jfa_config cfg;
    struct jfa_http_response resp;
    const char *urls[1];
    extern char **environ;
    char **before = environ;

    (void)state;
    if (net_make_cert("keylog", cert, sizeof(cert), key, sizeof(key)) != 0)
        skip();
    assert_int_equal(net_server_start(&srv_tls, "tls5", cert, key), 0);
    net_server_routes(&srv_tls, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");
    urls[0] = srv_tls.url;
    net_cfg(&cfg, 5, urls, 1);
    cfg.ca_file = strdup(cert);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    jfa_http_response_free(&resp);
    net_cfg_free(&cfg);
    net_server_stop(&srv_tls);
    assert_int_equal(access(keylog, F_OK), -1);
    assert_ptr_equal(environ, before);
    assert_non_null(getenv("SSLKEYLOGFILE"));
    assert_string_equal(getenv("SSLKEYLOGFILE"), keylog);
}

/* ca_file is the trust anchor: links resolved, the target checked. */
static void test_ca_file_checks(void **state)
{
    char cert[512], key[512], path[600], link[600], err[JFA_ERRLEN];
    struct jfa_config cfg;
    struct jfa_http_response resp;
    const char *urls[1];

    (void)state;
    if (net_make_cert("anchor", cert, sizeof(cert), key, sizeof(key)) != 0)
        skip();
    assert_int_equal(net_server_start(&srv_tls, "tls6", cert, key), 0);
    net_server_routes(&srv_tls, "{\"*\": {\"status\": 200, \"body\": \"{}\"}}");
    urls[0] = srv_tls.url;
    net_cfg(&cfg, 5, urls, 1);

    /* a link to a good file works */
    snprintf(link, sizeof(link), "%s/anchor-link.pem", net_scratch());
    assert_int_equal(symlink(cert, link), 0);
    cfg.ca_file = strdup(link);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_OK);
    jfa_http_response_free(&resp);

    /* group- or world-writable target, through the link or directly: refused, named */
    assert_int_equal(chmod(cert, 0666), 0);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    assert_non_null(strstr(err, link));
    assert_non_null(strstr(err, cert));
    assert_non_null(strstr(err, "too open"));
    jfa_http_response_free(&resp);
    assert_int_equal(chmod(cert, 0620), 0);
    free(cfg.ca_file);
    cfg.ca_file = strdup(cert);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    assert_non_null(strstr(err, "ca_file"));
    assert_non_null(strstr(err, "too open"));
    jfa_http_response_free(&resp);
    assert_int_equal(chmod(cert, 0644), 0);

    /* owned by another user (needs root to arrange) */
    if (geteuid() == 0) {
        assert_int_equal(chown(cert, 65534, 65534), 0);
        assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)),
                         JFA_HTTP_TLS);
        assert_non_null(strstr(err, "owned by uid 65534"));
        jfa_http_response_free(&resp);
        assert_int_equal(chown(cert, 0, 0), 0);
    }

    /* not a certificate */
    snprintf(path, sizeof(path), "%s/empty.pem", net_scratch());
    assert_int_equal(close(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)), 0);
    free(cfg.ca_file);
    cfg.ca_file = strdup(path);
    assert_int_equal(call(&cfg, "GET", "/x", NULL, NULL, &resp, err, sizeof(err)), JFA_HTTP_TLS);
    assert_non_null(strstr(err, "no PEM certificate"));
    jfa_http_response_free(&resp);

    assert_int_equal(net_server_count(&srv_tls), 1);
    net_cfg_free(&cfg);
    net_server_stop(&srv_tls);
}

static void test_response_free_idempotent(void **state)
{
    struct jfa_http_response resp;

    (void)state;
    memset(&resp, 0, sizeof(resp));
    jfa_http_response_free(&resp);
    jfa_http_response_free(&resp);
    jfa_http_response_free(NULL);
    assert_int_equal(jfa_http_global_init(), 0);
    assert_int_equal(jfa_http_global_init(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_policy),
        cmocka_unit_test(test_policy_refused_before_connect),
        cmocka_unit_test(test_policy_skips_to_allowed_url),
        cmocka_unit_test(test_status_passthrough),
        cmocka_unit_test(test_5xx_unavailable),
        cmocka_unit_test(test_failover_refused),
        cmocka_unit_test(test_failover_503_and_not_401),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_request_shape),
        cmocka_unit_test(test_errors_never_hold_secrets),
        cmocka_unit_test(test_env_proxy_ignored),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_tls_expired),
        cmocka_unit_test(test_tls_then_refused_is_tls),
        cmocka_unit_test(test_env_keylog_ignored),
        cmocka_unit_test(test_ca_file_checks),
        cmocka_unit_test(test_response_free_idempotent),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
