/*
 * lib/jfaconf.c - the jellyfin-auth.conf parser.
 *
 * Owns: the documented defaults, the line syntax (`key = value`, whole-line
 * `#` comments, blank lines, CRLF, a 4096-byte line cap, no NUL bytes), the
 * validation of every key and of the cross-key rules (uid range, distinct
 * group names; a url through libcurl's URL API, its host ASCII only), the
 * trusted read of the file, CIDR parsing and matching,
 * and the helpers that derive paths from the configuration. Every error is
 * "FILE:LINE: message" naming the key and the (escaped) bad value.
 *
 * Default strings point at static constants so that jfa_config_defaults()
 * cannot fail and never allocates; jfa_config_free() frees only strings
 * that the parser allocated.
 */
/* _GNU_SOURCE normally comes from configure (AC_USE_SYSTEM_EXTENSIONS, -D) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jfaconf.h"
#include "fileutil.h"
#include "log.h"

#define CONF_MAX_LINE 4096
#define CONF_MAX_SIZE (64u * 1024u)

#define UID_MIN_DEFAULT 1879048192u /* 0x70000000 */
#define UID_MAX_DEFAULT 2147352575u /* 0x7FFDFFFF */
#define UID_LOWEST 1000u
#define UID_HIGHEST 2147483646u
#define UID_RANGE_MIN 1000u

#define DAY (24L * 3600L)

static const char def_keyfile[] = JFA_DEFAULT_KEYFILE;
static const char def_state_dir[] = JFA_DEFAULT_STATE_DIR;
static const char def_home[] = "/home/%u";
static const char def_shell[] = "/bin/bash";
static const char def_users_group[] = "jellyfin-users";
static const char def_admin_group[] = "jellyfin-admins";
static const char def_smbpasswd[] = "/usr/bin/smbpasswd";
static const char def_pdbedit[] = "/usr/bin/pdbedit";

static const char *const def_networks[] = {
    "127.0.0.0/8",    "::1/128",  "10.0.0.0/8", "172.16.0.0/12",
    "192.168.0.0/16", "fc00::/7", "fe80::/10",
};

/* Free a string field unless it is one of the static defaults. */
static void free_field(char **field)
{
    char *p = *field;

    if (p != NULL && p != def_keyfile && p != def_state_dir && p != def_home && p != def_shell &&
        p != def_users_group && p != def_admin_group && p != def_smbpasswd && p != def_pdbedit)
        free(p);
    *field = NULL;
}

/* ---- CIDR ---------------------------------------------------------- */

static void cidr_mask(struct jfa_cidr *c)
{
    unsigned i;

    for (i = 0; i < 16; i++) {
        unsigned bits = i * 8;

        if (bits >= c->prefix)
            c->addr[i] = 0;
        else if (c->prefix - bits < 8)
            c->addr[i] &= (unsigned char)(0xFFu << (8 - (c->prefix - bits)));
    }
}

/* Parse an address (no prefix) into the 16-byte form; *is_v4 says which. */
static int parse_addr(const char *s, unsigned char out[16], bool *is_v4)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, s, &a4) == 1) {
        memset(out, 0, 10);
        out[10] = 0xFF;
        out[11] = 0xFF;
        memcpy(out + 12, &a4, 4);
        *is_v4 = true;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        *is_v4 = false;
        return 0;
    }
    return -1;
}

int jfa_cidr_parse(const char *s, struct jfa_cidr *out)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash;
    size_t alen;
    unsigned prefix = 0, maxp;
    bool is_v4, has_prefix = false;
    struct jfa_cidr c;

    if (s == NULL || out == NULL)
        return -1;
    slash = strchr(s, '/');
    alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr))
        return -1;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (slash != NULL) {
        const char *p = slash + 1;
        size_t nd = 0;

        for (; *p != '\0'; p++, nd++) {
            if (*p < '0' || *p > '9' || nd >= 3)
                return -1;
            prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        if (nd == 0)
            return -1;
        has_prefix = true;
    }
    if (parse_addr(addr, c.addr, &is_v4) != 0)
        return -1;
    maxp = is_v4 ? 32 : 128;
    if (!has_prefix)
        prefix = maxp;
    if (prefix > maxp)
        return -1;
    c.prefix = is_v4 ? prefix + 96 : prefix;
    cidr_mask(&c);
    *out = c;
    return 0;
}

static bool cidr_contains(const struct jfa_cidr *net, const unsigned char addr[16])
{
    unsigned full = net->prefix / 8, rest = net->prefix % 8;

    if (net->prefix > 128)
        return false;
    if (memcmp(net->addr, addr, full) != 0)
        return false;
    if (rest != 0) {
        unsigned char m = (unsigned char)(0xFFu << (8 - rest));

        if ((net->addr[full] & m) != (addr[full] & m))
            return false;
    }
    return true;
}

int jfa_addr_parse(const char *ip, unsigned char addr[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    const char *p = ip;
    size_t len, i;
    bool is_v4;

    if (ip == NULL)
        return -1;
    len = strlen(p);
    /* accept "[::1]" and a zone suffix "fe80::1%eth0" */
    if (len >= 2 && p[0] == '[' && p[len - 1] == ']') {
        p++;
        len -= 2;
    }
    for (i = 0; i < len; i++)
        if (p[i] == '%')
            break;
    len = i;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, p, len);
    buf[len] = '\0';
    return parse_addr(buf, addr, &is_v4);
}

