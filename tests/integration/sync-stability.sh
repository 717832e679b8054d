#!/bin/sh
# sync-stability: UIDs come from the ledger. A rename keeps the UID; a
# deleted user leaves a tombstone; a user recreated under the same name (new
# Id) is left out until `names release`, then gets a new UID and the old one
# is never reused; deleting the database
# but keeping the ledger reproduces the same UIDs; a lost ledger is rebuilt
# from the database; a corrupt ledger stops the sync (file:line) and is
# never reset.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_B=b0b00000000000000000000000000002
ID_B2=b0b20000000000000000000000000022
ID_C=ca201000000000000000000000000003
sync_fixture "[$(user_json Alice $ID_A), $(user_json bob $ID_B), $(user_json carol $ID_C)]"
jf sync --quiet || jfa_fail "first sync"
ua=$(uid_of alice); ub=$(uid_of bob); uc=$(uid_of carol)
[ -n "$ua" ] && [ -n "$ub" ] && [ -n "$uc" ] || jfa_fail "users missing"
[ "$ua" != "$ub" ] && [ "$ub" != "$uc" ] && [ "$ua" != "$uc" ] || jfa_fail "uids not distinct"

# rename: same Id, new name, same uid
fake_users '{"upsert": [{"id": "'$ID_A'", "name": "Alicia"}]}'
out=$(jf sync) || jfa_fail "sync after rename"
expect_in "$out" "^renamed  alice -> alicia (uid $ua)" "rename not reported"
[ "$(uid_of alicia)" = "$ua" ] || jfa_fail "rename changed the uid"
[ -z "$(uid_of alice)" ] || jfa_fail "old name still present"
grep -q "^user $ID_A $ua active alicia " "$LEDGER" || jfa_fail "ledger not updated on rename"

# delete: tombstone
fake_users '{"delete": ["'$ID_B'"]}'
out=$(jf sync) || jfa_fail "sync after delete"
expect_in "$out" "^removed  bob (uid $ub)" "delete not reported"
grep -q "^user $ID_B $ub deleted bob " "$LEDGER" || jfa_fail "no tombstone for bob"

# recreate "bob" (new Id): the name stays claimed by the deleted Id (local
# grants on "bob" must not pass to a new account) until it is released;
# then a new uid, the old one not reused
fake_users "{\"upsert\": [$(user_json bob $ID_B2)]}"
out=$(jf sync) || jfa_fail "sync after recreate"
expect_in "$out" "omitted  \"bob\" (Id $ID_B2): login name \"bob\" is claimed by deleted Jellyfin user Id $ID_B.*jellyfin-auth names release bob" \
    "recreated bob not refused"
[ -z "$(uid_of bob)" ] || jfa_fail "recreated bob got the name of the deleted one"
expect_in "$(jf names list)" "^bob  *$ID_B  *deleted" "names list"
out=$(jf names release bob) || jfa_fail "names release bob: $out"
expect_in "$out" "released bob (claimed by Jellyfin user Id $ID_B, deleted)" "release output"
jf names release bob >"$W/out" 2>&1 && jfa_fail "released an unclaimed name"
expect_in "$(cat "$W/out")" "bob is not claimed" "release of an unclaimed name"
out=$(jf sync) || jfa_fail "sync after release"
ub2=$(uid_of bob)
[ -n "$ub2" ] && [ "$ub2" != "$ub" ] || jfa_fail "recreated bob got uid $ub2 (old $ub)"
grep -q "^user $ID_B $ub deleted " "$LEDGER" || jfa_fail "tombstone lost"

# the login name of its holder as of the last sync is not released: renamed
# in Jellyfin since then, the ledger still says "active", and a release
# handed the name (the grants on it; with samba_sync the passdb entry that
# holds the old holder's password, which a release of an active claim kept)
# to the next Id at the next sync. After that sync the claim is
# renamed-away, and the release goes through.
ID_D=d0d00000000000000000000000000004
ID_D2=d0d20000000000000000000000000044
fake_users "{\"upsert\": [$(user_json dave $ID_D)]}"
jf sync --quiet || jfa_fail "sync with dave"
ud=$(uid_of dave)
[ -n "$ud" ] || jfa_fail "dave missing"
fake_users '{"upsert": [{"id": "'$ID_D'", "name": "david"}]}'
jf names release dave >"$W/out" 2>&1 &&
    jfa_fail "released dave, the login name of its holder as of the last sync: $(cat "$W/out")"
expect_in "$(cat "$W/out")" "name dave not released: it is the login name of Jellyfin user Id $ID_D as of the last sync" \
    "refusal of an active release"
