#!/bin/bash
# pam-rhost.sh - a PAM_RHOST address counts only as the peer of a connection
# the process holds (design.md "Remote host"). A service that puts a
# reverse-DNS answer in PAM_RHOST (Fedora's vsftpd, reverse_lookup_enable)
# hands the module whatever the client's PTR record says, "192.168.1.20"
# included. carol may not log in remotely: from an address nobody is
# connected from, she is refused even inside local_networks (logged once,
# naming the service); from the address of a connection pamtester holds
# (descriptor 7 to the fake at 127.0.0.1, as sshd holds the client's socket)
# she is let in, as v4-mapped v6 too; the Quick Connect `local` rule and
# explain (--rhost-unconfirmed) follow the same rule.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
[ -x "$JFA_TOOL" ] || jfa_fail "tools/jellyfin-auth not built"

notes() { grep -c "the remote host $1 that service 'jellyfin' gave is not the address of a connection" \
    "$W/module.log"; }

# 1. An address no connection of pamtester's comes from: outside, whatever
#    local_networks says (the PTR record's "192.168.1.20" of the attack).
pt "" -Irhost=192.168.1.20 jellyfin carol acct_mgmt
expect_err "carol from an unconfirmed LAN address" "denied"
[ "$(notes 192.168.1.20)" = 1 ] || jfa_fail "the unconfirmed address is not logged once: $OUT"
pt "$PW_CAROL" -Irhost=10.9.8.7 jellyfin carol authenticate acct_mgmt
expect_err "carol authenticates from an unconfirmed LAN address" "denied"
[ "$(notes 10.9.8.7)" = 1 ] || jfa_fail "not logged once per login: $OUT"
pt "" -Irhost=127.0.0.1 jellyfin carol acct_mgmt
expect_err "carol from 127.0.0.1 without a connection from it" "denied"
# users with remote access are not asked about it (no scan, no line)
pt "" -Irhost=192.168.1.21 jellyfin alice acct_mgmt
expect_ok "alice from anywhere"
[ "$(notes 192.168.1.21)" = 0 ] || jfa_fail "a line for a user with remote access"

# 2. The address of a connection the process holds: inside local_networks.
peer pt "" -Irhost=127.0.0.1 jellyfin carol acct_mgmt
expect_ok "carol from 127.0.0.1, a connection pamtester holds"
peer pt "" -Irhost=::ffff:127.0.0.1 jellyfin carol acct_mgmt
expect_ok "carol from ::ffff:127.0.0.1 (v4-mapped), a connection pamtester holds"
peer pt "$PW_CAROL" -Irhost=127.0.0.1 jellyfin carol authenticate acct_mgmt
expect_ok "carol authenticates from 127.0.0.1 with a connection"
# a connection from elsewhere confirms only its own peer
peer pt "" -Irhost=127.0.0.2 jellyfin carol acct_mgmt
expect_err "carol from 127.0.0.2 with a connection from 127.0.0.1 only" "denied"
# a host name never matches (as before)
peer pt "" -Irhost=localhost jellyfin carol acct_mgmt
expect_err "carol from a host name" "denied"
# outside local_networks stays outside with a connection from it
write_conf "$URL" "local_networks = 10.0.0.0/8"
n=$(notes 127.0.0.1)
peer pt "" -Irhost=127.0.0.1 jellyfin carol acct_mgmt
expect_err "carol from a confirmed address outside local_networks" "denied"
[ "$(notes 127.0.0.1)" = "$n" ] || jfa_fail "a confirmed address was reported as unconfirmed"
pt "" -Irhost=127.0.0.1 jellyfin carol acct_mgmt
expect_err "carol from an unconfirmed address outside local_networks" "denied"
[ "$(notes 127.0.0.1)" = "$n" ] || jfa_fail "an address outside local_networks was reported as unconfirmed"
write_conf "$URL"

# 3. quick_connect = local offers a code only to a confirmed local address.
write_conf "$URL" "quick_connect = local"
pt "" -Irhost=192.168.1.20 jellyfin alice authenticate
grep -q "Quick Connect not offered to 'alice': 192.168.1.20 is outside local_networks (not the address of a connection" \
    "$W/module.log" || jfa_fail "Quick Connect offered to an unconfirmed address: $OUT"
write_conf "$URL"

# 4. explain: --rhost is taken as the peer; --rhost-unconfirmed as no peer.
tool() {
    OUT=$(env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) \
        NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group" \
        JELLYFIN_AUTH_CONF="$W/jellyfin-auth.conf" JELLYFIN_AUTH_PAM_DIR="$W/services" \
        "$JFA_TOOL" "$@" 2>&1)
    RC=$?
}
tool explain carol --rhost 192.168.1.20
printf '%s' "$OUT" | grep -q "^info  rhost  *192.168.1.20 taken as the peer of the service's connection" ||
    jfa_fail "explain does not say it assumed the peer: $OUT"
printf '%s' "$OUT" | grep -q "^pass  account-remote   remote access denied, but 192.168.1.20 is inside local_networks" ||
    jfa_fail "explain --rhost: $OUT"
tool explain carol --rhost 192.168.1.20 --rhost-unconfirmed
[ "$RC" = 1 ] || jfa_fail "explain --rhost-unconfirmed lets carol in ($RC): $OUT"
printf '%s' "$OUT" | grep -q "^STOP  account-remote   remote access denied (as of .*) and 192.168.1.20 is outside local_networks (not the address of a connection" ||
    jfa_fail "explain --rhost-unconfirmed: $OUT"
tool explain carol --rhost 192.168.1.20 --rhost-unconfirmed --json
printf '%s' "$OUT" | "$PYTHON3" -c 'import json,sys; d=json.load(sys.stdin); assert d["rhost_peer"] is False and not d["allowed"], d' ||
    jfa_fail "explain --json rhost_peer: $OUT"
tool explain carol --rhost 192.168.1.20 --json
printf '%s' "$OUT" | "$PYTHON3" -c 'import json,sys; d=json.load(sys.stdin); assert d["rhost_peer"] is True, d' ||
    jfa_fail "explain --json rhost_peer: $OUT"
tool explain carol --rhost gw.example --rhost-unconfirmed
[ "$RC" = 2 ] || jfa_fail "--rhost-unconfirmed with a host name is not a usage error ($RC): $OUT"
echo "PASS: PAM_RHOST addresses count only as the peer of a connection the process holds"
