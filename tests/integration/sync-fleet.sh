#!/bin/sh
# sync-fleet: two machines (two state dirs) syncing the same fake server.
# The deterministic allocator alone does not make them agree: machine A
# gave X the hash slot of Y, X was deleted (its tombstone keeps the UID),
# so Y got the next UID on A; machine B, set up after the deletion, gives
# Y the hash slot. `ledger export` on A and `ledger import` on B: the merge
# reports the conflict and writes nothing; --replace takes A's ledger and
# lists the UID change; after a sync B agrees with A on every UID and GID.
# A machine C that imports before its first sync agrees at once; later
# merges of a ledger with new users work; an import that gives a UID of a
# local account (nss_wrapper) is refused; a malformed export is refused
# with file:line.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"
[ -f "$NSS_WRAPPER_SO" ] || jfa_skip "nss_wrapper not installed"

MIN=200000
MAX=200999
# two Ids whose first UID candidate is the same (a hash collision in a
# 1000-UID range), plus a bystander
set -- $("$PYTHON3" - $MIN $MAX <<'EOF'
import hashlib, sys
lo, hi = int(sys.argv[1]), int(sys.argv[2])
def slot(i):
    d = hashlib.sha256(b"jellyfin-auth uid\0" + i.encode()).digest()
    return lo + int.from_bytes(d[:8], "big") % (hi - lo + 1)
seen = {}
for n in range(100000):
    i = "%032x" % (0xc0111de << 100 | n)
    s = slot(i)
    if s in seen and s + 1 <= hi:
        print(seen[s], i, s)
        break
    seen[s] = i
EOF
)
ID_X=$1
ID_Y=$2
SLOT=$3
[ -n "$SLOT" ] || jfa_fail "no colliding Ids found"
ID_Z=2a000000000000000000000000000009

sync_fixture "[$(user_json Xavier $ID_X), $(user_json Zoe $ID_Z)]"
# machine A and machine B: same server, own state dirs
for m in A B C; do
    sed -e "s|^state_dir = .*|state_dir = $W/state$m|" "$CONF" >"$W/etc/$m.conf"
    printf 'uid_min = %s\nuid_max = %s\n' $MIN $MAX >>"$W/etc/$m.conf"
    chmod 0644 "$W/etc/$m.conf"
done
printf 'localguy:x:%s:%s:Local:/home/localguy:/bin/sh\n' $((SLOT + 500)) $((SLOT + 500)) >"$W/passwd"
printf 'localguy:x:%s:\n' $((SLOT + 500)) >"$W/group"
on() { # on MACHINE ARGS...: the tool with that machine's configuration
    local m=$1
    shift
    env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) NSS_WRAPPER_PASSWD="$W/passwd" \
        NSS_WRAPPER_GROUP="$W/group" "$JFA_TOOL" --config "$W/etc/$m.conf" "$@"
}
uid_on() { on "$1" users 2>/dev/null | awk -v n="$2" '$1 == n { print $2; exit }'; }
ledger_ids() { # ledger_ids MACHINE: "Id uid" and "group gid" lines, sorted
    awk '$1 == "user" { print $2, $3 } $1 == "group" { print $2, $3 }' \
        "$W/state$1/private/ledger" | sort
}

# A: X takes the slot, X is deleted, Y comes and gets the next UID
on A sync --quiet || jfa_fail "A: first sync"
[ "$(uid_on A xavier)" = "$SLOT" ] || jfa_fail "A: xavier not on the hash slot $SLOT"
fake_users '{"delete": ["'$ID_X'"]}'
fake_users "{\"upsert\": [$(user_json Yves $ID_Y)]}"
on A sync --quiet || jfa_fail "A: second sync"
[ "$(uid_on A yves)" = $((SLOT + 1)) ] || jfa_fail "A: yves not on slot + 1"

# B, set up now: never saw X, gives Y the slot. They disagree.
on B sync --quiet || jfa_fail "B: first sync"
[ "$(uid_on B yves)" = "$SLOT" ] || jfa_fail "B: yves not on the slot (the scheme agreed after all?)"
echo "without a shared ledger: yves is uid $(uid_on A yves) on A, $(uid_on B yves) on B"

