#!/bin/bash
# pam-passwd-throttle.sh - passwd's check of the current password is a login
# attempt for the local throttle: same keys (the user's Jellyfin Id, the
# remote host) and limits, counted before the password is sent, cleared by
# a right password. Without it, anyone holding a session of grace (an SSH
# key, a borrowed terminal) could guess her Jellyfin password by running
# passwd in a loop, with no back-off.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
write_conf "$URL" "throttle_failures = 3" "throttle_window = 15m" "throttle_max_delay = 1h" \
    "offline_max_age = 0"
asked() { echo $(($(fake_get auth_requests) - BEFORE)); }
# passwd: the current password, then the new one twice
chpw() { pt "$(printf '%s\n%s\n%s' "$1" "$2" "$2")" "${@:3}" jellyfin grace chauthtok; }

# --- a right current password clears the count, as a login's success does ---
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

# --- 3 wrong current passwords: the right one is refused unasked ---
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

# --- and the remote host's key, when passwd runs with PAM_RHOST ---
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
    grep -qF -- "$s" "$W/module.log" && jfa_fail "a password reached the log"
done
exit 0
