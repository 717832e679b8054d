#!/bin/bash
# tests/integration/e2e-qc-caller.sh - Quick Connect is not offered inside
# a set-id program that another user started. An unprivileged local user
# (lowly) runs the real `su - alice` and answers the password prompt with
# nothing: with Quick Connect offered, the code would be shown to lowly,
# who would need only to talk alice into approving "a code for her TV".
# Root only (namespace).
#
# Owns: su run by another user never starts a Quick Connect request (none
# reaches the fake, the refusal is logged with its reason); a login run by
# root (pamtester, as sshd and login are) is still offered one.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v expect >/dev/null || jfa_skip "expect not installed"
command -v pamtester >/dev/null || jfa_skip "pamtester not installed"
e2e_system
e2e_local_user lowly lowly-pw
e2e_jellyfin
e2e_write_config "$URL" "$W/tls/cert.pem" "quick_connect = yes" "quick_connect_timeout = 5s" \
    "throttle_failures = 0"

# 1. lowly: su - alice, empty answer. No request, no shell, a reason logged.
e2e_su_as lowly alice ""
printf '%s' "$OUT" | grep -q "SU-UID=[0-9]" && e2e_fail "su by lowly gave alice's shell: $OUT"
printf '%s' "$OUT" | grep -qi "quick connect\|code" &&
    e2e_fail "su run by lowly showed a Quick Connect code for alice: $OUT"
grep -q "Quick Connect requested for 'alice'" "$W/syslog" 2>/dev/null &&
    e2e_fail "su run by lowly started a Quick Connect request for alice"
e2e_poll 10 grep -q "Quick Connect not offered to 'alice': this set-id program was started by uid $(id -u lowly)" \
    "$W/syslog" || e2e_fail "the refusal is not logged with its reason"

# 2. Control: the same empty answer in a login run by root is offered a
#    code (never approved here: refused at quick_connect_timeout).
OUT=$(printf '\n\n' | timeout 30 pamtester -v sshd alice authenticate 2>&1)
[ $? = 0 ] && e2e_fail "pamtester with an empty answer and no approval succeeded: $OUT"
e2e_poll 10 grep -q "Quick Connect requested for 'alice'" "$W/syslog" ||
    e2e_fail "a login run by root was not offered Quick Connect: $OUT"

e2e_nosecret
echo "PASS: Quick Connect is not offered to the caller of su"
exit 0
