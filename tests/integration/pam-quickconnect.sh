#!/bin/bash
# pam-quickconnect.sh - Quick Connect logins (pam_quickconnect.c) under
# pam_wrapper against the fake Jellyfin over HTTPS, with a scripted
# conversation (tests/unit/pam_qc) that reads the code from the prompt and
# approves it through the fake's control API, and with pamtester driven by
# expect. Asserts: approved as the user -> logged in, token logged out at
# close, no offline verifier; approved as another account -> refused and
# that token logged out; disabled user -> refused; never approved -> refused
# at the deadline (approved after the give-up: its token goes at the user's
# next login); cancelled or a conversation that cannot show the code ->
# refused; approved but the wait or the redeem fails -> that token logged
# out; server switch off or quick_connect = no -> the password path
# only; `local` and a remote host outside local_networks -> not offered;
# no remote access -> refused (by acct_mgmt, and by the server's view of
# the token); initiations are throttled like failures, parallel ones from
# one host included; a success clears the user's count only under the
# user's login lock.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
QC="$top_builddir/tests/unit/pam_qc"
[ -x "$QC" ] || jfa_fail "tests/unit/pam_qc not built"
conf() { write_conf "$URL" "offline_max_age = 7d" "$@"; }
conf "quick_connect = yes" "quick_connect_timeout = 5s"

# The hook: "code N" approves N as $APPROVER (if set), then sets the fake's
# fault $QC_FAULT (if set), and saves N, after
# taking the lock file $HOLD_LOCK (if set) in a process that keeps it until
# killed (holder.pid); "opened"/"closed" save the fake's tokens.
cat >"$W/hook.sh" <<HOOK
#!/bin/bash
unset LD_PRELOAD
case "\$1" in
code)
    echo "\$2" >"$W/code"
    if [ -n "\$HOLD_LOCK" ]; then
        rm -f "$W/holder.ready"
        "$PYTHON3" -c 'import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(600)' "\$HOLD_LOCK" "$W/holder.ready" </dev/null >/dev/null 2>&1 &
        echo \$! >"$W/holder.pid"
        for _ in \$(seq 100); do [ -e "$W/holder.ready" ] && break; sleep 0.1; done
    fi
    [ -z "\$APPROVER" ] && exit 0
    curl -sfk -X POST -H 'Content-Type: application/json' \
        --data "{\"code\": \"\$2\", \"user\": \"\$APPROVER\"}" "$URL/__fake/quick-connect"
    [ -z "\$QC_FAULT" ] && exit 0
    curl -sfk -X POST -H 'Content-Type: application/json' --data "\$QC_FAULT" "$URL/__fake/fault" ;;
opened|closed) curl -sfk "$URL/__fake/tokens" >"$W/tokens.\$1" ;;
esac
HOOK
chmod +x "$W/hook.sh"

# qc USER RHOST|- ANSWER...: run the scripted conversation; sets OUT and RC
qc() {
    local user=$1 rhost=$2
    shift 2
    rm -f "$W/code" "$W/tokens.opened" "$W/tokens.closed"
    OUT=$(pam_env "$QC" jellyfin "$user" "$rhost" "env -u LD_PRELOAD $W/hook.sh" "$@" 2>&1)
    RC=$?
    printf '%s\n' "$OUT" >>"$W/module.log"
}
tokens_of() { # FILE USERID
    "$PYTHON3" -c '
import json, sys
print(sum(1 for d in json.load(open(sys.argv[1])) if d["user_id"] == sys.argv[2]))' "$1" "$2"
}
initiations() { grep -c 'POST /QuickConnect/Initiate' "$W/fake-main.log"; }
clear_throttle() { rm -f "$W/state/private/throttle/"*; }
# throttle_count KEY: the failures counted for KEY (empty when no record)
throttle_count() {
    sed -n 's/^count=//p' "$W/state/private/throttle/$(printf '%s' "$1" | sha256sum | cut -c1-32)" \
        2>/dev/null
}
export APPROVER QC_FAULT

# --- alice approves her own code: logged in, token logged out at close ---
APPROVER=Alice
qc alice - - -
expect_ok "alice approved as alice"
printf '%s' "$OUT" | grep -q "PROMPT_ECHO_ON: Jellyfin Quick Connect code: $(cat "$W/code")" ||
    jfa_fail "the code is not in an echo-on prompt: $OUT"
