/*
 * tests/unit/test_loginflow.c - unit tests for lib/loginflow.c.
 *
 * Owns: the order and the outcome of the login flow's decisions that need
 * no Jellyfin server (the verdict's PAM result; the password rules; the
 * user's and the host's back-off; a refused password remembered; when
 * Quick Connect is offered and how a request is counted; the
 * offline path when the only url refuses connections; the account stage's
 * disabled and remote-access rules; a /etc/passwd that cannot be read
 * says "cannot tell", not "not listed"), that each decision is reported as a
 * step and nothing after a refusal, and that explain without a password
 * records nothing. Verdicts against a server are compared with PAM's in
 * tests/integration/pam-explain.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <security/_pam_types.h>

#include "jfaconf.h"
#include "db.h"
#include "hostaccts.h"
#include "loginflow.h"
#include "state.h"

#define ID_A "0123456789abcdef0123456789abcdef"
#define MAX_STEPS 32

struct fx {
    char dir[64];
    char priv[128];
    struct jfa_config cfg;
    struct jfa_log log;
    struct jfa_db db;
    struct jfa_db_user dbu;
    char esc[JFA_FLOW_ESC_LEN];
    struct jfa_flow flow;
    /* recorded steps */
    char steps[MAX_STEPS][32];
    enum jfa_step_result results[MAX_STEPS];
    char detail[512]; /* the last step's */
    int n;
    int kept;
    bool kept_token;
};

static void on_step(void *ctx, const struct jfa_flow_step *s)
{
    struct fx *f = ctx;

    assert_non_null(s->rule);
    assert_true(s->rule[0] != '\0');
    if (f->n < MAX_STEPS) {
        snprintf(f->steps[f->n], sizeof(f->steps[0]), "%s", s->step);
        f->results[f->n] = s->result;
    }
    snprintf(f->detail, sizeof(f->detail), "%s", s->detail);
    f->n++;
}

static enum jfa_verdict keep(void *ctx, const char *token, uint32_t flags)
{
    struct fx *f = ctx;

    (void)flags;
    f->kept++;
    f->kept_token = token != NULL;
    return JFA_V_SUCCESS;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char conf[512], err[256];
    int n;

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/jfa-flow.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->priv, sizeof(f->priv), "%s/private", f->dir);
    jfa_config_defaults(&f->cfg);
    /* port 1 on loopback refuses connections at once: "unreachable" */
    n = snprintf(conf, sizeof(conf),
                 "url = http://127.0.0.1:1\nstate_dir = %s\napi_key_file = %s/no.key\n"
                 "timeout = 2\noffline_max_age = 1h\nthrottle_failures = 2\n"
                 "local_networks = 10.0.0.0/8\n",
                 f->dir, f->dir);
    if (jfa_config_parse(&f->cfg, conf, (size_t)n, "test.conf", err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    f->dbu.uid = f->cfg.uid_min + 5;
    f->dbu.gid = f->dbu.uid;
    f->dbu.name = "alice";
    f->dbu.home = "/home/alice";
    f->dbu.jf_name = "Alice";
    memcpy(f->dbu.jf_id, ID_A, 33);
    snprintf(f->esc, sizeof(f->esc), "alice");
    f->flow.cfg = &f->cfg;
    f->flow.log = &f->log;
    f->flow.private_dir = f->priv;
    f->flow.user = "alice";
    f->flow.db = &f->db;
    f->flow.dbu = &f->dbu;
    f->flow.user_esc = f->esc;
    f->flow.on_step = on_step;
    f->flow.step_ctx = f;
    f->flow.keep = keep;
    f->flow.keep_ctx = f;
    f->flow.have_user = true;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", f->dir);
    jfa_config_free(&f->cfg);
    free(f);
    return 0;
}

/* The steps reported, "a b c", and the result of the last. */
static const char *trace(struct fx *f)
{
    static char buf[1024];
    size_t off = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; i < f->n && i < MAX_STEPS; i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "", f->steps[i]);
    return buf;
}

static enum jfa_step_result last(struct fx *f)
{
    return f->results[f->n - 1];
}

