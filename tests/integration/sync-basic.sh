#!/bin/sh
# sync-basic: users appear in `jellyfin-auth users` and through the NSS
# module; hidden users are there with the API key and missing (with a
# warning) with the GET /Users/Public fallback; modes of every file; key
# file trust rules; --dry-run and --quiet; the key is never printed.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_B=b0b00000000000000000000000000002
ID_C=ca201000000000000000000000000003
ID_J=10400000000000000000000000000004
ID_D=da7e0000000000000000000000000005
sync_fixture "[$(user_json Alice $ID_A '"is_administrator": true'),
 $(user_json bob $ID_B '"is_hidden": false'),
 $(user_json Carol $ID_C '"is_disabled": true, "enable_remote_access": false'),
 $(user_json 'Jöhn Doe' $ID_J)]"

out=$(jf sync 2>"$W/err") || { cat "$W/err" >&2; jfa_fail "first sync failed"; }
expect_in "$out" "^added    alice (uid [0-9]*, Jellyfin \"Alice\")" "alice not added"
expect_in "$out" "^added    john_doe " "Jöhn Doe not mapped to john_doe"
expect_in "$out" "^sync: 4 users in the database (4 added, 0 removed" "summary"
[ -s "$W/err" ] && { cat "$W/err" >&2; jfa_fail "unexpected stderr output"; }

users=$(jf users) || jfa_fail "users failed"
expect_in "$users" "^alice  *[0-9][0-9]*  Alice  *yes   no" "alice row (admin, hidden user present)"
expect_in "$users" "^carol  *[0-9][0-9]*  Carol  *no    yes" "carol row (disabled stays)"
expect_in "$users" "^4 users" "user count"
expect_in "$users" "Left out at the last sync: 0" "report"

# modes
[ "$(stat -c %a "$W/state")" = 755 ] || jfa_fail "state dir mode"
[ "$(stat -c %a "$W/state/private")" = 700 ] || jfa_fail "private dir mode"
[ "$(stat -c %a "$DB")" = 644 ] || jfa_fail "db mode"
[ "$(stat -c %a "$LEDGER")" = 600 ] || jfa_fail "ledger mode"
[ "$(stat -c %a "$W/state/sync-report")" = 644 ] || jfa_fail "report mode"
head -1 "$LEDGER" | grep -qx 'jellyfin-auth-ledger 2' || jfa_fail "ledger header"
[ "$(grep -c '^name ' "$LEDGER")" = 4 ] || jfa_fail "ledger name claims"
[ "$(grep -c '^user .* active ' "$LEDGER")" = 4 ] || jfa_fail "ledger entries"

# through the real NSS module
if have_nss; then
    uid_a=$(uid_of alice)
    pw=$(nss_getent passwd alice) || jfa_fail "getent passwd alice"
    [ "$pw" = "alice:*:$uid_a:$uid_a:Alice:/home/alice:/bin/sh" ] || jfa_fail "passwd line: $pw"
    pw=$(nss_getent passwd "$uid_a") || jfa_fail "getent passwd by uid"
    gr=$(nss_getent group jellyfin-users) || jfa_fail "getent group jellyfin-users"
    for u in alice bob carol john_doe; do
        expect_in "$gr" "[:,]$u\(,\|$\)" "$u not in jellyfin-users"
    done
    gr=$(nss_getent group jellyfin-admins) || jfa_fail "getent group jellyfin-admins"
    expect_in "$gr" ":alice$" "admin group members"
    gr=$(nss_getent group alice) || jfa_fail "private group"
    [ "$gr" = "alice:*:$uid_a:" ] || jfa_fail "private group line: $gr"
    gecos=$(nss_getent passwd john_doe | cut -d: -f5)
    [ "$gecos" = "Jöhn Doe" ] || jfa_fail "gecos: $gecos"
fi

