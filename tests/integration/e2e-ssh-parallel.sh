#!/bin/bash
# tests/integration/e2e-ssh-parallel.sh - parallel SSH password logins with
# wrong passwords never get an account disabled in Jellyfin: the real sshd
# runs one PAM conversation per connection, in parallel processes, and the
# login lock lets one password of a user reach Jellyfin at a time, so the
# lockout guard sees every earlier failure. Root only (namespace).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
e2e_system
e2e_jellyfin
# sshd drops parallel unauthenticated connections from 10 on (MaxStartups
# 10:30:100): let all of them through to PAM.
e2e_start_sshd "MaxStartups 50"

# Jellyfin disables bob at his 3rd failure in a row, and takes 0.4 s to
# check a password, as a real server does: without the lock all eight
# guards read a count of 0 before the first answer.
e2e_fake_user bob '{"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 0, "is_disabled": false}'
jfa_fake_ctl "$FAKE_URL_main" POST /__fake/fault \
    '{"mode": "slow", "delay": 0.4, "paths": ["/Users/AuthenticateByName"]}' >/dev/null ||
    e2e_fail "cannot set the slow fault"
before=$(e2e_fake_auth_requests)
pids=()
for i in 1 2 3 4 5 6 7 8; do
    (
        e2e_ssh bob "parallel-$i" password echo LOGGED-IN
        printf '%s\n' "$RC" >"$W/par.$i.rc"
        printf '%s\n' "$OUT" >"$W/par.$i.out"
    ) &
    pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3 4 5 6 7 8; do
    [ -s "$W/par.$i.rc" ] || e2e_fail "ssh run $i left no status"
    [ "$(cat "$W/par.$i.rc")" != 0 ] && ! grep -q LOGGED-IN "$W/par.$i.out" ||
        e2e_fail "bob logged in with parallel-$i"
done
asked=$(($(e2e_fake_auth_requests) - before))
count=$(e2e_fake_user_get bob invalid_login_attempt_count)
echo "8 parallel wrong SSH passwords: Jellyfin was asked $asked times and counts $count failures"
[ "$(e2e_fake_user_get bob is_disabled)" = false ] || e2e_fail "parallel SSH logins got bob disabled in Jellyfin"
[ "$count" -le 2 ] || e2e_fail "Jellyfin counted $count failures (the limit is 3)"
# As in a row: two were sent, and the guard refused the six others unasked.
[ "$count" = 2 ] && [ "$asked" = 2 ] ||
    e2e_fail "Jellyfin was asked $asked times and counts $count failures, expected 2 (as in a row)"
e2e_poll 10 grep -q "'bob' has 2 failed logins and Jellyfin disables the account at 3" "$W/syslog" ||
    e2e_fail "the guard's refusals are not in the log"
# The right password is refused one failure from the lockout, as in a row.
e2e_ssh bob "$E2E_PW_bob" password echo LOGGED-IN
[ "$RC" != 0 ] || e2e_fail "bob's right password was sent one failure from the lockout"
[ "$(e2e_fake_user_get bob is_disabled)" = false ] || e2e_fail "bob was disabled in Jellyfin"

e2e_nosecret
echo "PASS: parallel ssh logins end to end"
exit 0