bool jfa_cidr_list_contains(const struct jfa_cidr *nets, size_t n, const unsigned char addr[16])
{
    size_t i;

    if (nets == NULL)
        return false;
    for (i = 0; i < n; i++)
        if (cidr_contains(&nets[i], addr))
            return true;
    return false;
}

bool jfa_cidr_list_match(const struct jfa_cidr *nets, size_t n, const char *ip)
{
    unsigned char addr[16];

    return jfa_addr_parse(ip, addr) == 0 && jfa_cidr_list_contains(nets, n, addr);
}

/* ---- defaults, free, paths -------------------------------------------- */

void jfa_config_defaults(struct jfa_config *cfg)
{
    size_t i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->timeout = 10;
    cfg->api_key_file = (char *)def_keyfile;
    cfg->state_dir = (char *)def_state_dir;
    cfg->uid_min = UID_MIN_DEFAULT;
    cfg->uid_max = UID_MAX_DEFAULT;
    cfg->home = (char *)def_home;
    cfg->shell = (char *)def_shell;
    cfg->users_group = (char *)def_users_group;
    cfg->admin_group = (char *)def_admin_group;
    cfg->offline_max_age = 7 * DAY;
    for (i = 0; i < sizeof(def_networks) / sizeof(def_networks[0]); i++) {
        /* constant input: cannot fail */
        if (jfa_cidr_parse(def_networks[i], &cfg->local_networks[cfg->n_local_networks]) == 0)
            cfg->n_local_networks++;
    }
    cfg->allow_plain_http = false;
    cfg->case_sensitive = false;
    cfg->sync_on_login = true;
    cfg->throttle_failures = 5;
    cfg->throttle_window = 15 * 60;
    cfg->throttle_max_delay = 3600;
    cfg->lockout_guard = true;
    cfg->samba_sync = false;
    cfg->samba_smbpasswd = (char *)def_smbpasswd;
    cfg->samba_pdbedit = (char *)def_pdbedit;
    cfg->samba_timeout = 5;
    cfg->quick_connect = JFA_QC_NO;
    cfg->quick_connect_timeout = 120;
}

void jfa_config_free(struct jfa_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    free(cfg->path);
    for (i = 0; i < JFA_MAX_URLS; i++)
        free(cfg->urls[i]);
    free_field(&cfg->ca_file);
    free_field(&cfg->api_key_file);
    free_field(&cfg->state_dir);
    free_field(&cfg->home);
    free_field(&cfg->shell);
    free_field(&cfg->users_group);
    free_field(&cfg->admin_group);
    for (i = 0; i < cfg->n_reserved_names; i++)
        free(cfg->reserved_names[i]);
    free(cfg->reserved_names);
    free_field(&cfg->samba_smbpasswd);
    free_field(&cfg->samba_pdbedit);
    free_field(&cfg->samba_conf);
    memset(cfg, 0, sizeof(*cfg));
}

bool jfa_config_name_reserved(const struct jfa_config *cfg, const char *name)
{
    size_t i;

    for (i = 0; cfg != NULL && i < cfg->n_reserved_names; i++)
        if (strcmp(cfg->reserved_names[i], name) == 0)
            return true;
    return false;
}

const char *jfa_config_path(void)
{
    const char *p = secure_getenv("JELLYFIN_AUTH_CONF");

    return (p != NULL && p[0] != '\0') ? p : JFA_DEFAULT_CONF;
}

char *jfa_config_home(const struct jfa_config *cfg, const char *user)
{
    const char *t;
    char *out, *o;
    size_t ulen, n = 1;

    if (cfg == NULL || cfg->home == NULL || user == NULL || user[0] == '\0')
        return NULL;
    /* a login name never contains '/' and is never "." or ".."; refuse a
     * name that would escape the home template */
    if (strchr(user, '/') != NULL || strcmp(user, ".") == 0 || strcmp(user, "..") == 0)
        return NULL;
    ulen = strlen(user);
    for (t = cfg->home; *t != '\0'; t++) {
        if (*t == '%') {
            t++;
            if (*t == 'u')
                n += ulen;
            else if (*t == '%')
                n++;
            else
                return NULL; /* the parser refuses this; be safe anyway */
        } else {
            n++;
        }
    }
    out = malloc(n);
    if (out == NULL)
        return NULL;
    o = out;
    for (t = cfg->home; *t != '\0'; t++) {
        if (*t == '%') {
            t++;
            if (*t == 'u') {
                memcpy(o, user, ulen);
                o += ulen;
            } else {
                *o++ = '%';
            }
        } else {
            *o++ = *t;
        }
    }
    *o = '\0';
    return out;
}

static char *join_state(const struct jfa_config *cfg, const char *leaf)
{
    const char *dir;
    size_t dlen;
    char *out;

    if (cfg == NULL || cfg->state_dir == NULL)
        return NULL;
    dir = cfg->state_dir;
    dlen = strlen(dir);
    while (dlen > 0 && dir[dlen - 1] == '/')
        dlen--;
    if (asprintf(&out, "%.*s/%s", (int)dlen, dir, leaf) < 0)
        return NULL;
    return out;
}

char *jfa_config_db_path(const struct jfa_config *cfg)
{
    return join_state(cfg, "users.db");
}

char *jfa_config_private_dir(const struct jfa_config *cfg)
{
    return join_state(cfg, "private");
}

/* ---- parser ------------------------------------------------------------ */

