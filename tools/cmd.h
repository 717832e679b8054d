/*
 * tools/cmd.h - the jellyfin-auth admin tool: subcommands and shared helpers.
 *
 * Owns: the tool context (config path, --debug, the stderr log sink, the
 * loaded configuration), the common option handling (--config, --debug,
 * --help), exit codes, terminal prompts (no echo for passwords) and the
 * entry point of every subcommand. Each subcommand lives in cmd_NAME.c.
 */
#ifndef JFA_TOOL_CMD_H
#define JFA_TOOL_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "log.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

#define TOOL_PASSWORD_MAX 1024

struct tool {
    const char *prog;        /* "jellyfin-auth" */
    const char *config_path; /* --config; NULL: jfa_config_path() */
    bool debug;
    struct jfa_log log;
    struct jfa_config cfg;
    bool cfg_loaded;
};

/* Long options every subcommand accepts; short forms are not offered. */
#define TOOL_OPT_CONFIG 0x1001
#define TOOL_OPT_DEBUG 0x1002
#define TOOL_OPT_HELP 'h'
#define TOOL_COMMON_OPTIONS                                                                        \
    {"config", required_argument, NULL, TOOL_OPT_CONFIG},                                          \
        {"debug", no_argument, NULL, TOOL_OPT_DEBUG},                                              \
    {                                                                                              \
        "help", no_argument, NULL, TOOL_OPT_HELP                                                   \
    }

/* Handle a common option: 1 handled, 0 not a common option. */
int tool_common_opt(struct tool *t, int opt, const char *arg);

/* Parse the options of a command that takes only the common ones and no
 * argument. -1 to go on; else the exit status to return (EXIT_OK after
 * --help, EXIT_USAGE after an error). */
int tool_parse_plain(struct tool *t, const char *cmd, void (*help)(void), int argc, char **argv);

/* Print "jellyfin-auth CMD: message" and a hint to stderr; returns EXIT_USAGE. */
int tool_usage_error(const struct tool *t, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print an error line to stderr ("jellyfin-auth: message"). */
void tool_error(const struct tool *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Load the configuration once (t->cfg); prints the error. 0 or -1. */
int tool_load_config(struct tool *t);
const char *tool_config_path(const struct tool *t);

/* Read a password: from stdin (one line) or from /dev/tty without echo.
 * buf gets it NUL-terminated (newline stripped). 0 or -1 (message printed).
 * The caller wipes buf with explicit_bzero. */
int tool_read_password(const char *prompt, bool from_stdin, char *buf, size_t len);
/* Read one line from /dev/tty with echo. 0 or -1. */
int tool_read_line(const char *prompt, char *buf, size_t len);

/* nsswitch.conf: JELLYFIN_AUTH_NSSWITCH (secure_getenv, for tests) or
 * /etc/nsswitch.conf. */
const char *tool_nsswitch_path(void);
/* Does the text list the "jellyfin" service on its passwd: / group: line? */
void tool_nsswitch_check(const char *text, bool *passwd, bool *group);
/* Add (enable) or remove the "jellyfin" service on the passwd: and group:
 * lines of text. Returns a malloc'd new text (NULL on out of memory);
 * *changed tells whether it differs. */
char *tool_nsswitch_edit(const char *text, bool enable, bool *changed);

int cmd_setup(struct tool *t, int argc, char **argv);
int cmd_status(struct tool *t, int argc, char **argv);
int cmd_sync(struct tool *t, int argc, char **argv);
int cmd_users(struct tool *t, int argc, char **argv);
int cmd_names(struct tool *t, int argc, char **argv);
int cmd_explain(struct tool *t, int argc, char **argv); /* also `login` */
int cmd_reset(struct tool *t, int argc, char **argv);
int cmd_doctor(struct tool *t, int argc, char **argv);

#endif
