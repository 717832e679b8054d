#!/bin/bash
# pam-attempt.sh - every attempt is counted before the password leaves.
# The caller of su may kill it (su's real uid is the caller's) the moment
# Jellyfin has answered, before a failure counted afterwards would be
# written: the local back-off would then never start. So the module counts
# the attempt first, clears the record on success, and takes the count back
# only when the password was never judged. An attempt that cannot be
# counted is not made.
#
# Owns: a login killed while Jellyfin checks the password stays counted; an
# unjudged attempt (server down, no verifier) leaves no count; a success
# leaves none; an attempt that cannot be recorded, or run under the login
# lock, is refused unasked (fail closed: what breaks them may be limits the
# caller of su chose).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
write_conf "$URL" "throttle_failures = 3" "offline_max_age = 0"
# rec KEY: the throttle record of a key (user Id or host:ADDR)
rec() { echo "$W/state/private/throttle/$(printf '%s' "$1" | sha256sum | cut -c1-32)"; }
count_of() {
    local f
    f=$(rec "$1")
    [ -f "$f" ] || { echo 0; return; }
    sed -n 's/^count=//p' "$f"
}

# --- killed while Jellyfin answers: the attempt is counted all the same ---
fake_fault '{"mode": "slow", "delay": 30, "paths": ["/Users/AuthenticateByName"]}'
before=$(fake_get auth_requests)
# pamtester itself must die (not a shell around it): exec it.
printf 'wrong-1\n' >"$W/wrong-1"
(pam_env_argv && exec "${PAM_ENV_ARGV[@]}" pamtester -v jellyfin grace authenticate \
    <"$W/wrong-1" >"$W/killed.out" 2>&1) &
victim=$!
n=0
until [ "$(fake_get auth_requests)" -gt "$before" ]; do
    n=$((n + 1))
    [ "$n" -lt 300 ] || { kill -9 "$victim"; jfa_fail "the password never reached the server"; }
    sleep 0.1
done
[ "$(cat "/proc/$victim/comm" 2>/dev/null)" = pamtester ] || jfa_fail "the victim is not pamtester"
kill -9 "$victim"
wait "$victim" 2>/dev/null
fake_fault '{"mode": "none"}'
[ "$(count_of "$ID_GRACE")" = 1 ] ||
    jfa_fail "a login killed while Jellyfin checked the password was not counted (count $(count_of "$ID_GRACE"))"

# --- a wrong password counts once, not twice ---
pt wrong-2 jellyfin grace authenticate
expect_err "wrong password" "Authentication failure"
[ "$(count_of "$ID_GRACE")" = 2 ] || jfa_fail "expected 2 failures, counted $(count_of "$ID_GRACE")"

# --- a success clears the record, host key included ---
pt "$PW_GRACE" -Irhost=198.51.100.7 jellyfin grace authenticate
expect_ok "right password"
[ ! -e "$(rec "$ID_GRACE")" ] || jfa_fail "a success left the user's record"
[ ! -e "$(rec host:198.51.100.7)" ] || jfa_fail "a success left the host's record"

# --- never judged (server down, no offline verifier): no count left ---
fake_fault '{"mode": "503"}'
pt wrong-3 -Irhost=198.51.100.7 jellyfin grace authenticate
expect_err "server down" "Authentication service cannot retrieve authentication info"
fake_fault '{"mode": "none"}'
[ "$(count_of "$ID_GRACE")" = 0 ] || jfa_fail "an unjudged attempt stayed counted for the user"
[ "$(count_of host:198.51.100.7)" = 0 ] || jfa_fail "an unjudged attempt stayed counted for the host"

# --- an attempt that cannot be counted is not made ---
rm -rf "$W/state/private/throttle"
: >"$W/state/private/throttle" # a file where the directory must be
before=$(fake_get auth_requests)
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "attempt that cannot be recorded" "Authentication service cannot retrieve authentication info"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "an attempt that could not be counted was sent"
grep -q "cannot record the login attempt of 'grace'" "$W/module.log" || jfa_fail "refusal not logged"
rm -f "$W/state/private/throttle"

# --- no login lock (a broken state directory, or descriptors exhausted by
# limits the caller of su set): refused unasked, never run unserialized ---
rm -rf "$W/state/private/locks"
: >"$W/state/private/locks"
before=$(fake_get auth_requests)
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "attempt without the login lock" "System error"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "an attempt without the login lock was sent"
grep -q "refusing 'grace' without asking Jellyfin: no login lock" "$W/module.log" ||
    jfa_fail "lock refusal not logged"
rm -f "$W/state/private/locks"
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "the lock directory is back"

grep -qF -- "$PW_GRACE" "$W/module.log" && jfa_fail "a password reached the log"
echo "PASS: attempts are counted before the password leaves"
exit 0
