#!/bin/bash
# pam-throttle.sh - local throttling protects Jellyfin's lockout: after
# throttle_failures failures, logins are refused without asking the server,
# per user and per remote host; a success clears the count; passwd's check
# of the current password counts like a login.
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

# --- passwd: the current password is an attempt like a login's (same keys
# and limits, counted before it is sent, cleared by a right one). Without
# it, anyone holding a session of grace (an SSH key, a borrowed terminal)
# could guess her Jellyfin password by running passwd in a loop. ---
rm -rf "$W/state/private/throttle"
mv "$W/module.log" "$W/module.log.0"
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"id\": \"$ID_GRACE\", \"is_disabled\": false, \"invalid_login_attempt_count\": 0}]}" \
    >/dev/null || jfa_fail "cannot reset grace in the fake"
asked() { echo $(($(fake_get auth_requests) - BEFORE)); }
# passwd: the current password, then the new one twice
chpw() { pt "$(printf '%s\n%s\n%s' "$1" "$2" "$2")" "${@:3}" jellyfin grace chauthtok; }

# a right current password clears the count, as a login's success does
PW=$PW_GRACE
for round in 1 2; do
    for i in 1 2; do
        chpw "wrong-$round-$i" new-pass
        [ "$RC" != 0 ] || jfa_fail "a wrong current password changed the password"
    done
    chpw "$PW" "new-pass-$round"
    expect_ok "round $round: the right current password after 2 wrong ones"
    PW=new-pass-$round
done
pt "$PW" jellyfin grace authenticate
expect_ok "grace logs in with the password passwd set"

# 3 wrong current passwords: the right one is refused unasked
for i in 1 2 3; do chpw "guess-$i" new-pass; done
BEFORE=$(fake_get auth_requests)
chpw "$PW" new-pass-3
[ "$RC" != 0 ] || jfa_fail "passwd took the right current password after 3 wrong ones (no throttle)"
[ "$(asked)" = 0 ] || jfa_fail "passwd sent the current password while throttled"
grep -q "too many failed logins for 'grace'" "$W/module.log" ||
    jfa_fail "passwd's throttling not logged"
printf '%s' "$OUT" | grep -q "Too many failed attempts" || jfa_fail "passwd does not say why: $OUT"
# the same key as a login: the login is throttled too
pt "$PW" jellyfin grace authenticate
expect_err "grace's login after 3 wrong current passwords" "Authentication failure"
[ "$(asked)" = 0 ] || jfa_fail "a login was sent while passwd's failures throttle grace"
rec="$W/state/private/throttle/$(printf '%s' "$ID_GRACE" | sha256sum | cut -c1-32)"
c=$(sed -n 's/^count=//p' "$rec" 2>/dev/null)
[ "${c:-0}" -ge 3 ] || jfa_fail "the throttle record counts ${c:-nothing} failures, not >= 3"

# and the remote host's key, when passwd runs with PAM_RHOST
for u in alice carol dave; do
    pt "$(printf 'wrong\nx\nx')" -Irhost=198.51.100.9 jellyfin "$u" chauthtok
done
BEFORE=$(fake_get auth_requests)
pt "$(printf '%s\nnew-alice\nnew-alice' "$PW_ALICE")" -Irhost=198.51.100.9 jellyfin alice chauthtok
[ "$RC" != 0 ] || jfa_fail "alice's passwd from a host with 3 failures went through"
[ "$(asked)" = 0 ] || jfa_fail "passwd sent alice's password from a throttled host"
grep -q "too many failed logins from 198.51.100.9" "$W/module.log" ||
    jfa_fail "host throttling of passwd not logged"
pt "$PW_ALICE" -Irhost=198.51.100.10 jellyfin alice authenticate
expect_ok "alice from another host"

for s in "$PW_GRACE" new-pass-1 new-pass-2 "$PW_ALICE"; do
    grep -qF -- "$s" "$W/module.log" "$W/module.log.0" && jfa_fail "a password reached the log"
done

# --- throttle_failures = 0 turns it off ---
write_conf "$URL" "throttle_failures = 0" "offline_max_age = 0"
pt "$PW_CAROL" jellyfin carol authenticate
expect_ok "carol after throttling is turned off"
exit 0
