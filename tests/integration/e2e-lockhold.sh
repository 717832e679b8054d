#!/bin/bash
# tests/integration/e2e-lockhold.sh - a stopped su must not lock a user out.
# The login lock of a user is held from the throttle check until the answer
# is recorded, across the Jellyfin request. An unprivileged local user
# (lowly) runs the real `su alice` with any password and, while su waits
# for Jellyfin, stops it (SIGSTOP: su's real uid is lowly's) or freezes the
# cgroup it runs in. Before the fix su held alice's lock for ever: every
# later login of alice waited `timeout` and was refused. Root only
# (namespace).
#
# Owns: a holder that is still within its deadline is waited for (alice
# refused, su untouched), running or stopped; once the stopped holder is
# past its deadline, alice's next login ends it (SIGKILL, logged with the
# pid and the reason) and succeeds; the same for a su in a frozen cgroup
# (cgroup v2; that part is skipped with a message when it cannot be
# used here). `jellyfin-auth explain` says who holds the
# lock and whether it is overdue.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v expect >/dev/null || jfa_skip "expect not installed"
command -v pamtester >/dev/null || jfa_skip "pamtester not installed"
e2e_system
e2e_local_user lowly lowly-pw
e2e_jellyfin
# timeout 2: the holder's deadline is (4 x 2 + samba_timeout 1) s + 15 s of
# throttle lock waits + 30 s of slack = 54 s after it took the lock.
e2e_write_config "$URL" "$W/tls/cert.pem" "samba_timeout = 1" "throttle_failures = 0"
sed -i 's/^timeout = .*/timeout = 2/' /etc/jellyfin-auth.conf

fault() { jfa_fake_ctl "$URL" POST /__fake/fault "$1" >/dev/null || e2e_fail "cannot set the fault $1"; }
lockfile() { echo "/var/lib/jellyfin-auth/private/locks/$1"; }
# holder ID: the pid the lock file's holder record names (nothing if none).
holder() { sed -n 's/^jellyfin-auth lock 1 pid=\([0-9]*\) .*/\1/p' "$(lockfile "$1")" 2>/dev/null; }
has_holder() { [ -n "$(holder "$1")" ]; }
proc_state() { sed 's/.*) \(.\) .*/\1/' "/proc/$1/stat" 2>/dev/null; }
login_as_root() { # USER PASSWORD: pamtester (as sshd); sets OUT, RC
    OUT=$(printf '%s\n' "$2" | timeout 60 pamtester -v sshd "$1" authenticate 2>&1)
    RC=$?
}
explain() { jellyfin-auth explain "$1" 2>&1; }

# su_bg TARGET PASSWORD TAG: lowly's su in the background, its output in
# $W/su-TAG.out, its status in $W/su-TAG.rc. expect waits long enough: its
# giving up would hang up su's terminal, and the hangup's SIGCONT wake su.
su_bg() {
    (E2E_SU_WAIT=300 E2E_EXPECT_LIMIT=300 e2e_su lowly "$1" "$2"
        printf '%s\n' "$OUT" >"$W/su-$3.out"
        echo "$RC" >"$W/su-$3.rc") &
}
# su_holding TARGET ID TAG: start lowly's su and wait until it holds the
# user's lock while the lockout guard's question (GET /Users/ID, the first
# request under the lock) hangs: no guess ever reaches the server, which
# would count it. Sets SUPID. The request times out after 2 s: a try that
# misses the window is made again.
su_holding() {
    local try p
    fault "{\"mode\": \"hang\", \"paths\": [\"/Users/$2\"]}"
    for try in 1 2 3 4 5; do
        rm -f "$W/su-$3.rc"
        su_bg "$1" "wrong-guess-$try" "$3"
        SUPID=""
        e2e_poll 20 has_holder "$2" || { e2e_poll 30 test -f "$W/su-$3.rc"; continue; }
        p=$(holder "$2")
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = su ] && { SUPID=$p; return 0; }
        e2e_poll 30 test -f "$W/su-$3.rc"
    done
    e2e_fail "lowly's su never held the lock of $1 while waiting for Jellyfin: $(cat "$W/su-$3.out")"
}

# 1. A slow but running holder is waited for, never ended: alice's login
#    during lowly's su is refused or waits its turn; su ends on its own.
su_holding alice "$E2E_ID_alice" run
login_as_root alice "$E2E_PW_alice" # waits for the lock, then the hanging server
e2e_poll 30 test -f "$W/su-run.rc" || e2e_fail "lowly's running su never finished"
grep -q "Authentication failure" "$W/su-run.out" ||
    e2e_fail "lowly's running su did not end with its own answer: $(cat "$W/su-run.out")"
grep -q "ended pid" "$W/syslog" && e2e_fail "a running holder was ended: $(grep "ended pid" "$W/syslog")"

# 2. lowly stops su (as lowly: su's real uid is lowly's) while it holds
#    alice's lock.
su_holding alice "$E2E_ID_alice" stop
ALICE_SU=$SUPID
runuser -u lowly -- kill -STOP "$ALICE_SU" || e2e_fail "lowly cannot stop su"
is_stopped() { [ "$(proc_state "$1")" = T ]; }
e2e_poll 10 is_stopped "$ALICE_SU" || e2e_fail "su $ALICE_SU did not stop"
[ "$(holder "$E2E_ID_alice")" = "$ALICE_SU" ] || {
    kill -CONT "$ALICE_SU"
    e2e_fail "su was stopped after it let the lock go (a slow machine?); run again"
}