struct parse_ctx {
    struct jfa_config *cfg;
    const char *name;
    unsigned line;
    char *err;
    size_t errlen;
    const char *key;
    const char *value;
    char esc[160];    /* the escaped value, for messages */
    bool check_files; /* jfa_config_load: check the files keys name (ca_file) */
};

static int perr(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(struct parse_ctx *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c->err == NULL || c->errlen == 0)
        return -1;
    /* line 0: a value from elsewhere (jfa_config_set): c->key names it */
    n = c->line > 0 ? snprintf(c->err, c->errlen, "%s:%u: ", c->name, c->line) : 0;
    if (n >= 0 && (size_t)n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool is_ws(char ch);

/* A hint when a value looks like it carries a trailing comment. */
static const char *comment_hint(const char *value)
{
    const char *p;

    for (p = value; *p != '\0'; p++)
        if (p[0] == '#' && p > value && is_ws(p[-1]))
            return "; comments must be on a line of their own";
    return "";
}

/* "KEY: invalid value "VALUE" (WHY)" */
static int bad_value(struct parse_ctx *c, const char *why)
{
    return perr(c, "%s: invalid value \"%s\" (%s%s)", c->key, c->esc, why, comment_hint(c->value));
}

static int oom(struct parse_ctx *c)
{
    return perr(c, "%s: out of memory", c->key);
}

static bool is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' || ch == '\v';
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Strict unsigned decimal (or 0x hex when allow_hex): no sign, no space. */
static int parse_ulong(const char *s, bool allow_hex, unsigned long long limit,
                       unsigned long long *out, const char **end)
{
    unsigned long long v = 0;
    unsigned base = 10, nd = 0;
    const char *p = s;

    if (allow_hex && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    for (;; p++, nd++) {
        unsigned d;

        if (is_digit(*p))
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (d > limit || v > (limit - d) / base)
            return -2; /* out of range */
        v = v * base + d;
    }
    if (nd == 0)
        return -1;
    *out = v;
    if (end != NULL)
        *end = p;
    else if (*p != '\0')
        return -1;
    return 0;
}

/* seconds in the largest unit that divides them exactly: 604800 -> "7d" */
static void fmt_duration(long v, char *buf, size_t len)
{
    if (v == 0)
        snprintf(buf, len, "0");
    else if (v % DAY == 0)
        snprintf(buf, len, "%ldd", v / DAY);
    else if (v % 3600 == 0)
        snprintf(buf, len, "%ldh", v / 3600);
    else if (v % 60 == 0)
        snprintf(buf, len, "%ldm", v / 60);
    else
        snprintf(buf, len, "%lds", v);
}

/* integer with an optional s/m/h/d suffix, in [lo, hi] seconds */
static int parse_duration(struct parse_ctx *c, long lo, long hi, long *out)
{
    unsigned long long v, mult = 1;
    const char *end;
    char why[128], lob[24], hib[24];
    int r;

    fmt_duration(lo, lob, sizeof(lob));
    fmt_duration(hi, hib, sizeof(hib));
    snprintf(why, sizeof(why), "expected a duration such as 90s, 15m, 2h or 7d, %s..%s", lob, hib);
    r = parse_ulong(c->value, false, (unsigned long long)hi, &v, &end);
    if (r != 0)
        return bad_value(c, why);
    if (*end != '\0') {
        switch (*end) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = (unsigned long long)DAY;
            break;
        default:
            return bad_value(c, why);
        }
        if (end[1] != '\0')
            return bad_value(c, why);
    }
    if (v > (unsigned long long)hi / mult)
        return bad_value(c, why);
    v *= mult;
    if (v < (unsigned long long)lo)
        return bad_value(c, why);
    *out = (long)v;
    return 0;
}

static bool has_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return true;
    return false;
}

/* Replace a string field with a copy of value. */
static int set_string(struct parse_ctx *c, char **field, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return oom(c);
    free_field(field);
    *field = copy;
    return 0;
}

static int set_abs_path(struct parse_ctx *c, char **field)
{
    if (c->value[0] != '/')
        return bad_value(c, "must be an absolute path");
    if (has_ctl(c->value))
        return bad_value(c, "control character in path");
    return set_string(c, field, c->value);
}

/* ---- per-key handlers ---- */

static bool host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '-' ||
           ch == '.' || ch == '_';
}

static bool path_char(char ch)
{
    /* RFC 3986 pchar, minus ',' which separates list items here */
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) ||
           strchr("-._~!$&'()*+;=:@/%", ch) != NULL;
}

/* Why curl refused a url, in our words where the rule is ours. */
static const char *url_refusal(CURLUcode rc)
{
    switch (rc) {
    case CURLUE_NO_HOST:
        return "missing host";
    case CURLUE_BAD_PORT_NUMBER:
        return "bad port";
    case CURLUE_UNSUPPORTED_SCHEME:
        return "must start with http:// or https://";
    case CURLUE_OUT_OF_MEMORY:
        return "out of memory";
#if LIBCURL_VERSION_NUM >= 0x075100 /* 7.81: the finer codes */
    case CURLUE_BAD_SCHEME:
    case CURLUE_BAD_SLASHES:
        return "must start with http:// or https://";
    case CURLUE_BAD_IPV6:
        return "bad IPv6 address in host";
    case CURLUE_BAD_HOSTNAME:
        return "bad host name";
    case CURLUE_BAD_LOGIN:
    case CURLUE_BAD_USER:
    case CURLUE_BAD_PASSWORD:
        return "no user name or password allowed in the url";
#endif
    default:
        return "not a valid url";
    }
}