[ "$(tokens_of "$W/tokens.opened" $ID_ALICE)" = 1 ] || jfa_fail "no token while the session is open"
[ "$(tokens_of "$W/tokens.closed" $ID_ALICE)" = 0 ] || jfa_fail "token left after close_session"
grep -q '"device_name": "[^"]* (jellyfin)"' "$W/tokens.opened" ||
    jfa_fail "the device does not name the service: $(cat "$W/tokens.opened")"
grep -q "authenticated 'alice' with Jellyfin Quick Connect" "$W/module.log" ||
    jfa_fail "success not logged"
ls "$W/state/private/verifiers/" 2>/dev/null | grep -q "$ID_ALICE" &&
    jfa_fail "a Quick Connect login wrote an offline verifier"
[ -z "$(ls -A "$W/state/private/pending" 2>/dev/null)" ] || jfa_fail "pending record left"

# --- pamtester, answers typed by expect after reading the code ---
if command -v expect >/dev/null; then
    cat >"$W/pt.exp" <<EXP
set timeout 20
spawn env LD_PRELOAD=\$env(PT_PRELOAD) pamtester -v jellyfin alice authenticate acct_mgmt open_session close_session
expect "Password: " { send "\r" } timeout { exit 11 }
expect -re {code: ([0-9]+)} { set code \$expect_out(1,string) } timeout { exit 12 }
expect "cancel: " {} timeout { exit 13 }
exec curl -sfk -X POST -H {Content-Type: application/json} --data "{\"code\": \"\$code\", \"user\": \"Alice\"}" $URL/__fake/quick-connect
send "\r"
expect "session has successfully been closed" { exit 0 } timeout { exit 14 } eof { exit 15 }
EXP
    OUT=$(PT_PRELOAD="$(jfa_preload "$PAM_WRAPPER_SO" "$NSS_WRAPPER_SO")" \
        pam_env env -u LD_PRELOAD expect -f "$W/pt.exp" 2>&1)
    RC=$?
    printf '%s\n' "$OUT" >>"$W/module.log"
    expect_ok "pamtester with Quick Connect"
    [ "$(devices_of $ID_ALICE)" = 0 ] || jfa_fail "pamtester: token left after close_session"
fi

# --- approved as another account (grace) for alice's login: refused, that
# token logged out ---
APPROVER=grace
qc alice - - -
expect_err "alice approved as grace" "authenticate: Authentication failure"
grep -q "approved as another Jellyfin account (Id $ID_GRACE" "$W/module.log" ||
    jfa_fail "wrong account not logged"
[ "$(devices_of $ID_GRACE)" = 0 ] || jfa_fail "grace's token was not logged out"
[ "$(devices_of $ID_ALICE)" = 0 ] || jfa_fail "alice has a token"
printf '%s' "$OUT" | grep -q "ERROR_MSG: The code was approved for another Jellyfin account." ||
    jfa_fail "the user was not told"

# --- a disabled user approves their own code: refused. Jellyfin answers 401
# to anything done with a disabled user's token, logout included: the token
# it made stays, unusable (logged) ---
APPROVER=bob
qc bob - - -
expect_err "disabled bob" "authenticate: User account has expired"
grep -q "refusing 'bob': account disabled in Jellyfin" "$W/module.log" || jfa_fail "bob: not logged"
grep -q "cannot log out the refused Quick Connect token" "$W/module.log" ||
    jfa_fail "bob: the failed logout was not logged"
clear_throttle

# --- never approved: refused at the deadline (quick_connect_timeout = 5s) ---
APPROVER=
qc alice - - -
expect_err "never approved" "authenticate: Authentication failure"
grep -q "Quick Connect for 'alice' not approved within 5 s" "$W/module.log" ||
    jfa_fail "deadline not logged"
# ... and approved after the give-up: the server keeps a code 10 min after
# Initiate and has no way to withdraw it, so the approval makes a token
# nobody redeems (the secret was this process's, wiped). The residual's
# bound: one token of this host's DeviceId, which the user's next login
# here replaces (and its session close logs out).
[ "$(devices_of $ID_ALICE)" = 0 ] || jfa_fail "alice has a token before the late approval"
jfa_fake_ctl "$URL" POST /__fake/quick-connect "{\"code\": \"$(cat "$W/code")\", \"user\": \"Alice\"}" \
    >/dev/null || jfa_fail "cannot approve the abandoned code late"
