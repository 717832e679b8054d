/*
 * lib/namemap.c - Jellyfin user name -> POSIX login name.
 *
 * Owns: the mapping rules documented in namemap.h, doc/design.md and
 * jellyfin-auth(8): strict UTF-8 decoding, A-Z lower-cased, [a-z0-9_.-]
 * kept, space ' @ + turned into '_', Latin letters with diacritics
 * (U+00C0-U+017F) folded to their base letters, anything else refused; the
 * shape and length checks of the result; the reserved names; gecos
 * sanitising. Pure code, no I/O.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "namemap.h"

/*
 * Base letters for U+00C0..U+017F (index cp - 0xC0). NULL: no mapping
 * (U+00D7 multiplication sign, U+00F7 division sign).
 */
static const char *const fold_table[0x180 - 0xC0] = {
    /* U+00C0 */ "a", "a", "a",  "a",  "a", "a", "ae", "c",
    /* U+00C8 */ "e", "e", "e",  "e",  "i", "i", "i",  "i",
    /* U+00D0 */ "d", "n", "o",  "o",  "o", "o", "o",  NULL,
    /* U+00D8 */ "o", "u", "u",  "u",  "u", "y", "th", "ss",
    /* U+00E0 */ "a", "a", "a",  "a",  "a", "a", "ae", "c",
    /* U+00E8 */ "e", "e", "e",  "e",  "i", "i", "i",  "i",
    /* U+00F0 */ "d", "n", "o",  "o",  "o", "o", "o",  NULL,
    /* U+00F8 */ "o", "u", "u",  "u",  "u", "y", "th", "y",
    /* U+0100 */ "a", "a", "a",  "a",  "a", "a", "c",  "c",
    /* U+0108 */ "c", "c", "c",  "c",  "c", "c", "d",  "d",
    /* U+0110 */ "d", "d", "e",  "e",  "e", "e", "e",  "e",
    /* U+0118 */ "e", "e", "e",  "e",  "g", "g", "g",  "g",
    /* U+0120 */ "g", "g", "g",  "g",  "h", "h", "h",  "h",
    /* U+0128 */ "i", "i", "i",  "i",  "i", "i", "i",  "i",
    /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k",  "k",
    /* U+0138 */ "k", "l", "l",  "l",  "l", "l", "l",  "l",
    /* U+0140 */ "l", "l", "l",  "n",  "n", "n", "n",  "n",
    /* U+0148 */ "n", "n", "n",  "n",  "o", "o", "o",  "o",
    /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r",  "r",
    /* U+0158 */ "r", "r", "s",  "s",  "s", "s", "s",  "s",
    /* U+0160 */ "s", "s", "t",  "t",  "t", "t", "t",  "t",
    /* U+0168 */ "u", "u", "u",  "u",  "u", "u", "u",  "u",
    /* U+0170 */ "u", "u", "u",  "u",  "w", "w", "y",  "y",
    /* U+0178 */ "y", "z", "z",  "z",  "z", "z", "z",  "s",
};

/*
 * Reserved names: a Jellyfin user never gets one as login name or private
 * group, because local grants (sudoers, /etc/group memberships, socket and
 * device groups) may already be attached to it, or a package may create it
 * later: `groupadd --force docker` exits 0 without creating anything when
 * NSS already knows the name, and the socket then belongs to a Jellyfin
 * user's private group. Sources: Debian base-passwd (passwd.master,
 * group.master), the groups and system users Debian 12 packages create in
 * their maintainer scripts or sysusers.d files, and the usual names of
 * other distributions' admin groups. Plus two prefixes: systemd-* and _*
 * (the form Debian uses for new system accounts: _apt, _ssh, _chrony).
 * doc/design.md and jellyfin-auth(8) list the sources; the config key
 * reserved_names extends the list.
 */
/* Debian base-passwd: passwd.master and group.master (and gnats, older) */
static const char *const base_names[] = {
    "root", "daemon",  "bin",   "sys",      "sync",     "games", "man",    "lp",    "mail",
    "news", "uucp",    "proxy", "www-data", "backup",   "list",  "irc",    "gnats", "nobody",
    "adm",  "tty",     "disk",  "kmem",     "dialout",  "fax",   "voice",  "cdrom", "floppy",
    "tape", "sudo",    "audio", "dip",      "operator", "src",   "shadow", "utmp",  "video",
    "sasl", "plugdev", "staff", "users",    "nogroup",
};

/* groups packages create that grant device, socket or admin access */
static const char *const group_names[] = {
    "docker",        "lxd",           "lxc",          "incus",
    "incus-admin",   "libvirt",       "libvirt-qemu", "libvirt-dnsmasq",
    "kvm",           "lpadmin",       "sambashare",   "wireshark",
    "vboxusers",     "vboxsf",        "bluetooth",    "scanner",
    "netdev",        "render",        "sgx",          "input",
    "i2c",           "gpio",          "spi",          "tss",
    "crontab",       "ssl-cert",      "pulse-access", "pipewire",
    "fuse",          "mlocate",       "plocate",      "ubridge",
    "pcap",          "nopasswdlogin", "autologin",    "postdrop",
    "ollama",        "podman",        "ssh",          "davfs2",
    "winbindd_priv", "frrvty",        "quaggavty",    "kismet",
    "uml-net",       "vde2-net",      "powerdev",     "rdma",
    "bumblebee",
};