/* The host curl parsed: ASCII only (a non-ASCII name would go through
 * libidn2 and the caller's locale: design.md "The environment is hostile"),
 * letters, digits, '-', '.', '_', not starting with '-' or '.'; an IPv6
 * literal comes back in brackets, already checked by curl. */
static const char *host_refusal(const char *host)
{
    const char *p;

    for (p = host; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            return "non-ASCII host name: write it in punycode (xn--...)";
    if (host[0] == '[')
        return NULL;
    if (host[0] == '\0')
        return "missing host";
    if (host[0] == '-' || host[0] == '.')
        return "bad host name";
    for (p = host; *p != '\0'; p++)
        if (!host_char(*p))
            return "bad host name";
    return NULL;
}

/*
 * Validate one url token with libcurl's URL API (the parser lib/http.c's
 * requests use); returns a malloc'd normalised copy (scheme in lower case,
 * trailing slashes dropped) or NULL with *why.
 *
 * curl 7.88 accepts more than our rules do, so these stay checks of the
 * token itself: one or three slashes after the scheme ("https:/h",
 * "https:///h" name host h), an empty query or fragment ("h/#" parses
 * without one, and a path appended to the base would land in it), an empty
 * port ("h:"), and percent-encoding in the authority (curl decodes
 * "%C3%A9" into a non-ASCII host name).
 */
static char *check_url(const char *tok, size_t len, const char **why)
{
    CURLU *h = NULL;
    CURLUcode rc;
    char *u = NULL, *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *part = NULL;
    char *out = NULL;
    size_t skip, auth_end, i;

    u = strndup(tok, len);
    h = curl_url();
    if (u == NULL || h == NULL) {
        *why = "out of memory";
        goto out;
    }
    /* no CURLU_GUESS_SCHEME or CURLU_DEFAULT_SCHEME (a scheme is required),
     * no CURLU_NON_SUPPORT_SCHEME, CURLU_ALLOW_SPACE or CURLU_URLENCODE */
    rc = curl_url_set(h, CURLUPART_URL, u, 0);
    if (rc != CURLUE_OK) {
        *why = url_refusal(rc);
        goto out;
    }
    if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcasecmp(scheme, "https") != 0 && strcasecmp(scheme, "http") != 0)) {
        *why = "must start with http:// or https://";
        goto out;
    }
    skip = strlen(scheme) + 3;
    if (strncasecmp(u, scheme, skip - 3) != 0 || strncmp(u + skip - 3, "://", 3) != 0) {
        *why = "must start with http:// or https://";
        goto out;
    }
    if (u[skip] == '/' || u[skip] == '\0') {
        *why = "missing host";
        goto out;
    }
    if (strpbrk(u, "?#") != NULL) {
        *why = "no query or fragment allowed";
        goto out;
    }
    if (curl_url_get(h, CURLUPART_USER, &part, 0) == CURLUE_OK ||
        curl_url_get(h, CURLUPART_PASSWORD, &part, 0) == CURLUE_OK ||
        curl_url_get(h, CURLUPART_OPTIONS, &part, 0) == CURLUE_OK) {
        *why = "no user name or password allowed in the url";
        goto out;
    }
    auth_end = skip + strcspn(u + skip, "/");
    if (memchr(u + skip, '%', auth_end - skip) != NULL) {
        *why = "percent-encoding in the host or port";
        goto out;
    }
    if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        *why = "missing host";
        goto out;
    }
    if ((*why = host_refusal(host)) != NULL)
        goto out;
    rc = curl_url_get(h, CURLUPART_PORT, &port, 0);
    if ((rc == CURLUE_OK && strcmp(port, "0") == 0) ||
        (rc != CURLUE_OK && u[auth_end - 1] == ':')) {
        *why = "bad port";
        goto out;
    }
    if (curl_url_get(h, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
        *why = "not a valid url";
        goto out;
    }
    for (i = 0; path[i] != '\0'; i++) {
        if (!path_char(path[i])) {
            *why = "invalid character in path";
            goto out;
        }
    }
    while (len > auth_end && u[len - 1] == '/')
        len--;
    u[len] = '\0';
    for (i = 0; i < skip - 3; i++)
        u[i] = (char)(u[i] | 0x20);
    out = u;
    u = NULL;
out:
    curl_free(part);
    curl_free(path);
    curl_free(port);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(h);
    free(u);
    return out;
}

static bool is_sep(char ch)
{
    return is_ws(ch) || ch == ',';
}

/* The next item of a comma- or space-separated list, advancing *p past
 * it; NULL at the end. */
static const char *next_item(const char **p, size_t *len)
{
    const char *start;

    while (is_sep(**p))
        (*p)++;
    if (**p == '\0')
        return NULL;
    start = *p;
    while (**p != '\0' && !is_sep(**p))
        (*p)++;
    *len = (size_t)(*p - start);
    return start;
}

static int h_url(struct parse_ctx *c)
{
    struct jfa_config *cfg = c->cfg;
    const char *p = c->value, *start;
    size_t count = 0, len;

    while ((start = next_item(&p, &len)) != NULL) {
        const char *why = NULL;
        char *u;
        char tok[160];

        count++;
        if (cfg->n_urls >= JFA_MAX_URLS)
            return perr(c, "%s: too many urls (at most %d)", c->key, JFA_MAX_URLS);
        u = check_url(start, len, &why);
        if (u == NULL) {
            char raw[CONF_MAX_LINE + 1];

            memcpy(raw, start, len);
            raw[len] = '\0';
            jfa_log_escape(tok, sizeof(tok), raw);
            return perr(c, "%s: invalid url \"%s\" (%s%s)", c->key, tok, why,
                        comment_hint(c->value));
        }
        cfg->urls[cfg->n_urls++] = u;
    }
    if (count == 0)
        return bad_value(c, "expected one or more http:// or https:// urls");
    return 0;
}

