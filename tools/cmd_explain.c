/*
 * tools/cmd_explain.c - `jellyfin-auth explain USER` (and its alias `login`).
 *
 * Owns: showing every decision pam_jellyfin would take for a login, in the
 * module's order, with its rule and the data behind it, as text or JSON.
 * The decisions are not re-implemented here: the tool runs the module's own
 * flow (lib/loginflow.c) and prints its steps. Without a password nothing
 * is sent and nothing is recorded; with one, the tool does what the module
 * does (same login lock, throttle, rejected-password memory, guard, the
 * same failures recorded, the verifier stored) and logs the new token out.
 * With --quick-connect it runs the module's Quick Connect login (the flow's
 * jfa_flow_quick_connect: offered or not for this host and service, the
 * request counted by the throttle as the module counts it), prints the
 * code, waits for the approval and logs the new token out.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <security/pam_appl.h>

#include "cmd.h"
#include "db.h"
#include "jellyfin.h"
#include "loginflow.h"

static void help(const char *cmd)
{
    printf("Usage: jellyfin-auth %s USER [--service S] [--rhost HOST [--rhost-unconfirmed]]\n"
           "                     [--password-stdin] [--password] [--quick-connect] [--nullok]\n"
           "                     [--json]\n"
           "                     [--config PATH] [--debug]\n"
           "Show every decision pam_jellyfin would take for a login of USER, in the module's\n"
           "order, each with its rule and the data behind it: name rules, root and local\n"
           "accounts, the users database, the caller rule, the login lock, the back-off of\n"
           "the user and the remote host, refused passwords remembered, the lockout guard's\n"
           "live counts, each server's reachability, the offline verifier, and the account\n"
           "stage (disabled, remote access against local_networks).\n\n"
           "Without a password nothing is sent to Jellyfin and nothing is recorded. With one\n"
           "the login runs exactly as in the module (failures are recorded the same way, the\n"
           "verifier is stored) and the new session is logged out again.%s\n\n"
           "  --service S       the PAM service (default sshd): its file in /etc/pam.d is\n"
           "                    read for pam_jellyfin's nullok and config= (reported)\n"
           "  --rhost HOST      the remote host (PAM_RHOST), e.g. an SSH client's address;\n"
           "                    an address is taken as the peer of the service's\n"
           "                    connection (the module checks that on its sockets)\n"
           "  --rhost-unconfirmed  as when the service's process holds no connection from\n"
           "                    that address (a name a reverse lookup returned, a helper\n"
           "                    without the socket): it counts as outside local_networks\n"
           "  --password-stdin  read the password from the first line of standard input\n"
           "  --password        ask for the password on the terminal\n"
           "  --quick-connect   no password: the Quick Connect login the module runs on an\n"
           "                    empty answer (quick_connect for this --rhost, the service's\n"
           "                    nullok, the throttle, counted as the module counts it):\n"
           "                    prints a code to approve in a Jellyfin app and waits\n"
           "                    quick_connect_timeout for it\n"
           "  --nullok          as the module argument nullok (empty passwords allowed;\n"
           "                    default: as the service's pam_jellyfin line says)\n"
           "  --json            one JSON object (keys: see jellyfin-auth(8))\n\n"
           "Exit status: 0 if PAM would let the login in (without a password: if no rule\n"
           "refuses it whatever the password), 1 otherwise, 2 usage error.\n",
           cmd,
           strcmp(cmd, "login") == 0
               ? "\n'login' is 'explain --password': it asks for the password."
               : "");
}

struct report {
    bool json;
    long qc_timeout;    /* quick_connect_timeout, for the code line */
    json_object *steps; /* JSON mode */
    /* the token of an accepted login, logged out at the end */
    char token[JFA_TOKEN_MAX];
    bool have_token;
};

static const char *result_word(enum jfa_step_result r)
{
    return r == JFA_STEP_PASS ? "pass" : r == JFA_STEP_STOP ? "stop" : "info";
}

static void on_step(void *ctx, const struct jfa_flow_step *s)
{
    struct report *r = ctx;

    if (r->json) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "step", json_object_new_string(s->step));
        json_object_object_add(o, "result", json_object_new_string(result_word(s->result)));
        json_object_object_add(o, "rule", json_object_new_string(s->rule));
        json_object_object_add(o, "detail", json_object_new_string(s->detail));
        json_object_array_add(r->steps, o);
        return;
    }
    printf("%-5s %-16s %s\n", s->result == JFA_STEP_STOP ? "STOP" : result_word(s->result), s->step,
           s->detail);
    printf("      %-16s rule: %s\n", "", s->rule);
}

