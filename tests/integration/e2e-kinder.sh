#!/bin/bash
# tests/integration/e2e-kinder.sh - the kinder lockout guard over the real
# sshd: one typo tried as a password and then through keyboard-interactive
# costs one failure in Jellyfin; one failure from Jellyfin's limit, the
# right password (it matches the verifier of the last login) logs in, and a
# wrong one is refused without a request. Then the installed admin tool:
# `jellyfin-auth explain` shows the refusal, `jellyfin-auth reset` clears
# it. Root only (namespace).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
e2e_system
e2e_jellyfin
e2e_start_sshd

# Jellyfin disables bob at his 3rd failure in a row. He logs in once (the
# offline verifier of his password).
e2e_fake_user bob '{"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 0}'
e2e_ssh bob "$E2E_PW_bob" keyboard-interactive echo LOGGED-IN
[ "$RC" = 0 ] || e2e_fail "bob cannot log in: $OUT"

# 1. one typo, tried by password and then by keyboard-interactive: one failure
before=$(e2e_fake_auth_requests)
e2e_ssh bob "bob-typo" password echo LOGGED-IN
[ "$RC" != 0 ] || e2e_fail "bob logged in with a typo (password)"
e2e_ssh bob "bob-typo" keyboard-interactive echo LOGGED-IN
[ "$RC" != 0 ] || e2e_fail "bob logged in with a typo (keyboard-interactive)"
asked=$(($(e2e_fake_auth_requests) - before))
count=$(e2e_fake_user_get bob invalid_login_attempt_count)
echo "one typo over password and keyboard-interactive: Jellyfin asked $asked times, counts $count"
[ "$asked" = 1 ] && [ "$count" = 1 ] || e2e_fail "one typo cost $count failures in $asked requests"
e2e_poll 10 grep -q "'bob': Jellyfin refused this same password [0-9]* s ago; refused again" "$W/syslog" ||
    e2e_fail "the repeated typo's refusal is not in the log"

# 2. a second, different typo: Jellyfin counts 2 of 3
e2e_ssh bob "bob-typo-2" password echo LOGGED-IN
[ "$RC" != 0 ] || e2e_fail "bob logged in with another typo"
[ "$(e2e_fake_user_get bob invalid_login_attempt_count)" = 2 ] || e2e_fail "the second typo was not counted"

# 3. one failure from the limit: a wrong password is refused unasked...
before=$(e2e_fake_auth_requests)
e2e_ssh bob "bob-typo-3" keyboard-interactive echo LOGGED-IN
[ "$RC" != 0 ] || e2e_fail "bob logged in with a third typo"
[ "$(e2e_fake_auth_requests)" = "$before" ] || e2e_fail "a wrong password was sent one failure from the lockout"
[ "$(e2e_fake_user_get bob is_disabled)" = false ] || e2e_fail "Jellyfin disabled bob"
# ...explain shows why (as root, the installed tool, no password: nothing sent)
out=$(jellyfin-auth explain bob --rhost 127.0.0.1 2>&1)
printf '%s\n' "$out" | grep -q "^STOP  guard .*2 failed logins, Jellyfin disables the account at 3" ||
    e2e_fail "explain does not show the guard: $out"
[ "$(e2e_fake_auth_requests)" = "$before" ] || e2e_fail "explain without a password sent one"
# ...and the right password (it matches the verifier) logs in
e2e_ssh bob "$E2E_PW_bob" password echo LOGGED-IN
[ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q LOGGED-IN ||
    e2e_fail "bob's right password was refused one failure from the lockout: $OUT"
[ "$(e2e_fake_user_get bob invalid_login_attempt_count)" = 0 ] || e2e_fail "Jellyfin's count was not reset by the login"
[ "$(e2e_fake_user_get bob is_disabled)" = false ] || e2e_fail "Jellyfin disabled bob"

# 4. reset: the server's count (--server, with the API key) and the local back-off
e2e_fake_user bob '{"invalid_login_attempt_count": 2}'
out=$(jellyfin-auth reset bob --server 2>&1) || e2e_fail "reset bob --server: $out"
printf '%s\n' "$out" | grep -q "^server: failed-login count of 'bob' on Jellyfin set to 0 (was 2)" ||
    e2e_fail "reset --server: $out"
[ "$(e2e_fake_user_get bob invalid_login_attempt_count)" = 0 ] || e2e_fail "reset --server left the count"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token survived his session"

e2e_nosecret
grep -q "bob-typo" "$W/syslog" && e2e_fail "a wrong password reached the log"
echo "PASS: the kinder lockout guard over sshd"
exit 0