/* ca_file is the trust anchor: the file it names (links resolved) must pass
 * the trusted-file checks now; lib/http.c checks it again before each use. */
static int h_ca_file(struct parse_ctx *c)
{
    char *buf = NULL, e[JFA_ERRLEN];
    size_t len = 0;
    int rc;

    rc = set_abs_path(c, &c->cfg->ca_file);
    if (rc != 0 || !c->check_files)
        return rc;
    e[0] = '\0';
    if (jfa_read_trusted_resolved(c->cfg->ca_file, 022, JFA_CA_FILE_MAX, &buf, &len, e,
                                  sizeof(e)) != 0)
        return perr(c, "%s: %s", c->key, e);
    rc = strstr(buf, "-----BEGIN CERTIFICATE-----") != NULL
             ? 0
             : perr(c, "%s: %s: no PEM certificate in it", c->key, c->cfg->ca_file);
    free(buf);
    return rc;
}

static int h_timeout(struct parse_ctx *c)
{
    unsigned long long v;

    if (parse_ulong(c->value, false, 300, &v, NULL) != 0 || v < 1)
        return bad_value(c, "expected whole seconds, 1..300");
    c->cfg->timeout = (long)v;
    return 0;
}

static int h_api_key_file(struct parse_ctx *c)
{
    return set_abs_path(c, &c->cfg->api_key_file);
}

static int h_state_dir(struct parse_ctx *c)
{
    return set_abs_path(c, &c->cfg->state_dir);
}

static int parse_uid(struct parse_ctx *c, uint32_t *out)
{
    unsigned long long v;
    char why[80];

    snprintf(why, sizeof(why), "expected a number %u..%u", UID_LOWEST, UID_HIGHEST);
    if (parse_ulong(c->value, true, UID_HIGHEST, &v, NULL) != 0 || v < UID_LOWEST)
        return bad_value(c, why);
    *out = (uint32_t)v;
    return 0;
}

static int h_uid_min(struct parse_ctx *c)
{
    return parse_uid(c, &c->cfg->uid_min);
}

static int h_uid_max(struct parse_ctx *c)
{
    return parse_uid(c, &c->cfg->uid_max);
}

static int h_home(struct parse_ctx *c)
{
    const char *p;

    if (c->value[0] != '/')
        return bad_value(c, "must be an absolute path");
    if (has_ctl(c->value))
        return bad_value(c, "control character in path");
    if (strchr(c->value, ':') != NULL)
        return bad_value(c, "':' is not allowed in a passwd field");
    for (p = c->value; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        p++;
        if (*p == '\0')
            return bad_value(c, "lone % at the end; write %% for a literal %");
        if (*p != 'u' && *p != '%') {
            char why[80];

            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F)
                snprintf(why, sizeof(why), "unknown %%\\x%02x; only %%u and %%%% are allowed",
                         (unsigned char)*p);
            else
                snprintf(why, sizeof(why), "unknown %%%c; only %%u and %%%% are allowed", *p);
            return bad_value(c, why);
        }
    }
    return set_string(c, &c->cfg->home, c->value);
}

static int h_shell(struct parse_ctx *c)
{
    /* a passwd field: ':' would split the entry */
    if (strchr(c->value, ':') != NULL)
        return bad_value(c, "':' is not allowed in a passwd field");
    return set_abs_path(c, &c->cfg->shell);
}

static bool valid_group(const char *s)
{
    size_t n;

    if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (n = 1; s[n] != '\0'; n++) {
        char ch = s[n];

        if (!((ch >= 'a' && ch <= 'z') || is_digit(ch) || ch == '_' || ch == '-'))
            return false;
    }
    return n <= 32;
}

static int set_group(struct parse_ctx *c, char **field)
{
    if (!valid_group(c->value))
        return bad_value(c, "group name must match [a-z_][a-z0-9_-]*, at most 32 characters");
    return set_string(c, field, c->value);
}

static int h_users_group(struct parse_ctx *c)
{
    return set_group(c, &c->cfg->users_group);
}

static int h_admin_group(struct parse_ctx *c)
{
    return set_group(c, &c->cfg->admin_group);
}

/* reserved_names: a list; each appearance of the key adds to it */
static int h_reserved_names(struct parse_ctx *c)
{
    struct jfa_config *cfg = c->cfg;
    const char *p = c->value, *start;
    size_t count = 0, len;

    while ((start = next_item(&p, &len)) != NULL) {
        char tok[64], esc[128];
        char **nv;

        count++;
        memcpy(tok, start, len < sizeof(tok) ? len : sizeof(tok) - 1);
        tok[len < sizeof(tok) ? len : sizeof(tok) - 1] = '\0';
        if (!jfa_name_valid_n(start, len)) {
            jfa_log_escape(esc, sizeof(esc), tok);
            return perr(c,
                        "%s: invalid name \"%s\" (a login or group name: [a-z0-9_] then "
                        "[a-z0-9_.-], at most 32 characters, not all digits%s)",
                        c->key, esc, comment_hint(c->value));
        }
        if (jfa_config_name_reserved(cfg, tok))
            continue;
        if (cfg->n_reserved_names >= JFA_MAX_RESERVED)
            return perr(c, "%s: too many names (at most %d)", c->key, JFA_MAX_RESERVED);
        nv = realloc(cfg->reserved_names, (cfg->n_reserved_names + 1) * sizeof(*nv));
        if (nv == NULL)
            return oom(c);
        cfg->reserved_names = nv;
        nv[cfg->n_reserved_names] = strdup(tok);
        if (nv[cfg->n_reserved_names] == NULL)
            return oom(c);
        cfg->n_reserved_names++;
    }
    if (count == 0)
        return bad_value(c, "expected one or more names");
    return 0;
}

