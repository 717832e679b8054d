#!/bin/bash
# pam-explain.sh - `jellyfin-auth explain USER --password-stdin` reaches the
# verdict PAM reaches. Each scenario runs once through pamtester
# (authenticate, then acct_mgmt, as sshd does) and once through explain, from
# the same state (the private state and the user's failure count on the fake
# are put back in between): same verdict, same PAM message, same number of
# passwords sent to Jellyfin. Then: explain without a password sends nothing
# and records nothing; --json keys; `login` is explain asking for a password.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
[ -x "$JFA_TOOL" ] || jfa_fail "tools/jellyfin-auth not built"
pam_api_key
conf() { TIMEOUT=2 write_conf "$URL" "offline_max_age = 1h" "throttle_failures = 3" "$@"; }
conf
P=$W/state/private

# fake_user ID 'json members': change a user on the fake
fake_user() {
    jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [{\"id\": \"$1\", $2}]}" >/dev/null ||
        jfa_fail "cannot change user $1: $2"
}
# user_field ID FIELD: a field of a user in the fake's state (JSON)
user_field() {
    fake_state | "$PYTHON3" -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["id"].replace("-", "") == sys.argv[1]][0]
print(json.dumps(u[sys.argv[2]]))' "$1" "$2"
}
asked() { fake_get auth_requests; }
# jget KEY: a top-level value of the JSON in $JSON
jget() { printf '%s' "$JSON" | "$PYTHON3" -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print(v if isinstance(v,str) else json.dumps(v))' "$1"; }

# tool_env CMD...: the admin tool sees the fixture's users (nss_wrapper) and
# configuration; it needs no pam_wrapper
tool_env() {
    env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) \
        NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group" \
        JELLYFIN_AUTH_CONF="$W/jellyfin-auth.conf" JELLYFIN_AUTH_PAM_DIR="$W/services" "$@"
}
# ex [explain args...] (password on stdin from $EX_IN): sets JSON and EX_RC
ex() {
    JSON=$(printf '%s\n' "$EX_IN" | tool_env "$JFA_TOOL" explain --json "$@" 2>"$W/explain.last")
    EX_RC=$?
    cat "$W/explain.last" >>"$W/explain.err"
    [ -n "$JSON" ] || { cat "$W/explain.last" >&2; jfa_fail "explain $* printed no JSON (exit $EX_RC)"; }
}

# compare NAME USER PASSWORD RHOST ID WANT: pamtester and explain agree on
# the verdict WANT (a PAM_* name), the message and the passwords sent.
compare() {
    local name=$1 user=$2 pw=$3 rhost=$4 id=$5 want=$6 count disabled sent_pam sent_ex msg b
    local rh=()
    [ -n "$rhost" ] && rh=(-I "rhost=$rhost")
    rm -rf "$W/snap" && mkdir -p "$P" && cp -a "$P" "$W/snap"
    if [ -n "$id" ]; then
        count=$(user_field "$id" invalid_login_attempt_count)
        disabled=$(user_field "$id" is_disabled)
    fi
    b=$(asked)
    # PEER=1: pamtester holds a connection from 127.0.0.1 (pam-common.sh's
    # peer), which explain assumes; otherwise an address is unconfirmed
    if [ -n "${PEER:-}" ]; then
        peer pt "$pw" "${rh[@]}" "${SVC:-jellyfin}" "$user" authenticate acct_mgmt
    else
        pt "$pw" "${rh[@]}" "${SVC:-jellyfin}" "$user" authenticate acct_mgmt
    fi
    sent_pam=$(($(asked) - b))
    # the same state again for explain
    rm -rf "$P" && cp -a "$W/snap" "$P"
    [ -n "$id" ] && fake_user "$id" "\"invalid_login_attempt_count\": $count, \"is_disabled\": $disabled"
    b=$(asked)
    local unconfirmed=()
    [ -n "$rhost" ] && [ -z "${PEER:-}" ] && unconfirmed=(--rhost-unconfirmed)
    EX_IN=$pw ex "$user" --password-stdin --service "${SVC:-jellyfin}" ${rhost:+--rhost "$rhost"} \
        "${unconfirmed[@]}"
    sent_ex=$(($(asked) - b))
    [ -n "$JSON" ] || jfa_fail "$name: explain printed no JSON"
    [ "$(jget verdict)" = "$want" ] || {
        printf 'pamtester (%s): %s\n' "$RC" "$OUT" >&2
        jfa_fail "$name: explain says $(jget verdict), expected $want: $JSON"
    }
    msg=$(jget message)
    if [ "$want" = PAM_SUCCESS ]; then
        [ "$RC" = 0 ] || jfa_fail "$name: pamtester failed ($RC) where explain says success: $OUT"
        [ "$EX_RC" = 0 ] || jfa_fail "$name: explain exit status $EX_RC on success"
    else
        [ "$RC" != 0 ] || jfa_fail "$name: pamtester succeeded where explain says $want"
        printf '%s' "$OUT" | grep -qF -- "$msg" ||
            jfa_fail "$name: pamtester did not fail with '$msg' (explain's $want): $OUT"
        [ "$EX_RC" = 1 ] || jfa_fail "$name: explain exit status $EX_RC on a refusal"
    fi
    [ "$sent_pam" = "$sent_ex" ] ||
        jfa_fail "$name: pamtester sent $sent_pam passwords, explain $sent_ex"
    [ "$(jget password_sent)" = "$([ "$sent_ex" -gt 0 ] && echo true || echo false)" ] ||
        jfa_fail "$name: password_sent is $(jget password_sent) but $sent_ex were sent"
    echo "ok: $name: $want (sent $sent_ex)"
    N=$((N + 1))
}
N=0

# a verifier for alice and grace (online logins), nothing for frank
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice online"
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace online"

compare "right password" alice "$PW_ALICE" "" "$ID_ALICE" PAM_SUCCESS
compare "wrong password" alice wrong-1 "" "$ID_ALICE" PAM_AUTH_ERR
rm -rf "$P/throttle" "$P/rejected"
compare "local account" localuser "$PW_LOCAL" "" "" PAM_USER_UNKNOWN
compare "root" root rootpw "" "" PAM_USER_UNKNOWN
compare "unknown user" nosuchuser whatever "" "" PAM_USER_UNKNOWN
compare "disabled" bob "$PW_BOB" "" "$ID_BOB" PAM_ACCT_EXPIRED
compare "remote access refused" carol "$PW_CAROL" 203.0.113.5 "$ID_CAROL" PAM_PERM_DENIED
PEER=1 compare "remote access, local network" carol "$PW_CAROL" 127.0.0.1 "$ID_CAROL" PAM_SUCCESS
compare "remote access, unconfirmed local address" carol "$PW_CAROL" 127.0.0.1 "$ID_CAROL" \
    PAM_PERM_DENIED
compare "empty password" alice "" "" "$ID_ALICE" PAM_AUTH_ERR
# nullok comes from the service's pam_jellyfin line (dave has no password in Jellyfin)
SVC=jellyfin-nullok compare "empty password, nullok service" dave "" "" "$ID_DAVE" PAM_SUCCESS
compare "empty password, no nullok" dave "" "" "$ID_DAVE" PAM_AUTH_ERR
# throttled user: three failures of grace
for i in 1 2 3; do pt "thr-$i" jellyfin grace authenticate; done
compare "throttled user" grace "$PW_GRACE" "" "$ID_GRACE" PAM_AUTH_ERR
rm -rf "$P/throttle" "$P/rejected"
# throttled host: three failures of other users from one address
for u in alice frank alice; do pt "host-$u-$RANDOM" -I rhost=198.51.100.7 jellyfin $u authenticate; done
compare "throttled host" grace "$PW_GRACE" 198.51.100.7 "$ID_GRACE" PAM_AUTH_ERR
compare "another host" grace "$PW_GRACE" 198.51.100.8 "$ID_GRACE" PAM_SUCCESS
rm -rf "$P/throttle" "$P/rejected"
# the lockout guard: frank (no verifier) one failure from Jellyfin's limit
fake_user "$ID_FRANK" '"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 2'
compare "guard refusal" frank "$PW_FRANK" "" "$ID_FRANK" PAM_AUTH_ERR
# the kinder guard: grace one failure from the limit, her verifier matches
fake_user "$ID_GRACE" '"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 2'
compare "guard, verifier matches" grace "$PW_GRACE" "" "$ID_GRACE" PAM_SUCCESS
fake_user "$ID_GRACE" '"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 2'
compare "guard, verifier does not match" grace wrong-guard "" "$ID_GRACE" PAM_AUTH_ERR
fake_user "$ID_GRACE" '"login_attempts_before_lockout": -1, "invalid_login_attempt_count": 0'
fake_user "$ID_FRANK" '"login_attempts_before_lockout": -1, "invalid_login_attempt_count": 0'
# a password Jellyfin refused is not sent again
pt same-typo jellyfin alice authenticate
compare "refused password again" alice same-typo "" "$ID_ALICE" PAM_AUTH_ERR
rm -rf "$P/throttle" "$P/rejected"
# the server is down (alice logs in first: her failures above dropped her verifier)
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice online again"
fake_fault '{"mode": "503"}'
compare "offline, right password" alice "$PW_ALICE" "" "$ID_ALICE" PAM_SUCCESS
compare "offline, wrong password" alice wrong-offline "" "$ID_ALICE" PAM_AUTH_ERR
compare "server down, no verifier" frank "$PW_FRANK" "" "$ID_FRANK" PAM_AUTHINFO_UNAVAIL
fake_fault '{"mode": "none"}'
[ "$N" -ge 12 ] || jfa_fail "only $N scenarios compared"
rm -rf "$P/throttle" "$P/rejected"

# --- without a password: nothing sent, nothing recorded, the data shown ---
for i in 1 2; do pt "np-$i" -I rhost=192.0.2.1 jellyfin grace authenticate; done
find "$P" -type f -newer "$W/api.key" -printf '%P %T@ %s\n' | sort >"$W/before"
b=$(asked)
EX_IN= ex grace --rhost 192.0.2.1
[ "$(asked)" = "$b" ] || jfa_fail "explain without a password sent one"
[ "$EX_RC" = 0 ] || jfa_fail "explain without a password: exit $EX_RC: $JSON"
[ "$(jget verdict)" = undecided ] || jfa_fail "no password: verdict $(jget verdict)"
[ "$(jget password_given)" = false ] || jfa_fail "password_given"
find "$P" -type f -newer "$W/api.key" -printf '%P %T@ %s\n' | sort >"$W/after"
# the lock file may be created; nothing else changes
diff <(grep -v '^locks/' "$W/before") <(grep -v '^locks/' "$W/after") ||
    jfa_fail "explain without a password changed the private state"
steps=$(printf '%s' "$JSON" | "$PYTHON3" -c '
import json, sys
d = json.load(sys.stdin)
for s in d["steps"]:
    assert set(s) == {"step", "result", "rule", "detail"}, s
    assert s["result"] in ("pass", "stop", "info"), s
print(" ".join(s["step"] + "=" + s["detail"] for s in d["steps"]))')
for s in name root passwd-file database local-account caller password lock throttle-user throttle-host \
    rejected server guard offline send account-disabled account-remote; do
    printf '%s' "$steps" | grep -q "\(^\| \)$s=" || jfa_fail "no step $s in: $steps"
done
printf '%s' "$steps" | grep -q "throttle-user=2 recent failures of 'grace'" || jfa_fail "user count: $steps"
printf '%s' "$steps" | grep -q "throttle-host=2 recent failures from 192.0.2.1" || jfa_fail "host count: $steps"
printf '%s' "$steps" | grep -q "rejected=2 refused passwords remembered" || jfa_fail "rejected: $steps"
printf '%s' "$steps" | grep -q "lock=free" || jfa_fail "lock: $steps"
printf '%s' "$steps" | grep -q "server=https://[^ ]*: reachable" || jfa_fail "server: $steps"
printf '%s' "$steps" | grep -q "offline=verifier of [0-9]* s ago, valid for [0-9]* s more" ||
    jfa_fail "offline: $steps"
for k in user service rhost service_file password_given password_sent steps verdict pam_code message allowed \
    logout; do
    printf '%s' "$JSON" | "$PYTHON3" -c 'import json,sys; assert sys.argv[1] in json.load(sys.stdin)' "$k" ||
        jfa_fail "no key $k in $JSON"
done
printf '%s' "$JSON" | "$PYTHON3" -c '
import json, sys
sf = json.load(sys.stdin)["service_file"]
assert set(sf) == {"path", "uses_pam_jellyfin", "nullok", "config"}, sf
assert sf["path"] is None and not sf["uses_pam_jellyfin"], sf  # no "sshd" file in the fixture
' || jfa_fail "service_file without --service: $JSON"
EX_IN= ex grace --service jellyfin-nullok
printf '%s' "$JSON" | "$PYTHON3" -c '
import json, sys
sf = json.load(sys.stdin)["service_file"]
assert sf["path"].endswith("/services/jellyfin-nullok") and sf["uses_pam_jellyfin"] and sf["nullok"], sf
assert sf["config"].endswith("/jellyfin-auth.conf"), sf
' || jfa_fail "service_file: $JSON"

# no verifier: grace's own password refused (changed in Jellyfin) drops it
fake_user "$ID_GRACE" '"password": "changed-elsewhere"'
pt "$PW_GRACE" jellyfin grace authenticate
fake_user "$ID_GRACE" "\"password\": \"$PW_GRACE\""
rm -rf "$P/throttle"
EX_IN= ex grace
printf '%s' "$JSON" | grep -q '"detail": *"no verifier' || jfa_fail "no verifier not shown: $JSON"
# the lock held by a login in flight is shown
mkfifo "$W/release"
flock -x "$P/locks/$ID_GRACE" sh -c 'echo >"$1/held"; read x <"$1/release"' sh "$W" &
holder=$!
for i in $(seq 1 100); do [ -e "$W/held" ] && break; sleep 0.05; done
EX_IN= ex grace
echo >"$W/release"
wait "$holder"
printf '%s' "$JSON" | grep -q 'held by another login now' || jfa_fail "held lock not shown: $JSON"

# text output: the throttled host's time left, in the module's order
for u in frank dave frank; do pt "tx-$u-$RANDOM" -I rhost=192.0.2.9 jellyfin $u authenticate; done
out=$(tool_env "$JFA_TOOL" explain alice --rhost 192.0.2.9) && jfa_fail "explain: a throttled host is refused"
printf '%s\n' "$out" | grep -q "^STOP  throttle-host .*3 failures from 192.0.2.9: [0-9]* s of back-off left" ||
    jfa_fail "text output: $out"
printf '%s\n' "$out" | grep -q "^verdict: PAM_AUTH_ERR" || jfa_fail "text verdict: $out"
order=$(printf '%s\n' "$out" | awk '$1 ~ /^(pass|STOP|info)$/ { print $2 }' | tr '\n' ' ')
case "$order" in
"service rhost name root passwd-file database local-account caller password lock throttle-user throttle-host ")
    ;;
*) jfa_fail "steps out of the module's order: $order" ;;
esac
rm -rf "$P/throttle" "$P/rejected"

# --- login: explain asking for the password; options after USER; token logged out ---
out=$(printf '%s\n' "$PW_ALICE" | tool_env "$JFA_TOOL" login alice --password-stdin) ||
    jfa_fail "login alice: $out"
printf '%s\n' "$out" | grep -q "^logout: the new Jellyfin session: ok" || jfa_fail "login: no logout: $out"
printf '%s\n' "$out" | grep -q "^verdict: PAM_SUCCESS" || jfa_fail "login: $out"
[ "$(devices_of "$ID_ALICE")" = 0 ] || jfa_fail "explain left a token for alice"
grep -qF -- "$PW_ALICE" "$W/explain.err" "$W/module.log" && jfa_fail "a password reached a log"
exit 0
