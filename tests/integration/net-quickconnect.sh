#!/bin/sh
# tests/integration/net-quickconnect.sh - lib/quickconnect.c against the fake
# Jellyfin over HTTPS.
#
# Owns: checking that the Quick Connect client's requests are accepted
# (Initiate carries the four client fields), that an approval made while it
# waits is seen and redeemed into the approver's token, that a request never
# approved ends with "not approved" at the deadline and cannot be redeemed,
# the 404 and 401 mappings (unknown secret, server switch off), malformed
# answers, and that the secret never shows up in c->err or the fake's log.
# Driver: tests/integration/net_client (qc-* operations).
. "$top_srcdir/tests/lib.sh"
jfa_setup
[ -f "$JFA_FAKE" ] || jfa_skip "fake Jellyfin not present"
command -v openssl >/dev/null 2>&1 || jfa_skip "no openssl"
CLIENT="$top_builddir/tests/integration/net_client"
[ -x "$CLIENT" ] || jfa_fail "missing $CLIENT"

ALICE=4f2a9c0e8b1d4e6fa3c57d9e0b1a2c3d
BOB=0a1b2c3d4e5f60718293a4b5c6d7e8f9
cat >"$W/data.json" <<JSON
{"users": [{"name": "Alice", "id": "$ALICE", "password": "pw1"},
           {"name": "bob", "id": "$BOB", "password": "pw2", "is_disabled": true}]}
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

# the hook approves the code as $APPROVER (or not at all when it is empty)
cat >"$W/approve" <<EOF
#!/bin/sh
echo "\$1" >"$W/code"
[ -z "\$APPROVER" ] && exit 0
exec curl -sfk -X POST -H 'Content-Type: application/json' \
    --data "{\"code\": \"\$1\", \"user\": \"\$APPROVER\"}" "$U/__fake/quick-connect"
EOF
chmod +x "$W/approve"

run "$U" "$CA" qc-enabled
expect "status: ok" "Enabled"
expect "enabled: 1" "Enabled is on"

# approved as Alice while we wait: redeemed into Alice's token
export APPROVER=Alice
run "$U" "$CA" qc-flow "$W/approve" 20
expect "status: ok" "approved flow"
expect "approved: 1" "approval seen"
expect "id: $ALICE" "the token is Alice's"
expect "secret-length: 64" "secret length"
[ "$(field code)" = "$(cat "$W/code")" ] || jfa_fail "the hook got another code"
tok=$(field token)
[ ${#tok} -eq 32 ] || jfa_fail "no token"
curl -sk "$U/__fake/tokens" | grep -q "\"$tok\"" || jfa_fail "the token is not on the server"
curl -sk "$U/__fake/tokens" | grep -q '"client": "jellyfin-auth-test"' ||
    jfa_fail "the device is not named after the client"

# approved as a disabled user: Jellyfin does not check (the caller must)
APPROVER=bob
run "$U" "$CA" qc-flow "$W/approve" 20
expect "status: ok" "approved as bob"
expect "id: $BOB" "the token is bob's"
expect "disabled: 1" "bob's policy says disabled"

# never approved: not approved at the deadline, and redeeming is a 404
APPROVER=
run "$U" "$CA" qc-flow "$W/approve" 2
expect "approved: 0" "never approved"
expect "status: not found" "redeeming an unapproved request"
expect "http: 404" "404 for an unapproved request"

# unknown secret
secret=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
run "$U" "$CA" qc-check "$secret"
expect "status: not found" "unknown secret"
run "$U" "$CA" qc-redeem "$secret"
expect "status: not found" "redeem unknown secret"
grep -q "$secret" "$W/out" "$W/err" && jfa_fail "the secret shows up in the client's messages"
# a secret that is not hex is never sent
run "$U" "$CA" qc-redeem 'zz"}'
expect "status: internal error" "non-hex secret"

# malformed answers
jfa_fake_ctl "$U" POST /__fake/fault '{"mode": "wrong_types", "count": 1}' >/dev/null
run "$U" "$CA" qc-flow "$W/approve" 2
expect "status: protocol error" "wrong types"
jfa_fake_ctl "$U" POST /__fake/fault '{"mode": "malformed", "count": 1}' >/dev/null
run "$U" "$CA" qc-enabled
expect "status: protocol error" "malformed Enabled"

# the server's switch off
jfa_fake_ctl "$U" POST /__fake/server '{"quick_connect": false}' >/dev/null
run "$U" "$CA" qc-enabled
expect "enabled: 0" "Enabled is off"
run "$U" "$CA" qc-flow "$W/approve" 2
expect "status: authentication failed" "Initiate with the switch off"
expect "http: 401" "401 with the switch off"

# the fake's log never has a query string (and so no secret)
grep -q 'secret=' "$W/fake-a.log" && jfa_fail "a secret in the fake's log"
exit 0