/* system users (each with its group) that packages create */
/* clang-format off */
static const char *const account_names[] = {
    "sshd", "ftp", "messagebus", "polkitd", "avahi", "avahi-autoipd", "colord", "pulse", "rtkit",
    "saned", "uuidd", "tcpdump", "ntp", "ntpsec", "chrony", "usbmux", "geoclue",
    "speech-dispatcher", "lightdm", "sddm", "gdm", "xrdp", "dnsmasq", "statd", "bind", "named",
    "unbound", "postfix", "dovecot", "dovenull", "exim", "opendkim", "clamav", "amavis", "nginx",
    "apache", "httpd", "haproxy", "squid", "stunnel4", "postgres", "mysql", "mariadb", "redis",
    "mongodb", "memcache", "rabbitmq", "elasticsearch", "openldap", "sssd", "nut", "prometheus",
    "grafana", "influxdb", "telegraf", "zabbix", "nagios", "munin", "netdata", "mosquitto",
    "debian-tor", "debian-transmission", "git", "gitlab", "gitea", "forgejo", "jellyfin", "emby",
    "plex", "sonarr", "radarr", "lidarr", "readarr", "prowlarr", "bazarr", "syncthing",
    "nextcloud", "cloudsdk", "frr", "quagga", "nm-openvpn", "nm-openconnect", "hplip", "kernoops",
    "whoopsie", "cups-pk-helper", "fwupd-refresh", "dhcpcd", "nslcd", "nscd", "unscd", "jenkins",
    "tomcat", "asterisk", "minidlna", "mpd", "cockpit-ws", "cockpit-wsinstance",
    "gnome-initial-setup",
};
/* clang-format on */

/* administrators' groups elsewhere (pam_wheel, polkit rules, sudoers) */
static const char *const admin_names[] = {
    "wheel",
    "admin",
    "admins",
    "sudoers",
};

/* the default users of cloud, VM and device images: cloud-init writes
 * "NAME ALL=(ALL) NOPASSWD:ALL" to /etc/sudoers.d/90-cloud-init-users, and
 * that file outlives a `userdel NAME` (a common hardening step), as do
 * AllowUsers lines; a Jellyfin user of that name would inherit them */
static const char *const image_names[] = {
    "ubuntu",    "debian", "ec2-user",  "centos", "fedora", "cloud-user", "rocky",
    "almalinux", "opc",    "azureuser", "alpine", "arch",   "core",       "rancher",
    "vagrant",   "pi",     "kali",      "dietpi", "linaro",
};

#define LIST(a) a, sizeof(a) / sizeof(a[0])
static const struct {
    const char *const *names;
    size_t n;
    const char *why;
} reserved_lists[] = {
    {LIST(base_names), "a Debian base-passwd user or group"},
    {LIST(group_names), "a system group packages may create"},
    {LIST(account_names), "a system user or group packages may create"},
    {LIST(admin_names), "an administrators' group on some systems"},
    {LIST(image_names), "a default user of cloud and device images (its sudoers rules outlive it)"},
};
#undef LIST

static void set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

const char *jfa_name_reserved_why(const char *name, const char *users_group,
                                  const char *admin_group, char *buf, size_t buflen)
{
    size_t i, k;

    for (k = 0; k < sizeof(reserved_lists) / sizeof(reserved_lists[0]); k++) {
        for (i = 0; i < reserved_lists[k].n; i++) {
            if (strcmp(name, reserved_lists[k].names[i]) == 0) {
                snprintf(buf, buflen, "%s (%s)", reserved_lists[k].why, name);
                return buf;
            }
        }
    }
    if (strncmp(name, "systemd-", 8) == 0) {
        snprintf(buf, buflen, "a name systemd creates (systemd-*)");
        return buf;
    }
    if (name[0] == '_') {
        snprintf(buf, buflen, "the form of the system accounts Debian packages create (_*)");
        return buf;
    }
    if (users_group != NULL && users_group[0] != '\0' && strcmp(name, users_group) == 0) {
        snprintf(buf, buflen, "the configured users_group");
        return buf;
    }
    if (admin_group != NULL && admin_group[0] != '\0' && strcmp(name, admin_group) == 0) {
        snprintf(buf, buflen, "the configured admin_group");
        return buf;
    }
    return NULL;
}

bool jfa_name_reserved(const char *name, const char *users_group, const char *admin_group)
{
    char buf[128];

    return jfa_name_reserved_why(name, users_group, admin_group, buf, sizeof(buf)) != NULL;
}

size_t jfa_name_reserved_count(void)
{
    size_t k, n = 0;

    for (k = 0; k < sizeof(reserved_lists) / sizeof(reserved_lists[0]); k++)
        n += reserved_lists[k].n;
    return n;
}

