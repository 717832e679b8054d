#!/bin/bash
# pam-kinder.sh - the kinder lockout guard, still safe. A password Jellyfin
# refused is never sent again within throttle_window (it is kept as a keyed
# hash, never in clear), so one typo costs one failure on the server even
# when sshd tries it twice (password, then keyboard-interactive). One failure
# from Jellyfin's limit, a password matching the user's offline verifier (it
# was right at the last login) is sent; any other is refused unasked.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
pam_api_key
# throttle off, to see the memory and the guard alone (pam-throttle.sh covers it)
conf() { write_conf "$URL" "throttle_failures = 0" "offline_max_age = 1h" "$@"; }
conf
P=$W/state/private
set_grace() {
    jfa_fake_ctl "$URL" POST /__fake/users \
        "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", $1}]}" \
        >/dev/null || jfa_fail "cannot set grace: $1"
}
grace_count() {
    fake_state | "$PYTHON3" -c '
import json, sys
print([u for u in json.load(sys.stdin)["users"] if u["name"] == "grace"][0]["invalid_login_attempt_count"])'
}
asked() { echo $(($(fake_get auth_requests) - BEFORE)); }
set_grace '"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 0, "is_disabled": false'

# grace logs in once: her offline verifier
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace online"

# --- the same typo twice (sshd: password, then keyboard-interactive): one failure ---
BEFORE=$(fake_get auth_requests)
pt "grace-typo" jellyfin grace authenticate
expect_err "typo" "Authentication failure"
pt "grace-typo" jellyfin grace authenticate
expect_err "the same typo again" "Authentication failure"
[ "$(asked)" = 1 ] || jfa_fail "the same wrong password was sent $(asked) times"
[ "$(grace_count)" = 1 ] || jfa_fail "Jellyfin counts $(grace_count) failures for one typo"
grep -q "'grace': Jellyfin refused this same password [0-9]* s ago; refused again without asking Jellyfin" \
    "$W/module.log" || jfa_fail "the repeated password's refusal is not logged"
# kept as a keyed hash only, in root-only files
f="$P/rejected/$ID_GRACE"
[ -f "$f" ] || jfa_fail "no rejected-password record"
[ "$(stat -c %a "$f")" = 600 ] || jfa_fail "the record is not 0600"
[ "$(stat -c %a "$P/rejected")" = 700 ] || jfa_fail "the record's directory is not 0700"
[ "$(stat -c %a "$P/rejected.key")" = 600 ] || jfa_fail "the key is not 0600"
grep -q "grace-typo" "$f" && jfa_fail "the refused password is in clear in the record"
[ "$(sed -n 2p "$f" | grep -cE '^[0-9a-f]{64} [0-9]+$')" = 1 ] || jfa_fail "record format: $(cat "$f")"
# HMAC-SHA256 under the key: the test recomputes it (so it is not a bare hash)
"$PYTHON3" - "$P/rejected.key" "$f" "$ID_GRACE" <<'EOF' || jfa_fail "the record is not HMAC-SHA256(key, label, id, password)"
import hashlib, hmac, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
mac = open(sys.argv[2]).read().splitlines()[1].split()[0]
msg = b"jellyfin-auth rejected\0" + sys.argv[3].encode() + b"\0" + b"grace-typo"
assert hmac.new(key, msg, hashlib.sha256).hexdigest() == mac
assert hashlib.sha256(b"grace-typo").hexdigest() != mac
EOF

# --- another wrong password is still sent (and counted) ---
pt "grace-other" jellyfin grace authenticate
expect_err "another wrong password" "Authentication failure"
[ "$(asked)" = 2 ] || jfa_fail "a new wrong password was not sent"
[ "$(grace_count)" = 2 ] || jfa_fail "Jellyfin counts $(grace_count), expected 2"

# --- one failure from the limit: a wrong password is refused unasked ---
pt "grace-third" jellyfin grace authenticate
expect_err "wrong password at 2 of 3" "Authentication failure"
[ "$(asked)" = 2 ] || jfa_fail "a password that does not match the verifier was sent at 2 of 3"
grep -q "'grace' has 2 failed logins and Jellyfin disables the account at 3: the password was not sent" \
    "$W/module.log" || jfa_fail "the guard's refusal is not logged"
# ...and the right one (it matches the verifier of her last login) goes through
pt "$PW_GRACE" jellyfin grace authenticate acct_mgmt open_session close_session
expect_ok "the right password at 2 of 3"
[ "$(asked)" = 3 ] || jfa_fail "the right password was not sent"
[ "$(grace_count)" = 0 ] || jfa_fail "the server's count is $(grace_count) after the login"
grep -q "'grace' has 2 failed logins and Jellyfin disables the account at 3: the password matches the verifier of the last login, so it is sent" \
    "$W/module.log" || jfa_fail "the verifier rule is not logged"
# a success forgets the refused passwords: the old typo is sent again
[ -f "$f" ] && jfa_fail "the refused passwords survived a successful login"
pt "grace-typo" jellyfin grace authenticate
[ "$(asked)" = 4 ] || jfa_fail "a refused password was not forgotten after a success"

# --- no verifier (offline logins off): one from the limit, nothing is sent ---
conf
set_grace '"invalid_login_attempt_count": 2'
rm -f "$P/verifiers/$ID_GRACE"
BEFORE=$(fake_get auth_requests)
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "right password without a verifier at 2 of 3" "Authentication failure"
[ "$(asked)" = 0 ] || jfa_fail "a password was sent at 2 of 3 without a verifier"
[ "$(fake_state | "$PYTHON3" -c 'import json,sys; print([u for u in json.load(sys.stdin)["users"] if u["name"]=="grace"][0]["is_disabled"])')" = False ] ||
    jfa_fail "Jellyfin disabled grace"

# --- the memory ends with throttle_window: with a window of 1 s, a refused
# password is sent again once it has passed (polled, bounded; test_state
# pins the window to the second with an injected clock) ---
set_grace '"login_attempts_before_lockout": -1, "invalid_login_attempt_count": 0'
conf "throttle_window = 1"
BEFORE=$(fake_get auth_requests)
pt "grace-window" jellyfin grace authenticate
[ "$(asked)" = 1 ] || jfa_fail "a new wrong password was not sent"
for i in $(seq 1 50); do
    pt "grace-window" jellyfin grace authenticate
    [ "$(asked)" = 2 ] && break
    sleep 0.1
done
[ "$(asked)" = 2 ] || jfa_fail "the refused password was never sent again after the window"

grep -qF -- "$PW_GRACE" "$W/module.log" && jfa_fail "a password reached the log"
grep -q "grace-typo\|grace-other\|grace-third" "$W/module.log" && jfa_fail "a wrong password reached the log"
exit 0
