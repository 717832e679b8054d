#!/bin/sh
# sync-names: the administrator's overrides (`names set|unset|list`) and the
# Admin rule. A Jellyfin user named Admin gets "jf-admin" without a manual
# step; `users` prints, for each user left out, a `names set` command that
# works when pasted; an override survives renames and wins over another
# user's mapping; `set` refuses a name another Id claims (the release rule),
# a reserved name, a local account and another Id's override; `unset`
# leaves the name claimed by its Id. Also case folding: the database
# carries the fold flags unless case_sensitive = yes, and NSS answers
# getent passwd Alice with alice's canonical entry.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_ADM=ad000000000000000000000000000001
ID_D=d0c00000000000000000000000000002
ID_A=a11ce000000000000000000000000003
ID_B=b0b00000000000000000000000000004
ID_J=10400000000000000000000000000005
ID_L=10ca1000000000000000000000000006
ID_N=0e000000000000000000000000000007
sync_fixture "[$(user_json Admin $ID_ADM '"is_administrator": true'),
 $(user_json docker $ID_D), $(user_json Alice $ID_A), $(user_json bob $ID_B),
 $(user_json 'Jöhn Q' $ID_J)]"

# local accounts only nss_wrapper knows about (for the local-account rule)
printf 'localguy:x:4000:4000:Local:/home/localguy:/bin/sh\n' >"$W/passwd"
printf 'localguy:x:4000:\n' >"$W/group"
jfw() {
    env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) NSS_WRAPPER_PASSWD="$W/passwd" \
        NSS_WRAPPER_GROUP="$W/group" "$JFA_TOOL" "$@"
}

# --- the Admin rule -----------------------------------------------------------
out=$(jf sync) || jfa_fail "first sync"
expect_in "$out" "^added    jf-admin (uid [0-9]*, Jellyfin \"Admin\"): login name jf-admin, \"admin\" is reserved" \
    "Admin not mapped to jf-admin, or the reason not printed"
expect_in "$out" "omitted  \"docker\" (Id $ID_D): mapped name \"docker\" is reserved" "docker"
expect_in "$out" "'jellyfin-auth users' prints the command" "sync does not point at users"
[ -n "$(uid_of jf-admin)" ] || jfa_fail "jf-admin not in the database"

# --- users prints the exact command; pasting it works ---------------------------
users=$(jf users)
expect_in "$users" "^    to give it a login: jellyfin-auth names set $ID_D jf-docker$" \
    "users does not print the names set command for docker"
cmd=$(printf '%s\n' "$users" | sed -n "s/^    to give it a login: jellyfin-auth //p" | head -1)
[ -n "$cmd" ] || jfa_fail "no command to paste"
out=$(jf $cmd) || jfa_fail "pasted command failed: $out"
expect_in "$out" "gets the login name jf-docker from the next sync on" "set output"
grep -q "^jellyfin-auth-ledger 3$" "$LEDGER" || jfa_fail "ledger not version 3 with an override"
grep -q "^override $ID_D jf-docker [0-9]*$" "$LEDGER" || jfa_fail "override not in the ledger"
out=$(jf sync) || jfa_fail "sync after set"
expect_in "$out" "^added    jf-docker .*set by 'jellyfin-auth names set'" "override not applied"
ud=$(uid_of jf-docker)
[ -n "$ud" ] || jfa_fail "jf-docker missing"
expect_in "$(jf names list)" "^jf-docker  *$ID_D" "names list does not show the override"

# an override survives a rename on the server
fake_users '{"upsert": [{"id": "'$ID_D'", "name": "Dockerhub"}]}'
jf sync --quiet || jfa_fail "sync after rename"
[ "$(uid_of jf-docker)" = "$ud" ] || jfa_fail "override lost on rename"
[ -z "$(uid_of dockerhub)" ] || jfa_fail "rename took over the override"

# a user with an override renames itself to a name the database cannot hold
# (Jellyfin's name rule accepts a final newline; its length is not enforced):
# that user is left out, the sync goes on for everyone else
long=$(printf 'x%.0s' $(seq 5000))
for bad in 'Dockerhub\n' "$long"; do
    fake_users "{\"upsert\": [{\"id\": \"$ID_D\", \"name\": \"$bad\"},
        {\"id\": \"$ID_B\", \"name\": \"bob\", \"is_disabled\": true}]}"
    out=$(jf sync 2>&1) || jfa_fail "a hostile name of the override's user failed the sync: $out"
    expect_in "$out" "^omitted .*(Id $ID_D): the Jellyfin name cannot be stored" \
        "override's user with a hostile name not left out"
    expect_in "$(jf users)" "^bob .* yes$" "bob's disable not applied"
    [ -z "$(uid_of jf-docker)" ] || jfa_fail "jf-docker kept with a hostile Jellyfin name"
    grep -q "^user $ID_D $ud active " "$LEDGER" || jfa_fail "left-out user became a tombstone"
    fake_users '{"upsert": [{"id": "'$ID_D'", "name": "Dockerhub"},
        {"id": "'$ID_B'", "name": "bob", "is_disabled": false}]}'
    jf sync --quiet || jfa_fail "sync after the name is fixed"
    [ "$(uid_of jf-docker)" = "$ud" ] || jfa_fail "jf-docker not back with its uid"
done