/* What the PAM service's auth stack says about pam_jellyfin. */
struct service_info {
    char path[512];   /* the service file read, "" if none */
    bool uses;        /* an auth line (directly or included) loads pam_jellyfin.so */
    bool nullok;      /* ... with nullok */
    char config[256]; /* ... with config=PATH, "" if none */
};

/* Read dir/name, following @include and include/substack lines (depth 4). */
static void scan_service(const char *dir, const char *name, int depth, struct service_info *si)
{
    char path[512], line[1024];
    FILE *fp;

    if (depth > 4 || name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, "..") == 0)
        return;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "re");
    if (fp == NULL)
        return;
    if (depth == 0)
        snprintf(si->path, sizeof(si->path), "%s", path);
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *tok[16], *save = NULL, *p;
        int n = 0, i, m;

        p = strchr(line, '#');
        if (p != NULL)
            *p = '\0';
        for (p = strtok_r(line, " \t\r\n", &save); p != NULL && n < 16;
             p = strtok_r(NULL, " \t\r\n", &save))
            tok[n++] = p;
        if (n >= 2 && strcmp(tok[0], "@include") == 0) {
            scan_service(dir, tok[1], depth + 1, si);
            continue;
        }
        if (n < 3 || (strcmp(tok[0], "auth") != 0 && strcmp(tok[0], "-auth") != 0))
            continue;
        /* the control may be [ ... ] with blanks inside */
        m = 1;
        if (tok[1][0] == '[')
            while (m < n && strchr(tok[m], ']') == NULL)
                m++;
        m++;
        if (m >= n)
            continue;
        if (strcmp(tok[1], "include") == 0 || strcmp(tok[1], "substack") == 0) {
            scan_service(dir, tok[2], depth + 1, si);
            continue;
        }
        p = strrchr(tok[m], '/');
        if (strcmp(p != NULL ? p + 1 : tok[m], "pam_jellyfin.so") != 0)
            continue;
        si->uses = true;
        for (i = m + 1; i < n; i++) {
            if (strcmp(tok[i], "nullok") == 0)
                si->nullok = true;
            else if (strncmp(tok[i], "config=", 7) == 0)
                snprintf(si->config, sizeof(si->config), "%s", tok[i] + 7);
        }
    }
    fclose(fp);
}

/* Quick Connect: print the code (on stderr with --json: stdout is the
 * object) and wait for the approval. */
static bool show_code(void *ctx, const char *code, const char *jf_name)
{
    struct report *r = ctx;
    FILE *out = r->json ? stderr : stdout;
    char esc[256];

    fprintf(out,
            "quick:    code %s: approve it in a Jellyfin app signed in as \"%s\" (Quick Connect "
            "in the user menu); waiting up to %ld s\n",
            code, jfa_log_escape(esc, sizeof(esc), jf_name), r->qc_timeout);
    fflush(out);
    return true;
}

static enum jfa_verdict keep(void *ctx, const char *token, uint32_t flags)
{
    struct report *r = ctx;

    (void)flags;
    if (token != NULL && token[0] != '\0') {
        snprintf(r->token, sizeof(r->token), "%s", token);
        r->have_token = true;
    }
    return JFA_V_SUCCESS;
}

