#!/bin/bash
# pam-throttle.sh - local throttling protects Jellyfin's lockout: after
# throttle_failures failures, logins are refused without asking the server,
# per user and per remote host; a success clears the count.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
write_conf "$URL" "throttle_failures = 3" "throttle_window = 15m" "throttle_max_delay = 1h" \
    "offline_max_age = 0"
# Jellyfin itself would lock grace out after 5 failures.
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", \"login_attempts_before_lockout\": 5}]}" >/dev/null

# --- a success clears the count ---
for i in 1 2; do pt wrong jellyfin grace authenticate; done
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "success before the threshold"
for i in 1 2; do pt wrong jellyfin grace authenticate; done
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "count was cleared by the success"

# --- spraying one user: the server sees 3 failures, then only one try per
# back-off step (10 s, then 20 s, 40 s ...), and never locks grace out ---
before=$(fake_get auth_requests)
start=$(date +%s)
for i in 1 2 3; do pt "wrong-$i" jellyfin grace authenticate; done
asked=$(($(fake_get auth_requests) - before))
[ "$asked" = 3 ] || jfa_fail "the server was asked $asked times for the first 3 failures"
# Straight after the third failure even the right password is refused unasked.
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "right password while throttled" "Authentication failure"
[ "$(($(fake_get auth_requests) - before))" = 3 ] || jfa_fail "asked the server while throttled"
grep -q "too many failed logins for 'grace'" "$W/module.log" || jfa_fail "throttling not logged"
for i in $(seq 4 20); do pt "wrong-$i" jellyfin grace authenticate; done
asked=$(($(fake_get auth_requests) - before))
# The spray takes a few seconds, but a loaded machine may take longer: the
# bound follows the clock (exact timings are pinned in test_state.c).
elapsed=$(($(date +%s) - start + 1))
allowed=3 step=10 t=10
while [ "$t" -le "$elapsed" ]; do allowed=$((allowed + 1)) step=$((step * 2)) t=$((t + step)); done
echo "20 sprayed passwords in ${elapsed}s: the server was asked $asked times (bound $allowed)"
[ "$asked" -ge 3 ] && [ "$asked" -le "$allowed" ] ||
    jfa_fail "the server was asked $asked times for 20 sprayed passwords in ${elapsed}s"
locked=$(jfa_fake_ctl "$URL" GET /__fake/state | "$PYTHON3" -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["name"] == "grace"][0]
print("yes" if u["is_disabled"] else "no")')
# Jellyfin locks grace out at its 5th failure, which throttling keeps away.
[ "$locked" = "$([ "$asked" -ge 5 ] && echo yes || echo no)" ] ||
    jfa_fail "grace locked out: $locked after $asked failures reached Jellyfin"
# other users are not affected
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice is not throttled"
[ "$(stat -c %a "$W/state/private/throttle")" = 700 ] || jfa_fail "throttle dir is not 0700"

# --- per remote host: failures for different users from one host ---
for u in carol frank dave; do pt wrong -Irhost=198.51.100.7 jellyfin "$u" authenticate; done
before=$(fake_get auth_requests)
pt "$PW_ALICE" -Irhost=198.51.100.7 jellyfin alice authenticate
expect_err "alice from the spraying host" "Authentication failure"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "asked the server for a throttled host"
grep -q "too many failed logins from 198.51.100.7" "$W/module.log" || jfa_fail "host throttle not logged"
pt "$PW_ALICE" -Irhost=198.51.100.8 jellyfin alice authenticate
expect_ok "alice from another host"

# --- throttle_failures = 0 turns it off ---
write_conf "$URL" "throttle_failures = 0" "offline_max_age = 0"
pt "$PW_CAROL" jellyfin carol authenticate
expect_ok "carol after throttling is turned off"
exit 0
