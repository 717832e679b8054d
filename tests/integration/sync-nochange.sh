#!/bin/sh
# sync-nochange: the timer runs every minute, so a sync that finds nothing
# changed writes nothing: users.db and the ledger keep their inode and
# mtime (no NSS process remaps, no disk write), the sync report only gets
# its mtime touched (status and doctor read the last sync time from it).
# Any change writes: a new user, a flag, a user left out (report only), a
# deletion (tombstone), an override set between two syncs (ledger only).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_B=b0b00000000000000000000000000002
ID_D=d0c00000000000000000000000000003
ID_E=e0e00000000000000000000000000004
sync_fixture "[$(user_json Alice $ID_A), $(user_json bob $ID_B)]"
jf sync --quiet || jfa_fail "first sync"

ident() { stat -c '%i %y' "$1"; } # inode and mtime (ns)
same() { # same WHAT: sync, nothing written
    local db led rep out
    db=$(ident "$DB"); led=$(ident "$LEDGER"); rep=$(cat "$W/state/sync-report")
    out=$(jf sync) || jfa_fail "sync ($1)"
    expect_in "$out" "no change, nothing written" "$1: not reported as unchanged"
    [ "$(ident "$DB")" = "$db" ] || jfa_fail "$1: users.db rewritten"
    [ "$(ident "$LEDGER")" = "$led" ] || jfa_fail "$1: ledger rewritten"
    [ "$(cat "$W/state/sync-report")" = "$rep" ] || jfa_fail "$1: report content changed"
}
changed() { # changed WHAT FILE...: sync, and each FILE was replaced
    local f out ids=""
    for f in "$@"; do [ -f "$f" ] && ids="$ids|$(ident "$f")"; done
    out=$(jf sync) || jfa_fail "sync (change)"
    expect_not_in "$out" "no change" "a change was reported as none"
    for f in "$@"; do
        case "$ids" in *"|$(ident "$f")"*) jfa_fail "$f not rewritten after a change" ;; esac
    done
}

same "steady state"
same "steady state, again"
touched=$(stat -c %y "$W/state/sync-report")

fake_users "{\"upsert\": [$(user_json Erin $ID_E)]}"
changed "$DB" "$LEDGER"
[ -n "$(uid_of erin)" ] || jfa_fail "erin not added"
same "after the new user"

fake_users '{"upsert": [{"id": "'$ID_B'", "is_disabled": true}]}'
changed "$DB"
same "after disabling bob"

fake_users "{\"upsert\": [$(user_json docker $ID_D)]}"
changed "$W/state/sync-report"
expect_in "$(jf users)" "\"docker\" (Id $ID_D)" "report lacks docker"
same "after docker left out"

jf names set $ID_D jf-docker >/dev/null || jfa_fail "names set"
changed "$DB" "$LEDGER"
[ -n "$(uid_of jf-docker)" ] || jfa_fail "override not applied"

fake_users '{"delete": ["'$ID_E'"]}'
changed "$DB" "$LEDGER"
grep -q "^user $ID_E [0-9]* deleted erin " "$LEDGER" || jfa_fail "no tombstone"
same "after the deletion"

# an unchanged sync still tells when it ran
[ "$(stat -c %y "$W/state/sync-report")" != "$touched" ] || jfa_fail "report mtime not touched"
exit 0