static void test_verdict_pam(void **state)
{
    (void)state;
    assert_int_equal(jfa_verdict_pam(JFA_V_SUCCESS), PAM_SUCCESS);
    assert_int_equal(jfa_verdict_pam(JFA_V_USER_UNKNOWN), PAM_USER_UNKNOWN);
    assert_int_equal(jfa_verdict_pam(JFA_V_AUTH_ERR), PAM_AUTH_ERR);
    assert_int_equal(jfa_verdict_pam(JFA_V_ACCT_EXPIRED), PAM_ACCT_EXPIRED);
    assert_int_equal(jfa_verdict_pam(JFA_V_PERM_DENIED), PAM_PERM_DENIED);
    assert_int_equal(jfa_verdict_pam(JFA_V_AUTHINFO_UNAVAIL), PAM_AUTHINFO_UNAVAIL);
    assert_int_equal(jfa_verdict_pam(JFA_V_BUF_ERR), PAM_BUF_ERR);
    assert_int_equal(jfa_verdict_pam(JFA_V_SYSTEM_ERR), PAM_SYSTEM_ERR);
    /* undecided is never a success */
    assert_int_equal(jfa_verdict_pam(JFA_V_UNDECIDED), PAM_AUTH_ERR);
    assert_string_equal(jfa_verdict_name(JFA_V_PERM_DENIED), "PAM_PERM_DENIED");
    assert_string_equal(jfa_verdict_name(JFA_V_UNDECIDED), "undecided");
}

