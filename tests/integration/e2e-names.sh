#!/bin/bash
# tests/integration/e2e-names.sh - a login name, and every local grant on
# it, never passes to another Jellyfin user by itself: real sshd, the
# installed modules, the fake Jellyfin over HTTPS, Jellyfin users renaming
# themselves through the real endpoint (POST /Users?userId= with their own
# token). Root only (namespace).
#
# Owns: A. delete then rename: bob (a member of the local group grp-media)
# is deleted, dave renames himself "bob": after a sync, `ssh bob@` with
# dave's password is refused and nothing resolves "bob" to dave's uid;
# `users` shows the clash and the release command; after
# `jellyfin-auth names release bob` and a sync, dave is bob (with the
# grants: the administrator's decision). B. rename: erin (in grp-media)
# renames herself "robin" and keeps her uid; frank renames himself "erin":
# refused likewise; once frank renames away, robin renaming back gets
# "erin" (and grp-media) again.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
e2e_system
groupadd grp-media || jfa_fail "groupadd grp-media"
e2e_jellyfin
e2e_start_sshd

PW_erin=erin-pw-5
PW_frank=frank-pw-6
ID_erin=e0e00000000000000000000000000005
ID_frank=f0f00000000000000000000000000006

ssh_refused() {
    e2e_ssh "$1" "$2" password echo LOGGED-IN
    [ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q LOGGED-IN && return 0
    echo "$1 logged in over SSH: $OUT"
    return 1
}
refused() { e2e_expect_refusal "$3" ssh_refused "$1" "$2"; }

# uid_of NAME: the uid NSS gives, or nothing
uid_of() { getent passwd "$1" | cut -d: -f3; }

# login_ids USER PASSWORD: OUT gets `id -u` and `id -Gn` of an SSH login as USER
login_ids() {
    e2e_ssh "$1" "$2" password 'echo "uid=$(id -u) groups=$(id -Gn)"'
    [ "$RC" = 0 ] || e2e_fail "$1 cannot log in over SSH: $OUT"
}

# 0. bob is in the local group grp-media (the grant that must not travel).
gpasswd -a bob grp-media >/dev/null || e2e_fail "gpasswd -a bob grp-media"
uid_bob=$(uid_of bob)
uid_dave=$(uid_of dave)
[ -n "$uid_bob" ] && [ -n "$uid_dave" ] || e2e_fail "bob or dave not synced"
login_ids bob "$E2E_PW_bob"
case "$OUT" in *"uid=$uid_bob "*grp-media*) ;; *) e2e_fail "bob lacks grp-media: $OUT" ;; esac

# A. delete then rename
jfa_fake_ctl "$URL" POST /__fake/users "{\"delete\": [\"$E2E_ID_bob\"]}" >/dev/null ||
    e2e_fail "cannot delete bob in the fake"
e2e_sync
[ -z "$(uid_of bob)" ] || e2e_fail "deleted bob still resolves"
e2e_self_rename dave "$E2E_PW_dave" bob
e2e_sync
refused bob "$E2E_PW_dave" "dave as bob after bob's deletion"
e2e_check_refusals
[ -z "$(uid_of bob)" ] || e2e_fail "\"bob\" resolves to uid $(uid_of bob) after dave took the name"
getent passwd "$uid_dave" >/dev/null && e2e_fail "dave's uid resolves: $(getent passwd "$uid_dave")"
id bob >/dev/null 2>&1 && e2e_fail "id bob: $(id bob)"
grep -q "omitted  \"bob\" (Id $E2E_ID_dave): login name \"bob\" is claimed by deleted Jellyfin user Id $E2E_ID_bob.*jellyfin-auth names release bob" \
    "$W/sync.log" || { cat "$W/sync.log"; e2e_fail "sync does not report the clash"; }
OUT=$(jellyfin-auth users) || e2e_fail "jellyfin-auth users failed"
printf '%s\n' "$OUT" | grep -q "\"bob\" (Id $E2E_ID_dave): .*deleted Jellyfin user Id $E2E_ID_bob.*jellyfin-auth names release bob" ||
    e2e_fail "users does not show the clash: $OUT"