[ "$(devices_of $ID_ALICE)" = 1 ] || jfa_fail "the late approval made no token (the test sees nothing)"
pt "$PW_ALICE" jellyfin alice authenticate acct_mgmt open_session close_session
expect_ok "alice's password login after a late approval"
[ "$(devices_of $ID_ALICE)" = 0 ] || jfa_fail "the late approval's token outlived alice's next login"
clear_throttle

# --- cancelled, and a conversation that cannot show the code (sshd's
# password method): refused, nothing redeemed ---
APPROVER=Alice
qc alice - - q
expect_err "cancelled" "authenticate: Authentication failure"
grep -q "Quick Connect for 'alice' cancelled by the user" "$W/module.log" || jfa_fail "cancel"
# (the hook approved before the answer: Jellyfin made a token, which goes)
grep -q "abandoned Quick Connect request of 'alice' had been approved" "$W/module.log" ||
    jfa_fail "the approved, abandoned request was not cleaned up"
qc alice - - '!'
expect_err "cannot show the code" "authenticate: Authentication failure"
grep -q "the conversation cannot show the code" "$W/module.log" || jfa_fail "no conversation"
[ "$(devices_of $ID_ALICE)" = 0 ] || jfa_fail "a token was redeemed without the user's Enter"
clear_throttle

# --- approved, but the wait or the redeem fails (here a 503 once; a caller
# of su can cause the same with a SIGSTOP or a limit): Jellyfin made a token
# at the approval, so the abandoned request is redeemed and that token
# logged out, as after a cancel. Before, it was left behind ---
APPROVER=Alice
for path in /QuickConnect/Connect /Users/AuthenticateWithQuickConnect; do
    QC_FAULT="{\"mode\": \"503\", \"count\": 1, \"paths\": [\"$path\"]}"
    qc alice - - -
    fake_fault '{"mode": "none"}'
    expect_err "approved, $path failed once" "authenticate: Authentication service cannot retrieve"
    printf '%s' "$OUT" |
        grep -q "abandoned Quick Connect request of 'alice' had been approved: its token is logged out" ||
        jfa_fail "$path failed once: the approved request was not cleaned up"
    [ "$(devices_of $ID_ALICE)" = 0 ] ||
        jfa_fail "$path failed once after the approval: alice's token was left behind"
    clear_throttle
done
QC_FAULT=

# --- no remote access: acct_mgmt refuses a host outside local_networks as
# for a password login, and logs the token out ---
APPROVER=carol
qc carol 203.0.113.9 - -
expect_err "carol from a remote host" "acct_mgmt: Permission denied"
[ "$(devices_of $ID_CAROL)" = 0 ] || jfa_fail "carol's token was not logged out"
# ... and when the server itself counts this host as remote: refused at auth
jfa_fake_ctl "$URL" POST /__fake/server '{"lan_networks": ["192.168.0.0/16"]}' >/dev/null
qc carol - - -
expect_err "carol, server says remote" "authenticate: Authentication failure"
grep -q "Jellyfin refuses this account's token from this host" "$W/module.log" ||
    jfa_fail "server-side remote refusal not logged"
jfa_fake_ctl "$URL" POST /__fake/server '{"lan_networks": null}' >/dev/null
clear_throttle

# --- quick_connect = local: offered from local_networks, not from elsewhere ---
conf "quick_connect = local" "quick_connect_timeout = 5s"
APPROVER=Alice
peer qc alice 127.0.0.1 - -
expect_ok "local: alice from the LAN (a connection from it)"
before=$(initiations)
qc alice 203.0.113.9 - -
expect_err "local: alice from outside" "authenticate: Authentication failure"
printf '%s' "$OUT" | grep -q "code:" && jfa_fail "local: a code was shown to a remote host"
[ "$(initiations)" = "$before" ] || jfa_fail "local: a request was initiated for a remote host"
grep -q "Quick Connect not offered to 'alice': 203.0.113.9 is outside local_networks" \
    "$W/module.log" || jfa_fail "local refusal not logged"