static int h_offline_max_age(struct parse_ctx *c)
{
    return parse_duration(c, 0, 365 * DAY, &c->cfg->offline_max_age);
}

/* first_time: the key's first appearance replaces the defaults */
static int h_local_networks(struct parse_ctx *c, bool first_time)
{
    struct jfa_config *cfg = c->cfg;
    const char *p = c->value, *start;
    size_t count = 0, len;

    if (first_time)
        cfg->n_local_networks = 0;
    while ((start = next_item(&p, &len)) != NULL) {
        char tok[96], esc[128];
        struct jfa_cidr net;

        count++;
        if (len >= sizeof(tok)) {
            memcpy(tok, start, sizeof(tok) - 1);
            tok[sizeof(tok) - 1] = '\0';
        } else {
            memcpy(tok, start, len);
            tok[len] = '\0';
        }
        if (len >= sizeof(tok) || jfa_cidr_parse(tok, &net) != 0) {
            jfa_log_escape(esc, sizeof(esc), tok);
            return perr(c,
                        "%s: invalid network \"%s\" (expected an address or CIDR such as "
                        "10.0.0.0/8 or fd00::/8%s)",
                        c->key, esc, comment_hint(c->value));
        }
        if (cfg->n_local_networks >= JFA_MAX_NETWORKS)
            return perr(c, "%s: too many networks (at most %d)", c->key, JFA_MAX_NETWORKS);
        cfg->local_networks[cfg->n_local_networks++] = net;
    }
    if (count == 0)
        return bad_value(c, "expected one or more networks");
    return 0;
}

