#!/bin/bash
# pam-pending.sh - the pending record that carries a login from the process
# that authenticates to the one that opens the session (sshd's
# keyboard-interactive), and the tokens of refused logins.
#
# Owns: (1) the split login (tests/unit/pam_split: child authenticates, the
# parent opens and closes the session) keeps its token for the session and
# logs it out at close; (2) a pending record is trusted only by the login
# that wrote it: written by another process, too old, for another service
# or remote host, it is ignored, removed and its token logged out; (3) the
# account stage refuses when the database or this login says disabled or
# no remote access, and a session-less login's record never lets a later
# login past a newer database; (4) every refusal after Jellyfin issued a
# token leaves no token on the server (account stage: disabled, no remote
# access; auth stage: another account's answer; password change: refused
# new password).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
SPLIT="$top_builddir/tests/unit/pam_split"
[ -x "$SPLIT" ] || jfa_fail "tests/unit/pam_split not built"
PENDING=$W/state/private/pending/$ID_ALICE

# db_flags USER FLAGS: rewrite the users database with new flags for USER.
db_flags() {
    sed -i -E "s/^(user $1 ([^ ]+ ){6}[0-9a-f]{32}) [0-9a-fx]+ /\\1 $2 /" "$W/db.spec"
    grep -Eq "^user $1 ([^ ]+ ){6}[0-9a-f]{32} $2 " "$W/db.spec" || jfa_fail "db_flags $1 $2"
    "$JFA_MKDB" "$W/db.spec" "$W/state/users.db" || jfa_fail "mkdb"
}

# The hook of pam_split: at "authenticated" $W/expect.authenticated tokens
# live (and when one does, the record exists), then $W/hook.sed (if any) edits the record; at "opened" the record
# is gone and $W/expect.opened tokens live; at "closed" none does.
cat >"$W/hook.sh" <<HOOK
#!/bin/bash
unset LD_PRELOAD
n=\$(curl -sk "$URL/__fake/state" | "$PYTHON3" -c '
import json, sys
print(sum(1 for d in json.load(sys.stdin)["devices"] if d["user_id"] == sys.argv[1]))' "$ID_ALICE")
case "\$1" in
authenticated)
    want=\$(cat $W/expect.authenticated)
    [ "\$n" = "\$want" ] && { [ "\$want" = 0 ] || [ -f "$PENDING" ]; } ||
        { echo "hook \$1: \$n tokens (expected \$want), record: \$(ls $W/state/private/pending)" >&2; exit 1; }
    if [ -s "$W/hook.sed" ]; then sed -i -f "$W/hook.sed" "$PENDING" || exit 1; fi ;;
opened)
    [ "\$n" = "\$(cat $W/expect.opened)" ] && [ ! -e "$PENDING" ] ||
        { echo "hook \$1: \$n tokens (expected \$(cat $W/expect.opened)), record: \$(ls $W/state/private/pending)" >&2; exit 1; } ;;
closed)
    [ "\$n" = 0 ] || { echo "hook \$1: \$n tokens" >&2; exit 1; } ;;
esac
HOOK
chmod +x "$W/hook.sh"

# split WHY EXPECTED-OUTPUT [parent-acct]: one split login of alice from 192.0.2.7
split() {
    local why=$1 want=$2
    shift 2
    OUT=$(pam_env "$SPLIT" jellyfin alice "$PW_ALICE" 192.0.2.7 "env -u LD_PRELOAD $W/hook.sh" "$@" \
        2>>"$W/module.log") || jfa_fail "$why: the split login failed: $(tail -5 "$W/module.log")"
    [ "$OUT" = "$want" ] || jfa_fail "$why: got '$OUT', expected '$want'"
    [ ! -e "$PENDING" ] || jfa_fail "$why: a pending record is left"
}
devices() { devices_of "$1"; }

# --- 1. the split login: the parent takes the child's record ---
: >"$W/hook.sed"
echo 1 >"$W/expect.authenticated"
echo 1 >"$W/expect.opened"
split "split login" "child=0 acct=- open=0 close=0"
split "split login, account stage in the parent too" "child=0 acct=0 open=0 close=0" parent-acct
grep -q "pending record of 'alice' taken" "$W/module.log" || jfa_fail "the parent did not take the record"

# --- 2. records the parent must not trust: ignored, removed, token logged out ---
echo 0 >"$W/expect.opened"
for edit in 's/^pid=.*/pid=999999/; s/^ppid=.*/ppid=999998/' \
    "s/^time=.*/time=$(($(date +%s) - 200))/" \
    's/^service=.*/service=vsftpd/' \
    's/^rhost=.*/rhost=198.51.100.1/' \
    's/^start=.*/start=1/; s/^pstart=.*/pstart=1/' \
    's/^boot=.*/boot=00000000-0000-0000-0000-000000000000/'; do
    echo "$edit" >"$W/hook.sed"
    split "record edited with '$edit'" "child=0 acct=- open=0 close=0"
    [ "$(devices "$ID_ALICE")" = 0 ] || jfa_fail "'$edit': the stale record's token lives"
