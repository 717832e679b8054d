/*
 * log.h - logging sink shared by the PAM module and the admin tool.
 *
 * Owns: the jfa_log type (a callback plus a debug switch) and the helpers
 * that format a message, escape untrusted text for a log line, and forward
 * it to the sink. There is no global logger: every caller passes its own
 * struct jfa_log, so the PAM module can route to pam_syslog() and the tool
 * to stderr. Nothing here ever sees a secret; callers must not pass one.
 */
#ifndef JFA_LOG_H
#define JFA_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "util.h" /* jfa_set_err */

typedef void (*jfa_log_fn)(void *ctx, int priority, const char *msg);

struct jfa_log {
    jfa_log_fn fn; /* NULL: messages are dropped */
    void *ctx;
    bool debug; /* LOG_DEBUG messages are dropped unless set */
};

/* Format and emit one message at a syslog priority (LOG_ERR ... LOG_DEBUG). */
void jfa_logf(const struct jfa_log *log, int priority, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Copy untrusted text (a user name, a server string) into dst so that it is
 * safe in one log line and on a terminal: control bytes (C0, DEL, C1),
 * bidirectional controls, backslash, quotes and non-UTF-8 bytes become \xNN,
 * and the result is truncated with "..." to fit. Returns dst.
 */
char *jfa_log_escape(char *dst, size_t dstlen, const char *src);

/* A sink that writes "jellyfin-auth: msg" lines to stderr (ctx unused). */
void jfa_log_stderr(void *ctx, int priority, const char *msg);

#endif
