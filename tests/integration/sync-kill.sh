#!/bin/sh
# sync-kill: kill -9 the sync at random points, many times (while the fake
# answers slowly, and while it writes). The database is always a complete
# old or new file (full integrity check), every UID in it is in the ledger,
# the ledger always parses, and temporary files never pile up: a sync that
# runs to the end removes any left by a killed one (cleanup rule: each sync
# deletes stale users.db.tmp.*, sync-report.tmp.* and private/ledger.tmp.*
# while it holds the sync lock).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

# 1500 users: a sync takes long enough to be hit while writing
"$PYTHON3" -c 'import json
print(json.dumps([{"name": "user%04d" % i, "id": "%032x" % (i + 1), "password": "x"}
                  for i in range(1500)]))' >"$W/users.json"
sync_fixture "$(cat "$W/users.json")"
jf sync --quiet || jfa_fail "first sync"
# how long a sync takes here: kill points are spread around its end, where
# it writes
t0=$(date +%s%N)
jf sync --quiet || jfa_fail "second sync"
t1=$(date +%s%N)
T=$(( (t1 - t0) / 1000000 ))

check_state() {
    local what=$1
    out=$(jf doctor 2>&1)
    expect_in "$out" "^OK    integrity" "$what: database failed the integrity check"
    expect_in "$out" "^OK    ledger" "$what: ledger does not parse"
    # every uid in the database is in the ledger
    jf users | awk '$2 ~ /^[0-9]+$/ { print $2 }' | sort >"$W/db-uids"
    awk '$1 == "user" { print $3 }' "$LEDGER" | sort >"$W/ledger-uids"
    [ -z "$(comm -23 "$W/db-uids" "$W/ledger-uids")" ] ||
        jfa_fail "$what: the database has uids the ledger does not know"
}

i=0
old=0
new=0
while [ $i -lt 30 ]; do
    i=$((i + 1))
    # a change on every round: a rename, so old and new files differ
    fake_users "{\"upsert\": [{\"id\": \"$(printf '%032x' $i)\", \"name\": \"renamed$i\"}]}"
    if [ $((i % 5)) = 0 ]; then
        fake_fault '{"mode": "slow", "delay": 1, "paths": ["/Users"], "count": 1}'
    fi
    cp "$DB" "$W/db.prev"
    "$JFA_TOOL" sync --quiet >/dev/null 2>&1 &
    pid=$!
    # between 50% and 110% of a sync's duration (the slow rounds die waiting)
    ms=$(( T * (50 + (i * 37) % 61) / 100 ))
    sleep "$(awk -v ms=$ms 'BEGIN { printf "%.3f", ms / 1000 }')"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    fake_fault '{"mode": "none"}'
    check_state "round $i"
    if cmp -s "$DB" "$W/db.prev"; then old=$((old + 1)); else new=$((new + 1)); fi
    n_tmp=$(ls "$W/state" "$W/state/private" | grep -c '\.tmp\.')
    [ "$n_tmp" -le 3 ] || jfa_fail "round $i: $n_tmp temporary files pile up"
done

echo "sync takes ~${T} ms; killed syncs: $old left the old database, $new completed the new one"

# a complete sync cleans up whatever the killed ones left (and only that)
: >"$W/state/users.db.tmp.AbC123"
: >"$W/state/sync-report.tmp.x1y2z3"
: >"$W/state/private/ledger.tmp.QQQQQQ"
: >"$W/state/users.db.tmp.not-ours"
: >"$W/state/notes.tmp.AbC123"
jf sync --quiet || jfa_fail "final sync"
[ -e "$W/state/users.db.tmp.not-ours" ] || jfa_fail "cleanup removed a file outside its rule"
[ -e "$W/state/notes.tmp.AbC123" ] || jfa_fail "cleanup removed another file"
rm -f "$W/state/users.db.tmp.not-ours" "$W/state/notes.tmp.AbC123"
check_state "final"
ls "$W/state" "$W/state/private" | grep -q '\.tmp\.' && jfa_fail "temporary files left after a full sync"
[ -n "$(uid_of renamed30)" ] || jfa_fail "the last rename is missing"

# concurrent syncs serialise on the lock: both succeed, one ledger entry
fake_users '{"upsert": [{"id": "0000000000000000000000000000ffff", "name": "late", "password": "x"}]}'
"$JFA_TOOL" sync --quiet & p1=$!
"$JFA_TOOL" sync --quiet & p2=$!
wait $p1 || jfa_fail "concurrent sync 1 failed"
wait $p2 || jfa_fail "concurrent sync 2 failed"
[ "$(grep -c '^user 0000000000000000000000000000ffff ' "$LEDGER")" = 1 ] || jfa_fail "ledger entry count"
check_state "concurrent"
exit 0
