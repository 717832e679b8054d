/*
 * tests/unit/net_testutil.h - helpers for the net unit tests.
 *
 * Owns: a scratch directory, starting and stopping tests/unit/net_server.py
 * (plain or TLS), rewriting its routes, reading back the requests it saw,
 * sockets that refuse or never answer, test certificates, and a jfa_config
 * built by hand (no dependency on the config parser).
 */
#ifndef NET_TESTUTIL_H
#define NET_TESTUTIL_H

#include <stdbool.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "http.h" /* and through it lib/jfaconf.h */

struct net_server {
    pid_t pid;
    int port;
    char routes[512];
    char log[512];
    char url[128];
};

/* A scratch directory (mkdtemp); removed by net_scratch_cleanup. */
const char *net_scratch(void);
void net_scratch_cleanup(void);

/* Start the server; cert/key NULL for plain http. url is http://127.0.0.1:PORT
 * or https://localhost:PORT. Returns 0 or -1. */
int net_server_start(struct net_server *s, const char *name, const char *cert, const char *key);
void net_server_stop(struct net_server *s);
/* Replace the routes (a JSON object text). */
void net_server_routes(struct net_server *s, const char *json);
/* Number of requests seen so far, and the last one (caller puts it) or NULL. */
int net_server_count(const struct net_server *s);
struct json_object *net_server_last(const struct net_server *s);
/* The first value of a header (lowercase name) in a logged request, or NULL. */
const char *net_req_header(struct json_object *req, const char *name);
const char *net_req_str(struct json_object *req, const char *field);

/* A bound, non-listening TCP socket on 127.0.0.1: connections are refused. */
int net_refusing_port(int *fd);
/* A listening socket that never accepts nor answers. */
int net_blackhole_port(int *fd);

/* openssl: dir/NAME-cert.pem and dir/NAME-key.pem, SAN localhost and 127.0.0.1. */
int net_make_cert(const char *name, char *cert, size_t certlen, char *key, size_t keylen);
/* Same with another subjectAltName ("DNS:other.example"). */
/* A self-signed certificate for localhost that expired on 2020-01-02. */
int net_make_cert_expired(const char *name, char *cert, size_t certlen, char *key, size_t keylen);
int net_make_cert_san(const char *name, const char *san, char *cert, size_t certlen, char *key,
                      size_t keylen);

/* cfg with these urls (copied), timeout, allow_plain_http; free with net_cfg_free. */
void net_cfg(struct jfa_config *cfg, long timeout, const char *const *urls, size_t n);
void net_cfg_free(struct jfa_config *cfg);

double net_now(void);

#endif