int cmd_explain(struct tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"password-stdin", no_argument, NULL, 'p'},
        {"password", no_argument, NULL, 'P'},
        {"service", required_argument, NULL, 's'},
        {"rhost", required_argument, NULL, 'r'},
        {"nullok", no_argument, NULL, 'n'},
        {"json", no_argument, NULL, 'j'},
        {"quick-connect", no_argument, NULL, 'q'},
        {"rhost-unconfirmed", no_argument, NULL, 'u'},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    struct report rep;
    struct jfa_flow f;
    struct jfa_log flow_log;
    struct service_info svc;
    bool nullok_given = false;
    struct jfa_db db;
    struct jfa_db_user dbu;
    char user_esc[JFA_FLOW_ESC_LEN], esc[256], rhost_esc[256], service_esc[128];
    char pw[JFA_PASSWORD_MAX + 2];
    const char *user, *service = "sshd", *rhost = "";
    char *private_dir = NULL;
    bool from_stdin = false, ask = false, nullok = false, have_pw = false, qc = false;
    bool unconfirmed = false;
    unsigned char addr[16];
    enum jfa_verdict v = JFA_V_AUTH_ERR;
    const char *logout = NULL;
    json_object *root = NULL;
    int opt, ret = EXIT_FAIL;

    memset(&rep, 0, sizeof(rep));
    memset(&f, 0, sizeof(f));
    memset(&db, 0, sizeof(db));
    memset(pw, 0, sizeof(pw));
    /* options before or after USER */
    while ((opt = tool_getopt(argc, argv, "h", opts)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'p':
            from_stdin = true;
            break;
        case 'P':
            ask = true;
            break;
        case 's':
            service = optarg;
            break;
        case 'r':
            rhost = optarg;
            break;
        case 'n':
            nullok = nullok_given = true;
            break;
        case 'j':
            rep.json = true;
            break;
        case 'q':
            qc = true;
            break;
        case 'u':
            unconfirmed = true;
            break;
        case 'h':
            help(cmd);
            return EXIT_OK;
        default:
            return tool_usage_error(t, cmd, "invalid option");
        }
    }
    if (optind + 1 != argc)
        return tool_usage_error(t, cmd, "expected exactly one USER");
    if (qc && (from_stdin || ask))
        return tool_usage_error(t, cmd, "--quick-connect takes no password");
    if (unconfirmed && jfa_addr_parse(rhost, addr) != 0)
        return tool_usage_error(t, cmd, "--rhost-unconfirmed needs an address in --rhost");
    /* `login` is `explain --password`, or a Quick Connect login */
    ask = ask || (strcmp(cmd, "login") == 0 && !qc);
    user = argv[optind];
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    private_dir = jfa_config_private_dir(&t->cfg);
    if (private_dir == NULL)
        goto out;
    if (from_stdin || ask) {
        if (tool_read_password("Jellyfin password: ", from_stdin, pw, sizeof(pw)) != 0)
            goto out;
        have_pw = true;
    }
    rep.steps = json_object_new_array();
    /* The service's stack: does it use pam_jellyfin, with nullok? */
    {
        const char *dir = secure_getenv("JELLYFIN_AUTH_PAM_DIR");
        memset(&svc, 0, sizeof(svc));
        scan_service(dir != NULL && dir[0] != '\0' ? dir : "/etc/pam.d", service, 0, &svc);
        if (svc.nullok && !nullok_given)
            nullok = true;
    }
    /* The module's log lines say what the steps say: on stderr with --debug only. */
    flow_log = t->log;
    if (!t->debug)
        flow_log.fn = NULL;
    f.cfg = &t->cfg;
    f.log = &flow_log;
    f.private_dir = private_dir;
    f.user = user;
    f.rhost = rhost;
    /* The tool holds no connection from --rhost: it takes the address as
     * the service's peer (as sshd and vsftpd give it), or as no peer. */
    f.rhost_assume_peer = !unconfirmed;
    f.nullok = nullok;
    f.db = &db;
    f.dbu = &dbu;
    f.user_esc = user_esc;
    f.on_step = on_step;
    f.step_ctx = &rep;
    f.keep = keep;
    f.keep_ctx = &rep;
    f.explain = true;
    f.service = service;
    f.show_code = show_code;
    f.conv_ctx = &rep;
    rep.qc_timeout = t->cfg.quick_connect_timeout;
    jfa_log_escape(rhost_esc, sizeof(rhost_esc), rhost);
    if (!rep.json)
        printf("explain: '%s', service %s, %s%s, %s\n", jfa_log_escape(esc, sizeof(esc), user),
               jfa_log_escape(service_esc, sizeof(service_esc), service),
               rhost[0] != '\0' ? "from " : "no remote host", rhost[0] != '\0' ? rhost_esc : "",
               qc        ? "Quick Connect: the login runs as in pam_jellyfin on an empty answer"
               : have_pw ? "password given: the login runs as in pam_jellyfin"
                         : "no password: nothing is sent or recorded");
    if (!rep.json) {
        if (svc.path[0] == '\0')
            printf("info  %-16s no PAM service file '%s': nullok %s\n", "service",
                   jfa_log_escape(service_esc, sizeof(service_esc), service),
                   nullok ? "as given" : "off");
        else if (!svc.uses)
            printf("info  %-16s %s does not load pam_jellyfin.so for auth: this service never "
                   "asks Jellyfin (the steps below are pam_jellyfin's own)\n",
                   "service", svc.path);
        else
            printf("info  %-16s %s loads pam_jellyfin.so%s%s%s\n", "service", svc.path,
                   svc.nullok ? " with nullok" : "", svc.config[0] != '\0' ? ", config=" : "",
                   svc.config);
    }
    if (!rep.json && jfa_addr_parse(rhost, addr) == 0)
        printf("info  %-16s %s %s\n", "rhost", rhost_esc,
               unconfirmed ? "taken as no peer of the service's connection (--rhost-unconfirmed): "
                             "outside local_networks whatever it says"
                           : "taken as the peer of the service's connection (the module checks "
                             "its sockets; --rhost-unconfirmed shows the other case)");
    v = jfa_flow_resolve(&f);
    if (v == JFA_V_SUCCESS)
        v = jfa_flow_check_caller(&f);
    if (v == JFA_V_SUCCESS && qc) {
        bool offered = false;

        v = jfa_flow_quick_connect(&f, &offered);
        /* not offered: the module goes on with the empty password (with
         * nullok it would be sent: shown without sending it) */
        if (!offered)
            v = jfa_flow_authenticate(&f, f.nullok ? NULL : "");
    } else if (v == JFA_V_SUCCESS) {
        v = jfa_flow_authenticate(&f, have_pw ? pw : NULL);
    }
    explicit_bzero(pw, sizeof(pw));
    if (v == JFA_V_SUCCESS || v == JFA_V_UNDECIDED) {
        enum jfa_verdict a = jfa_flow_account(&f, f.login_flags, f.have_login_flags);
        if (a != JFA_V_SUCCESS)
            v = a;
    }
    if (rep.have_token) {
        struct jfa_client c;
        if (jfa_client_init(&c, &t->cfg, &t->log, "pam_jellyfin", dbu.jf_id) == 0) {
            enum jfa_status st = jfa_logout(&c, rep.token);
            logout = st == JFA_OK ? "ok" : jfa_status_str(st);
        } else {
            logout = "cannot set up the client";
        }
    }
    if (rep.json) {
        root = json_object_new_object();
        json_object_object_add(root, "user", json_object_new_string(user));
        json_object_object_add(root, "service", json_object_new_string(service));
        json_object_object_add(root, "rhost", json_object_new_string(rhost));
        json_object_object_add(
            root, "rhost_peer",
            jfa_addr_parse(rhost, addr) == 0 ? json_object_new_boolean(!unconfirmed) : NULL);
        {
            json_object *sf = json_object_new_object();
            json_object_object_add(sf, "path",
                                   svc.path[0] != '\0' ? json_object_new_string(svc.path) : NULL);
            json_object_object_add(sf, "uses_pam_jellyfin", json_object_new_boolean(svc.uses));
            json_object_object_add(sf, "nullok", json_object_new_boolean(nullok));
            json_object_object_add(
                sf, "config", svc.config[0] != '\0' ? json_object_new_string(svc.config) : NULL);
            json_object_object_add(root, "service_file", sf);
        }
        json_object_object_add(root, "quick_connect", json_object_new_boolean(qc));
        json_object_object_add(root, "password_given", json_object_new_boolean(have_pw));
        json_object_object_add(root, "password_sent", json_object_new_boolean(f.password_sent));
        json_object_object_add(root, "steps", rep.steps);
        rep.steps = NULL;
        json_object_object_add(root, "verdict", json_object_new_string(jfa_verdict_name(v)));
        /* undecided: no PAM result yet */
        json_object_object_add(root, "pam_code",
                               v == JFA_V_UNDECIDED ? NULL
                                                    : json_object_new_int(jfa_verdict_pam(v)));
        json_object_object_add(
            root, "message",
            v == JFA_V_UNDECIDED ? NULL
                                 : json_object_new_string(pam_strerror(NULL, jfa_verdict_pam(v))));
        json_object_object_add(root, "allowed",
                               v == JFA_V_UNDECIDED ? NULL
                                                    : json_object_new_boolean(v == JFA_V_SUCCESS));
        json_object_object_add(root, "logout",
                               logout != NULL ? json_object_new_string(logout) : NULL);
        tool_print_json(root);
    } else {
        if (logout != NULL)
            printf("logout: the new Jellyfin session: %s\n", logout);
        if (v == JFA_V_UNDECIDED)
            printf("verdict: no rule refuses this login: pam_jellyfin would send the password "
                   "to Jellyfin, which decides\n");
        else
            printf("verdict: %s (%s)%s\n", jfa_verdict_name(v),
                   pam_strerror(NULL, jfa_verdict_pam(v)),
                   v == JFA_V_SUCCESS ? ": pam_jellyfin lets this login in" : ": refused");
    }
    ret = v == JFA_V_SUCCESS || v == JFA_V_UNDECIDED ? EXIT_OK : EXIT_FAIL;
out:
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(rep.token, sizeof(rep.token));
    if (root != NULL)
        json_object_put(root);
    if (rep.steps != NULL)
        json_object_put(rep.steps);
    jfa_db_close(&db);
    free(private_dir);
    return ret;
}
