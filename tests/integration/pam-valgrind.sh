#!/bin/bash
# pam-valgrind.sh - the PAM integration paths under valgrind: zero errors
# (invalid reads/writes, uninitialised use, definite leaks) in pamtester
# with pam_jellyfin.so loaded, over success, failure, fault, offline,
# session, stale pending record, account refusal, chauthtok, lockout-guard
# (refusal and the verifier's password) and refused-password paths (the API
# key is installed, so every login reads the user's counter first), and the
# admin tool's explain and reset, which run the same login flow.
. "$top_srcdir/tests/lib.sh"
[ -n "${VALGRIND:-}" ] || jfa_skip "valgrind not found"
[ -n "${JFA_ASAN_PRELOAD:-}" ] && jfa_skip "sanitizer build: valgrind does not mix with ASan"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
# valgrind makes the TLS handshake slow: a generous deadline
TIMEOUT=60 write_conf "$URL" "offline_max_age = 1h"
pam_api_key

n=0
# vg INPUT OPS...: pamtester under valgrind; valgrind errors fail the test
vg() {
    local input=$1
    shift
    n=$((n + 1))
    printf '%s\n' "$input" | pam_env "$VALGRIND" -q --error-exitcode=42 --keep-debuginfo=yes \
        --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --log-file="$W/vg.$n.log" pamtester -v "$@" >"$W/vg.$n.out" 2>&1
    RC=$?
    [ "$RC" != 42 ] || { cat "$W/vg.$n.log" >&2; jfa_fail "valgrind errors in: $*"; }
    [ -s "$W/vg.$n.log" ] && { cat "$W/vg.$n.log" >&2; jfa_fail "valgrind reported: $*"; }
    return 0
}

vg "$PW_GRACE" jellyfin grace authenticate acct_mgmt open_session close_session
[ "$RC" = 0 ] || jfa_fail "grace session under valgrind failed: $(cat "$W/vg.$n.out")"
vg "wrong" jellyfin grace authenticate
[ "$RC" != 0 ] || jfa_fail "wrong password accepted under valgrind"
vg "$PW_BOB" jellyfin bob authenticate
vg "x" jellyfin root authenticate
vg "" -Irhost=203.0.113.1 jellyfin carol acct_mgmt
vg "$(printf '%s\nvg-new-pass\nvg-new-pass' "$PW_ALICE")" jellyfin alice chauthtok
[ "$RC" = 0 ] || jfa_fail "chauthtok under valgrind failed: $(cat "$W/vg.$n.out")"
# refused at the account stage after a token (logged out); a record left by
# a session-less login, cleaned by the next process; a refused new password
vg "$PW_CAROL" -Irhost=203.0.113.1 jellyfin carol authenticate acct_mgmt
[ "$RC" != 0 ] || jfa_fail "carol from outside accepted under valgrind"
vg "$PW_GRACE" jellyfin grace authenticate acct_mgmt
vg "" jellyfin grace acct_mgmt open_session close_session
[ "$RC" = 0 ] && [ -z "$(ls -A "$W/state/private/pending")" ] ||
    jfa_fail "stale record under valgrind: $(cat "$W/vg.$n.out")"
vg "$(printf '%s\n\n' "$PW_GRACE")" jellyfin grace chauthtok
for mode in 503 malformed huge reset; do
    fake_fault "{\"mode\": \"$mode\"}"
    vg "$PW_GRACE" jellyfin grace authenticate
done
fake_fault '{"mode": "none"}'
# the lockout guard refuses: one more failure would disable grace
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", \"login_attempts_before_lockout\": 3, \"invalid_login_attempt_count\": 2}]}" >/dev/null
before=$(fake_get auth_requests)
vg "wrong-guard" jellyfin grace authenticate
[ "$RC" != 0 ] && [ "$(fake_get auth_requests)" = "$before" ] ||
    jfa_fail "lockout guard did not refuse under valgrind"
grep -q "'grace' has 2 failed logins and Jellyfin disables the account at 3: the password was not sent" \
    "$W/vg.$n.out" || jfa_fail "the guard's path was not taken under valgrind"
# one from the limit, the verifier's password is sent (the kinder guard)
vg "$PW_GRACE" jellyfin grace authenticate
[ "$RC" = 0 ] || jfa_fail "the verifier's password at 2 of 3 under valgrind: $(cat "$W/vg.$n.out")"
# a password Jellyfin refused, again: refused from the memory
vg "vg-typo" jellyfin grace authenticate
vg "vg-typo" jellyfin grace authenticate
grep -q "Jellyfin refused this same password" "$W/vg.$n.out" ||
    jfa_fail "the refused-password path was not taken under valgrind"

# the admin tool's explain (same flow) and reset, with and without a password
vt() {
    n=$((n + 1))
    printf '%s\n' "$1" | pam_env "$VALGRIND" -q --error-exitcode=42 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite --log-file="$W/vg.$n.log" \
        "$JFA_TOOL" "${@:2}" >"$W/vg.$n.out" 2>&1
    RC=$?
    [ "$RC" != 42 ] || { cat "$W/vg.$n.log" >&2; jfa_fail "valgrind errors in: ${*:2}"; }
    [ -s "$W/vg.$n.log" ] && { cat "$W/vg.$n.log" >&2; jfa_fail "valgrind reported: ${*:2}"; }
    return 0
}
vt "" explain grace --rhost 203.0.113.1
vt "" explain grace --json
vt "$PW_GRACE" explain grace --password-stdin --json
[ "$RC" = 0 ] || jfa_fail "explain with the password under valgrind: $(cat "$W/vg.$n.out")"
vt "x" explain root --password-stdin
vt "" reset grace --server
[ "$RC" = 0 ] || jfa_fail "reset under valgrind: $(cat "$W/vg.$n.out")"
echo "$n valgrind runs, no errors"
exit 0
