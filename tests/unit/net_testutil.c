/*
 * tests/unit/net_testutil.c - helpers for the net unit tests.
 *
 * Owns: the scratch directory, the lifecycle of tests/unit/net_server.py,
 * its routes and request log, refusing and black-hole sockets, openssl test
 * certificates and hand-built configs. See net_testutil.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net_testutil.h"

#ifndef JFA_TOP_SRCDIR
#define JFA_TOP_SRCDIR "."
#endif

static char scratch[256];

const char *net_scratch(void)
{
    if (scratch[0] == '\0') {
        const char *t = getenv("TMPDIR");

        snprintf(scratch, sizeof(scratch), "%s/jfa-net.XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(scratch) == NULL) {
            perror("mkdtemp");
            exit(99);
        }
    }
    return scratch;
}

void net_scratch_cleanup(void)
{
    char cmd[512];

    if (scratch[0] == '\0' || getenv("JFA_KEEP") != NULL)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", scratch);
    scratch[0] = '\0';
}

static void write_file(const char *path, const char *text)
{
    char tmp[600];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(tmp);
        exit(99);
    }
    if (rename(tmp, path) != 0) {
        perror(path);
        exit(99);
    }
}

int net_server_start(struct net_server *s, const char *name, const char *cert, const char *key)
{
    const char *py = getenv("PYTHON3");
    const char *top = getenv("top_srcdir");
    char script[512], portfile[512];
    FILE *f;

    memset(s, 0, sizeof(*s));
    if (py == NULL || *py == '\0')
        py = "/usr/bin/python3";
    if (top == NULL || *top == '\0')
        top = JFA_TOP_SRCDIR;
    snprintf(script, sizeof(script), "%s/tests/unit/net_server.py", top);
    snprintf(s->routes, sizeof(s->routes), "%s/%s.routes", net_scratch(), name);
    snprintf(s->log, sizeof(s->log), "%s/%s.log", net_scratch(), name);
    snprintf(portfile, sizeof(portfile), "%s/%s.port", net_scratch(), name);
    write_file(s->routes, "{}");
    write_file(s->log, "");
    unlink(portfile);

    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        /* never hold the test's stdout/stderr pipes open after it exits */
        char errfile[600];
        int fd;

        snprintf(errfile, sizeof(errfile), "%s/%s.err", net_scratch(), name);
        fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd >= 0)
            dup2(fd, STDOUT_FILENO);
        fd = open(errfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0)
            dup2(fd, STDERR_FILENO);
        if (cert != NULL)
            execl(py, py, script, "--routes", s->routes, "--log", s->log, "--port-file", portfile,
                  "--cert", cert, "--key", key, (char *)NULL);
        else
            execl(py, py, script, "--routes", s->routes, "--log", s->log, "--port-file", portfile,
                  (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        f = fopen(portfile, "r");
        if (f != NULL) {
            int ok = fscanf(f, "%d", &s->port);

            fclose(f);
            if (ok == 1 && s->port > 0)
                break;
        }
        usleep(25000);
    }
    if (s->port <= 0) {
        net_server_stop(s);
        return -1;
    }
    if (cert != NULL)
        snprintf(s->url, sizeof(s->url), "https://localhost:%d", s->port);
    else
        snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
    return 0;
}

void net_server_stop(struct net_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
    }
    s->pid = 0;
}

void net_server_routes(struct net_server *s, const char *json)
{
    write_file(s->routes, json);
}

static struct json_object *read_lines(const struct net_server *s, int *count)
{
    struct json_object *last = NULL;
    char *line = NULL;
    size_t cap = 0;
    FILE *f;

    *count = 0;
    f = fopen(s->log, "r");
    if (f == NULL)
        return NULL;
    while (getline(&line, &cap, f) > 0) {
        (*count)++;
        json_object_put(last);
        last = json_tokener_parse(line);
    }
    free(line);
    fclose(f);
    return last;
}

