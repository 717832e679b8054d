/*
 * tests/unit/test_jellyfin.c - unit tests for lib/jellyfin.c.
 *
 * Owns: the client's status mapping (200/204/400/401/403/404/415/302/418/
 * 500/503, undecodable and oversized answers, local policy), the request
 * each call sends (method, path, Authorization header with and without a
 * token, body), URL fail-over through the client, and that c->err never
 * carries a password or token; and the lockout guard's decision
 * (lib/lockout.c) at every boundary. Runs tests/unit/net_server.py, not
 * the fake.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "authheader.h"
#include "http.h"
#include "jellyfin.h"
#include "lockout.h"
#include "net_testutil.h"

#define UID1 "4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3d"
#define TOKEN "9f86d081884c7d659a2feaa0c55ad015"
#define PASSWORD "pa\\ss \"w0rd\"SECRET"

static struct net_server srv_a, srv_b;

static const char auth_ok[] =
    "{\"User\":{\"Name\":\"Alice\",\"Id\":\"" UID1 "\",\"Policy\":{\"IsDisabled\":false}},"
    "\"AccessToken\":\"" TOKEN "\",\"ServerId\":\"e3b0c44298fc1c149afbf4c8996fb924\"}";

static int group_setup(void **state)
{
    (void)state;
    if (net_server_start(&srv_a, "ja", NULL, NULL) != 0 ||
        net_server_start(&srv_b, "jb", NULL, NULL) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    net_server_stop(&srv_a);
    net_server_stop(&srv_b);
    net_scratch_cleanup();
    return 0;
}

/* Route everything on srv_a to status + body (a JSON string literal's content). */
static void answer(struct net_server *s, int status, const char *body_json_escaped)
{
    char routes[4096];

    snprintf(routes, sizeof(routes), "{\"*\": {\"status\": %d, \"body\": \"%s\"}}", status,
             body_json_escaped);
    net_server_routes(s, routes);
}

/* auth_ok, escaped for the routes file */
static char *auth_ok_escaped(void)
{
    struct json_object *s = json_object_new_string(auth_ok);
    const char *t = json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN);
    size_t n = strlen(t);
    char *r = strndup(t + 1, n - 2); /* drop the surrounding quotes */

    json_object_put(s);
    return r;
}

static void client(struct jfa_client *c, struct jfa_config *cfg, const char *const *urls, size_t n)
{
    net_cfg(cfg, 5, urls, n);
    assert_int_equal(jfa_client_init(c, cfg, NULL, "pam_jellyfin", UID1), 0);
}

static void test_client_init(void **state)
{
    const char *urls[] = {srv_a.url};
    struct jfa_config cfg;
    struct jfa_client c, c2;
    char expect[33];

    (void)state;
    client(&c, &cfg, urls, 1);
    assert_true(c.device[0] != '\0');
    assert_int_equal(strlen(c.device_id), 32);
    assert_int_equal(jfa_device_id("pam_jellyfin", UID1, expect), 0);
    assert_string_equal(c.device_id, expect);
    assert_int_equal(jfa_client_init(&c2, &cfg, NULL, "jellyfin-auth", NULL), 0);
    assert_string_not_equal(c.device_id, c2.device_id);
    assert_int_equal(jfa_client_init(&c2, &cfg, NULL, NULL, NULL), -1);
    assert_int_equal(jfa_client_init(&c2, NULL, NULL, "x", NULL), -1);
    net_cfg_free(&cfg);
}

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(jfa_status_str(JFA_OK), "ok");
    assert_string_equal(jfa_status_str(JFA_ERR_AUTH), "authentication failed");
    assert_string_equal(jfa_status_str(JFA_ERR_FORBIDDEN), "forbidden");
    assert_string_equal(jfa_status_str(JFA_ERR_BADREQ), "bad request");
    assert_string_equal(jfa_status_str(JFA_ERR_NOTFOUND), "not found");
    assert_string_equal(jfa_status_str(JFA_ERR_UNAVAILABLE), "server unavailable");
    assert_string_equal(jfa_status_str(JFA_ERR_PROTOCOL), "protocol error");
    assert_string_equal(jfa_status_str(JFA_ERR_CONFIG), "configuration error");
    assert_string_equal(jfa_status_str(JFA_ERR_INTERNAL), "internal error");
    assert_string_equal(jfa_status_str((enum jfa_status)99), "unknown status");
}