# --- the server's switch off, and quick_connect = no: the password path only ---
conf "quick_connect = yes" "quick_connect_timeout = 5s"
jfa_fake_ctl "$URL" POST /__fake/server '{"quick_connect": false}' >/dev/null
before=$(initiations)
qc alice - - -
expect_err "server switch off" "authenticate: Authentication failure"
[ "$(initiations)" = "$before" ] || jfa_fail "initiated with the server's switch off"
grep -q "Quick Connect not offered to 'alice': it is off on the server" "$W/module.log" ||
    jfa_fail "server switch not logged"
[ -z "$(throttle_count "$ID_ALICE")" ] || jfa_fail "a request not initiated (switch off) stayed counted"
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "password with the server's switch off"
jfa_fake_ctl "$URL" POST /__fake/server '{"quick_connect": true}' >/dev/null
conf
before=$(grep -c 'GET /QuickConnect/Enabled' "$W/fake-main.log")
qc alice - - -
expect_err "quick_connect = no" "authenticate: Authentication failure"
[ "$(grep -c 'GET /QuickConnect/Enabled' "$W/fake-main.log")" = "$before" ] ||
    jfa_fail "asked the server about Quick Connect with quick_connect = no"
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "password with quick_connect = no"
# nullok: an empty answer is an empty password, never Quick Connect
conf "quick_connect = yes"
before=$(initiations)
pt "" jellyfin-nullok dave authenticate
expect_ok "nullok: dave's empty password"
[ "$(initiations)" = "$before" ] || jfa_fail "Quick Connect started with nullok"

# --- initiations are throttled like failures, per user and per host ---
conf "quick_connect = yes" "quick_connect_timeout = 5s" "throttle_failures = 2"
clear_throttle
APPROVER=
qc grace 198.51.100.7 - q
qc grace 198.51.100.7 - q
before=$(initiations)
qc grace 198.51.100.7 - -
expect_err "third initiation" "authenticate: Authentication failure"
[ "$(initiations)" = "$before" ] || jfa_fail "a throttled user could initiate"
grep -q "too many failed logins or Quick Connect requests for 'grace'" "$W/module.log" ||
    jfa_fail "throttle not logged"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "password while throttled by initiations" "Authentication failure"
# the host is throttled too: another user from it
qc alice 198.51.100.7 - -
expect_err "same host, another user" "authenticate: Authentication failure"
[ "$(initiations)" = "$before" ] || jfa_fail "a throttled host could initiate"

# --- parallel initiations of several users from one host: the host's count
# is checked and raised in one locked step (jfa_throttle_attempt), so with
# throttle_failures = 2 five users at once initiate two requests, not five.
# The fake holds GET /QuickConnect/Enabled until each run has asked it or
# ended: a check made before any run counted (the old order) passes all ---
conf "quick_connect = yes" "quick_connect_timeout = 5s" "throttle_failures = 2"
clear_throttle
APPROVER=
before=$(initiations)
reqs=$(fake_get requests)
fake_fault '{"mode": "hang", "paths": ["/QuickConnect/Enabled"]}'
users=(alice carol dave frank grace)
pids=()
rm -f "$W"/pqc.*
for i in 0 1 2 3 4; do
    (
        pam_env "$QC" jellyfin "${users[$i]}" 198.51.100.8 "env -u LD_PRELOAD $W/hook.sh" - q \
            >"$W/pqc.$i" 2>&1
        echo $? >"$W/pqc.$i.rc"
    ) &
    pids+=($!)
done
for _ in $(seq 1 300); do # bounded: 30 s at most
    ended=$(ls "$W"/pqc.*.rc 2>/dev/null | wc -l)
    [ $((ended + $(fake_get requests) - reqs)) -ge 5 ] && break
    sleep 0.1
done
fake_fault '{"mode": "none"}'
wait "${pids[@]}"
cat "$W"/pqc.[0-4] >>"$W/module.log"
n=$(($(initiations) - before))
counted=$(throttle_count host:198.51.100.8)
refused=$(cat "$W"/pqc.[0-4] | grep -c "Quick Connect requests from 198.51.100.8: '")
echo "host key: 5 parallel Quick Connect logins, $n initiated, $refused refused, recorded as $counted"
[ "$n" -le 2 ] || jfa_fail "$n parallel Quick Connect requests from one host reached the server (limit 2)"
[ "$n" -ge 1 ] || jfa_fail "no parallel Quick Connect request reached the server"
[ "$counted" = "$n" ] || jfa_fail "$n parallel initiations from one host were recorded as $counted"
[ "$refused" = 3 ] || jfa_fail "$refused of 5 parallel Quick Connect logins were refused by the host's throttle (expected 3)"
for i in 0 1 2 3 4; do
    [ "$(cat "$W/pqc.$i.rc")" = 1 ] || jfa_fail "parallel run $i: status $(cat "$W/pqc.$i.rc")"