done
grep -q "removed a pending record of 'alice' that this login may not use" "$W/module.log" ||
    jfa_fail "no log line for the stale record"
# ... and the account stage of the parent does not trust it either (it is
# cleaned there already)
echo 's/^service=.*/service=vsftpd/' >"$W/hook.sed"
split "stale record at the account stage" "child=0 acct=0 open=0 close=0" parent-acct
: >"$W/hook.sed"

# --- 3. a session-less login (vsftpd with session_support=NO) leaves a
# record; a later login in another process (an SSH key) must not use it ---
pt "$PW_ALICE" jellyfin alice authenticate acct_mgmt
expect_ok "session-less login"
[ -f "$PENDING" ] && [ "$(devices "$ID_ALICE")" = 1 ] || jfa_fail "session-less login: no record or token"
db_flags alice 0x2 # the admin disables alice; sync
pt "" jellyfin alice acct_mgmt
expect_err "key login of alice, disabled since the session-less login" "expired\|denied"
[ ! -e "$PENDING" ] || jfa_fail "the session-less login's record survived a later login"
[ "$(devices "$ID_ALICE")" = 0 ] || jfa_fail "the session-less login's token lives on"
grep -q "account of 'alice' is disabled in Jellyfin (as of the last sync)" "$W/module.log" ||
    jfa_fail "the refusal does not name the last sync"

# --- 4. the account stage: either source refusing refuses; tokens go ---
# alice is disabled in the database only: the server lets her in, the account stage refuses
pt "$PW_ALICE" jellyfin alice authenticate acct_mgmt
expect_err "alice disabled as of the last sync" "expired"
[ "$(devices "$ID_ALICE")" = 0 ] || jfa_fail "disabled at the account stage: token left"
[ ! -e "$PENDING" ] || jfa_fail "disabled at the account stage: record left"
# the same, split as in sshd (the account stage runs in the child)
echo 0 >"$W/expect.authenticated"
split "split login of a disabled alice" "child=13 acct=- open=- close=-" # PAM_ACCT_EXPIRED
[ "$(devices "$ID_ALICE")" = 0 ] || jfa_fail "split, disabled: token left"
db_flags alice 0
# carol may not log in remotely (server and database): from outside local_networks
pt "$PW_CAROL" -I rhost=203.0.113.5 jellyfin carol authenticate acct_mgmt
expect_err "carol from outside" "denied"
[ "$(devices "$ID_CAROL")" = 0 ] || jfa_fail "no remote access at the account stage: token left"
[ ! -e "$W/state/private/pending/$ID_CAROL" ] || jfa_fail "no remote access: record left"
# the server's answer alone (the database does not know yet) refuses too
db_flags carol 0
pt "$PW_CAROL" -I rhost=203.0.113.5 jellyfin carol authenticate acct_mgmt
expect_err "carol from outside, database not synced" "denied"
[ "$(devices "$ID_CAROL")" = 0 ] || jfa_fail "no remote access (this login): token left"
grep -q "'carol' may not log in from 203.0.113.5: Jellyfin denies this user remote access (as of this login)" \
    "$W/module.log" || jfa_fail "the refusal does not name this login"
# from inside local_networks carol is welcome
peer pt "$PW_CAROL" -I rhost=127.0.0.1 jellyfin carol authenticate acct_mgmt open_session close_session
expect_ok "carol from the local network"
[ "$(devices "$ID_CAROL")" = 0 ] || jfa_fail "carol's session token left"

# --- 5. refusals at the auth stage after a token: none left ---
pt "$PW_ALICE" jellyfin mallory authenticate
expect_err "mallory gets Alice's answer" "Authentication failure"
[ "$(devices "$ID_ALICE")" = 0 ] || jfa_fail "another account's answer: token left"
# password change refused after the current password gave a token
pt "$(printf '%s\n\n' "$PW_GRACE")" jellyfin grace chauthtok
expect_err "empty new password" "error\|failure"
[ "$(devices "$ID_GRACE")" = 0 ] || jfa_fail "refused password change: token left"
pt "$(printf '%s\nnew-pass-1\nnew-pass-2\n' "$PW_GRACE")" jellyfin grace chauthtok
expect_err "new passwords differ" "error\|failure\|match"
[ "$(devices "$ID_GRACE")" = 0 ] || jfa_fail "mistyped new password: token left"

for s in "$PW_ALICE" "$PW_CAROL" "$PW_GRACE"; do
    grep -qF -- "$s" "$W/module.log" && jfa_fail "a password appears in the module log"
done
exit 0