# by Jellyfin name (case-insensitive, as Jellyfin), and a rename by override
ub=$(uid_of bob)
out=$(jf names set 'JÖHN Q' johnq 2>&1) && jfa_fail "name matching folds ASCII only: $out"
out=$(jf names set 'JöHN q' johnq 2>&1) || jfa_fail "set by Jellyfin name: $out"
expect_in "$out" "Id $ID_J (\"Jöhn Q\")" "set by name resolved the wrong user"
out=$(jf names set BOB robert) || jfa_fail "set by name bob: $out"
expect_in "$out" "current login name bob stays claimed by it" "set does not say the old name stays"
out=$(jf sync) || jfa_fail "sync"
expect_in "$out" "^renamed  bob -> robert (uid $ub): set by" "bob not renamed by override"
[ -n "$(uid_of johnq)" ] || jfa_fail "johnq missing"

# --- set refuses what would hand a name over ------------------------------------
cp "$LEDGER" "$W/ledger.before"
refuse() { # refuse MSG-PATTERN ARGS...
    local pat=$1
    shift
    jfw names set "$@" >"$W/out" 2>&1 && jfa_fail "names set $* accepted"
    expect_in "$(cat "$W/out")" "$pat" "names set $*: wrong refusal"
    cmp -s "$LEDGER" "$W/ledger.before" || jfa_fail "names set $* changed the ledger"
}
# bob is claimed by bob's Id (renamed away): never to another Id without release
refuse "login name bob is claimed by Jellyfin user Id $ID_B (renamed-away).*names release bob" \
    $ID_A bob
refuse "login name alice is claimed by Jellyfin user Id $ID_A (active)" $ID_J alice
refuse "login name jf-docker is claimed by Jellyfin user Id $ID_D" $ID_A jf-docker
refuse "is reserved" $ID_A root
refuse "is reserved" $ID_A sudo
refuse "is reserved" $ID_A jellyfin-users
refuse "login name localguy is a local account" $ID_A localguy
refuse "not a login name" $ID_A Alice
refuse "no Jellyfin user named \"nobody-here\"" nobody-here somename
# an override name not yet claimed is still another Id's
fake_users "{\"upsert\": [$(user_json Newcomer $ID_N)]}"
jf names set $ID_N fresh >/dev/null || jfa_fail "set for a user not synced yet (by Id)"
cp "$LEDGER" "$W/ledger.before"
refuse "already the override of Jellyfin user Id $ID_N" $ID_A fresh
# the override wins over a user whose Jellyfin name maps to it
fake_users "{\"upsert\": [$(user_json Fresh $ID_L)]}"
out=$(jf sync) || jfa_fail "sync with competing names"
expect_in "$out" "omitted  \"Fresh\" (Id $ID_L): login name \"fresh\" is given to Jellyfin user Id $ID_N by 'jellyfin-auth names set'" \
    "override did not win"
[ -n "$(uid_of fresh)" ] || jfa_fail "fresh (override) missing"

# --- unset: back to the mapping; the name stays claimed ---------------------------
out=$(jf names unset $ID_D) || jfa_fail "unset: $out"
expect_in "$out" "jf-docker stays claimed by this Id" "unset output"
grep -q "^override $ID_D " "$LEDGER" && jfa_fail "override still in the ledger"
jf names unset $ID_D >"$W/out" 2>&1 && jfa_fail "unset twice accepted"
out=$(jf sync) || jfa_fail "sync after unset"
expect_in "$out" "^renamed  jf-docker -> dockerhub (uid $ud)" "unset not applied (Dockerhub maps again)"
expect_in "$(jf names list)" "^jf-docker  *$ID_D  *renamed-away" "jf-docker no longer claimed"
for id in $ID_J $ID_B $ID_N; do jf names unset $id >/dev/null || jfa_fail "unset $id"; done
grep -q "^jellyfin-auth-ledger 2$" "$LEDGER" || jfa_fail "ledger without overrides not version 2"

# --- case folding -----------------------------------------------------------------
if have_nss; then
    line=$(nss_getent passwd Alice) || jfa_fail "getent passwd Alice: not found"
    expect_in "$line" "^alice:\*:$(uid_of alice):" "getent passwd Alice: not alice's entry"
    line=$(nss_getent passwd ALICE) || jfa_fail "getent passwd ALICE: not found"
    expect_in "$line" "^alice:" "ALICE"
    line=$(nss_getent group Alice) || jfa_fail "getent group Alice: not found"
    expect_in "$line" "^alice:" "getent group Alice"
    line=$(nss_getent group JELLYFIN-Users) || jfa_fail "getent group JELLYFIN-Users"
    expect_in "$line" "^jellyfin-users:" "getent group JELLYFIN-Users"
    nss_getent passwd root >/dev/null && jfa_fail "root answered"
    nss_getent passwd ROOT >/dev/null && jfa_fail "ROOT answered"
    write_conf "case_sensitive = yes"
    jf sync --quiet || jfa_fail "sync, case_sensitive = yes"
    nss_getent passwd Alice >/dev/null && jfa_fail "case_sensitive = yes: Alice still found"
    nss_getent group Alice >/dev/null && jfa_fail "case_sensitive = yes: group Alice still found"
    nss_getent passwd alice >/dev/null || jfa_fail "case_sensitive = yes: alice not found"
    write_conf
    jf sync --quiet || jfa_fail "sync, default again"
    nss_getent passwd Alice >/dev/null || jfa_fail "default: Alice not found again"
fi
exit 0