static void test_authenticate_ok(void **state)
{
    const char *urls[] = {srv_a.url};
    struct jfa_config cfg;
    struct jfa_client c;
    struct jfa_auth_result r;
    struct json_object *req, *body, *v;
    char *esc = auth_ok_escaped();
    char *hdr;

    (void)state;
    client(&c, &cfg, urls, 1);
    answer(&srv_a, 200, esc);
    assert_int_equal(jfa_authenticate(&c, "alice", PASSWORD, &r), JFA_OK);
    assert_int_equal(c.last_http_status, 200);
    assert_string_equal(c.err, "");
    assert_string_equal(r.user.name, "Alice");
    assert_string_equal(r.user.id, UID1);
    assert_string_equal(r.access_token, TOKEN);
    jfa_auth_result_free(&r);

    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "POST");
    assert_string_equal(net_req_str(req, "path"), "/Users/AuthenticateByName");
    hdr = jfa_auth_header("pam_jellyfin", c.device, c.device_id, JFA_VERSION, NULL);
    assert_string_equal(net_req_header(req, "authorization"), hdr);
    assert_null(strstr(hdr, "Token="));
    free(hdr);
    assert_string_equal(net_req_header(req, "content-type"), "application/json");
    body = json_tokener_parse(net_req_str(req, "body"));
    assert_non_null(body);
    assert_true(json_object_object_get_ex(body, "Username", &v));
    assert_string_equal(json_object_get_string(v), "alice");
    assert_true(json_object_object_get_ex(body, "Pw", &v));
    assert_string_equal(json_object_get_string(v), PASSWORD);
    json_object_put(body);
    json_object_put(req);
    free(esc);
    net_cfg_free(&cfg);
}

static void test_authenticate_status_mapping(void **state)
{
    static const struct {
        int status;
        const char *body;
        enum jfa_status want;
    } cases[] = {
        {400, "Error processing request.", JFA_ERR_BADREQ},
        {415, "", JFA_ERR_BADREQ},
        {401, "", JFA_ERR_AUTH},
        {403, "", JFA_ERR_FORBIDDEN},
        {404, "", JFA_ERR_NOTFOUND},
        {302, "", JFA_ERR_PROTOCOL},
        {418, "", JFA_ERR_PROTOCOL},
        {204, "", JFA_ERR_PROTOCOL},
        {201, "{}", JFA_ERR_PROTOCOL},
        {500, "", JFA_ERR_UNAVAILABLE},
        {503, "", JFA_ERR_UNAVAILABLE},
        {200, "", JFA_ERR_PROTOCOL},
        {200, "not json", JFA_ERR_PROTOCOL},
        {200, "{\\\"User\\\":{\\\"Name\\\":\\\"a\\\"}}", JFA_ERR_PROTOCOL},
    };
    const char *urls[] = {srv_a.url};
    struct jfa_config cfg;
    struct jfa_client c;
    struct jfa_auth_result r;

    (void)state;
    client(&c, &cfg, urls, 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char st[16];

        answer(&srv_a, cases[i].status, cases[i].body);
        if (jfa_authenticate(&c, "alice", PASSWORD, &r) != cases[i].want)
            fail_msg("status %d: wrong mapping (%s)", cases[i].status, c.err);
        assert_null(r.access_token);
        assert_int_equal(c.last_http_status, cases[i].status);
        snprintf(st, sizeof(st), "%d", cases[i].status);
        assert_non_null(strstr(c.err, st));
        assert_null(strstr(c.err, "SECRET"));
        jfa_auth_result_free(&r);
    }
    /* a decoder message names the field */
    answer(&srv_a, 200, "{\\\"User\\\":{\\\"Name\\\":\\\"a\\\"}}");
    assert_int_equal(jfa_authenticate(&c, "alice", PASSWORD, &r), JFA_ERR_PROTOCOL);
    assert_non_null(strstr(c.err, "User.Id: missing"));
    assert_non_null(strstr(c.err, srv_a.url));
    net_cfg_free(&cfg);
}