int net_server_count(const struct net_server *s)
{
    int n;

    json_object_put(read_lines(s, &n));
    return n;
}

struct json_object *net_server_last(const struct net_server *s)
{
    int n;

    return read_lines(s, &n);
}

const char *net_req_header(struct json_object *req, const char *name)
{
    struct json_object *h, *v;

    if (req == NULL || !json_object_object_get_ex(req, "headers", &h) ||
        !json_object_object_get_ex(h, name, &v) || json_object_array_length(v) < 1)
        return NULL;
    return json_object_get_string(json_object_array_get_idx(v, 0));
}

const char *net_req_str(struct json_object *req, const char *field)
{
    struct json_object *v;

    if (req == NULL || !json_object_object_get_ex(req, field, &v))
        return NULL;
    return json_object_get_string(v);
}

static int bound_socket(int *fd)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);

    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return -1;
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(*fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(*fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(*fd);
        *fd = -1;
        return -1;
    }
    return ntohs(sa.sin_port);
}

int net_refusing_port(int *fd)
{
    return bound_socket(fd);
}

int net_blackhole_port(int *fd)
{
    int port = bound_socket(fd);

    if (port < 0 || listen(*fd, 16) != 0)
        return -1;
    return port;
}

int net_make_cert(const char *name, char *cert, size_t certlen, char *key, size_t keylen)
{
    return net_make_cert_san(name, "DNS:localhost,IP:127.0.0.1", cert, certlen, key, keylen);
}

int net_make_cert_san(const char *name, const char *san, char *cert, size_t certlen, char *key,
                      size_t keylen)
{
    char cmd[2048];

    snprintf(cert, certlen, "%s/%s-cert.pem", net_scratch(), name);
    snprintf(key, keylen, "%s/%s-key.pem", net_scratch(), name);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-days 1 -subj /CN=localhost -addext 'subjectAltName=%s' "
             "-keyout '%s' -out '%s' >/dev/null 2>&1",
             san, key, cert);
    return system(cmd) == 0 ? 0 : -1;
}

int net_make_cert_expired(const char *name, char *cert, size_t certlen, char *key, size_t keylen)
{
    char cmd[4096], dir[512];

    /* openssl 3.0's req and x509 refuse a past validity: sign the request
     * with `openssl ca -selfsign -startdate -enddate` and a minimal config */
    snprintf(dir, sizeof(dir), "%s/%s-ca", net_scratch(), name);
    snprintf(cert, certlen, "%s/%s-cert.pem", net_scratch(), name);
    snprintf(key, keylen, "%s/%s-key.pem", net_scratch(), name);
    snprintf(cmd, sizeof(cmd),
             "set -e; mkdir -p '%s'; cd '%s'; : > index.txt; echo 01 > serial; "
             "printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\n"
             "serial=serial\\ndefault_md=sha256\\npolicy=p\\ncopy_extensions=copy\\n[p]\\n"
             "commonName=supplied\\n' > ca.cnf; "
             "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' "
             "-keyout '%s' -out req.csr >/dev/null 2>&1; "
             "openssl ca -batch -config ca.cnf -selfsign -keyfile '%s' -in req.csr -out '%s' "
             "-startdate 20200101000000Z -enddate 20200102000000Z -notext >/dev/null 2>&1",
             dir, dir, key, key, cert);
    return system(cmd) == 0 ? 0 : -1;
}

void net_cfg(struct jfa_config *cfg, long timeout, const char *const *urls, size_t n)
{
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < n && i < JFA_MAX_URLS; i++) {
        cfg->urls[i] = strdup(urls[i]);
        if (cfg->urls[i] == NULL)
            exit(99);
        cfg->n_urls = i + 1;
    }
    cfg->timeout = timeout;
}

void net_cfg_free(struct jfa_config *cfg)
{
    for (size_t i = 0; i < cfg->n_urls; i++)
        free(cfg->urls[i]);
    free(cfg->ca_file);
    memset(cfg, 0, sizeof(*cfg));
}

double net_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