# --dry-run writes nothing
fake_users "{\"upsert\": [$(user_json dave $ID_D)]}"
cp "$DB" "$W/db.before"
cp "$LEDGER" "$W/ledger.before"
out=$(jf sync --dry-run) || jfa_fail "dry run failed"
expect_in "$out" "^added    dave" "dry run shows the change"
expect_in "$out" "dry run, nothing written" "dry run summary"
cmp -s "$DB" "$W/db.before" || jfa_fail "dry run changed the db"
cmp -s "$LEDGER" "$W/ledger.before" || jfa_fail "dry run changed the ledger"

# --quiet prints nothing on success
out=$(jf sync --quiet 2>&1) || jfa_fail "quiet sync failed"
[ -z "$out" ] || jfa_fail "quiet sync printed: $out"
[ -n "$(uid_of dave)" ] || jfa_fail "dave missing after sync"

# Public fallback: no key file -> hidden users missing, with a warning
uid_a=$(uid_of alice)
mv "$W/etc/jellyfin-auth.key" "$W/etc/key.away"
out=$(jf sync 2>"$W/err") || { cat "$W/err" >&2; jfa_fail "public sync failed"; }
expect_in "$(cat "$W/err")" "hidden users" "no warning about hidden users"
expect_in "$out" "^removed  alice" "hidden alice still there without a key"
[ -n "$(uid_of bob)" ] || jfa_fail "visible bob missing in the public list"
[ -z "$(uid_of alice)" ] || jfa_fail "alice present without a key"
mv "$W/etc/key.away" "$W/etc/jellyfin-auth.key"
jf sync --quiet || jfa_fail "sync with the key again"
[ "$(uid_of alice)" = "$uid_a" ] || jfa_fail "alice came back with another uid"

# an unsafe or bad key file is an error, never a fallback; db untouched
cp "$DB" "$W/db.before"
chmod 0644 "$W/etc/jellyfin-auth.key"
jf sync >"$W/out" 2>&1 && jfa_fail "sync accepted a group-readable key file"
expect_in "$(cat "$W/out")" "jellyfin-auth.key" "error does not name the key file"
expect_in "$(cat "$W/out")" "left unchanged" "error does not say the db is unchanged"
cmp -s "$DB" "$W/db.before" || jfa_fail "failed sync changed the db"
chmod 0600 "$W/etc/jellyfin-auth.key"
ln -s "$W/etc/jellyfin-auth.key" "$W/etc/link.key"
write_conf "api_key_file = $W/etc/link.key"
jf sync >"$W/out" 2>&1 && jfa_fail "sync followed a symlinked key file"
printf 'not-a-key\n' >"$W/etc/bad.key"
chmod 0600 "$W/etc/bad.key"
write_conf "api_key_file = $W/etc/bad.key"
jf sync >"$W/out" 2>&1 && jfa_fail "sync accepted a malformed key"
expect_in "$(cat "$W/out")" "32 hex" "malformed key message"
printf '0123456789abcdef0123456789abcdef\n' >"$W/etc/bad.key"
jf sync >"$W/out" 2>&1 && jfa_fail "sync accepted a refused key"
expect_in "$(cat "$W/out")" "API key was refused" "refused key message"
cmp -s "$DB" "$W/db.before" || jfa_fail "failed syncs changed the db"

# a shell that is not in /etc/shells: clear error, nothing written
write_conf "shell = $W/etc/bad.key"
jf sync >"$W/out" 2>&1 && jfa_fail "sync accepted a bad shell"
expect_in "$(cat "$W/out")" "shell" "bad shell message"
cmp -s "$DB" "$W/db.before" || jfa_fail "bad shell changed the db"
write_conf

# the API key never appears in any output
grep -rq "$SYNC_KEY" "$W/out" "$W/err" && jfa_fail "API key printed"
out=$(jf --debug sync 2>&1)
expect_not_in "$out" "$SYNC_KEY" "API key printed with --debug"
exit 0
