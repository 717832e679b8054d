#!/bin/bash
# tests/integration/e2e-offline-caller.sh - the caller of a setuid program
# must not be able to choose the offline path. An unprivileged local user
# (lowly) knows alice's old Jellyfin password; alice has since changed it.
# lowly runs the real `su - alice` with a small descriptor limit (ulimit -n,
# every value from 4 to 48), so that the connection to Jellyfin fails inside
# su and the module would see "server unreachable"; then again while the
# server really answers 503. The offline verifier still holds the old
# password. Root only (namespace).
#
# Owns: su run by an unprivileged user never logs in offline (no value of
# the limit and no outage gives a shell for the old password); a login run
# by root (pamtester, as sshd and login are) still goes offline with the
# verifier's password while the server is down, and su works again with
# the new password once the server answers.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v expect >/dev/null || jfa_skip "expect not installed"
command -v pamtester >/dev/null || jfa_skip "pamtester not installed"
e2e_system
e2e_local_user lowly lowly-pw
e2e_jellyfin
# No back-off and no lockout guard: every attempt below reaches the point
# where the module talks to Jellyfin, whatever the earlier ones did.
e2e_write_config "$URL" "$W/tls/cert.pem" "offline_max_age = 1h" "throttle_failures = 0" \
    "lockout_guard = no"

# su_as NOFILE TARGET PASSWORD: su from lowly under ulimit -n NOFILE.
su_as() { e2e_su_as lowly "$2" "$3" "$1"; }
got_shell() { printf '%s' "$OUT" | grep -q "SU-UID=[0-9]"; }

old=$E2E_PW_alice
new="alice's new password"

# 1. An online login stores the offline verifier (the old password).
su_as 1024 alice "$old"
[ "$RC" = 0 ] && got_shell || e2e_fail "su to alice with her password failed ($RC): $OUT"

# 2. alice changes her password in Jellyfin.
jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [{\"id\": \"$E2E_ID_alice\", \"password\": \"$new\"}]}" >/dev/null ||
    e2e_fail "cannot change alice's password in the fake"

# 3. lowly tries the old password under every small descriptor limit.
for n in $(seq 4 48); do
    su_as "$n" alice "$old"
    got_shell && e2e_fail "su as lowly with ulimit -n $n gave alice's shell for her OLD password: $OUT"
done
grep -q "offline login for 'alice': Jellyfin unreachable" "$W/syslog" 2>/dev/null &&
    e2e_fail "the module logged an offline login for alice inside su"

# 4. Step 3 reached Jellyfin under the larger limits, and its 401 for the
#    password the verifier held dropped it. alice logs in once more (root's
#    login, online): the verifier now holds her new password. The server
#    fails (503): su by lowly is refused offline even with that password.
OUT=$(printf '%s\n' "$new" | timeout 30 pamtester -v sshd alice authenticate 2>&1)
[ $? = 0 ] || e2e_fail "root's pamtester did not log alice in online: $OUT"
jfa_fake_ctl "$URL" POST /__fake/fault '{"mode": "503"}' >/dev/null || e2e_fail "cannot set the fault"
su_as 1024 alice "$new"
got_shell && e2e_fail "su as lowly gave alice's shell offline: $OUT"
grep -q "offline login for 'alice' refused: Jellyfin did not answer, but this set-id program was started by uid $(id -u lowly)" \
    "$W/syslog" || e2e_fail "the refused offline login inside su is not logged with its reason"

# 5. A login run by root (no caller in control) still goes offline. (Service
#    sshd: su's stack starts with pam_rootok, which lets root in unasked.)
OUT=$(printf '%s\n' "$new" | timeout 30 pamtester -v sshd alice authenticate 2>&1)
[ $? = 0 ] || e2e_fail "root's pamtester did not log alice in offline while the server is down: $OUT"
e2e_poll 10 grep -q "offline login for 'alice': Jellyfin unreachable" "$W/syslog" ||
    e2e_fail "root's login was not an offline login"

# 6. Server back: su with the new password works, the old one is refused.
jfa_fake_ctl "$URL" POST /__fake/fault '{"mode": "none"}' >/dev/null || e2e_fail "cannot clear the fault"
su_as 1024 alice "$new"
[ "$RC" = 0 ] && got_shell || e2e_fail "su to alice with her new password failed ($RC): $OUT"
su_as 1024 alice "$old"
got_shell && e2e_fail "su to alice with her old password succeeded online: $OUT"

e2e_nosecret
echo "PASS: the caller of su cannot choose the offline path"
exit 0
