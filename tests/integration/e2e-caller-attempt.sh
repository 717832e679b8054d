#!/bin/bash
# tests/integration/e2e-caller-attempt.sh - the caller of a setuid program
# must not get uncounted guesses by making the answer fail to arrive. An
# unprivileged local user (lowly) runs the real `su alice` with wrong
# passwords; once the password has left, the answer does not arrive before
# the deadline (here the fake holds it; an attacker gets the same by
# SIGSTOPping su past the deadline, or with limits), so the module sees
# "unreachable". Jellyfin has judged (and counted) the password all the
# same. Before the fix such an attempt was "never judged" and its throttle
# count was taken back: endless unthrottled guesses. Root only (namespace).
#
# Owns: inside su run by a user, an attempt whose password was sent stays
# counted whatever the answer; the back-off then refuses the next attempt
# unasked; a login run by root (pamtester, as sshd) still takes the count
# of a server that does not answer back. A lockout guard whose answer
# cannot be decoded fails closed inside su (the password is not sent) and
# steps aside for root's login as before.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v expect >/dev/null || jfa_skip "expect not installed"
command -v pamtester >/dev/null || jfa_skip "pamtester not installed"
e2e_system
e2e_local_user lowly lowly-pw
e2e_jellyfin
# The guard off: each attempt goes straight to AuthenticateByName.
e2e_write_config "$URL" "$W/tls/cert.pem" "throttle_failures = 2" "lockout_guard = no" \
    "offline_max_age = 0"

su_as() { e2e_su_as lowly "$@"; }
got_shell() { printf '%s' "$OUT" | grep -q "SU-UID=[0-9]"; }
auth_requests() {
    jfa_fake_ctl "$URL" GET /__fake/state |
        "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["auth_requests"])'
}
count_of() {
    local f
    f=/var/lib/jellyfin-auth/private/throttle/$(printf '%s' "$1" | sha256sum | cut -c1-32)
    [ -f "$f" ] || { echo 0; return; }
    sed -n 's/^count=//p' "$f"
}
fault() { jfa_fake_ctl "$URL" POST /__fake/fault "$1" >/dev/null || e2e_fail "cannot set the fault $1"; }

# The answer to the password arrives after the module's deadline (timeout = 5).
fault '{"mode": "slow", "delay": 8, "paths": ["/Users/AuthenticateByName"]}'

# 1. root's login (no caller in control): an unanswered attempt is taken back.
before=$(auth_requests)
OUT=$(printf 'root-guess\n' | timeout 60 pamtester -v sshd alice authenticate 2>&1)
[ $? != 0 ] || e2e_fail "root's pamtester logged in without an answer: $OUT"
[ "$(auth_requests)" -gt "$before" ] || e2e_fail "root's attempt never reached the server"
[ "$(count_of "$E2E_ID_alice")" = 0 ] ||
    e2e_fail "root's unanswered attempt stayed counted ($(count_of "$E2E_ID_alice"))"

# 2. lowly's su, twice: each password reaches the server, no answer in time.
for i in 1 2; do
    before=$(auth_requests)
    su_as alice "guess-$i"
    got_shell && e2e_fail "su gave alice's shell for a wrong password: $OUT"
    [ "$(auth_requests)" -gt "$before" ] || e2e_fail "guess $i never reached the server: $OUT"
    n=$(count_of "$E2E_ID_alice")
    echo "after guess $i sent from su with no answer in time: alice's throttle count is $n"
    [ "$n" = "$i" ] || e2e_fail "guess $i sent from su by lowly was taken back (count $n, expected $i)"
done
e2e_poll 10 grep -q "the attempt for 'alice' stays counted: its password was sent from a set-id program started by uid $(id -u lowly)" \
    "$W/syslog" || e2e_fail "the kept count is not logged with its reason"

# 3. The back-off now holds: even the right password is refused unasked.
fault '{"mode": "none"}'
before=$(auth_requests)
su_as alice "$E2E_PW_alice"
got_shell && e2e_fail "the back-off let a third attempt through: $OUT"
[ "$(auth_requests)" = "$before" ] || e2e_fail "a throttled attempt reached the server"

# 4. The lockout guard's answer cannot be decoded (an attacker gets that by
#    a memory limit under which json-c fails; here the server sends
#    garbage): inside su by lowly the guard fails closed and the password
#    is not sent; root's login (the server's fault, nobody else's) goes on
#    without the guard, as before.
e2e_write_config "$URL" "$W/tls/cert.pem" "throttle_failures = 0" "offline_max_age = 0"
fault "{\"mode\": \"malformed\", \"paths\": [\"/Users/$E2E_ID_alice\"]}"
before=$(auth_requests)
su_as alice "guess-3"
got_shell && e2e_fail "su gave alice's shell for a wrong password: $OUT"
[ "$(auth_requests)" = "$before" ] ||
    e2e_fail "su by lowly sent the password although the lockout guard could not check"
e2e_poll 10 grep -q "refusing 'alice': the lockout guard cannot check" "$W/syslog" ||
    e2e_fail "the guard's refusal inside su is not logged"
before=$(auth_requests)
OUT=$(printf 'root-guess-2\n' | timeout 60 pamtester -v sshd alice authenticate 2>&1)
[ $? != 0 ] || e2e_fail "root's pamtester logged in with a wrong password: $OUT"
[ "$(auth_requests)" -gt "$before" ] || e2e_fail "root's login no longer steps past an unusable guard"
fault '{"mode": "none"}'

e2e_nosecret
echo "PASS: the caller of su cannot take back an attempt whose password was sent, nor switch the guard off"
exit 0
