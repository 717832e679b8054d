#!/bin/bash
# pam-parallel.sh - parallel logins act like the same logins one after the
# other. One password per user is in flight to Jellyfin at a time (the login
# lock, from the throttle check to the recording of the answer), so the
# lockout guard and the throttle see every earlier answer; parallel failures
# of one throttle key are all counted; a login that cannot have the lock in
# time is refused without asking Jellyfin. The fake answers AuthenticateByName
# after 0.4 s, as a real Jellyfin spends hundreds of ms on each check.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
pam_api_key

set_grace() {
    jfa_fake_ctl "$URL" POST /__fake/users \
        "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", $1}]}" \
        >/dev/null || jfa_fail "cannot set grace: $1"
}
grace_field() {
    fake_state | "$PYTHON3" -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["name"] == "grace"][0]
print(json.dumps(u[sys.argv[1]]))' "$1"
}
asked() { echo $(($(fake_get auth_requests) - BEFORE)); }
slow() { fake_fault '{"mode": "slow", "delay": 0.4, "paths": ["/Users/AuthenticateByName"]}'; }

# par N [pamtester options] -- USER...: N pamtester runs at once, the i-th
# for the ((i-1) mod #USERS)-th user with the password wrong-i; sets FAILED
# (how many failed) and appends their output to the module log.
par() {
    local n=$1 i opts=() users=() pids=()
    shift
    while [ "$1" != -- ]; do opts+=("$1") && shift; done
    shift
    users=("$@")
    rm -f "$W"/par.*
    for i in $(seq 1 "$n"); do
        (
            printf 'wrong-%s\n' "$i" | pam_env pamtester -v "${opts[@]}" jellyfin \
                "${users[$(((i - 1) % ${#users[@]}))]}" authenticate >"$W/par.$i" 2>&1
            echo $? >"$W/par.$i.rc"
        ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    FAILED=0
    for i in $(seq 1 "$n"); do
        cat "$W/par.$i" >>"$W/module.log"
        [ -s "$W/par.$i.rc" ] || jfa_fail "pamtester run $i left no status"
        [ "$(cat "$W/par.$i.rc")" = 0 ] || FAILED=$((FAILED + 1))
    done
}
# count LINE: how many times the module logged LINE (fixed string) in the last par
count() { cat "$W"/par.[0-9] "$W"/par.[0-9][0-9] 2>/dev/null | grep -cF -- "$1"; }

# --- the lockout guard: 8 parallel wrong passwords, Jellyfin disables grace at 3 ---
write_conf "$URL" "throttle_failures = 0" "offline_max_age = 0"
set_grace '"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 0, "is_disabled": false'
slow
BEFORE=$(fake_get auth_requests)
par 8 -- grace
[ "$FAILED" = 8 ] || jfa_fail "only $FAILED of 8 wrong passwords failed"
[ "$(grace_field is_disabled)" = false ] || jfa_fail "parallel wrong passwords made Jellyfin disable grace"
n=$(grace_field invalid_login_attempt_count)
echo "guard: 8 parallel wrong passwords, the server was asked $(asked) times, its count is $n"
# In a row: two are sent, the guard refuses the six others unasked.
[ "$n" = 2 ] && [ "$(asked)" = 2 ] || jfa_fail "the server counted $n failures in $(asked) requests (expected 2)"
[ "$(count "'grace' has 2 failed logins and Jellyfin disables the account at 3")" = 6 ] ||
    jfa_fail "the guard did not refuse the six others"
# ...and the right password too, as after two failures in a row
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "right password after the parallel failures" "Authentication failure"
[ "$(asked)" = 2 ] || jfa_fail "the right password was sent one failure from the lockout"

# --- the throttle alone (no API key): it, too, sees every earlier failure ---
rm -f "$W/api.key"
rm -rf "$W/state/private/rejected" # par reuses the passwords refused above
write_conf "$URL" "throttle_failures = 2" "throttle_window = 15m" "offline_max_age = 0"
set_grace '"invalid_login_attempt_count": 0'
BEFORE=$(fake_get auth_requests)
par 8 -- grace
[ "$FAILED" = 8 ] || jfa_fail "only $FAILED of 8 wrong passwords failed"
[ "$(grace_field is_disabled)" = false ] || jfa_fail "throttle: Jellyfin disabled grace"
n=$(grace_field invalid_login_attempt_count)
echo "throttle: 8 parallel wrong passwords, the server was asked $(asked) times, its count is $n"
[ "$n" = 2 ] && [ "$(asked)" = 2 ] || jfa_fail "the server counted $n failures in $(asked) requests (expected 2)"
[ "$(count "too many failed logins for 'grace'")" = 6 ] || jfa_fail "the throttle did not refuse the six others"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "right password while throttled" "Authentication failure"
[ "$(asked)" = 2 ] || jfa_fail "the right password was sent while throttled"
rm -rf "$W/state/private/throttle"
# forget the passwords Jellyfin refused above: par reuses wrong-1..wrong-8, and
# a password refused before is refused again unasked and not counted
rm -rf "$W/state/private/rejected"

# --- one throttle key, ten parallel failures (five users, one host): ten counted ---
write_conf "$URL" "throttle_failures = 100" "throttle_window = 15m" "offline_max_age = 0"
set_grace '"invalid_login_attempt_count": 0'
par 10 -Irhost=198.51.100.9 -- alice carol dave frank grace
[ "$FAILED" = 10 ] || jfa_fail "only $FAILED of 10 wrong passwords failed"
rec="$W/state/private/throttle/$(printf '%s' host:198.51.100.9 | sha256sum | cut -c1-32)"
[ -f "$rec" ] || jfa_fail "no throttle record for the host"
n=$(sed -n 's/^count=//p' "$rec")
# every password Jellyfin judged (401) is counted once; one whose request
# failed on a loaded machine (timeout, reset) was never judged and its count
# is taken back, as it must be: compare with what Jellyfin answered
judged=$(count "authentication failure for '")
echo "host key: 10 parallel failures, $judged judged by Jellyfin, recorded as $n"
[ "$judged" -gt 0 ] || jfa_fail "no password reached Jellyfin"
[ "$n" = "$judged" ] || jfa_fail "$judged parallel failures from one host were recorded as $n"
[ "$(stat -c %a "$W/state/private/locks")" = 700 ] || jfa_fail "locks dir is not 0700"
[ "$(stat -c %a "$W/state/private/locks/$ID_GRACE")" = 600 ] || jfa_fail "lock file is not 0600"
rm -rf "$W/state/private/throttle"

# --- the lock held elsewhere past the timeout: refused without asking ---
fake_fault '{"mode": "none"}'
pam_api_key
TIMEOUT=1 write_conf "$URL" "throttle_failures = 0" "offline_max_age = 0"
set_grace '"invalid_login_attempt_count": 0'
mkfifo "$W/release"
flock -x "$W/state/private/locks/$ID_GRACE" sh -c 'echo >"$1/held"; read x <"$1/release"' sh "$W" &
holder=$!
for i in $(seq 1 100); do [ -e "$W/held" ] && break; sleep 0.05; done
[ -e "$W/held" ] || jfa_fail "the test could not take the lock"
BEFORE=$(fake_get auth_requests)
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "lock held by another login" "Authentication failure"
grep -qF "another login of 'grace' is still being checked; refused without asking Jellyfin" \
    "$W/module.log" || jfa_fail "the refusal is not logged"
pt "$(printf '%s\nnew-pass-1\nnew-pass-1' "$PW_GRACE")" jellyfin grace chauthtok
[ "$RC" != 0 ] || jfa_fail "chauthtok succeeded while the lock was held"
printf '%s' "$OUT" | grep -q "Another login of this account is being checked" ||
    jfa_fail "passwd does not tell the user why: $OUT"
[ "$(asked)" = 0 ] || jfa_fail "a password was sent while another login held the lock"
echo >"$W/release"
wait "$holder"
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace once the lock is free"

grep -qF -- "$PW_GRACE" "$W/module.log" && jfa_fail "a password reached the log"
exit 0
