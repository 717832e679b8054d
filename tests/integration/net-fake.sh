#!/bin/sh
# tests/integration/net-fake.sh - lib/jellyfin.c against the fake Jellyfin.
#
# Owns: checking, end to end over HTTPS with a pinned test CA, that the
# client's requests are accepted by a server that parses the Authorization
# header the way Jellyfin does (four client fields required, GetParts
# grammar), and that its status mapping holds for real answers: login
# success and canonical name, 401 wrong password / unknown user, 403 disabled
# user whatever the password, token revocation by a new login on the same
# DeviceId and by logout, password change, user list with an API key, API
# keys, fail-over on 503, protocol errors on malformed/wrong-typed/huge/
# redirect answers, and TLS refusal without the CA (a TLS status, not
# "unavailable"). Driver:
# tests/integration/net_client.
. "$top_srcdir/tests/lib.sh"
jfa_setup
[ -f "$JFA_FAKE" ] || jfa_skip "fake Jellyfin not present"
command -v openssl >/dev/null 2>&1 || jfa_skip "no openssl"
CLIENT="$top_builddir/tests/integration/net_client"
[ -x "$CLIENT" ] || jfa_fail "missing $CLIENT"

ALICE=4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3d
BOB=0a1b2c3d4e5f60718293a4b5c6d7e8f9
CAROL=11112222333344445555666677778888
KEY=9f86d081884c7d659a2feaa0c55ad015
cat >"$W/data.json" <<JSON
{"users": [
  {"name": "Alice", "id": "$ALICE", "password": "correct horse \"battery\"",
   "is_administrator": true},
  {"name": "J\u00f6hn, Doe", "id": "$BOB", "password": "pw=2,%41+"},
  {"name": "carol", "id": "$CAROL", "password": "pw3", "is_disabled": true}
 ],
 "api_keys": [{"key": "$KEY", "app": "sync"}]}
JSON

jfa_make_cert "$W/tls"
CA="$W/tls/cert.pem"
jfa_start_fake a "$W/data.json" --tls-cert "$W/tls/cert.pem" --tls-key "$W/tls/key.pem"
U=$FAKE_URL_a

run() {
    "$CLIENT" "$@" >"$W/out" 2>"$W/err" || { cat "$W/out" "$W/err" >&2; jfa_fail "net_client $*"; }
}
expect() {
    grep -qxF -- "$1" "$W/out" || {
        echo "--- output:" >&2; cat "$W/out" "$W/err" >&2
        jfa_fail "$2: expected the line '$1'"
    }
}
field() { sed -n "s/^$1: //p" "$W/out"; }

# anonymous system info
run "$U" "$CA" sysinfo
expect "status: ok" sysinfo
expect "product: Jellyfin Server" sysinfo

# login: case-insensitive name, canonical spelling back, awkward password
run "$U" "$CA" auth alice 'correct horse "battery"'
expect "status: ok" "login alice"
expect "name: Alice" "canonical name"
expect "id: $ALICE" "user id"
expect "admin: 1" "admin flag"
tok1=$(field token)
[ ${#tok1} -eq 32 ] || jfa_fail "token has ${#tok1} characters"

printf 'J\303\266hn, Doe' >"$W/name"
run "$U" "$CA" auth "$(cat "$W/name")" 'pw=2,%41+'
expect "status: ok" "login with a non-ASCII name and a password full of separators"
expect "id: $BOB" "bob id"
tokb=$(field token)

run "$U" "$CA" me "$tok1"
expect "status: ok" "Users/Me"
expect "name: Alice" "Users/Me name"

# failures
run "$U" "$CA" auth alice wrong
expect "status: authentication failed" "wrong password"
expect "http: 401" "wrong password status"
grep -q wrong "$W/out" "$W/err" && jfa_fail "the password shows up in the output"
run "$U" "$CA" auth nobody x
expect "status: authentication failed" "unknown user"
run "$U" "$CA" auth carol pw3
expect "status: forbidden" "disabled user, right password"
run "$U" "$CA" auth carol wrong
expect "status: forbidden" "disabled user, wrong password"
run "$U" "$CA" me 0000000000000000000000000000dead
expect "status: authentication failed" "bogus token"

# a new login on the same DeviceId revokes the older token
run "$U" "$CA" auth Alice 'correct horse "battery"'
expect "status: ok" "second login"
tok2=$(field token)
[ "$tok1" != "$tok2" ] || jfa_fail "same token twice"
run "$U" "$CA" me "$tok1"
expect "status: authentication failed" "old token revoked by the new login"
run "$U" "$CA" me "$tok2"
expect "status: ok" "new token works"

# user list: API key sees everyone; anonymous public list works
run "$U" "$CA" users "$KEY"
expect "status: ok" "Users with the API key"
expect "count: 3" "all users listed"
run "$U" "$CA" users -
expect "status: ok" "Users/Public"

# API keys with an admin token
run "$U" "$CA" mkkey "$tok2" "jellyfin auth test"
expect "status: ok" "create API key"
run "$U" "$CA" keys "$tok2"
expect "status: ok" "list API keys"
grep -q '^key: jellyfin auth test [0-9a-f]\{32\}$' "$W/out" || jfa_fail "new key not listed"
run "$U" "$CA" keys "$tokb"
expect "status: forbidden" "API keys need an admin"

# password change, then the old password fails and the new one works
run "$U" "$CA" passwd "$tokb" "$BOB" 'pw=2,%41+' 'n3w "pw"'
expect "status: ok" "password change"
run "$U" "$CA" auth "$(cat "$W/name")" 'pw=2,%41+'
expect "status: authentication failed" "old password after the change"
run "$U" "$CA" auth "$(cat "$W/name")" 'n3w "pw"'
expect "status: ok" "new password"
tokb=$(field token)
run "$U" "$CA" passwd "$tokb" "$BOB" 'wrong' 'x'
expect "status: forbidden" "password change with a wrong current password"

# logout revokes the token
run "$U" "$CA" logout "$tok2"
expect "status: ok" logout
run "$U" "$CA" me "$tok2"
expect "status: authentication failed" "token after logout"

# TLS: without the CA the server is refused, as a certificate failure
# (never "server unavailable", which would open the offline path)
run "$U" - sysinfo
expect "status: TLS certificate verification failed" "no CA"

# faults on the answers
for mode in malformed wrong_types huge redirect; do
    jfa_fake_ctl "$U" POST /__fake/fault "{\"mode\": \"$mode\", \"count\": 1}" >/dev/null
    run "$U" "$CA" auth alice 'correct horse "battery"'
    expect "status: protocol error" "fault $mode"
done
jfa_fake_ctl "$U" POST /__fake/fault '{"mode": "none"}' >/dev/null

# fail-over: a 503 on the first url, a second fake (plain http, loopback) answers
jfa_start_fake b "$W/data.json"
jfa_fake_ctl "$U" POST /__fake/fault '{"mode": "503"}' >/dev/null
run "$U" "$CA" sysinfo
expect "status: server unavailable" "503 alone"
expect "http: 503" "503 status kept"
run "$U,$FAKE_URL_b" "$CA" auth alice 'correct horse "battery"'
expect "status: ok" "fail-over to the second url"
jfa_fake_ctl "$U" POST /__fake/fault '{"mode": "none"}' >/dev/null
exit 0