fake_users "{\"upsert\": [$(user_json dave $ID_D2)]}"
out=$(jf sync) || jfa_fail "sync after dave's rename: $out"
[ "$(uid_of david)" = "$ud" ] || jfa_fail "the renamed dave lost his uid"
[ -z "$(uid_of dave)" ] ||
    jfa_fail "the name dave passed to another Id ($ID_D2) in the sync after its holder's rename"
expect_in "$(jf names list)" "^dave  *$ID_D  *renamed" "dave's claim after the rename"
out=$(jf names release dave) || jfa_fail "names release dave once renamed away: $out"
jf sync --quiet || jfa_fail "sync after releasing dave"
[ -n "$(uid_of dave)" ] && [ "$(uid_of dave)" != "$ud" ] ||
    jfa_fail "the new dave ($ID_D2) got uid '$(uid_of dave)' (old holder $ud)"

# same UIDs from the ledger when the database is deleted
jf users | grep '^[a-z]' | grep -v '^No sync' >"$W/before"
rm -f "$DB" "$W/state/sync-report"
jf sync --quiet || jfa_fail "sync without db"
jf users | grep '^[a-z]' | grep -v '^No sync' >"$W/after"
cmp -s "$W/before" "$W/after" || { diff "$W/before" "$W/after" >&2; jfa_fail "UIDs changed without the db"; }

# a lost ledger is rebuilt from the database, keeping every UID
mv "$LEDGER" "$W/ledger.saved"
jf sync >"$W/out" 2>&1 || { cat "$W/out" >&2; jfa_fail "sync without ledger"; }
expect_in "$(cat "$W/out")" "rebuilding it from the database" "no rebuild warning"
jf users | grep '^[a-z]' | grep -v '^No sync' >"$W/after"
cmp -s "$W/before" "$W/after" || jfa_fail "UIDs changed after the ledger rebuild"

# a corrupt ledger: the sync stops with file:line, nothing is rewritten
cp "$W/ledger.saved" "$LEDGER"
chmod 0600 "$LEDGER"
jf sync --quiet || jfa_fail "sync with the restored ledger"
printf 'user zzz\n' >>"$LEDGER"
cp "$LEDGER" "$W/ledger.corrupt"
cp "$DB" "$W/db.before"
fake_users "{\"upsert\": [$(user_json newbie 0e0e0000000000000000000000000009)]}"
jf sync >"$W/out" 2>&1 && jfa_fail "sync accepted a corrupt ledger"
expect_in "$(cat "$W/out")" "ledger:[0-9][0-9]*:" "error lacks file:line"
cmp -s "$LEDGER" "$W/ledger.corrupt" || jfa_fail "corrupt ledger was rewritten"
cmp -s "$DB" "$W/db.before" || jfa_fail "db changed despite the corrupt ledger"

# an unsafe ledger (readable by others) is refused too
cp "$W/ledger.saved" "$LEDGER"
chmod 0644 "$LEDGER"
jf sync >"$W/out" 2>&1 && jfa_fail "sync accepted a world-readable ledger"
chmod 0600 "$LEDGER"
# ... and so is a ledger behind a symlink, and a private dir open to others
mv "$LEDGER" "$W/ledger.real"
ln -s "$W/ledger.real" "$LEDGER"
cp "$DB" "$W/db.before"
jf sync >"$W/out" 2>&1 && jfa_fail "sync followed a symlinked ledger"
expect_in "$(cat "$W/out")" "symbolic link" "symlinked ledger error"
cmp -s "$DB" "$W/db.before" || jfa_fail "db changed despite the symlinked ledger"
rm -f "$LEDGER"
mv "$W/ledger.real" "$LEDGER"
chmod 0755 "$(dirname "$LEDGER")"
jf sync >"$W/out" 2>&1 && jfa_fail "sync accepted a private dir open to others"
chmod 0700 "$(dirname "$LEDGER")"
jf sync --quiet || jfa_fail "sync after the private dir was repaired"

# the generation grows with every change, and only then (a sync that finds
# nothing changed writes nothing: the timer runs every minute)
g1=$(grep '^generation' "$W/state/sync-report")
fake_users '{"upsert": [{"id": "'$ID_C'", "is_disabled": true}]}'
jf sync --quiet || jfa_fail "sync"
g2=$(grep '^generation' "$W/state/sync-report")
[ "${g2#generation }" -gt "${g1#generation }" ] || jfa_fail "generation did not grow ($g1, $g2)"
out=$(jf sync) || jfa_fail "sync"
expect_in "$out" "no change, nothing written" "an unchanged sync wrote"
g3=$(grep '^generation' "$W/state/sync-report")
[ "$g3" = "$g2" ] || jfa_fail "generation moved without a change ($g2, $g3)"
exit 0