const char *jfa_name_reserved_at(size_t i)
{
    size_t k;

    for (k = 0; k < sizeof(reserved_lists) / sizeof(reserved_lists[0]); k++) {
        if (i < reserved_lists[k].n)
            return reserved_lists[k].names[i];
        i -= reserved_lists[k].n;
    }
    return NULL;
}

enum jfa_name_status jfa_name_map(const char *jf_name, const char *users_group,
                                  const char *admin_group, char out[JFA_NAME_MAX + 1], char *why,
                                  size_t whylen)
{
    const unsigned char *s = (const unsigned char *)jf_name;
    size_t n = strlen(jf_name), pos = 0, olen = 0, k;
    bool too_long = false, all_digits = true;
    char rwhy[128];

    out[0] = '\0';
    if (n == 0) {
        set_why(why, whylen, "empty name");
        return JFA_NAME_EMPTY;
    }
    while (pos < n) {
        uint32_t cp;
        char one[2] = {0, 0};
        const char *rep;
        size_t used = jfa_utf8_decode(s + pos, n - pos, &cp);

        if (used == 0) {
            set_why(why, whylen, "invalid UTF-8 at byte %zu", pos);
            out[olen < JFA_NAME_MAX ? olen : JFA_NAME_MAX] = '\0';
            return JFA_NAME_BAD_UTF8;
        }
        pos += used;
        if (cp >= 'A' && cp <= 'Z') {
            one[0] = (char)(cp - 'A' + 'a');
            rep = one;
        } else if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') || cp == '_' || cp == '-' ||
                   cp == '.') {
            one[0] = (char)cp;
            rep = one;
        } else if (cp == ' ' || cp == '\'' || cp == '@' || cp == '+') {
            rep = "_";
        } else if (cp >= 0xC0 && cp < 0x180 && fold_table[cp - 0xC0] != NULL) {
            rep = fold_table[cp - 0xC0];
        } else {
            if (cp < 0x20 || cp == 0x7f)
                set_why(why, whylen, "cannot be mapped: control character U+%04X", (unsigned)cp);
            else
                set_why(why, whylen, "cannot be mapped: character U+%04X", (unsigned)cp);
            return JFA_NAME_BAD_CHAR;
        }
        for (k = 0; rep[k] != '\0'; k++) {
            if (rep[k] < '0' || rep[k] > '9')
                all_digits = false;
            if (olen < JFA_NAME_MAX)
                out[olen] = rep[k];
            else
                too_long = true;
            olen++;
        }
        out[olen < JFA_NAME_MAX ? olen : JFA_NAME_MAX] = '\0';
    }
    if (too_long) {
        set_why(why, whylen, "mapped name is %zu bytes, more than %d", olen, JFA_NAME_MAX);
        return JFA_NAME_TOO_LONG;
    }
    if (out[0] == '.' || out[0] == '-') {
        set_why(why, whylen, "mapped name \"%s\" starts with '%c'", out, out[0]);
        return JFA_NAME_BAD_FORM;
    }
    if (all_digits) {
        set_why(why, whylen, "mapped name \"%s\" is all digits", out);
        return JFA_NAME_ALL_DIGITS;
    }
    if (jfa_name_reserved_why(out, users_group, admin_group, rwhy, sizeof(rwhy)) != NULL) {
        set_why(why, whylen, "mapped name \"%s\" is reserved: %s", out, rwhy);
        return JFA_NAME_RESERVED;
    }
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    return JFA_NAME_OK;
}

char *jfa_gecos_sanitize(char *dst, size_t dstlen, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n, i = 0, o = 0;

    if (dstlen == 0)
        return dst;
    n = strlen(src);
    while (i < n) {
        uint32_t cp = 0;
        size_t used = jfa_utf8_decode(s + i, n - i, &cp);
        bool bad = used == 0 || jfa_cp_display_unsafe(cp) || cp == ':' || cp == ',';
        size_t outlen = bad ? 1 : used;

        if (o + outlen >= dstlen)
            break; /* truncated on a character boundary */
        if (bad)
            dst[o] = '_';
        else
            memcpy(dst + o, s + i, used);
        o += outlen;
        i += used > 0 ? used : 1;
    }
    dst[o] = '\0';
    return dst;
}

char *jfa_name_suggest(const char *jf_name, const char *id, char out[JFA_NAME_MAX + 1])
{
    char base[JFA_NAME_MAX + 1];
    enum jfa_name_status st;

    st = jf_name != NULL ? jfa_name_map(jf_name, NULL, NULL, base, NULL, 0) : JFA_NAME_EMPTY;
    if ((st == JFA_NAME_OK || st == JFA_NAME_RESERVED) && base[0] != '\0') {
        size_t n = strlen(base);
        if (n > JFA_NAME_MAX - 3)
            n = JFA_NAME_MAX - 3;
        snprintf(out, JFA_NAME_MAX + 1, "jf-%.*s", (int)n, base);
        if (jfa_name_valid(out) && !jfa_name_reserved(out, NULL, NULL))
            return out;
    }
    snprintf(out, JFA_NAME_MAX + 1, "jf-%.8s", id != NULL ? id : "");
    if (!jfa_name_valid(out))
        snprintf(out, JFA_NAME_MAX + 1, "jf-user");
    return out;
}
