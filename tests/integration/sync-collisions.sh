#!/bin/sh
# sync-collisions: two Jellyfin users mapping to one name (neither held it:
# both left out; the holder keeps it), reserved names, names of local
# accounts and local groups (injected with nss_wrapper), a local users_group
# (its gid is used, the database does not define it), and our own database
# served back through NSS is not mistaken for local accounts.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"
[ -f "$NSS_WRAPPER_SO" ] || jfa_skip "nss_wrapper not installed"

ID_J1=10400000000000000000000000000001
ID_J2=10400000000000000000000000000002
ID_J3=10400000000000000000000000000003
ID_R=2007000000000000000000000000000a
ID_N=2007000000000000000000000000000b
ID_L=10ca1000000000000000000000000001
ID_G=10ca1000000000000000000000000002
ID_A=a11ce000000000000000000000000001
ID_X=a11ce000000000000000000000000002
sync_fixture "[$(user_json John $ID_J1), $(user_json 'Jöhn' $ID_J2),
 $(user_json root $ID_R), $(user_json NoBody $ID_N), $(user_json 'systemd-x' $ID_X),
 $(user_json localguy $ID_L), $(user_json LocalGrp $ID_G), $(user_json alice $ID_A)]"

# local accounts and groups only nss_wrapper knows about
printf 'localguy:x:4000:4000:Local:/home/localguy:/bin/sh\n' >"$W/passwd"
printf 'localgrp:x:4001:\nlocalguy:x:4000:\n' >"$W/group"
jfw() {
    env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) NSS_WRAPPER_PASSWD="$W/passwd" \
        NSS_WRAPPER_GROUP="$W/group" "$JFA_TOOL" "$@"
}

# both ways of knowing the host: one listing (the default here), and one
# NSS query per name and id
for lookup in each list; do
    if [ $lookup = each ]; then
        out=$(JELLYFIN_AUTH_SYNC_LOOKUP=each jfw --debug sync --dry-run 2>"$W/err") ||
            jfa_fail "per-name sync failed"
        expect_in "$(cat "$W/err")" "per-name NSS lookups" "per-name mode not used"
    else
        out=$(jfw --debug sync 2>"$W/err") || jfa_fail "sync failed"
        expect_in "$(cat "$W/err")" "enumerated once" "listing mode not used"
    fi
expect_in "$out" "omitted  \"John\" (Id $ID_J1): login name \"john\" is claimed by 2" "John"
expect_in "$out" "omitted  \"Jöhn\" (Id $ID_J2): login name \"john\" is claimed by 2" "Jöhn"
expect_in "$out" "omitted  \"root\" (Id $ID_R): mapped name \"root\" is reserved" "root"
expect_in "$out" "omitted  \"NoBody\" (Id $ID_N): .*reserved" "nobody"
expect_in "$out" "omitted  \"systemd-x\" (Id $ID_X): .*reserved" "systemd-*"
expect_in "$out" "omitted  \"localguy\" (Id $ID_L): login name \"localguy\" is a local account" \
    "local account"
expect_in "$out" "omitted  \"LocalGrp\" (Id $ID_G): login name \"localgrp\" is a local group" \
    "local group"
expect_in "$out" "^sync: 1 users in the database .* 7 left out" "summary ($lookup)"
done
users=$(jf users)
expect_in "$users" "Left out at the last sync: 7" "users lists the omissions"
expect_in "$users" "\"Jöhn\" (Id $ID_J2): login name \"john\" is claimed by 2" "users reason"
grep -q "$ID_J1" "$LEDGER" && jfa_fail "an omitted user got a uid"

# the holder keeps its name: John alone first, then Jöhn comes back
fake_users '{"delete": ["'$ID_J2'"]}'
jfw sync --quiet || jfa_fail "sync"
uj=$(uid_of john)
[ -n "$uj" ] || jfa_fail "john not added once alone"
fake_users "{\"upsert\": [$(user_json 'Jöhn' $ID_J2)]}"
out=$(jfw sync) || jfa_fail "sync"
expect_in "$out" "omitted  \"Jöhn\" (Id $ID_J2): login name \"john\" is held by Jellyfin user Id $ID_J1" \
    "holder rule"
[ "$(uid_of john)" = "$uj" ] || jfa_fail "holder lost its uid"

# our own entries served back through NSS are ours, not local accounts
if [ -f "$JFA_NSS_SO" ]; then
    out=$(env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) \
        NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group" \
        NSS_WRAPPER_MODULE_SO_PATH="$JFA_NSS_SO" NSS_WRAPPER_MODULE_FN_PREFIX=jellyfin \
        JELLYFIN_AUTH_DB="$DB" "$JFA_TOOL" sync) || jfa_fail "sync through our NSS module"
    expect_not_in "$out" "omitted  \"alice\"" "alice (ours) taken for a local account"
    out=$(env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) \
        NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group" \
        NSS_WRAPPER_MODULE_SO_PATH="$JFA_NSS_SO" NSS_WRAPPER_MODULE_FN_PREFIX=jellyfin \
        JELLYFIN_AUTH_DB="$DB" JELLYFIN_AUTH_SYNC_LOOKUP=each "$JFA_TOOL" sync --dry-run) ||
        jfa_fail "per-name sync through our NSS module"
    expect_not_in "$out" "omitted  \"alice\"" "per-name: alice (ours) taken for a local account"
    expect_not_in "$out" "^removed" "per-name: our own users removed when NSS serves them"
    expect_not_in "$out" "^removed" "our own users removed when NSS serves them"
    [ -n "$(uid_of alice)" ] || jfa_fail "alice lost"
    grep -q '^group jellyfin-users ' "$LEDGER" || jfa_fail "our users_group taken for a local one"
fi

# a local users_group: its gid is used, the database does not define it
printf 'localgrp:x:4001:\nlocalguy:x:4000:\njellyfin-users:x:4242:\n' >"$W/group"
jfw sync --quiet || jfa_fail "sync with a local users_group"
if have_nss; then
    nss_getent group jellyfin-users >/dev/null && jfa_fail "db still defines jellyfin-users"
    nss_getent group jellyfin-admins >/dev/null || jfa_fail "db lost jellyfin-admins"
fi
exit 0
