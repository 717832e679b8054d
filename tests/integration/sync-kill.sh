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
while [ $i -lt 30 ]; do
    i=$((i + 1))
    # a change on every round: a rename, so old and new files differ
    fake_users "{\"upsert\": [{\"id\": \"$(printf '%032x' $i)\", \"name\": \"renamed$i\"}]}"
    if [ $((i % 5)) = 0 ]; then
        fake_fault '{"mode": "slow", "delay": 1, "paths": ["/Users"], "count": 1}'
    fi
    jf sync --quiet >/dev/null 2>&1 &
    pid=$!
    # somewhere between 0 and ~0.25 s in
    sleep "0.$(printf '%02d' $(( (i * 37) % 25 )))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    fake_fault '{"mode": "none"}'
    check_state "round $i"
    n_tmp=$(ls "$W/state" "$W/state/private" | grep -c '\.tmp\.')
    [ "$n_tmp" -le 3 ] || jfa_fail "round $i: $n_tmp temporary files pile up"
done

# a complete sync cleans up whatever the killed ones left
jf sync --quiet || jfa_fail "final sync"
check_state "final"
ls "$W/state" "$W/state/private" | grep -q '\.tmp\.' && jfa_fail "temporary files left after a full sync"
[ -n "$(uid_of renamed30)" ] || jfa_fail "the last rename is missing"
exit 0