# export on A; a merge on B reports the conflict and writes nothing
on A ledger export "$W/fleet.ledger" 2>/dev/null || jfa_fail "A: export"
[ "$(stat -c %a "$W/fleet.ledger")" = 600 ] || jfa_fail "export not 0600"
on A ledger export >"$W/fleet.stdout" || jfa_fail "A: export to stdout"
cmp -s "$W/fleet.ledger" "$W/fleet.stdout" || jfa_fail "export to a file and to stdout differ"
cp "$W/stateB/private/ledger" "$W/ledgerB.before"
on B ledger import "$W/fleet.ledger" >"$W/out" 2>&1 && jfa_fail "B: conflicting merge accepted"
expect_in "$(cat "$W/out")" "Jellyfin user Id $ID_Y: uid $SLOT here, $((SLOT + 1)) in the import" \
    "merge conflict not reported"
expect_in "$(cat "$W/out")" "nothing was written" "merge conflict: nothing written not said"
cmp -s "$W/stateB/private/ledger" "$W/ledgerB.before" || jfa_fail "B: a refused merge changed the ledger"

# --replace: A's ledger, the UID change listed; after a sync B agrees with A
out=$(on B ledger import "$W/fleet.ledger" --replace) || jfa_fail "B: replace: $out"
expect_in "$out" "uid change: Jellyfin user Id $ID_Y (yves): $SLOT -> $((SLOT + 1))" "uid change not listed"
on B sync --quiet || jfa_fail "B: sync after import"
[ "$(uid_on B yves)" = $((SLOT + 1)) ] || jfa_fail "B: yves does not follow A"
[ "$(ledger_ids A)" = "$(ledger_ids B)" ] || jfa_fail "A and B disagree after the import"

# C imports before its first sync: agrees at once
out=$(on C ledger import "$W/fleet.ledger") || jfa_fail "C: import into nothing: $out"
on C sync --quiet || jfa_fail "C: first sync"
[ "$(ledger_ids A)" = "$(ledger_ids C)" ] || jfa_fail "C disagrees with A"
on C sync --quiet || jfa_fail "C: second sync"

# a new user found by A later merges into B and C without conflict
ID_W=3a00000000000000000000000000000a
fake_users "{\"upsert\": [$(user_json Walt $ID_W)]}"
on A sync --quiet || jfa_fail "A: sync with walt"
on A ledger export "$W/fleet2.ledger" 2>/dev/null || jfa_fail "A: export 2"
out=$(on B ledger import "$W/fleet2.ledger") || jfa_fail "B: merge 2: $out"
expect_in "$out" "merged .*: 2 new entries, no conflict" "merge 2 output"
on B sync --quiet || jfa_fail "B: sync 2"
[ "$(uid_on B walt)" = "$(uid_on A walt)" ] || jfa_fail "walt differs between A and B"
[ "$(ledger_ids A)" = "$(ledger_ids B)" ] || jfa_fail "A and B disagree after merge 2"

# an import that gives a local account's UID is refused, with --replace too
sed -e "s/^user $ID_W [0-9]* /user $ID_W $((SLOT + 500)) /" "$W/fleet2.ledger" >"$W/bad.ledger"
chmod 0600 "$W/bad.ledger"
on C ledger import "$W/bad.ledger" --replace >"$W/out" 2>&1 && jfa_fail "local uid imported"
expect_in "$(cat "$W/out")" "uid $((SLOT + 500)) is a local user or group here" "local uid not named"
# a malformed export: file:line
printf 'jellyfin-auth-ledger 2\nuser nope\n' >"$W/junk.ledger"
on C ledger import "$W/junk.ledger" >"$W/out" 2>&1 && jfa_fail "junk imported"
expect_in "$(cat "$W/out")" "junk.ledger:2:" "junk: no file:line"
# a world-writable export is not trusted
chmod 0666 "$W/fleet2.ledger"
on C ledger import "$W/fleet2.ledger" >"$W/out" 2>&1 && jfa_fail "world-writable import accepted"
exit 0