static void test_token_calls(void **state)
{
    const char *urls[] = {srv_a.url};
    struct jfa_config cfg;
    struct jfa_client c;
    struct json_object *req, *body, *v;
    struct jfa_user u;
    struct jfa_user_list l;
    struct jfa_system_info s;
    struct jfa_api_key_list k;
    char *hdr;

    (void)state;
    client(&c, &cfg, urls, 1);
    hdr = jfa_auth_header("pam_jellyfin", c.device, c.device_id, JFA_VERSION, TOKEN);

    /* logout: 204 and 200 are both fine */
    answer(&srv_a, 204, "");
    assert_int_equal(jfa_logout(&c, TOKEN), JFA_OK);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "POST");
    assert_string_equal(net_req_str(req, "path"), "/Sessions/Logout");
    assert_string_equal(net_req_header(req, "authorization"), hdr);
    json_object_put(req);
    answer(&srv_a, 200, "");
    assert_int_equal(jfa_logout(&c, TOKEN), JFA_OK);
    answer(&srv_a, 401, "");
    assert_int_equal(jfa_logout(&c, TOKEN), JFA_ERR_AUTH);
    assert_null(strstr(c.err, TOKEN));
    assert_int_equal(jfa_logout(&c, NULL), JFA_ERR_INTERNAL);

    /* password change */
    answer(&srv_a, 204, "");
    assert_int_equal(jfa_change_password(&c, TOKEN, UID1, "old" PASSWORD, "new" PASSWORD), JFA_OK);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "POST");
    assert_string_equal(net_req_str(req, "path"), "/Users/Password?userId=" UID1);
    assert_string_equal(net_req_header(req, "authorization"), hdr);
    body = json_tokener_parse(net_req_str(req, "body"));
    assert_true(json_object_object_get_ex(body, "CurrentPw", &v));
    assert_string_equal(json_object_get_string(v), "old" PASSWORD);
    assert_true(json_object_object_get_ex(body, "NewPw", &v));
    assert_string_equal(json_object_get_string(v), "new" PASSWORD);
    json_object_put(body);
    json_object_put(req);
    answer(&srv_a, 403, "\\\"Invalid user or password entered.\\\"");
    assert_int_equal(jfa_change_password(&c, TOKEN, UID1, "old", "new"), JFA_ERR_FORBIDDEN);
    assert_int_equal(c.last_http_status, 403);

    /* Users/Me */
    answer(&srv_a, 200, "{\\\"Name\\\":\\\"Alice\\\",\\\"Id\\\":\\\"" UID1 "\\\"}");
    assert_int_equal(jfa_get_me(&c, TOKEN, &u), JFA_OK);
    assert_string_equal(u.name, "Alice");
    jfa_user_free(&u);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "GET");
    assert_string_equal(net_req_str(req, "path"), "/Users/Me");
    json_object_put(req);
    answer(&srv_a, 400, "");
    assert_int_equal(jfa_get_me(&c, TOKEN, &u), JFA_ERR_BADREQ);
    assert_null(u.name);

    /* Users/{Id}: the policy counters the lockout guard reads */
    answer(&srv_a, 200,
           "{\\\"Name\\\":\\\"Alice\\\",\\\"Id\\\":\\\"" UID1 "\\\",\\\"Policy\\\":{"
           "\\\"LoginAttemptsBeforeLockout\\\":3,\\\"InvalidLoginAttemptCount\\\":2}}");
    assert_int_equal(jfa_get_user(&c, TOKEN, UID1, &u), JFA_OK);
    assert_int_equal(u.policy.login_attempts_before_lockout, 3);
    assert_int_equal(u.policy.invalid_login_attempt_count, 2);
    jfa_user_free(&u);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "path"), "/Users/" UID1);
    json_object_put(req);
    answer(&srv_a, 404, "");
    assert_int_equal(jfa_get_user(&c, TOKEN, UID1, &u), JFA_ERR_NOTFOUND);
    /* an Id that is not 32 lowercase hex digits never reaches a path */
    assert_int_equal(jfa_get_user(&c, TOKEN, "../Me", &u), JFA_ERR_INTERNAL);
    assert_int_equal(jfa_get_user(&c, TOKEN, "4F2A9C0E8B1D4E6FA3C57D9E0B1A2C3D", &u),
                     JFA_ERR_INTERNAL);

    /* Users with a token, Users/Public without */
    answer(&srv_a, 200, "[{\\\"Name\\\":\\\"Alice\\\",\\\"Id\\\":\\\"" UID1 "\\\"}]");
    assert_int_equal(jfa_list_users(&c, TOKEN, &l), JFA_OK);
    assert_int_equal(l.n, 1);
    jfa_user_list_free(&l);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "path"), "/Users");
    assert_string_equal(net_req_header(req, "authorization"), hdr);
    json_object_put(req);
    answer(&srv_a, 200, "[]");
    assert_int_equal(jfa_list_users(&c, NULL, &l), JFA_OK);
    assert_int_equal(l.n, 0);
    jfa_user_list_free(&l);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "path"), "/Users/Public");
    assert_null(strstr(net_req_header(req, "authorization"), "Token="));
    json_object_put(req);
    answer(&srv_a, 200, "{}");
    assert_int_equal(jfa_list_users(&c, TOKEN, &l), JFA_ERR_PROTOCOL);

    /* System/Info/Public */
    answer(&srv_a, 200, "{\\\"Version\\\":\\\"10.11.11\\\"}");
    assert_int_equal(jfa_system_info(&c, &s), JFA_OK);
    assert_string_equal(s.version, "10.11.11");
    jfa_system_info_free(&s);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "path"), "/System/Info/Public");
    assert_null(strstr(net_req_header(req, "authorization"), "Token="));
    json_object_put(req);

    /* Auth/Keys */
    answer(&srv_a, 204, "");
    assert_int_equal(jfa_create_api_key(&c, TOKEN, "jellyfin auth/1"), JFA_OK);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "POST");
    assert_string_equal(net_req_str(req, "path"), "/Auth/Keys?app=jellyfin%20auth%2F1");
    json_object_put(req);
    answer(&srv_a, 403, "");
    assert_int_equal(jfa_create_api_key(&c, TOKEN, "x"), JFA_ERR_FORBIDDEN);
    assert_int_equal(jfa_create_api_key(&c, TOKEN, ""), JFA_ERR_INTERNAL);
    answer(&srv_a, 200,
           "{\\\"Items\\\":[{\\\"AccessToken\\\":\\\"" TOKEN
           "\\\",\\\"AppName\\\":\\\"x\\\"}],\\\"TotalRecordCount\\\":1}");
    assert_int_equal(jfa_list_api_keys(&c, TOKEN, &k), JFA_OK);
    assert_int_equal(k.n, 1);
    assert_string_equal(k.keys[0].app_name, "x");
    jfa_api_key_list_free(&k);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "GET");
    assert_string_equal(net_req_str(req, "path"), "/Auth/Keys");
    json_object_put(req);

    free(hdr);
    net_cfg_free(&cfg);
}

