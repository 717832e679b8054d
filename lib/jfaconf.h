/*
 * jfaconf.h - the jellyfin-auth.conf parser.
 *
 * Owns: the in-memory configuration, its defaults, the validation of every
 * key, and the trusted read of the file (owner root or the running user, not
 * writable by group or others, no symlink). Errors name the file and line.
 */
#ifndef JFA_JFACONF_H
#define JFA_JFACONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JFA_MAX_URLS 8
#define JFA_MAX_NETWORKS 32
#define JFA_MAX_RESERVED 1024 /* names in reserved_names */
#define JFA_ERRLEN 512

#define JFA_DEFAULT_CONF SYSCONFDIR "/jellyfin-auth.conf"
#define JFA_DEFAULT_KEYFILE SYSCONFDIR "/jellyfin-auth.key"
#define JFA_DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/jellyfin-auth"
/* Where the NSS module looks; sync writes state_dir/users.db. */
#define JFA_DEFAULT_DB JFA_DEFAULT_STATE_DIR "/users.db"

/* An IPv4 or IPv6 network; v4 addresses are stored v4-mapped. */
struct jfa_cidr {
    unsigned char addr[16];
    unsigned prefix; /* 0..128, counted on the 16-byte form */
};

struct jfa_config {
    char *path;               /* the file that was read */
    char *urls[JFA_MAX_URLS]; /* base URLs, no trailing slash */
    size_t n_urls;
    char *ca_file; /* NULL: system CA store */
    long timeout;  /* seconds, whole-request deadline; default 10 */
    char *api_key_file;
    char *state_dir;
    uint32_t uid_min, uid_max;
    char *home; /* template, %u = login name, %% = % */
    char *shell;
    char *users_group;
    char *admin_group;
    long offline_max_age; /* seconds; 0 disables offline logins */
    struct jfa_cidr local_networks[JFA_MAX_NETWORKS];
    size_t n_local_networks;
    bool allow_plain_http;
    /* login throttling (issue: protect Jellyfin's lockout) */
    unsigned throttle_failures; /* failures before back-off starts; 0 = off */
    long throttle_window;       /* seconds a failure is remembered */
    long throttle_max_delay;    /* cap of the exponential back-off, seconds */
    bool lockout_guard;         /* never send the password that would lock a user out */
    /* Quick Connect (passwordless login approved in a Jellyfin app) */
    enum jfa_qc_mode {
        JFA_QC_NO = 0, /* default */
        JFA_QC_LOCAL,  /* only when PAM_RHOST is unset or in local_networks */
        JFA_QC_YES,
    } quick_connect;
    long quick_connect_timeout; /* seconds to wait for approval; default 120 */
    /* reserved_names: login/group names never given to a Jellyfin user,
     * on top of the built-in list (lib/namemap.c) */
    char **reserved_names;
    size_t n_reserved_names;
    /* Samba password sync (issue 9, lib/samba.c) */
    bool samba_sync;       /* set the Samba password from a password Jellyfin accepted */
    char *samba_smbpasswd; /* Samba's smbpasswd */
    char *samba_pdbedit;   /* Samba's pdbedit */
    char *samba_conf;      /* smb.conf for both; NULL: Samba's default */
    long samba_timeout;    /* seconds, deadline of one password update */
    /* case_sensitive = no (default): logins and NSS name lookups accept any
     * ASCII case of a mapped name (written by sync as the database's fold
     * flags; the modules read the flags, not this key) */
    bool case_sensitive;
    /* sync_on_login = yes (default): a root login naming an unknown user
     * starts a background sync, at most once per 30 s (pam_trigger.c) */
    bool sync_on_login;
};

/* Fill cfg with the documented defaults (no URL). */
void jfa_config_defaults(struct jfa_config *cfg);

/*
 * Parse a buffer as a config file named `name` (used in error messages).
 * cfg must hold defaults. Returns 0, or -1 with "name:line: message" in err.
 */
int jfa_config_parse(struct jfa_config *cfg, const char *buf, size_t len, const char *name,
                     char *err, size_t errlen);

/*
 * Set one key from a value given elsewhere than a config file (a command-line
 * option, a prompt), validated as the file parser does, including the file
 * checks of ca_file. Errors name the source, not a file and line:
 * "--url: invalid url "x" (...)". A url or list key adds to what cfg holds.
 * Returns 0, or -1 with err filled.
 */
int jfa_config_set(struct jfa_config *cfg, const char *key, const char *value, const char *source,
                   char *err, size_t errlen);

/*
 * Read and parse a config file with the trust checks described above, then
 * check that at least one url is set. Unlike jfa_config_parse, it also
 * checks the file ca_file names (links resolved, trusted-file checks, a PEM
 * certificate in it), reporting "file:line: ca_file: ...". path NULL: jfa_config_path().
 * Returns 0 or -1 with err filled. cfg is always safe to jfa_config_free().
 */
int jfa_config_load(struct jfa_config *cfg, const char *path, char *err, size_t errlen);

void jfa_config_free(struct jfa_config *cfg);

/* Is name listed in reserved_names? */
bool jfa_config_name_reserved(const struct jfa_config *cfg, const char *name);

/* JELLYFIN_AUTH_CONF (secure_getenv) or JFA_DEFAULT_CONF. */
const char *jfa_config_path(void);

/* Parse "10.0.0.0/8", "::1", "192.168.1.5"; 0 or -1. */
int jfa_cidr_parse(const char *s, struct jfa_cidr *out);
/* Does the textual address `ip` fall in any of the networks? false if unparsable. */
bool jfa_cidr_list_match(const struct jfa_cidr *nets, size_t n, const char *ip);
/* An IP literal ("10.1.2.3", "::1", "[::1]", "fe80::1%eth0": the zone is
 * dropped) in the 16-byte form of struct jfa_cidr (v4 as v4-mapped); 0 or
 * -1 when ip is not one (a host name). */
int jfa_addr_parse(const char *ip, unsigned char addr[16]);
/* Does the 16-byte address fall in any of the networks? */
bool jfa_cidr_list_contains(const struct jfa_cidr *nets, size_t n, const unsigned char addr[16]);

/* Expand the home template for login name `user` into a malloc'd string. */
char *jfa_config_home(const struct jfa_config *cfg, const char *user);

/* state_dir/users.db, state_dir/private (malloc'd) */
char *jfa_config_db_path(const struct jfa_config *cfg);
char *jfa_config_private_dir(const struct jfa_config *cfg);

#endif
