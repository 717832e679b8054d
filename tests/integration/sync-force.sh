#!/bin/sh
# sync-force: an empty user list (or one where every user is left out) never
# replaces a populated database unless --force is given.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_B=b0b00000000000000000000000000002
sync_fixture "[$(user_json alice $ID_A), $(user_json bob $ID_B)]"
jf sync --quiet || jfa_fail "first sync"
cp "$DB" "$W/db.before"
cp "$LEDGER" "$W/ledger.before"

fake_users '{"delete": ["'$ID_A'", "'$ID_B'"]}'
jf sync >"$W/out" 2>&1 && jfa_fail "empty list replaced a populated db"
expect_in "$(cat "$W/out")" "refusing to replace a database of 2 users" "message"
expect_in "$(cat "$W/out")" "--force" "message names --force"
cmp -s "$DB" "$W/db.before" || jfa_fail "db changed"
cmp -s "$LEDGER" "$W/ledger.before" || jfa_fail "ledger changed (tombstones written)"

# every user left out counts as empty too
fake_users "{\"upsert\": [$(user_json root 2007000000000000000000000000000a)]}"
jf sync >"$W/out" 2>&1 && jfa_fail "all-omitted list replaced a populated db"
cmp -s "$DB" "$W/db.before" || jfa_fail "db changed"

out=$(jf sync --force) || jfa_fail "sync --force failed"
expect_in "$out" "^removed  alice" "removal not reported"
expect_in "$out" "^sync: 0 users" "summary"
expect_in "$(jf users)" "^0 users" "db not emptied"
grep -q "^user $ID_A [0-9]* deleted " "$LEDGER" || jfa_fail "no tombstone after --force"

# an empty database may be "replaced" by an empty list without --force
jf sync --quiet || jfa_fail "empty over empty refused"
exit 0
