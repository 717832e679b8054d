#!/bin/bash
# pam-auth.sh - pam_jellyfin.so under pam_wrapper against the fake Jellyfin
# over HTTPS: every auth result, local-account refusal, nullok,
# use_first_pass, account checks, and that no secret reaches the logs.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https

# --- auth: success (stored name "Alice", login name "alice") ---
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice authenticates"
[ "$(devices_of $ID_ALICE)" = 1 ] || jfa_fail "alice has no token on the server after login"
fake_state | grep -q '"client": "pam_jellyfin"' || jfa_fail "Client=pam_jellyfin not seen"

# --- auth: wrong password -> PAM_AUTH_ERR ---
pt "wrong-password" jellyfin alice authenticate
expect_err "alice wrong password" "Authentication failure"

# --- 403 for a disabled user, whatever the password -> PAM_ACCT_EXPIRED ---
pt "$PW_BOB" jellyfin bob authenticate
expect_err "disabled bob" "expired"
pt "not-bobs" jellyfin bob authenticate
expect_err "disabled bob, wrong password" "expired"

# --- unknown to the server (in our db, 401) and unknown to us ---
pt "whatever" jellyfin ghost authenticate
expect_err "ghost" "Authentication failure"
before=$(fake_get auth_requests)
pt "whatever" jellyfin nosuchuser authenticate
expect_err "not in db" "not known"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "a request was sent for a user not in the db"

# --- never for root, never for local accounts, never outside the uid range ---
for u in root localuser lowuid '*' 'a:b' '../etc'; do
    before=$(fake_get auth_requests)
    pw=rootpw
    [ "$u" = localuser ] && pw=$PW_LOCAL
    [ "$u" = lowuid ] && pw=$PW_GRACE
    pt "$pw" jellyfin "$u" authenticate
    expect_err "refuse $u" "not known"
    [ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "a request was sent for '$u'"
done
grep -q "local account" "$W/module.log" || jfa_fail "local-account refusal not logged"

# --- the server answers for another account (db maps mallory to 'Alice') ---
pt "$PW_ALICE" jellyfin mallory authenticate
expect_err "mallory gets Alice's account" "Authentication failure"
grep -q "another account" "$W/module.log" || jfa_fail "account mismatch not logged"

# --- empty password: refused without nullok even for a passwordless user ---
before=$(fake_get auth_requests)
pt "" jellyfin dave authenticate
expect_err "dave empty password" "Authentication failure"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "empty password was sent without nullok"
pt "" jellyfin-nullok dave authenticate
expect_ok "dave with nullok"
pt "" jellyfin-nullok alice authenticate
expect_err "alice empty password with nullok" "Authentication failure"

# --- use_first_pass: the password comes from an earlier module ---
OUT=$(printf 'ignored\n' | pam_env env PAM_AUTHTOK="$PW_GRACE" pamtester -v jellyfin-first grace \
    authenticate 2>&1)
RC=$?
echo "$OUT" >>"$W/module.log"
expect_ok "use_first_pass"
OUT=$(printf '%s\n' "$PW_GRACE" | pam_env env PAM_AUTHTOK="wrong" pamtester -v jellyfin-first \
    grace authenticate 2>&1)
RC=$?
echo "$OUT" >>"$W/module.log"
expect_err "use_first_pass does not prompt" "Authentication failure"

# --- account: disabled user, remote access policy ---
pt "" jellyfin alice acct_mgmt
expect_ok "alice account"
pt "" jellyfin bob acct_mgmt
expect_err "bob account" "expired"
pt "" -Irhost=203.0.113.9 jellyfin carol acct_mgmt
expect_err "carol from a remote host" "denied"
peer pt "" -Irhost=127.0.0.1 jellyfin carol acct_mgmt
expect_ok "carol from the LAN (a connection from it)"
pt "" jellyfin carol acct_mgmt
expect_ok "carol on the console"
pt "$PW_CAROL" -Irhost=203.0.113.9 jellyfin carol authenticate acct_mgmt
expect_err "carol authenticates remotely, account refuses" "denied"
pt "" jellyfin nosuchuser acct_mgmt
expect_err "account for a user not ours" "not known"

# --- account with an unusable configuration: local accounts are unaffected ---
echo "account required $JFA_PAM_SO config=$W/no-such.conf" >"$W/services/jellyfin-noconf"
pt "" jellyfin-noconf root acct_mgmt
expect_err "root, no config" "not known"
local_name=$(head -n 1 /etc/passwd | cut -d: -f1)
pt "" jellyfin-noconf "$local_name" acct_mgmt
expect_err "local '$local_name', no config" "not known"
grep -q "no-such.conf" "$W/module.log" || jfa_fail "the unusable configuration is not logged"

# --- server-side failures -> PAM_AUTHINFO_UNAVAIL ---
# (without an offline verifier: grace's is kept after the typo above, and
# pam-offline.sh covers the offline path)
rm -f "$W/state/private/verifiers/$ID_GRACE"
for mode in 500 503 malformed wrong_types empty redirect reset; do
    fake_fault "{\"mode\": \"$mode\"}"
    pt "$PW_GRACE" jellyfin grace authenticate
    expect_err "fault $mode" "retrieve authentication info"
done
fake_fault '{"mode": "400"}'
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "400: our request rejected" "retrieve authentication info"
grep -q "rejected our request as malformed" "$W/module.log" || jfa_fail "400 not explained in the log"
fake_fault '{"mode": "none"}'
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace after the faults are cleared"

# --- an unsafe users database is refused, not trusted ---
chmod 0666 "$W/state/users.db"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "world-writable database" "retrieve authentication info"
grep -q "refusing users database" "$W/module.log" || jfa_fail "unsafe database not logged"
chmod 0644 "$W/state/users.db"
if [ "$(id -u)" = 0 ]; then
    chown 65534 "$W/state/users.db"
    pt "$PW_GRACE" jellyfin grace authenticate
    expect_err "database owned by another user" "retrieve authentication info"
    chown 0 "$W/state/users.db"
fi
cp "$W/state/users.db" "$W/users.db.real"
ln -sf "$W/users.db.real" "$W/state/users.db"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "database behind a symlink" "retrieve authentication info"
head -c 100 "$W/users.db.real" >"$W/state/users.db"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "truncated database" "retrieve authentication info"
rm -f "$W/state/users.db"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "missing database" "retrieve authentication info"
grep -q "run 'jellyfin-auth sync'" "$W/module.log" || jfa_fail "missing database not explained"
"$JFA_MKDB" "$W/db.spec" "$W/state/users.db" || jfa_fail mkdb
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace with the database restored"

# --- no secret in any module output ---
tokens=$(jfa_fake_ctl "$URL" GET /__fake/tokens | "$PYTHON3" -c '
import json, sys
for t in json.load(sys.stdin): print(t["token"] if isinstance(t, dict) else t)')
for s in "$PW_ALICE" "$PW_BOB" "$PW_CAROL" "$PW_GRACE" "$PW_LOCAL" "$API_KEY" rootpw \
    wrong-password $tokens; do
    if grep -qF -- "$s" "$W/module.log"; then
        jfa_fail "a secret appears in the module log: ${s:0:4}..."
    fi
done
grep -q "SYSLOG.*authenticated 'alice' against Jellyfin" "$W/module.log" || jfa_fail "module log lines were not captured"
exit 0