done
clear_throttle

# --- a success clears the counts under the user's login lock, as every
# update of a user's throttle record (state.h): the lock is released for
# the wait, and while another process holds it (a password attempt in
# flight) the record is not touched; the login goes on ---
TIMEOUT=2 conf "quick_connect = yes" "quick_connect_timeout = 5s"
clear_throttle
pt "wrong-$RANDOM" jellyfin alice authenticate
expect_err "alice's wrong password" "Authentication failure"
[ "$(throttle_count "$ID_ALICE")" = 1 ] || jfa_fail "the wrong password was not counted"
APPROVER=Alice
export HOLD_LOCK="$W/state/private/locks/$ID_ALICE"
[ -f "$HOLD_LOCK" ] || jfa_fail "no login lock file $HOLD_LOCK"
qc alice - - -
unset HOLD_LOCK
[ -s "$W/holder.pid" ] && kill "$(cat "$W/holder.pid")"
[ -e "$W/holder.ready" ] || jfa_fail "the hook could not take alice's login lock"
expect_ok "alice approved while another process holds her login lock"
[ "$(throttle_count "$ID_ALICE")" = 2 ] ||
    jfa_fail "alice's record was changed while another process held her login lock (count '$(throttle_count "$ID_ALICE")', want 2: the wrong password and this request)"
grep -q "the failures counted for 'alice' are not cleared: no login lock" "$W/module.log" ||
    jfa_fail "the kept count was not logged"
qc alice - - -
expect_ok "alice approved, the lock free"
[ -z "$(throttle_count "$ID_ALICE")" ] || jfa_fail "a Quick Connect success did not clear alice's count"
clear_throttle

# --- under valgrind (when present, not with ASan): success, wrong approver,
# cancelled after an approval; zero errors and no definite leak ---
if [ -n "${VALGRIND:-}" ] && [ -z "${JFA_ASAN_PRELOAD:-}" ]; then
    TIMEOUT=60 conf "quick_connect = yes" "quick_connect_timeout = 2m"
    clear_throttle
    n=0
    vg_qc() {
        n=$((n + 1))
        rm -f "$W/tokens.opened" "$W/tokens.closed"
        pam_env "$VALGRIND" -q --error-exitcode=42 --leak-check=full \
            --errors-for-leak-kinds=definite --show-leak-kinds=definite \
            --log-file="$W/vgqc.$n.log" "$QC" jellyfin "$@" >"$W/vgqc.$n.out" 2>&1
        RC=$?
        [ "$RC" != 42 ] && [ ! -s "$W/vgqc.$n.log" ] ||
            { cat "$W/vgqc.$n.log" >&2; jfa_fail "valgrind: $*"; }
    }
    APPROVER=Alice
    vg_qc alice - "env -u LD_PRELOAD $W/hook.sh" - -
    [ "$RC" = 0 ] || jfa_fail "valgrind: alice's Quick Connect failed: $(cat "$W/vgqc.$n.out")"
    APPROVER=grace
    vg_qc alice - "env -u LD_PRELOAD $W/hook.sh" - -
    [ "$RC" = 1 ] || jfa_fail "valgrind: wrong approver: $(cat "$W/vgqc.$n.out")"
    APPROVER=Alice
    vg_qc alice - "env -u LD_PRELOAD $W/hook.sh" - q
    [ "$RC" = 1 ] || jfa_fail "valgrind: cancel: $(cat "$W/vgqc.$n.out")"
    [ "$(devices_of $ID_ALICE)" = 0 ] && [ "$(devices_of $ID_GRACE)" = 0 ] ||
        jfa_fail "valgrind runs left tokens"
    echo "valgrind: $n Quick Connect runs clean"
fi

# --- nothing secret in the logs ---
grep -qi 'secret=' "$W/module.log" "$W/fake-main.log" && jfa_fail "a secret in a log"
exit 0
