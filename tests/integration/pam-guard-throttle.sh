#!/bin/bash
# pam-guard-throttle.sh - a password the lockout guard refuses unasked is a
# failure for the local throttle. One failure from Jellyfin's limit, the
# guard sends only a password that matches the offline verifier; any other
# is refused without asking Jellyfin. That refusal judges the password (it
# is not the one of the last login), so it must count: if it were taken back
# as "never judged", a local attacker could try guesses without end, and the
# one that matches the verifier (the current password) would be sent and
# accepted.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
pam_api_key
write_conf "$URL" "throttle_failures = 3" "throttle_window = 15m" "throttle_max_delay = 1h" \
    "offline_max_age = 1h"
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", \"login_attempts_before_lockout\": 3}]}" \
    >/dev/null || jfa_fail "cannot set grace's lockout limit"
asked() { echo $(($(fake_get auth_requests) - BEFORE)); }

# grace logs in once: her offline verifier holds the current password
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace online"

# Jellyfin counts 2 failures of 3 (the attacker's earlier tries, or typos)
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"id\": \"$ID_GRACE\", \"invalid_login_attempt_count\": 2}]}" >/dev/null ||
    jfa_fail "cannot set grace's failure count"
BEFORE=$(fake_get auth_requests)

# Guesses: each is refused by the guard without asking Jellyfin...
for i in 1 2 3 4 5 6; do
    pt "guess-$i" jellyfin grace authenticate
    expect_err "guess $i at 2 of 3" "Authentication failure"
done
[ "$(asked)" = 0 ] || jfa_fail "a guess that does not match the verifier was sent at 2 of 3"
grep -q "'grace' has 2 failed logins and Jellyfin disables the account at 3: the password was not sent" \
    "$W/module.log" || jfa_fail "the guard did not refuse the guesses"

# ...and each counted: after 3 of them the throttle backs off (the later
# guesses meet it first), so the right password is refused too, and not sent.
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "the right password after 6 refused guesses" "Authentication failure"
[ "$(asked)" = 0 ] || jfa_fail "the right password was sent after 6 guesses: the guard's refusals were not counted"
grep -q "too many failed logins for 'grace'" "$W/module.log" ||
    jfa_fail "the throttle did not back off after the guard's refusals"
rec="$W/state/private/throttle/$(printf '%s' "$ID_GRACE" | sha256sum | cut -c1-32)"
c=$(sed -n 's/^count=//p' "$rec" 2>/dev/null)
[ "${c:-0}" -ge 3 ] || jfa_fail "the throttle record counts ${c:-nothing} failures, not >= 3"

grep -qF -- "$PW_GRACE" "$W/module.log" && jfa_fail "a password reached the log"
exit 0
