#!/bin/bash
# sync-quickconnect: `jellyfin-auth login --quick-connect` (approved as the
# user, approved as another account, never approved, server switch off),
# shown as the login flow's steps, and the Quick Connect line of `doctor`.
# (--rhost, --service and the throttle: tool-explain-qc.sh)
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_C=ca201000000000000000000000000003
sync_fixture "[$(user_json Alice $ID_A '"password": "alice pw"'),
 $(user_json carol $ID_C '"password": "carol pw"')]"
write_conf "quick_connect = local" "quick_connect_timeout = 5s"
jf sync --quiet || jfa_fail "sync"

# approve whatever code the tool prints, as $1 (in the background)
approve_as() {
    (for i in $(seq 100); do
        code=$(sed -n 's/^quick:    code \([0-9]*\):.*/\1/p' "$W/login.out" 2>/dev/null)
        [ -n "$code" ] && break
        sleep 0.1
    done
    jfa_fake_ctl "$FAKE" POST /__fake/quick-connect "{\"code\": \"$code\", \"user\": \"$1\"}") &
    APPROVER_PID=$!
}
devices() { jfa_fake_ctl "$FAKE" GET /__fake/tokens | grep -c '"token"'; }

: >"$W/login.out"
approve_as Alice
jf login --quick-connect alice >"$W/login.out" 2>&1 </dev/null ||
    { cat "$W/login.out" >&2; jfa_fail "login --quick-connect approved as Alice"; }
wait "$APPROVER_PID"
out=$(cat "$W/login.out")
expect_in "$out" '^quick:    code [0-9]\{6\}: approve it in a Jellyfin app signed in as "Alice"' "code line"
expect_in "$out" "^pass  qc-answer        approved as the user's own account" "approval step"
expect_in "$out" "^logout: the new Jellyfin session: ok" "logout line"
expect_in "$out" "^verdict: PAM_SUCCESS" "verdict"
[ "$(devices)" = 0 ] || jfa_fail "login --quick-connect left a token"

: >"$W/login.out"
approve_as carol
jf login --quick-connect alice >"$W/login.out" 2>&1 </dev/null &&
    { cat "$W/login.out" >&2; jfa_fail "login --quick-connect approved as carol succeeded"; }
wait "$APPROVER_PID"
expect_in "$(cat "$W/login.out")" \
    "^STOP  qc-answer        approved as another Jellyfin account (Id $ID_C, expected $ID_A)" \
    "wrong approver"
[ "$(devices)" = 0 ] || jfa_fail "carol's token was left"

out=$(jf login --quick-connect alice 2>&1 </dev/null) && jfa_fail "never approved: success"
expect_in "$out" "^STOP  qc-answer        not approved within 5 s" "never approved"

# doctor: local and the server on, yes (a warning), the server off, no
out=$(jf doctor 2>&1)
expect_in "$out" "^OK    quick connect quick_connect = local (local networks), 5 s; the server has Quick Connect on" "doctor local"
write_conf "quick_connect = yes"
out=$(jf doctor 2>&1)
expect_in "$out" "^WARN  quick connect quick_connect = yes (remote hosts too), 120 s" "doctor yes"
jfa_fake_ctl "$FAKE" POST /__fake/server '{"quick_connect": false}' >/dev/null
out=$(jf doctor 2>&1)
expect_in "$out" "^WARN  quick connect quick_connect = yes, but the server has Quick Connect off" "doctor off"
out=$(jf login --quick-connect alice 2>&1 </dev/null) && jfa_fail "server off: success"
expect_in "$out" "^STOP  qc-server        off on the server" "login, server off"
# the name found as the module finds it: case folded, root never ours
out=$(jf login --quick-connect ALICE 2>&1 </dev/null) && jfa_fail "ALICE, server off: success"
expect_in "$out" "^pass  database         uid [0-9]*, Jellyfin \"Alice\", Id $ID_A" \
    "login ALICE (case folded)"
expect_in "$out" "^STOP  qc-server        off on the server" "login ALICE, server off"
out=$(jf login --quick-connect root 2>&1 </dev/null) && jfa_fail "login --quick-connect root: success"
expect_in "$out" '^STOP  root             the name is root' "login root"
out=$(jf login --quick-connect nobody-here 2>&1 </dev/null) && jfa_fail "unknown user: success"
expect_in "$out" "^STOP  database         'nobody-here' is not a Jellyfin user" "unknown user"
# a password with --quick-connect is a usage error (2)
out=$(echo pw | jf explain --quick-connect --password-stdin alice 2>&1)
[ $? = 2 ] || jfa_fail "explain --quick-connect --password-stdin: not a usage error: $out"
expect_in "$out" "explain: --quick-connect takes no password" "usage with a password"
out=$(jf explain --quick-connect --help 2>&1) || jfa_fail "explain --quick-connect --help failed"
expect_in "$out" "^Usage: jellyfin-auth explain USER" "--help with --quick-connect"
write_conf
out=$(jf doctor 2>&1)
expect_in "$out" "^OK    quick connect off (quick_connect = no)" "doctor no"
exit 0