static void test_failover_and_local_failures(void **state)
{
    struct jfa_config cfg;
    struct jfa_client c;
    struct jfa_auth_result r;
    char refused[64], routes[256];
    const char *urls[3];
    char *esc = auth_ok_escaped();
    int fd, port;

    (void)state;
    port = net_refusing_port(&fd);
    snprintf(refused, sizeof(refused), "http://127.0.0.1:%d", port);

    /* refused, then 503, then a good server */
    urls[0] = refused;
    urls[1] = srv_a.url;
    urls[2] = srv_b.url;
    client(&c, &cfg, urls, 3);
    answer(&srv_a, 503, "");
    answer(&srv_b, 200, esc);
    assert_int_equal(jfa_authenticate(&c, "alice", PASSWORD, &r), JFA_OK);
    assert_string_equal(r.access_token, TOKEN);
    jfa_auth_result_free(&r);

    /* a 401 on the first reachable url is final */
    answer(&srv_a, 401, "");
    assert_int_equal(jfa_authenticate(&c, "alice", PASSWORD, &r), JFA_ERR_AUTH);
    net_cfg_free(&cfg);

    /* nothing reachable */
    urls[1] = refused;
    client(&c, &cfg, urls, 2);
    assert_int_equal(jfa_authenticate(&c, "alice", PASSWORD, &r), JFA_ERR_UNAVAILABLE);
    assert_int_equal(c.last_http_status, 0);
    assert_non_null(strstr(c.err, refused));
    assert_null(strstr(c.err, "SECRET"));
    net_cfg_free(&cfg);

    /* local policy: plain http to a non-loopback host */
    urls[0] = "http://192.0.2.1:8096";
    client(&c, &cfg, urls, 1);
    assert_int_equal(jfa_authenticate(&c, "alice", PASSWORD, &r), JFA_ERR_CONFIG);
    assert_non_null(strstr(c.err, "plain http"));
    net_cfg_free(&cfg);

    /* oversized answer */
    urls[0] = srv_a.url;
    client(&c, &cfg, urls, 1);
    snprintf(routes, sizeof(routes), "{\"*\": {\"size\": %u}}", JFA_HTTP_MAX_BODY + 10);
    net_server_routes(&srv_a, routes);
    assert_int_equal(jfa_list_users(&c, TOKEN, &(struct jfa_user_list){0}), JFA_ERR_PROTOCOL);
    net_cfg_free(&cfg);
    free(esc);
    close(fd);
}

/* A user answer with the lockout fields, escaped for the routes file. */
static void answer_user(int limit, int count, bool disabled)
{
    char body[512];

    snprintf(body, sizeof(body),
             "{\\\"Name\\\":\\\"Alice\\\",\\\"Id\\\":\\\"" UID1 "\\\",\\\"Policy\\\":{"
             "\\\"LoginAttemptsBeforeLockout\\\":%d,\\\"InvalidLoginAttemptCount\\\":%d,"
             "\\\"IsDisabled\\\":%s}}",
             limit, count, disabled ? "true" : "false");
    answer(&srv_a, 200, body);
}

