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
#include <stdio.h>

#include "jfaconf.h"
#include "jellyfin.h"
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

/* getopt_long for a subcommand's options: every subcommand parses with it,
 * so options may come before or after operands ("login alice --debug");
 * "--" ends the options. */
int tool_getopt(int argc, char **argv, const char *shortopts, const struct option *opts);

/* Commands that need root say so first: when not root and path cannot be
 * read (write false) or written / created (write true), print
 * "jellyfin-auth CMD: must run as root (...)" and return -1; else 0. */
int tool_need_root(const struct tool *t, const char *cmd, const char *path, bool write);

/* Parse the common options and at most one flag of the command's own
 * (--FLAG without argument, setting *set; flag NULL: none), before or
 * after the operands, which are left from optind on. -1 to go on; else the
 * exit status to return (EXIT_OK after --help, EXIT_USAGE after an error). */
#define TOOL_OPT_FLAG 0x1003
int tool_parse_opts(struct tool *t, const char *cmd, void (*help)(void), const char *flag,
                    bool *set, int argc, char **argv);

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

/* What names and ledger do before their own work: refuse operands left
 * over (from optind on), load the configuration, find the ledger, and say
 * "must run as root" first when this process cannot read it (write false)
 * or write it. The ledger's path (malloc'd), or NULL with *ret the exit
 * status (message printed). */
char *tool_ledger_path(struct tool *t, const char *cmd, int argc, char **argv, bool write,
                       int *ret);

/* Find USER in the users database as pam_jellyfin does (jfa_flow_resolve:
 * a possible name, not root, not a local account, case folding as
 * configured, a uid in range). 0: found, *db open (the caller closes it
 * with jfa_db_close, whatever the result) and *u filled; 1: a possible
 * name that is not in the database; 2: a name pam_jellyfin never sends to
 * Jellyfin (root, a local account, an impossible name, a uid out of
 * range); -1: the database cannot be used (message printed). why gets the
 * module's reason for 1 and 2. */
struct jfa_db;
struct jfa_db_user;
int tool_find_user(struct tool *t, const char *user, struct jfa_db *db, struct jfa_db_user *u,
                   char *why, size_t whylen);

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

/* The PAM configuration directory: JELLYFIN_AUTH_PAM_DIR (secure_getenv,
 * for tests) or /etc/pam.d. */
const char *tool_pam_dir(void);

/* NSS and PAM wiring, as doctor and status report it (no network). */
#define TOOL_PAM_COMMON 4
extern const char *const tool_pam_common_files[TOOL_PAM_COMMON]; /* common-auth, -account,
                                                                  * -session, -password */
struct tool_wiring {
    const char *nsswitch;     /* the nsswitch.conf read */
    bool ns_read;             /* it could be read (else ns_err) */
    bool ns_passwd, ns_group; /* "jellyfin" on the passwd: / group: line */
    char ns_err[JFA_ERRLEN];
    const char *pam_dir;
    char *pam_any; /* a file in pam_dir that uses pam_jellyfin.so, or NULL */
    bool common_exists[TOOL_PAM_COMMON], common_uses[TOOL_PAM_COMMON];
};
void tool_wiring_check(struct tool_wiring *w);
/* Some file uses the module and none of common-auth/-account/-session
 * that exists lacks it. */
bool tool_wiring_pam_ok(const struct tool_wiring *w);
void tool_wiring_free(struct tool_wiring *w);

/* API keys (cmd_key.c). The key's name on the server is "jellyfin-auth HOST". */
#define TOOL_KEY_PREFIX "jellyfin-auth"
void tool_key_name(char *buf, size_t len);
/* GET /Users with the key: JFA_OK (*n users), JFA_ERR_AUTH when refused,
 * or another status; why gets a message. tool_key_works: JFA_OK or not. */
enum jfa_status tool_key_check(struct tool *t, const char *key, size_t *n, char *why,
                               size_t whylen);
bool tool_key_works(struct tool *t, const char *key, size_t *n);
/* Create a key of our name with token (an admin token or an API key) and
 * find it on the server. 0 with key filled, or -1 (message printed). */
int tool_key_create(struct tool *t, const char *token, char key[33]);
/* DELETE the key on the server with token. 0 or -1 (message printed). */
int tool_key_delete(struct tool *t, const char *token, const char *key);
/* Write the key to api_key_file (0600, atomic). 0 or -1 (message printed). */
int tool_key_write(struct tool *t, const char *key);

int cmd_setup(struct tool *t, int argc, char **argv);
int cmd_key(struct tool *t, int argc, char **argv);
int cmd_status(struct tool *t, int argc, char **argv);
int cmd_sync(struct tool *t, int argc, char **argv);

/* Printing a sync's changes (cmd_sync.c; setup's first sync too): the
 * "added/renamed/disabled/enabled/removed/omitted" lines as
 * jfa_sync_options.on_change (ctx: a struct tool_sync_printer), and the
 * closing "sync: ..." summary line. out NULL: stdout. */
struct jfa_sync_change;
struct jfa_sync_options;
struct jfa_sync_summary;
struct tool_sync_printer {
    FILE *out;
    size_t omitted;
};
void tool_sync_print_change(void *ctx, const struct jfa_sync_change *ch);
void tool_sync_print_summary(const struct tool_sync_printer *pr, const struct jfa_sync_options *o,
                             const struct jfa_sync_summary *sum);
/* Print root as pretty JSON and a newline on stdout, with DEL, C1 controls,
 * bidirectional controls (U+061C, U+200E-F, U+202A-E, U+2066-9) and
 * U+2028/9 written as \uXXXX escapes (the same JSON value; json-c escapes
 * only C0): names from the server reach an admin's terminal. Bytes that are
 * not UTF-8 become \ufffd. */
struct json_object;
void tool_print_json(struct json_object *root);

int cmd_users(struct tool *t, int argc, char **argv);
int cmd_names(struct tool *t, int argc, char **argv);
int cmd_ledger(struct tool *t, int argc, char **argv);
int cmd_explain(struct tool *t, int argc, char **argv); /* also `login` */
int cmd_reset(struct tool *t, int argc, char **argv);
int cmd_doctor(struct tool *t, int argc, char **argv);
int cmd_samba(struct tool *t, int argc, char **argv);

#endif
