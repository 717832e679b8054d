#!/bin/bash
# tests/integration/e2e-ssh-quickconnect.sh - Quick Connect over the real
# sshd: the installed module, the stacks pam-auth-update writes, the fake
# Jellyfin over HTTPS, ssh driven by expect. Root only (namespace).
#
# Owns: what an SSH user sees of Quick Connect. keyboard-interactive: an
# empty password answer shows the code in a prompt; approved as the user ->
# a shell, a Jellyfin token during the session and none after it; approved
# as another account -> refused and that token logged out; never approved
# -> refused at the deadline. The password method cannot show a code: an
# empty password just fails.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v expect >/dev/null || jfa_skip "expect not installed"
e2e_system
e2e_jellyfin
e2e_write_config "$URL" "$W/tls/cert.pem" "quick_connect = yes" "quick_connect_timeout = 8s"
e2e_start_sshd

# qc_ssh USER APPROVER COMMAND: keyboard-interactive, empty password, read
# the code, approve it as APPROVER ("" = never), press Enter. Sets OUT, RC.
cat >"$W/qc.exp" <<'EXP'
set timeout 30
lassign $argv port user approver url cmd
spawn ssh -p $port -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
    -o ConnectTimeout=10 -o NumberOfPasswordPrompts=1 -o PubkeyAuthentication=no \
    -o PreferredAuthentications=keyboard-interactive $user@127.0.0.1 $cmd
expect -re {[Pp]assword: ?$} { send "\r" } timeout { exit 11 }
expect -re {code: ([0-9]+)} { set code $expect_out(1,string) } timeout { exit 12 }
expect "cancel: " {} timeout { exit 13 }
if {$approver ne ""} {
    exec curl -sfk -X POST -H {Content-Type: application/json} \
        --data "{\"code\": \"$code\", \"user\": \"$approver\"}" $url/__fake/quick-connect
}
send "\r"
expect eof
lassign [wait] pid spawnid oserr status
exit $status
EXP
qc_ssh() {
    OUT=$(timeout 60 expect -f "$W/qc.exp" "$SSH_PORT" "$1" "$2" "$URL" "$3" 2>&1)
    RC=$?
}

# 1. alice approves her own code: a shell; her token lives as long as the session
(qc_ssh alice alice 'echo QC-IN-$(id -un); touch in-session; for i in $(seq 300); do [ -e release ] && break; sleep 0.1; done'
 printf '%s\n' "$OUT" >"$W/qc1.out"; echo "$RC" >"$W/qc1.rc") &
long=$!
e2e_poll 30 test -e /home/alice/in-session ||
    e2e_fail "alice's Quick Connect session did not start: $(cat "$W/qc1.out" 2>/dev/null)"
[ "$(e2e_fake_devices alice)" = 1 ] || e2e_fail "alice has no Jellyfin token during her session"
touch /home/alice/release
wait "$long"
[ "$(cat "$W/qc1.rc")" = 0 ] || e2e_fail "alice's Quick Connect login failed: $(cat "$W/qc1.out")"
grep -q "QC-IN-alice" "$W/qc1.out" || e2e_fail "no shell as alice: $(cat "$W/qc1.out")"
e2e_poll 30 e2e_no_devices alice || e2e_fail "alice's token survived her session"

# 2. approved as bob for alice's login: refused, bob's token logged out
qc_ssh alice bob 'echo QC-IN-$(id -un)'
[ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q QC-IN-alice || e2e_fail "alice got in on bob's approval: $OUT"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token was not logged out"
e2e_no_devices alice || e2e_fail "alice has a token after a refused login"

# 3. never approved: refused at the deadline
qc_ssh bob "" 'echo QC-IN-$(id -un)'
[ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q QC-IN-bob || e2e_fail "bob got in unapproved: $OUT"
e2e_no_devices bob || e2e_fail "bob has a token though never approved"

# 4. the password method cannot show a code: the empty password just fails
e2e_ssh bob "" password echo QC-IN
[ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q QC-IN || e2e_fail "empty password accepted: $OUT"

# 5. passwords still work
e2e_ssh bob "$E2E_PW_bob" keyboard-interactive echo PW-IN
[ "$RC" = 0 ] || e2e_fail "bob's password no longer works: $OUT"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token survived his session"

grep -q "authenticated 'alice' with Jellyfin Quick Connect" "$W/syslog" ||
    e2e_fail "the Quick Connect login is not in the syslog"
grep -q "approved as another Jellyfin account" "$W/syslog" || e2e_fail "wrong account not logged"
grep -q "Quick Connect for 'bob' not approved within 8 s" "$W/syslog" || e2e_fail "deadline not logged"
grep -qi 'secret=' "$W/syslog" "$W/sshd.log" "$W/fake-main.log" && e2e_fail "a secret in a log"
e2e_nosecret
echo "PASS: Quick Connect over ssh"
exit 0
