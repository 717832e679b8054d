/*
 * tests/integration/net_client.c - a command-line driver of lib/jellyfin.c
 * for the net integration test (tests/integration/net-fake.sh).
 *
 * Owns: turning one command line into one client call and printing the
 * outcome as "status: <jfa_status_str>" plus "key: value" lines, so a shell
 * test can check them against the fake Jellyfin. Test-only: it prints the
 * tokens it gets (they are the fake's).
 *
 *   net_client URL CAFILE|- auth USER PASSWORD
 *   net_client URL CAFILE|- logout TOKEN | me TOKEN | users TOKEN|- | keys TOKEN
 *   net_client URL CAFILE|- sysinfo
 *   net_client URL CAFILE|- passwd TOKEN USERID OLD NEW
 *   net_client URL CAFILE|- mkkey TOKEN APP
 *   net_client URL CAFILE|- qc-enabled
 *   net_client URL CAFILE|- qc-flow HOOK SECONDS   (lib/quickconnect.c: initiate,
 *       run "HOOK CODE", wait SECONDS for the approval, redeem)
 *   net_client URL CAFILE|- qc-check SECRET | qc-redeem SECRET
 * URL may be several urls separated by commas (tried in order).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jellyfin.h"
#include "quickconnect.h"

static void usage(void)
{
    fprintf(stderr, "usage: net_client URL[,URL...] CAFILE|- OP [ARGS...]\n");
    exit(2);
}

static void print_user(const char *prefix, const struct jfa_user *u)
{
    printf("%sname: %s\n", prefix, u->name);
    printf("%sid: %s\n", prefix, u->id);
    printf("%sadmin: %d\n", prefix, u->policy.is_administrator);
    printf("%sdisabled: %d\n", prefix, u->policy.is_disabled);
    printf("%shidden: %d\n", prefix, u->policy.is_hidden);
}

int main(int argc, char **argv)
{
    struct jfa_log log = {.fn = jfa_log_stderr, .ctx = NULL, .debug = false};
    struct jfa_config cfg;
    struct jfa_client c;
    enum jfa_status st = JFA_ERR_INTERNAL;
    const char *op;
    char *urls, *save = NULL;

    if (argc < 4)
        usage();
    memset(&cfg, 0, sizeof(cfg));
    cfg.timeout = 5;
    urls = strdup(argv[1]);
    for (char *u = strtok_r(urls, ",", &save); u && cfg.n_urls < JFA_MAX_URLS;
         u = strtok_r(NULL, ",", &save))
        cfg.urls[cfg.n_urls++] = u;
    if (strcmp(argv[2], "-") != 0)
        cfg.ca_file = argv[2];
    op = argv[3];
    if (jfa_client_init(&c, &cfg, &log, "jellyfin-auth-test", NULL) != 0) {
        fprintf(stderr, "init: %s\n", c.err);
        return 1;
    }

    if (strcmp(op, "auth") == 0 && argc == 6) {
        struct jfa_auth_result r;

        st = jfa_authenticate(&c, argv[4], argv[5], &r);
        if (st == JFA_OK) {
            print_user("", &r.user);
            printf("token: %s\n", r.access_token);
            printf("session: %s\n", r.session_id);
        }
        jfa_auth_result_free(&r);
    } else if (strcmp(op, "logout") == 0 && argc == 5) {
        st = jfa_logout(&c, argv[4]);
    } else if (strcmp(op, "me") == 0 && argc == 5) {
        struct jfa_user u;

        st = jfa_get_me(&c, argv[4], &u);
        if (st == JFA_OK)
            print_user("", &u);
        jfa_user_free(&u);
    } else if (strcmp(op, "users") == 0 && argc == 5) {
        struct jfa_user_list l;

        st = jfa_list_users(&c, strcmp(argv[4], "-") == 0 ? NULL : argv[4], &l);
        if (st == JFA_OK) {
            printf("count: %zu\n", l.n);
            for (size_t i = 0; i < l.n; i++)
                printf("user: %s %s disabled=%d hidden=%d\n", l.users[i].name, l.users[i].id,
                       l.users[i].policy.is_disabled, l.users[i].policy.is_hidden);
        }
        jfa_user_list_free(&l);
    } else if (strcmp(op, "sysinfo") == 0 && argc == 4) {
        struct jfa_system_info s;

        st = jfa_system_info(&c, &s);
        if (st == JFA_OK) {
            printf("version: %s\n", s.version ? s.version : "");
            printf("product: %s\n", s.product_name ? s.product_name : "");
            printf("id: %s\n", s.id);
        }
        jfa_system_info_free(&s);
    } else if (strcmp(op, "passwd") == 0 && argc == 8) {
        st = jfa_change_password(&c, argv[4], argv[5], argv[6], argv[7]);
    } else if (strcmp(op, "mkkey") == 0 && argc == 6) {
        st = jfa_create_api_key(&c, argv[4], argv[5]);
    } else if (strcmp(op, "keys") == 0 && argc == 5) {
        struct jfa_api_key_list k;

        st = jfa_list_api_keys(&c, argv[4], &k);
        if (st == JFA_OK) {
            printf("count: %zu\n", k.n);
            for (size_t i = 0; i < k.n; i++)
                printf("key: %s %s\n", k.keys[i].app_name ? k.keys[i].app_name : "-",
                       k.keys[i].access_token);
        }
        jfa_api_key_list_free(&k);
    } else if (strcmp(op, "qc-enabled") == 0 && argc == 4) {
        bool on;

        st = jfa_qc_enabled(&c, &on);
        if (st == JFA_OK)
            printf("enabled: %d\n", on);
    } else if (strcmp(op, "qc-flow") == 0 && argc == 6) {
        struct jfa_quick_connect q;
        struct jfa_auth_result r;
        struct timespec deadline;
        char cmd[4096];

        memset(&r, 0, sizeof(r));
        st = jfa_qc_initiate(&c, &q);
        if (st == JFA_OK) {
            printf("code: %s\nsecret-length: %zu\n", q.code, strlen(q.secret));
            fflush(stdout);
            snprintf(cmd, sizeof(cmd), "%s %s", argv[4], q.code);
            if (system(cmd) != 0)
                fprintf(stderr, "hook failed\n");
            clock_gettime(CLOCK_MONOTONIC, &deadline);
            deadline.tv_sec += atoi(argv[5]);
            st = jfa_qc_wait(&c, &q, &deadline, 1);
        }
        if (st == JFA_OK) {
            printf("approved: %d\n", q.authenticated);
            st = jfa_qc_redeem(&c, &q, &r);
            if (st == JFA_OK) {
                print_user("", &r.user);
                printf("token: %s\n", r.access_token);
            }
        }
        jfa_auth_result_free(&r);
        jfa_quick_connect_wipe(&q);
    } else if ((strcmp(op, "qc-check") == 0 || strcmp(op, "qc-redeem") == 0) && argc == 5) {
        struct jfa_quick_connect q;
        struct jfa_auth_result r;

        memset(&q, 0, sizeof(q));
        snprintf(q.secret, sizeof(q.secret), "%s", argv[4]);
        if (strcmp(op, "qc-check") == 0) {
            st = jfa_qc_check(&c, &q);
            if (st == JFA_OK)
                printf("approved: %d\n", q.authenticated);
        } else {
            st = jfa_qc_redeem(&c, &q, &r);
            jfa_auth_result_free(&r);
        }
    } else {
        usage();
    }
    printf("status: %s\n", jfa_status_str(st));
    printf("http: %ld\n", c.last_http_status);
    if (st != JFA_OK)
        printf("err: %s\n", c.err);
    free(urls);
    return 0;
}