OUT=$(jellyfin-auth names list) || e2e_fail "names list failed"
printf '%s\n' "$OUT" | grep -Eq "^bob +$E2E_ID_bob +deleted$" || e2e_fail "names list: $OUT"

# the administrator's explicit decision: dave becomes bob, grants and all
OUT=$(jellyfin-auth names release bob) || e2e_fail "names release bob: $OUT"
printf '%s\n' "$OUT" | grep -q "released bob (claimed by Jellyfin user Id $E2E_ID_bob, deleted)" ||
    e2e_fail "release output: $OUT"
# bob's home stays bob's: dave is refused it (e2e-home-handover.sh) until
# the administrator moves it away
mv /home/bob /home/bob.old || e2e_fail "mv /home/bob"
e2e_sync
[ "$(uid_of bob)" = "$uid_dave" ] || e2e_fail "after the release bob is uid $(uid_of bob), not dave's $uid_dave"
login_ids bob "$E2E_PW_dave"
case "$OUT" in *"uid=$uid_dave "*grp-media*) ;; *) e2e_fail "dave as bob after the release: $OUT" ;; esac

# B. rename: erin renames herself "robin", frank renames himself "erin"
jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [
    {\"name\": \"erin\", \"id\": \"$ID_erin\", \"password\": \"$PW_erin\"},
    {\"name\": \"frank\", \"id\": \"$ID_frank\", \"password\": \"$PW_frank\"}]}" >/dev/null ||
    e2e_fail "cannot add erin and frank"
e2e_sync
gpasswd -a erin grp-media >/dev/null || e2e_fail "gpasswd -a erin grp-media"
uid_erin=$(uid_of erin)
uid_frank=$(uid_of frank)
[ -n "$uid_erin" ] && [ -n "$uid_frank" ] || e2e_fail "erin or frank not synced"
e2e_self_rename erin "$PW_erin" robin
e2e_sync
[ "$(uid_of robin)" = "$uid_erin" ] || e2e_fail "renamed erin lost her uid"
login_ids robin "$PW_erin"
case "$OUT" in *"uid=$uid_erin "*) ;; *) e2e_fail "robin: $OUT" ;; esac
e2e_self_rename frank "$PW_frank" erin
e2e_sync
refused erin "$PW_frank" "frank as erin after erin's rename"
e2e_check_refusals
[ -z "$(uid_of erin)" ] || e2e_fail "\"erin\" resolves to uid $(uid_of erin) after frank took the name"
getent passwd "$uid_frank" >/dev/null && e2e_fail "frank's uid resolves: $(getent passwd "$uid_frank")"
grep -q "omitted  \"erin\" (Id $ID_frank): login name \"erin\" is claimed by Jellyfin user Id $ID_erin, renamed to \"robin\".*jellyfin-auth names release erin" \
    "$W/sync.log" || { cat "$W/sync.log"; e2e_fail "sync does not report the rename clash"; }
OUT=$(jellyfin-auth users) || e2e_fail "jellyfin-auth users failed"
printf '%s\n' "$OUT" | grep -q "\"erin\" (Id $ID_frank): .*renamed to \"robin\".*jellyfin-auth names release erin" ||
    e2e_fail "users does not show the rename clash: $OUT"
OUT=$(jellyfin-auth names list)
printf '%s\n' "$OUT" | grep -Eq "^erin +$ID_erin +renamed-away$" || e2e_fail "names list: $OUT"
# frank gives up (Jellyfin names are unique) and robin renames back: the
# holder gets its name back, frank keeps his uid under his new name
e2e_self_rename erin "$PW_frank" fred
e2e_self_rename robin "$PW_erin" erin
e2e_sync
[ "$(uid_of erin)" = "$uid_erin" ] || e2e_fail "erin did not get her name back"
[ "$(uid_of fred)" = "$uid_frank" ] || e2e_fail "fred is not frank's uid"
login_ids erin "$PW_erin"
case "$OUT" in *"uid=$uid_erin "*grp-media*) ;; *) e2e_fail "erin back: $OUT" ;; esac

e2e_nosecret
echo "PASS: names and their grants stay with their Jellyfin Id"
exit 0
