#!/bin/sh
# data/unwire.sh - take jellyfin-auth out of the system's PAM stacks and
# nsswitch.conf before its modules are removed (`make uninstall`; the Debian
# packages' prerm/postrm do the same with their own maintainer scripts).
#
# Owns: "no PAM or NSS reference to a removed module". PAM: `pam-auth-update
# --remove jellyfin` (what libpam-sss's prerm runs) when a common-* file
# names pam_jellyfin; NSS: the word "jellyfin" is removed from the passwd:,
# group:, shadow: and initgroups: lines (backup: nsswitch.conf.jellyfin-auth
# .bak, mode kept). If a PAM file still names pam_jellyfin.so afterwards (a
# stack edited by hand), it says which and fails: the caller must then not
# remove the module, or every login through that file would fail with
# "Module is unknown".
#
# Usage: unwire.sh [PAM_D [NSSWITCH_CONF]] (defaults /etc/pam.d and
# /etc/nsswitch.conf; JFA_PAM_AUTH_UPDATE overrides the tool, for tests).
set -u
pamd=${1:-/etc/pam.d}
ns=${2:-/etc/nsswitch.conf}
pau=${JFA_PAM_AUTH_UPDATE:-/usr/sbin/pam-auth-update}

if grep -qs 'pam_jellyfin\.so' "$pamd"/common-* && [ -x "$pau" ]; then
    DEBIAN_FRONTEND=noninteractive "$pau" --package --remove jellyfin ||
        echo "unwire: $pau --remove jellyfin failed" >&2
fi
left=$(grep -ls 'pam_jellyfin\.so' "$pamd"/* 2>/dev/null)
if [ -n "$left" ]; then
    echo "unwire: these PAM files still use pam_jellyfin.so:" $left >&2
    echo "unwire: remove those lines first (see README, \"Remove\"); nothing was removed" >&2
    exit 1
fi

re='^[[:space:]]*(passwd|group|shadow|initgroups)[[:space:]]*:'
if [ -f "$ns" ] && grep -Eq "$re.*[[:space:]:]jellyfin([[:space:]]|\$)" "$ns"; then
    [ -e "$ns.jellyfin-auth.bak" ] || cp -p "$ns" "$ns.jellyfin-auth.bak" || exit 1
    tmp=$(mktemp "$ns.XXXXXX") || exit 1
    # drop the word (and its action block, e.g. "jellyfin [NOTFOUND=return]")
    sed -E "/$re/{
        s/([[:space:]:])jellyfin([[:space:]]+\\[([^]])*\\])?([[:space:]]|\$)/\\1\\4/g
        s/[[:space:]]+\$//
    }" "$ns" >"$tmp" && chmod --reference="$ns" "$tmp" && mv -f "$tmp" "$ns" || {
        rm -f "$tmp"
        echo "unwire: cannot edit $ns" >&2
        exit 1
    }
    echo "unwire: removed jellyfin from $ns (backup: $ns.jellyfin-auth.bak)"
fi
exit 0
