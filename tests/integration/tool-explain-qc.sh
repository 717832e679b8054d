#!/bin/bash
# tool-explain-qc.sh - `jellyfin-auth explain USER --quick-connect` takes
# the steps a Quick Connect login from --rhost through --service takes in
# pam_jellyfin (the login flow's jfa_flow_quick_connect): quick_connect =
# local against local_networks, the service's nullok, the throttle of the
# user and of that host (read, and the request counted as the module
# counts it), the account stage for that host. Asserts that the verdict
# changes with --rhost (a throttled host, a host outside local_networks, a
# user without remote access), that a refusal before the request initiates
# nothing, and that the approver sees the service in the device name.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_C=ca201000000000000000000000000003
sync_fixture "[$(user_json Alice $ID_A '"password": "alice pw"'),
 $(user_json carol $ID_C '"password": "carol pw", "enable_remote_access": false')]"
jf sync --quiet || jfa_fail "sync"
export JELLYFIN_AUTH_PAM_DIR="$W/pam.d"
mkdir -p "$JELLYFIN_AUTH_PAM_DIR"
echo "auth sufficient pam_jellyfin.so" >"$JELLYFIN_AUTH_PAM_DIR/sshd"
echo "auth sufficient pam_jellyfin.so nullok" >"$JELLYFIN_AUTH_PAM_DIR/nullsvc"

initiations() { grep -c 'POST /QuickConnect/Initiate' "$W/fake-main.log"; }
clear_throttle() { rm -f "$W/state/private/throttle/"*; }
# approve_as NAME: approve whatever code the tool prints into login.out, as
# NAME (in the background); the live requests are saved first (qc.list)
approve_as() {
    (for _ in $(seq 100); do # bounded: 10 s
        code=$(sed -n 's/^quick:    code \([0-9]*\):.*/\1/p' "$W/login.out" 2>/dev/null)
        [ -n "$code" ] && break
        sleep 0.1
    done
    jfa_fake_ctl "$FAKE" GET /__fake/quick-connect >"$W/qc.list"
    jfa_fake_ctl "$FAKE" POST /__fake/quick-connect "{\"code\": \"$code\", \"user\": \"$1\"}") &
    APPROVER_PID=$!
}
# qcx NAME|- ARGS...: explain --quick-connect ARGS (approved as NAME unless
# -); sets OUT and RC
qcx() {
    local approver=$1
    shift
    : >"$W/login.out"
    [ "$approver" != - ] && approve_as "$approver"
    jf explain --quick-connect "$@" >"$W/login.out" 2>&1 </dev/null
    RC=$?
    [ "$approver" != - ] && wait "$APPROVER_PID"
    OUT=$(cat "$W/login.out")
}
# refused WHAT STEP ARGS...: explain --quick-connect ARGS is refused (exit
# 1, PAM_AUTH_ERR) at the report line STEP, before any request was made
refused() {
    local what=$1 stop=$2 before
    shift 2
    before=$(initiations)
    qcx - "$@"
    [ "$RC" = 1 ] || jfa_fail "$what: exit $RC: $OUT"
    expect_in "$OUT" "$stop" "$what: not refused at that step"
    expect_in "$OUT" "^verdict: PAM_AUTH_ERR" "$what: verdict"
    [ "$(initiations)" = "$before" ] || jfa_fail "$what: a request was initiated"
}
# approved WHAT STEP ARGS...: explain --quick-connect ARGS, approved as
# Alice, lets the login in (exit 0, PAM_SUCCESS) with the report line STEP
approved() {
    local what=$1 pass=$2
    shift 2
    qcx Alice "$@"
    [ "$RC" = 0 ] || jfa_fail "$what: exit $RC: $OUT"
    expect_in "$OUT" "$pass" "$what: that step"
    expect_in "$OUT" "^verdict: PAM_SUCCESS" "$what: verdict"
}

# --- quick_connect = local: the verdict follows --rhost ---
write_conf "quick_connect = local" "quick_connect_timeout = 5s"
refused "local, outside host" \
    "^STOP  quick-connect    not offered: 203.0.113.9 is outside local_networks" \
    alice --rhost 203.0.113.9