static void test_password_rules(void **state)
{
    struct fx *f = *state;
    char *longpw = malloc(JFA_PASSWORD_MAX + 2);

    assert_int_equal(jfa_flow_authenticate(&f->flow, ""), JFA_V_AUTH_ERR);
    assert_string_equal(trace(f), "password");
    assert_int_equal(last(f), JFA_STEP_STOP);
    assert_false(f->flow.password_sent);
    f->n = 0;
    memset(longpw, 'x', JFA_PASSWORD_MAX + 1);
    longpw[JFA_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(jfa_flow_authenticate(&f->flow, longpw), JFA_V_AUTH_ERR);
    assert_string_equal(trace(f), "password");
    free(longpw);
    /* nullok: an empty password goes on (here: to the unreachable server,
     * no verifier: cannot decide) */
    f->n = 0;
    f->flow.nullok = true;
    assert_int_equal(jfa_flow_authenticate(&f->flow, ""), JFA_V_AUTHINFO_UNAVAIL);
    assert_int_equal(f->kept, 0);
}

static void test_throttled_user_and_host(void **state)
{
    struct fx *f = *state;
    time_t now = time(NULL);
    unsigned long count;
    long wait;

    jfa_throttle_failure(&f->cfg, f->priv, ID_A, now);
    jfa_throttle_failure(&f->cfg, f->priv, ID_A, now);
    assert_int_equal(jfa_flow_authenticate(&f->flow, "pw"), JFA_V_AUTH_ERR);
    assert_string_equal(trace(f), "password lock throttle-user");
    assert_int_equal(last(f), JFA_STEP_STOP);
    /* a throttle refusal is not a new failure */
    jfa_throttle_info(&f->cfg, f->priv, ID_A, now, &count, &wait);
    assert_int_equal(count, 2);
    jfa_throttle_success(f->priv, ID_A);
    /* the host */
    jfa_throttle_failure(&f->cfg, f->priv, "host:192.0.2.3", now);
    jfa_throttle_failure(&f->cfg, f->priv, "host:192.0.2.3", now);
    f->n = 0;
    f->flow.rhost = "192.0.2.3";
    assert_int_equal(jfa_flow_authenticate(&f->flow, "pw"), JFA_V_AUTH_ERR);
    assert_string_equal(trace(f), "password lock throttle-user throttle-host");
    assert_int_equal(last(f), JFA_STEP_STOP);
    /* another host goes on */
    f->n = 0;
    f->flow.rhost = "192.0.2.4";
    assert_int_equal(jfa_flow_authenticate(&f->flow, "pw"), JFA_V_AUTHINFO_UNAVAIL);
    assert_true(f->flow.password_sent); /* tried: the server did not answer */
}

/* Quick Connect: offered by nullok, quick_connect and local_networks for
 * the host; a request counted under the throttle of the user and of the
 * host, refused by either, taken back when it was never made (here: the
 * server's switch cannot be asked). */
static void test_quick_connect_rules(void **state)
{
    struct fx *f = *state;
    time_t now = time(NULL);
    unsigned long count;
    long wait;
    bool offered = true;

    /* quick_connect = no (the default) */
    assert_int_equal(jfa_flow_quick_connect(&f->flow, &offered), JFA_V_AUTH_ERR);
    assert_false(offered);
    assert_string_equal(trace(f), "quick-connect");
    assert_int_equal(last(f), JFA_STEP_STOP);
    /* nullok: an empty answer is an empty password */
    f->cfg.quick_connect = JFA_QC_YES;
    f->flow.nullok = true;
    f->n = 0;
    offered = true;
    assert_int_equal(jfa_flow_quick_connect(&f->flow, &offered), JFA_V_AUTH_ERR);
    assert_false(offered);
    assert_string_equal(trace(f), "quick-connect");
    f->flow.nullok = false;
    /* local: a host outside local_networks (10.0.0.0/8) */
    f->cfg.quick_connect = JFA_QC_LOCAL;
    f->flow.rhost = "192.0.2.3";
    f->n = 0;
    offered = true;
    assert_int_equal(jfa_flow_quick_connect(&f->flow, &offered), JFA_V_AUTH_ERR);
    assert_false(offered);
    assert_string_equal(trace(f), "quick-connect");
    assert_int_equal(last(f), JFA_STEP_STOP);
    /* an address inside that no connection of this process comes from (a
     * PTR record reading "10.1.2.3" that the service put in PAM_RHOST):
     * outside, nothing counted */
    f->flow.rhost = "10.1.2.3";
    f->n = 0;
    offered = true;
    assert_int_equal(jfa_flow_quick_connect(&f->flow, &offered), JFA_V_AUTH_ERR);
    assert_false(offered);
    assert_string_equal(trace(f), "quick-connect");
    assert_non_null(strstr(f->detail, "10.1.2.3 is outside local_networks (not the address of a "
                                      "connection this process holds"));
    /* explain's view, the address as the peer of the service's connection:
     * a host inside is offered, counted, the switch cannot be asked (port
     * 1): the counts are taken back */
    f->flow.rhost_assume_peer = true;
    f->n = 0;
    assert_int_equal(jfa_flow_quick_connect(&f->flow, &offered), JFA_V_AUTHINFO_UNAVAIL);
    assert_true(offered);
    assert_string_equal(trace(f), "quick-connect lock throttle-user throttle-host qc-answer");
    assert_int_equal(last(f), JFA_STEP_STOP);
    assert_false(f->flow.qc);
    jfa_throttle_info(&f->cfg, f->priv, ID_A, now, &count, &wait);
    assert_int_equal(count, 0);
    jfa_throttle_info(&f->cfg, f->priv, "host:10.1.2.3", now, &count, &wait);
    assert_int_equal(count, 0);
    /* the host throttled: refused before anything is sent, the user's
     * count taken back */
    jfa_throttle_failure(&f->cfg, f->priv, "host:10.1.2.3", now);
    jfa_throttle_failure(&f->cfg, f->priv, "host:10.1.2.3", now);
    f->n = 0;
    assert_int_equal(jfa_flow_quick_connect(&f->flow, &offered), JFA_V_AUTH_ERR);
    assert_true(offered);
    assert_string_equal(trace(f), "quick-connect lock throttle-user throttle-host");
    assert_int_equal(last(f), JFA_STEP_STOP);
    jfa_throttle_info(&f->cfg, f->priv, ID_A, now, &count, &wait);
    assert_int_equal(count, 0);
    assert_int_equal(f->kept, 0);
}

static void test_rejected_password(void **state)
{
    struct fx *f = *state;
    char err[256];
    unsigned long count;
    long wait;

    assert_int_equal(
        jfa_state_rejected_add(f->priv, ID_A, "typo", time(NULL), 900, err, sizeof(err)), 0);
    assert_int_equal(jfa_flow_authenticate(&f->flow, "typo"), JFA_V_AUTH_ERR);
    assert_string_equal(trace(f), "password lock throttle-user throttle-host rejected");
    assert_int_equal(last(f), JFA_STEP_STOP);
    assert_false(f->flow.password_sent);
    /* not counted: the same guess again teaches nothing */
    jfa_throttle_info(&f->cfg, f->priv, ID_A, time(NULL), &count, &wait);
    assert_int_equal(count, 0);
}

static void test_offline_path(void **state)
{
    struct fx *f = *state;
    char err[256];
    unsigned long count;
    long wait;

    /* no verifier: cannot decide */
    assert_int_equal(jfa_flow_authenticate(&f->flow, "right"), JFA_V_AUTHINFO_UNAVAIL);
    assert_int_equal(f->kept, 0);
    assert_int_equal(jfa_state_put_verifier(f->priv, ID_A, "right", 0, err, sizeof(err)), 0);
    f->n = 0;
    assert_int_equal(jfa_flow_authenticate(&f->flow, "right"), JFA_V_SUCCESS);
    assert_int_equal(f->kept, 1);
    assert_false(f->kept_token); /* an offline login has no token */
    assert_string_equal(f->steps[f->n - 1], "offline");
    assert_true(f->flow.password_sent); /* tried first (no API key: no guard's GET) */
    /* a wrong one is refused and counted */
    assert_int_equal(jfa_flow_authenticate(&f->flow, "wrong"), JFA_V_AUTH_ERR);
    jfa_throttle_info(&f->cfg, f->priv, ID_A, time(NULL), &count, &wait);
    assert_int_equal(count, 1);
    /* a user disabled as last seen stays refused offline */
    f->dbu.flags = JFA_DBU_DISABLED;
    assert_int_equal(jfa_flow_authenticate(&f->flow, "right"), JFA_V_ACCT_EXPIRED);
}

static void test_no_password_records_nothing(void **state)
{
    struct fx *f = *state;
    struct jfa_state_lock lock = JFA_STATE_LOCK_INIT;
    char err[256];
    unsigned long count;
    long wait;

    jfa_throttle_failure(&f->cfg, f->priv, ID_A, time(NULL));
    f->flow.explain = true;
    assert_int_equal(jfa_flow_authenticate(&f->flow, NULL), JFA_V_AUTHINFO_UNAVAIL);
    assert_false(f->flow.password_sent);
    assert_int_equal(f->kept, 0);
    jfa_throttle_info(&f->cfg, f->priv, ID_A, time(NULL), &count, &wait);
    assert_int_equal(count, 1);
    assert_string_equal(f->steps[0], "password");
    assert_int_equal(f->results[0], JFA_STEP_INFO);
    /* the lock was only looked at: it is free */
    assert_int_equal(jfa_state_lock_user(f->priv, ID_A, 0, 60000, &lock, err, sizeof(err)), 0);
    jfa_state_unlock(&lock);
    /* with a verifier, the offline path could decide: undecided */
    assert_int_equal(jfa_state_put_verifier(f->priv, ID_A, "right", 0, err, sizeof(err)), 0);
    assert_int_equal(jfa_flow_authenticate(&f->flow, NULL), JFA_V_UNDECIDED);
    assert_int_equal(f->kept, 0);
}

/* The local-account checks are made by reading: when the caller of su
 * has left no descriptor free, /etc/passwd cannot be read, and a check
 * that cannot be made must not pass a name that may be local. */
static void test_passwd_file_unreadable(void **state)
{
    int status = 0;
    pid_t pid;

    (void)state;
    assert_int_equal(jfa_host_in_passwd_file("jfa-surely-not-a-user"), 0);
    assert_int_equal(jfa_host_in_passwd_file("root"), 1);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int lowest = dup(0); /* the lowest free descriptor */
        struct rlimit rl;

        if (lowest < 0 || close(lowest) != 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(2);
        rl.rlim_cur = (rlim_t)lowest; /* no new descriptor */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            _exit(3);
        _exit(jfa_host_in_passwd_file("jfa-surely-not-a-user") == -1 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0); /* 1: "not listed" */
}

static void test_account_rules(void **state)
{
    struct fx *f = *state;

    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_SUCCESS);
    assert_string_equal(trace(f), "account-disabled account-remote");
    /* disabled by the last sync, or by this login */
    f->n = 0;
    f->dbu.flags = JFA_DBU_DISABLED;
    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_ACCT_EXPIRED);
    assert_string_equal(trace(f), "account-disabled");
    f->dbu.flags = 0;
    assert_int_equal(jfa_flow_account(&f->flow, JFA_DBU_DISABLED, true), JFA_V_ACCT_EXPIRED);
    /* no remote access: refused from outside local_networks only */
    f->dbu.flags = JFA_DBU_NO_REMOTE;
    f->flow.rhost = "192.0.2.1";
    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_PERM_DENIED);
    /* inside, but no connection of this process comes from it: outside */
    f->flow.rhost = "10.1.2.3";
    f->n = 0;
    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_PERM_DENIED);
    assert_non_null(strstr(f->detail, "(not the address of a connection this process holds"));
    /* a host name never matches */
    f->flow.rhost = "lan-host.example";
    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_PERM_DENIED);
    /* as the peer of the service's connection (explain's view): inside */
    f->flow.rhost_assume_peer = true;
    f->flow.rhost = "10.1.2.3";
    f->n = 0;
    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_SUCCESS);
    assert_null(strstr(f->detail, "not the address"));
    f->flow.rhost = "lan-host.example";
    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_PERM_DENIED);
    f->flow.rhost_assume_peer = false;
    f->flow.rhost = "";
    assert_int_equal(jfa_flow_account(&f->flow, 0, false), JFA_V_SUCCESS);
    /* this login's flags add refusals */
    f->dbu.flags = 0;
    f->flow.rhost = "192.0.2.1";
    assert_int_equal(jfa_flow_account(&f->flow, JFA_DBU_NO_REMOTE, true), JFA_V_PERM_DENIED);
    assert_int_equal(jfa_flow_account(&f->flow, 0, true), JFA_V_SUCCESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict_pam),
        cmocka_unit_test_setup_teardown(test_password_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_throttled_user_and_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejected_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quick_connect_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offline_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_password_records_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_rules, setup, teardown),
        cmocka_unit_test(test_passwd_file_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