static enum jfa_lockout check(struct jfa_client *c, struct jfa_lockout_info *info, char *why,
                              size_t whylen)
{
    enum jfa_lockout r = jfa_lockout_check(c, UID1, info, why, whylen);

    assert_null(strstr(why, TOKEN)); /* the key never reaches a message */
    return r;
}

static void test_lockout_decision(void **state)
{
    const char *urls[] = {srv_a.url};
    struct jfa_config cfg;
    struct jfa_client c;
    struct jfa_lockout_info info;
    struct json_object *req;
    char why[JFA_ERRLEN], key_path[512], hdr_token[64];
    FILE *f;

    (void)state;
    client(&c, &cfg, urls, 1);
    snprintf(key_path, sizeof(key_path), "%s/api.key", net_scratch());
    cfg.api_key_file = strdup(key_path);
    assert_non_null(cfg.api_key_file);

    /* off: nothing is read or asked */
    cfg.lockout_guard = false;
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_OFF);
    cfg.lockout_guard = true;
    /* no key file */
    unlink(key_path);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_NO_KEY);
    assert_non_null(strstr(why, key_path));
    f = fopen(key_path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", TOKEN);
    fclose(f);
    assert_int_equal(chmod(key_path, 0600), 0);

    /* below the limit: send; the request reads the user with the key */
    answer_user(3, 1, false);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SEND);
    assert_int_equal(info.count, 1);
    assert_int_equal(info.limit, 3);
    req = net_server_last(&srv_a);
    assert_string_equal(net_req_str(req, "method"), "GET");
    assert_string_equal(net_req_str(req, "path"), "/Users/" UID1);
    snprintf(hdr_token, sizeof(hdr_token), "Token=\"%s\"", TOKEN);
    assert_non_null(strstr(net_req_header(req, "authorization"), hdr_token));
    json_object_put(req);
    /* one failure from the limit: refuse */
    answer_user(3, 2, false);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_REFUSE);
    answer_user(5, 7, false);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_REFUSE);
    answer_user(5, 3, false);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SEND);
    /* already disabled: the server answers 403 whatever the password */
    answer_user(3, 2, true);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SEND);
    /* no lockout in Jellyfin */
    answer_user(-1, 50, false);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SEND);
    /* a limit of 1 is not guarded */
    answer_user(1, 0, false);
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SKIPPED);
    assert_non_null(strstr(why, "first failed login"));
    /* a refused key, an undecodable answer: skipped, with the reason */
    answer(&srv_a, 401, "");
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SKIPPED);
    assert_non_null(strstr(why, "API key"));
    answer(&srv_a, 200, "[]");
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SKIPPED);
    assert_int_equal(info.count, -1);
    /* unreachable: the caller goes offline */
    answer(&srv_a, 503, "");
    assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_UNREACHABLE);
    /* A sound key file this process cannot read now (no descriptor left: the
     * caller of su sets RLIMIT_NOFILE) must not switch the guard off. */
    {
        struct rlimit old_lim, lim;
        int probe = dup(0);

        answer_user(3, 0, false); /* writes the fake's routes: before the limit */
        assert_true(probe >= 0);
        close(probe);
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &old_lim), 0);
        lim = old_lim;
        lim.rlim_cur = (rlim_t)probe; /* every descriptor from probe on is refused */
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
        assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_ERROR);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old_lim), 0);
        assert_non_null(strstr(why, key_path));
        /* and with descriptors back, the same file is read and used */
        assert_int_equal(check(&c, &info, why, sizeof(why)), JFA_LOCKOUT_SEND);
    }
    /* an unsafe key file is not used (a fault as root, expected elsewhere) */
    answer_user(3, 2, false);
    assert_int_equal(chmod(key_path, 0644), 0);
    assert_int_equal(check(&c, &info, why, sizeof(why)),
                     geteuid() == 0 ? JFA_LOCKOUT_SKIPPED : JFA_LOCKOUT_NO_KEY);
    unlink(key_path);
    free(cfg.api_key_file); /* net_cfg_free owns only what net_cfg set */
    net_cfg_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_init),      cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_authenticate_ok),  cmocka_unit_test(test_authenticate_status_mapping),
        cmocka_unit_test(test_token_calls),      cmocka_unit_test(test_failover_and_local_failures),
        cmocka_unit_test(test_lockout_decision),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