expect_in "$OUT" "^STOP  password         empty, and nullok is not set" \
    "local: the empty answer did not go on as an empty password"
approved "local, LAN host" "^pass  quick-connect    offered: 192.168.1.20 is inside local_networks" \
    alice --rhost 192.168.1.20
expect_in "$OUT" "^pass  throttle-host    0 recent failures of 192.168.1.20" "LAN host's throttle"
grep -q '"device_name": "[^"]* (sshd)"' "$W/qc.list" ||
    jfa_fail "the device does not name the service sshd: $(cat "$W/qc.list")"

# --- the service's nullok: an empty answer is an empty password ---
before=$(initiations)
qcx - alice --service nullsvc
expect_in "$OUT" "^STOP  quick-connect    not offered: nullok is set" "nullok: offered"
expect_not_in "$OUT" "^quick:    code" "nullok: a code was shown"
[ "$(initiations)" = "$before" ] || jfa_fail "nullok: a request was initiated"

# --- the throttle of the host: two failures from 198.51.100.7 (wrong
# passwords of carol) stop alice's request from there, not from elsewhere ---
write_conf "quick_connect = yes" "quick_connect_timeout = 5s" "throttle_failures = 2"
clear_throttle
for i in 1 2; do # two passwords: the same one twice is not sent again
    echo "wrong $i" | jf explain carol --password-stdin --rhost 198.51.100.7 >/dev/null 2>&1 &&
        jfa_fail "carol's wrong password accepted"
done
refused "throttled host" "^STOP  throttle-host    2 failures: [0-9]* s of back-off left" \
    alice --rhost 198.51.100.7
approved "another host" \
    "^pass  throttle-host    0 recent failures of 198.51.100.9, no back-off; this request counts" \
    alice --rhost 198.51.100.9
# the request is counted as the module counts it: a failure until approved
qcx - alice --rhost 198.51.100.9
expect_in "$OUT" "^STOP  qc-answer        not approved within 5 s" "never approved"
qcx - alice --rhost 198.51.100.9
expect_in "$OUT" "^pass  throttle-user    1 recent failures of 'alice'" \
    "the unapproved request was not counted for the user"
expect_in "$OUT" "^pass  throttle-host    1 recent failures of 198.51.100.9" \
    "the unapproved request was not counted for the host"
clear_throttle

# --- the account stage for the host: carol has no remote access ---
qcx carol carol --rhost 203.0.113.9
[ "$RC" = 1 ] || jfa_fail "carol from outside: exit $RC: $OUT"
expect_in "$OUT" "^STOP  account-remote   remote access denied (as of .*) and 203.0.113.9 is outside local_networks" \
    "carol from outside: not refused by the account stage"
expect_in "$OUT" "^verdict: PAM_PERM_DENIED" "carol from outside verdict"
qcx carol carol --rhost 192.168.1.20
[ "$RC" = 0 ] || jfa_fail "carol from the LAN: exit $RC: $OUT"
expect_in "$OUT" "^pass  account-remote   remote access denied, but 192.168.1.20 is inside local_networks" \
    "carol from the LAN"
[ "$(jfa_fake_ctl "$FAKE" GET /__fake/tokens | grep -c '"token"')" = 0 ] ||
    jfa_fail "explain --quick-connect left a token"

# --- --json: one object, the code on stderr ---
: >"$W/login.out"
approve_as Alice
JSON=$(jf explain --quick-connect --json alice 2>"$W/login.out" </dev/null) ||
    jfa_fail "--json: failed: $JSON $(cat "$W/login.out")"
wait "$APPROVER_PID"
printf '%s' "$JSON" | "$PYTHON3" -c '
import json, sys
o = json.load(sys.stdin)
assert o["quick_connect"] is True and o["password_given"] is False, o
assert o["verdict"] == "PAM_SUCCESS" and o["logout"] == "ok", o
assert [s for s in o["steps"] if s["step"] == "qc-answer"][0]["result"] == "pass", o
' || jfa_fail "--json: $JSON"
exit 0
