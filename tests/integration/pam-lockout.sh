#!/bin/bash
# pam-lockout.sh - the lockout guard: pam_jellyfin never sends the password
# that would make Jellyfin disable an account (LoginAttemptsBeforeLockout).
# It reads the user's live counter with the API key, so failures through
# other clients count too. Local throttling is off here to isolate it
# (pam-throttle.sh covers that).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
pam_api_key
conf() { write_conf "$URL" "throttle_failures = 0" "offline_max_age = 0" "$@"; }
conf
# grace: Jellyfin disables her at the 3rd failed login in a row
set_grace() {
    jfa_fake_ctl "$URL" POST /__fake/users \
        "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", $1}]}" \
        >/dev/null || jfa_fail "cannot set grace: $1"
}
# grace_field NAME: a field of grace in the fake's state
grace_field() {
    fake_state | "$PYTHON3" -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["name"] == "grace"][0]
print(json.dumps(u[sys.argv[1]]))' "$1"
}
set_grace '"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 0, "is_disabled": false'
asked() { echo $(($(fake_get auth_requests) - BEFORE)); }

# --- two failures reach the server; the third would lock grace out ---
BEFORE=$(fake_get auth_requests)
pt wrong-1 jellyfin grace authenticate
expect_err "first wrong password" "Authentication failure"
pt wrong-2 jellyfin grace authenticate
expect_err "second wrong password" "Authentication failure"
[ "$(asked)" = 2 ] || jfa_fail "expected 2 requests, the server saw $(asked)"
[ "$(grace_field invalid_login_attempt_count)" = 2 ] || jfa_fail "server counter is not 2"
pt wrong-3 jellyfin grace authenticate
expect_err "third wrong password" "Authentication failure"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "right password one failure from the lockout" "Authentication failure"
[ "$(asked)" = 2 ] || jfa_fail "a password one failure from the lockout was sent"
[ "$(grace_field is_disabled)" = false ] || jfa_fail "Jellyfin locked grace out"
grep -q "'grace' has 2 failed logins and Jellyfin disables the account at 3" "$W/module.log" ||
    jfa_fail "the guard's refusal is not logged"
grep -qF -- "$PW_GRACE" "$W/module.log" && jfa_fail "a password reached the log"

# --- the guard is per user ---
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice is not affected"

# --- a reset on the server (login through Jellyfin itself, or an admin) lets grace in ---
set_grace '"invalid_login_attempt_count": 0'
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace after the server's count was reset"

# --- failures through other clients count too ---
set_grace '"invalid_login_attempt_count": 2'
BEFORE=$(fake_get auth_requests)
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "two failures elsewhere" "Authentication failure"
[ "$(asked)" = 0 ] || jfa_fail "sent a password with the count at 2 of 3"

# --- password change: a wrong current password counts toward the lockout too ---
pt "$(printf '%s\nnew-pass-1\nnew-pass-1' "$PW_GRACE")" jellyfin grace chauthtok
[ "$RC" != 0 ] || jfa_fail "chauthtok one failure from the lockout succeeded"
[ "$(asked)" = 0 ] || jfa_fail "chauthtok sent the current password one failure from the lockout"
printf '%s' "$OUT" | grep -q "would make Jellyfin disable this account" ||
    jfa_fail "passwd does not tell the user why: $OUT"

# --- an account Jellyfin disables at the first failure: the guard steps aside ---
set_grace '"login_attempts_before_lockout": 1, "invalid_login_attempt_count": 0'
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "limit 1"
grep -q "lockout guard skipped for 'grace': Jellyfin disables the account at the first failed login" \
    "$W/module.log" || jfa_fail "limit 1 not logged"

# --- no lockout configured: nothing to guard ---
set_grace '"login_attempts_before_lockout": -1, "invalid_login_attempt_count": 50'
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "no lockout in Jellyfin"

# --- the server is unreachable during the check: the offline path, not a second wait ---
set_grace '"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 0'
fake_fault '{"mode": "503"}'
BEFORE=$(fake_get auth_requests)
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "server answers 503" "retrieve authentication info"
fake_fault '{"mode": "none"}'

# --- a revoked API key: logged, and the login goes on without the guard ---
printf "%s\n" "deadbeef${API_KEY:8}" >"$W/api.key"
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "API key refused"
grep -q "lockout guard skipped for 'grace': cannot read the user from Jellyfin with the API key" \
    "$W/module.log" || jfa_fail "refused API key not logged"
# an unsafe key file is not used
printf '%s\n' "$API_KEY" >"$W/api.key"
chmod 0644 "$W/api.key"
set_grace '"invalid_login_attempt_count": 2'
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "world-readable key file is not used"
grep -q "lockout guard skipped for 'grace': .*api.key" "$W/module.log" || jfa_fail "unsafe key file not logged"
chmod 0600 "$W/api.key"

# --- lockout_guard = no: the password is sent, and Jellyfin disables grace ---
set_grace '"invalid_login_attempt_count": 2'
conf "lockout_guard = no"
pt wrong-4 jellyfin grace authenticate
expect_err "guard off" "Authentication failure"
[ "$(grace_field is_disabled)" = true ] || jfa_fail "with the guard off Jellyfin should lock grace out"
exit 0