static int parse_bool(struct parse_ctx *c, bool *out)
{
    static const char *const yes[] = {"yes", "true", "1", "on"};
    static const char *const no[] = {"no", "false", "0", "off"};
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(c->value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(c->value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return bad_value(c, "expected yes or no");
}

static int h_allow_plain_http(struct parse_ctx *c)
{
    return parse_bool(c, &c->cfg->allow_plain_http);
}

static int h_case_sensitive(struct parse_ctx *c)
{
    return parse_bool(c, &c->cfg->case_sensitive);
}

static int h_sync_on_login(struct parse_ctx *c)
{
    return parse_bool(c, &c->cfg->sync_on_login);
}

static int h_lockout_guard(struct parse_ctx *c)
{
    return parse_bool(c, &c->cfg->lockout_guard);
}

static int h_throttle_failures(struct parse_ctx *c)
{
    unsigned long long v;

    if (parse_ulong(c->value, false, 1000, &v, NULL) != 0)
        return bad_value(c, "expected a number 0..1000 (0 turns throttling off)");
    c->cfg->throttle_failures = (unsigned)v;
    return 0;
}

static int h_quick_connect(struct parse_ctx *c)
{
    if (strcmp(c->value, "no") == 0)
        c->cfg->quick_connect = JFA_QC_NO;
    else if (strcmp(c->value, "local") == 0)
        c->cfg->quick_connect = JFA_QC_LOCAL;
    else if (strcmp(c->value, "yes") == 0)
        c->cfg->quick_connect = JFA_QC_YES;
    else
        return bad_value(c, "expected no, local or yes");
    return 0;
}

static int h_quick_connect_timeout(struct parse_ctx *c)
{
    return parse_duration(c, 5, 10 * 60, &c->cfg->quick_connect_timeout);
}

static int h_throttle_window(struct parse_ctx *c)
{
    return parse_duration(c, 1, 7 * DAY, &c->cfg->throttle_window);
}

static int h_throttle_max_delay(struct parse_ctx *c)
{
    return parse_duration(c, 1, DAY, &c->cfg->throttle_max_delay);
}

static int h_samba_sync(struct parse_ctx *c)
{
    return parse_bool(c, &c->cfg->samba_sync);
}

static int h_samba_smbpasswd(struct parse_ctx *c)
{
    return set_abs_path(c, &c->cfg->samba_smbpasswd);
}

static int h_samba_pdbedit(struct parse_ctx *c)
{
    return set_abs_path(c, &c->cfg->samba_pdbedit);
}

static int h_samba_conf(struct parse_ctx *c)
{
    return set_abs_path(c, &c->cfg->samba_conf);
}

static int h_samba_timeout(struct parse_ctx *c)
{
    return parse_duration(c, 1, 60, &c->cfg->samba_timeout);
}

enum key_id {
    K_URL,
    K_CA_FILE,
    K_TIMEOUT,
    K_API_KEY_FILE,
    K_STATE_DIR,
    K_UID_MIN,
    K_UID_MAX,
    K_HOME,
    K_SHELL,
    K_USERS_GROUP,
    K_ADMIN_GROUP,
    K_OFFLINE_MAX_AGE,
    K_LOCAL_NETWORKS,
    K_ALLOW_PLAIN_HTTP,
    K_THROTTLE_FAILURES,
    K_THROTTLE_WINDOW,
    K_THROTTLE_MAX_DELAY,
    K_LOCKOUT_GUARD,
    K_RESERVED_NAMES,
    K_SAMBA_SYNC,
    K_SAMBA_SMBPASSWD,
    K_SAMBA_PDBEDIT,
    K_SAMBA_CONF,
    K_SAMBA_TIMEOUT,
    K_CASE_SENSITIVE,
    K_SYNC_ON_LOGIN,
    K_QUICK_CONNECT,
    K_QUICK_CONNECT_TIMEOUT,
    K_COUNT
};

struct key_def {
    const char *name;
    int (*fn)(struct parse_ctx *c);
    bool repeatable;
};

static const struct key_def keys[K_COUNT] = {
    [K_URL] = {"url", h_url, true},
    [K_CA_FILE] = {"ca_file", h_ca_file, false},
    [K_TIMEOUT] = {"timeout", h_timeout, false},
    [K_API_KEY_FILE] = {"api_key_file", h_api_key_file, false},
    [K_STATE_DIR] = {"state_dir", h_state_dir, false},
    [K_UID_MIN] = {"uid_min", h_uid_min, false},
    [K_UID_MAX] = {"uid_max", h_uid_max, false},
    [K_HOME] = {"home", h_home, false},
    [K_SHELL] = {"shell", h_shell, false},
    [K_USERS_GROUP] = {"users_group", h_users_group, false},
    [K_ADMIN_GROUP] = {"admin_group", h_admin_group, false},
    [K_OFFLINE_MAX_AGE] = {"offline_max_age", h_offline_max_age, false},
    [K_LOCAL_NETWORKS] = {"local_networks", NULL, true},
    [K_ALLOW_PLAIN_HTTP] = {"allow_plain_http", h_allow_plain_http, false},
    [K_THROTTLE_FAILURES] = {"throttle_failures", h_throttle_failures, false},
    [K_THROTTLE_WINDOW] = {"throttle_window", h_throttle_window, false},
    [K_THROTTLE_MAX_DELAY] = {"throttle_max_delay", h_throttle_max_delay, false},
    [K_LOCKOUT_GUARD] = {"lockout_guard", h_lockout_guard, false},
    [K_RESERVED_NAMES] = {"reserved_names", h_reserved_names, true},
    [K_SAMBA_SYNC] = {"samba_sync", h_samba_sync, false},
    [K_SAMBA_SMBPASSWD] = {"samba_smbpasswd", h_samba_smbpasswd, false},
    [K_SAMBA_PDBEDIT] = {"samba_pdbedit", h_samba_pdbedit, false},
    [K_SAMBA_CONF] = {"samba_conf", h_samba_conf, false},
    [K_SAMBA_TIMEOUT] = {"samba_timeout", h_samba_timeout, false},
    [K_CASE_SENSITIVE] = {"case_sensitive", h_case_sensitive, false},
    [K_SYNC_ON_LOGIN] = {"sync_on_login", h_sync_on_login, false},
    [K_QUICK_CONNECT] = {"quick_connect", h_quick_connect, false},
    [K_QUICK_CONNECT_TIMEOUT] = {"quick_connect_timeout", h_quick_connect_timeout, false},
};

/* Checks that involve more than one key, reported at the later line. */
static int check_cross(struct parse_ctx *c, const unsigned seen[K_COUNT])
{
    struct jfa_config *cfg = c->cfg;
    unsigned lmin = seen[K_UID_MIN], lmax = seen[K_UID_MAX];

    if (lmin != 0 || lmax != 0) {
        c->line = lmin > lmax ? lmin : lmax;
        c->key = lmin > lmax ? "uid_min" : "uid_max";
        if (cfg->uid_min > cfg->uid_max)
            return perr(c, "%s: uid_min %lu is above uid_max %lu", c->key,
                        (unsigned long)cfg->uid_min, (unsigned long)cfg->uid_max);
        if (cfg->uid_max - cfg->uid_min + 1 < UID_RANGE_MIN)
            return perr(c, "%s: uid range %lu..%lu holds fewer than %u ids", c->key,
                        (unsigned long)cfg->uid_min, (unsigned long)cfg->uid_max, UID_RANGE_MIN);
    }
    if (strcmp(cfg->users_group, cfg->admin_group) == 0) {
        unsigned lu = seen[K_USERS_GROUP], la = seen[K_ADMIN_GROUP];

        c->line = lu > la ? lu : la;
        c->key = lu > la ? "users_group" : "admin_group";
        return perr(c, "%s: users_group and admin_group must differ (both \"%s\")", c->key,
                    cfg->users_group);
    }
    return 0;
}

static int defaults_present(const struct jfa_config *cfg)
{
    return cfg->api_key_file != NULL && cfg->state_dir != NULL && cfg->home != NULL &&
           cfg->shell != NULL && cfg->users_group != NULL && cfg->admin_group != NULL;
}

static int parse_buf(struct jfa_config *cfg, const char *buf, size_t len, const char *name,
                     bool check_files, char *err, size_t errlen)
{
    struct parse_ctx c;
    unsigned seen[K_COUNT] = {0};
    char line[CONF_MAX_LINE + 1];
    size_t pos = 0;

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.name = name != NULL ? name : "(config)";
    c.err = err;
    c.errlen = errlen;
    c.check_files = check_files;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg == NULL || (buf == NULL && len > 0)) {
        jfa_set_err(err, errlen, "%s: invalid arguments", c.name);
        return -1;
    }
    if (!defaults_present(cfg)) {
        jfa_set_err(err, errlen, "%s: configuration not initialised with defaults", c.name);
        return -1;
    }
    /* tolerate a UTF-8 byte order mark */
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;

    while (pos < len) {
        const char *start = buf + pos, *nl, *nul;
        size_t llen, b, e, eq, kend, vstart;
        const struct key_def *kd = NULL;
        char keybuf[64], esckey[96];
        size_t k = K_COUNT;
        int r;

        c.line++;
        nl = memchr(start, '\n', len - pos);
        llen = nl ? (size_t)(nl - start) : len - pos;
        pos += llen + (nl ? 1 : 0);
        nul = memchr(start, '\0', llen);
        if (nul != NULL)
            return perr(&c, "NUL byte in line (column %zu)", (size_t)(nul - start) + 1);
        if (llen > CONF_MAX_LINE)
            return perr(&c, "line too long (%zu bytes, at most %d)", llen, CONF_MAX_LINE);
        memcpy(line, start, llen);
        line[llen] = '\0';

        b = 0;
        e = llen;
        while (b < e && is_ws(line[b]))
            b++;
        while (e > b && is_ws(line[e - 1]))
            e--;
        line[e] = '\0';
        if (b == e || line[b] == '#')
            continue;

        for (eq = b; eq < e && line[eq] != '='; eq++)
            ;
        if (eq == e) {
            /* the line is not echoed: a config= pointing at the API key
             * file by mistake must not put the key in a log */
            return perr(&c, "expected \"key = value\" (no '=' on this line)");
        }
        kend = eq;
        while (kend > b && is_ws(line[kend - 1]))
            kend--;
        vstart = eq + 1;
        while (vstart < e && is_ws(line[vstart]))
            vstart++;
        if (kend == b)
            return perr(&c, "missing key before '='");
        line[kend] = '\0';
        if (kend - b < sizeof(keybuf)) {
            memcpy(keybuf, line + b, kend - b + 1);
            for (k = 0; k < K_COUNT; k++) {
                if (strcmp(keys[k].name, keybuf) == 0) {
                    kd = &keys[k];
                    break;
                }
            }
        }
        if (kd == NULL) {
            jfa_log_escape(esckey, sizeof(esckey), line + b);
            return perr(&c, "unknown key \"%s\"", esckey);
        }
        c.key = kd->name;
        c.value = line + vstart;
        jfa_log_escape(c.esc, sizeof(c.esc), c.value);
        if (seen[k] != 0 && !kd->repeatable)
            return perr(&c, "%s: duplicate key (first set on line %u)", c.key, seen[k]);
        if (c.value[0] == '\0')
            return perr(&c, "%s: empty value", c.key);
        if (k == K_LOCAL_NETWORKS)
            r = h_local_networks(&c, seen[k] == 0);
        else
            r = kd->fn(&c);
        if (r != 0)
            return -1;
        if (seen[k] == 0)
            seen[k] = c.line;
    }
    return check_cross(&c, seen);
}

int jfa_config_parse(struct jfa_config *cfg, const char *buf, size_t len, const char *name,
                     char *err, size_t errlen)
{
    return parse_buf(cfg, buf, len, name, false, err, errlen);
}

int jfa_config_set(struct jfa_config *cfg, const char *key, const char *value, const char *source,
                   char *err, size_t errlen)
{
    struct parse_ctx c;
    size_t k;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg == NULL || key == NULL || value == NULL || source == NULL || !defaults_present(cfg)) {
        jfa_set_err(err, errlen, "%s: invalid arguments", source != NULL ? source : "(option)");
        return -1;
    }
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.name = source;
    c.err = err;
    c.errlen = errlen;
    c.check_files = true;
    c.key = source; /* messages read "--url: invalid url ..." */
    c.value = value;
    jfa_log_escape(c.esc, sizeof(c.esc), value);
    for (k = 0; k < K_COUNT; k++)
        if (strcmp(keys[k].name, key) == 0)
            break;
    if (k == K_COUNT) {
        jfa_set_err(err, errlen, "%s: unknown configuration key \"%s\"", source, key);
        return -1;
    }
    if (strlen(value) > CONF_MAX_LINE)
        return perr(&c, "%s: value too long (at most %d bytes)", c.key, CONF_MAX_LINE);
    if (value[0] == '\0')
        return perr(&c, "%s: empty value", c.key);
    if (k == K_LOCAL_NETWORKS)
        return h_local_networks(&c, true);
    return keys[k].fn(&c);
}

int jfa_config_load(struct jfa_config *cfg, const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int ret = -1;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (cfg == NULL) {
        jfa_set_err(err, errlen, "invalid arguments");
        return -1;
    }
    jfa_config_defaults(cfg);
    if (path == NULL)
        path = jfa_config_path();
    cfg->path = strdup(path);
    if (cfg->path == NULL) {
        jfa_set_err(err, errlen, "%s: out of memory", path);
        goto out;
    }
    if (jfa_read_trusted(path, 022, CONF_MAX_SIZE, &buf, &len, err, errlen) != 0)
        goto out;
    if (parse_buf(cfg, buf, len, path, true, err, errlen) != 0)
        goto out;
    if (cfg->n_urls == 0) {
        jfa_set_err(err, errlen, "%s: no url set", path);
        goto out;
    }
    ret = 0;
out:
    free(buf);
    return ret;
}