# 3. ... and freezes the cgroup (v2) of another su, holding bob's lock,
#    where a cgroup v2 freezer can be used here (a user does that in a
#    cgroup delegated to them: systemctl --user freeze).
CG=""
cg_cleanup() {
    [ -n "$CG" ] && [ -d "$CG" ] || return 0
    echo 0 >"$CG/cgroup.freeze"
    e2e_poll 10 rmdir "$CG" || echo "note: $CG could not be removed" >&2
}
for m in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    [ -f "$m/cgroup.controllers" ] && mkdir "$m/jfa-e2e-lockhold.${W##*.}" 2>/dev/null || continue
    CG=$m/jfa-e2e-lockhold.${W##*.}
    trap 'cg_cleanup; e2e_inner_cleanup' EXIT
    [ -f "$CG/cgroup.freeze" ] && break
    cg_cleanup
    CG=""
done
BOB_SU=""
if [ -n "$CG" ]; then
    su_holding bob "$E2E_ID_bob" freeze
    BOB_SU=$SUPID
    echo "$BOB_SU" >"$CG/cgroup.procs" && echo 1 >"$CG/cgroup.freeze" &&
        e2e_poll 10 grep -qx "frozen 1" "$CG/cgroup.events" || BOB_SU=""
    [ -n "$BOB_SU" ] && [ "$(holder "$E2E_ID_bob")" != "$BOB_SU" ] && {
        BOB_SU=""
        echo "note: bob's su let the lock go before its cgroup froze; the freeze part is skipped" >&2
    }
fi
[ -n "$BOB_SU" ] || echo "SKIP (part): no usable cgroup v2 freezer here; only SIGSTOP is tested" >&2
fault '{"mode": "none"}'

# 4. Within the deadline: alice's login waits and is refused, as before;
#    su stays. explain says who holds the lock.
login_as_root alice "$E2E_PW_alice"
[ "$RC" = 0 ] && e2e_fail "alice logged in while a holder within its deadline held her lock: $OUT"
e2e_poll 10 grep -q "another login of 'alice' is still being checked" "$W/syslog" ||
    e2e_fail "alice's refusal is not logged as a held lock"
[ "$(proc_state "$ALICE_SU")" = T ] || e2e_fail "su $ALICE_SU was ended within its deadline"
explain alice | grep -q "held by pid $ALICE_SU, stopped, within its deadline" ||
    e2e_fail "explain does not say who holds alice's lock: $(explain alice)"

# 5. Past the deadline: alice's next login ends the stopped su and goes on.
e2e_poll 120 sh -c "jellyfin-auth explain alice 2>&1 | grep -q 'held by pid $ALICE_SU, stopped, past its deadline'" ||
    e2e_fail "alice's lock holder never passed its deadline: $(explain alice)"
login_as_root alice "$E2E_PW_alice"
[ "$RC" = 0 ] || e2e_fail "alice is still locked out by a stopped su past its deadline: $OUT"
e2e_poll 10 test ! -e "/proc/$ALICE_SU" || e2e_fail "the stopped su $ALICE_SU is still there"
e2e_poll 10 grep -q "ended pid $ALICE_SU, which held the login lock of 'alice' and was stopped, [0-9]* s past its deadline (SIGKILL)" \
    "$W/syslog" || e2e_fail "the end of su $ALICE_SU is not logged with its pid and reason"
e2e_poll 30 test -f "$W/su-stop.rc" || e2e_fail "lowly's expect did not see su end"
grep -q "SU-UID=[0-9]" "$W/su-stop.out" && e2e_fail "the ended su gave a shell: $(cat "$W/su-stop.out")"

# 6. The same for the su in a frozen cgroup.
if [ -n "$BOB_SU" ]; then
    e2e_poll 120 sh -c "jellyfin-auth explain bob 2>&1 | grep -q 'held by pid $BOB_SU, in a frozen cgroup, past its deadline'" ||
        e2e_fail "bob's lock holder is not seen frozen past its deadline: $(explain bob)"
    login_as_root bob "$E2E_PW_bob"
    [ "$RC" = 0 ] || e2e_fail "bob is still locked out by a frozen su past its deadline: $OUT
$(cat "/proc/$BOB_SU/status" 2>&1 | head -3; cat "/proc/$BOB_SU/cgroup" 2>&1; cat /proc/locks | head; ls -la /proc/$BOB_SU/task 2>&1; cat "$CG/cgroup.events"; cat $CG/cgroup.procs)"
    e2e_poll 10 test ! -e "/proc/$BOB_SU" || e2e_fail "the frozen su $BOB_SU is still there"
    e2e_poll 10 grep -q "ended pid $BOB_SU, which held the login lock of 'bob' and was in a frozen cgroup" \
        "$W/syslog" || e2e_fail "the end of the frozen su $BOB_SU is not logged"
fi
cg_cleanup

e2e_nosecret
echo "PASS: a stopped or frozen su past its deadline no longer locks its user out"
exit 0
