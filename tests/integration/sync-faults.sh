#!/bin/sh
# sync-faults: server errors (500, 502), a hang (timeout = 2), a malformed,
# mistyped, empty, huge (50 MB) or redirected answer and a connection reset
# all leave the previous database, ledger and report byte-for-byte
# unchanged, exit non-zero with a clear message, and never hang. An
# untrusted certificate is named as such.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

SYNC_TIMEOUT=2
sync_fixture "[$(user_json alice a11ce000000000000000000000000001),
 $(user_json bob b0b00000000000000000000000000002)]"
jf sync --quiet || jfa_fail "first sync"
# a pending change, so a sync that wrongly succeeded would show
fake_users "{\"upsert\": [$(user_json carol ca201000000000000000000000000003)]}"
cp "$DB" "$W/db.before"
cp "$LEDGER" "$W/ledger.before"
cp "$W/state/sync-report" "$W/report.before"

for mode in 500 502 503 malformed wrong_types empty huge reset redirect hang; do
    fake_fault "{\"mode\": \"$mode\", \"paths\": [\"/Users\"]}"
    # A hang never ends by itself: without the deadline the 240 s guard
    # kills sync (status 124). The time is checked loosely: timeout + 10 s.
    start=$(date +%s)
    timeout 240 "$JFA_TOOL" sync >"$W/out" 2>&1 && jfa_fail "sync succeeded with fault $mode"
    rc=$?
    end=$(date +%s)
    [ "$rc" = 1 ] || jfa_fail "fault $mode: exit status $rc (124: the deadline did not fire)"
    [ $((end - start)) -le 12 ] || jfa_fail "fault $mode: took $((end - start)) s (timeout 2 s)"
    expect_in "$(cat "$W/out")" "sync failed: " "fault $mode: no clear message"
    expect_in "$(cat "$W/out")" "left unchanged" "fault $mode: no 'unchanged' note"
    cmp -s "$DB" "$W/db.before" || jfa_fail "fault $mode changed the db"
    cmp -s "$LEDGER" "$W/ledger.before" || jfa_fail "fault $mode changed the ledger"
    cmp -s "$W/state/sync-report" "$W/report.before" || jfa_fail "fault $mode changed the report"
    ls "$W/state" "$W/state/private" | grep -q '\.tmp\.' && jfa_fail "fault $mode left a temp file"
    fake_fault '{"mode": "none"}'
done

# the server is back: the pending change goes through
out=$(jf sync) || jfa_fail "sync after the faults"
expect_in "$out" "^added    carol" "recovery"

# a certificate the configuration does not trust: no change, and the tool
# names the TLS reason (not "unavailable")
jfa_make_cert "$W/tls"
jfa_make_cert "$W/untrusted"
jfa_start_fake tls "$W/data.json" --tls-cert "$W/tls/cert.pem" --tls-key "$W/tls/key.pem"
cp "$DB" "$W/db.before"
plain=$FAKE
FAKE=$FAKE_URL_tls
write_conf "ca_file = $W/untrusted/cert.pem"
jf sync >"$W/out" 2>&1 && jfa_fail "sync succeeded with an untrusted certificate"
expect_in "$(cat "$W/out")" "untrusted issuer: set ca_file" "untrusted certificate: the reason"
expect_not_in "$(cat "$W/out")" "unavailable" "untrusted certificate: called unavailable"
cmp -s "$DB" "$W/db.before" || jfa_fail "an untrusted certificate changed the db"
FAKE=$plain
write_conf

# an unreachable server
kill $JFA_FAKE_PIDS 2>/dev/null
wait $JFA_FAKE_PIDS 2>/dev/null
JFA_FAKE_PIDS=
cp "$DB" "$W/db.before"
jf sync >"$W/out" 2>&1 && jfa_fail "sync succeeded without a server"
expect_in "$(cat "$W/out")" "unavailable\|connect" "unreachable: message"
cmp -s "$DB" "$W/db.before" || jfa_fail "unreachable server changed the db"
exit 0
