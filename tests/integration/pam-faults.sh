#!/bin/bash
# pam-faults.sh - every network fault gives the right PAM result, the
# deadline fires on servers that stall, and TLS is always verified: wrong CA,
# wrong host name and an expired certificate are refused; plain http only to
# loopback. Offline logins are off here (pam-offline.sh covers them).
# The stalling faults hold their answer for 300 s, so a missing deadline is
# unambiguous: "slow" would end in a success, and "hang" or "slow_body" in
# the 240 s guard. The time is also checked, loosely (timeout + 10 s, as
# these machines are noisy), and the log must name the timeout.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
conf() { TIMEOUT=2 write_conf "$@" "offline_max_age = 0"; }
conf "$URL"
LIMIT_MS=12000
UNAVAIL="retrieve authentication info"
: >>"$W/module.log"

# login EXPECT(ok|unavail) WHAT: grace logs in, timed
login() {
    jfa_elapsed pam_env timeout 240 pamtester -v jellyfin grace authenticate <<<"$PW_GRACE"
    OUT=$(cat "$W/elapsed.out")
    echo "$OUT" >>"$W/module.log"
    [ "$RC" != 124 ] || jfa_fail "$2: no answer after 240 s, the deadline did not fire"
    case $1 in
    ok) expect_ok "$2" ;;
    unavail) expect_err "$2" "$UNAVAIL" ;;
    esac
    [ "$ELAPSED_MS" -lt "$LIMIT_MS" ] || jfa_fail "$2 took ${ELAPSED_MS} ms (timeout 2 s)"
}

for mode in hang slow slow_body huge 500 502 503 malformed reset redirect; do
    fake_fault "{\"mode\": \"$mode\", \"delay\": 300}"
    lines=$(wc -l <"$W/module.log")
    login unavail "fault $mode"
    case $mode in hang | slow | slow_body)
        tail -n +"$((lines + 1))" "$W/module.log" | grep -qi "timed out" ||
            jfa_fail "fault $mode: the log does not name the timeout"
        ;;
    esac
done
fake_fault '{"mode": "none"}'
login ok "no fault"

# --- server down, and fail-over to a second url ---
down="http://127.0.0.1:$(jfa_free_port)"
conf "$down"
login unavail "server down"
conf "$down $URL"
login ok "second url serves when the first is down"
jfa_start_fake second "$W/users.json" --tls-cert "$W/tls/cert.pem" --tls-key "$W/tls/key.pem"
jfa_fake_ctl "$FAKE_URL_second" POST /__fake/fault '{"mode": "503"}' >/dev/null
conf "$FAKE_URL_second $URL"
login ok "second url serves when the first answers 503"
# no fail-over on 401: the second server must not be asked
before=$(fake_get auth_requests)
jfa_fake_ctl "$FAKE_URL_second" POST /__fake/fault '{"mode": "none"}' >/dev/null
conf "$FAKE_URL_second $URL"
pt "wrong" jellyfin grace authenticate
expect_err "401 from the first url" "Authentication failure"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "a 401 was retried on the second url"

# --- TLS: wrong CA, wrong host name, expired certificate ---
jfa_make_cert "$W/other"
CA_FILE="$W/other/cert.pem" conf "$URL"
login unavail "wrong CA"
grep -qi "certificate" "$W/module.log" || jfa_fail "certificate error not logged"
jfa_make_cert "$W/wronghost" "DNS:not-this-host.example"
jfa_start_fake wronghost "$W/users.json" --tls-cert "$W/wronghost/cert.pem" \
    --tls-key "$W/wronghost/key.pem"
CA_FILE="$W/wronghost/cert.pem" conf "$FAKE_URL_wronghost"
login unavail "wrong host name"
jfa_make_expired_cert "$W/expired"
jfa_start_fake expired "$W/users.json" --tls-cert "$W/expired/cert.pem" \
    --tls-key "$W/expired/key.pem"
CA_FILE="$W/expired/cert.pem" conf "$FAKE_URL_expired"
login unavail "expired certificate"
# https without a ca_file uses the system store, which does not know our CA
CA_FILE=/nonexistent conf "$URL"
login unavail "self-signed certificate without ca_file"

# --- plain http: loopback allowed, anything else refused before connecting ---
jfa_start_fake plain "$W/users.json"
conf "$FAKE_URL_plain"
login ok "plain http on loopback"
conf "http://192.0.2.1:8096"
login unavail "plain http to a non-loopback host"
# refused by policy, before any connection (the log names the setting)
grep -q "allow_plain_http" "$W/module.log" || jfa_fail "plain http refusal does not name allow_plain_http"
exit 0
