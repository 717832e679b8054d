#!/bin/bash
# pam-unpriv.sh - an unprivileged caller (a screen locker, or any program a
# local user writes against libpam) cannot use the root-only private state,
# so it has neither throttle nor lockout guard. pam_jellyfin therefore lets
# it check only its own account's password, as pam_unix's unix_chkpwd does:
# a local user must not be able to spray another user's Jellyfin password
# through the module. Root only (the test switches uids).
#
# Owns: another user's password is refused without a request to Jellyfin
# (right or wrong password, auth and chauthtok); the caller's own password
# works; a state_dir the caller owns counts as privileged (the other PAM
# tests run that way).
. "$top_srcdir/tests/lib.sh"
jfa_require_root
command -v setpriv >/dev/null || jfa_skip "setpriv (util-linux) not installed"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
write_conf "$URL" "offline_max_age = 0"
# The build tree may sit where other uids cannot reach (a mktemp -d
# clone): the services load a copy of the module from $W.
mkdir -p "$W/mod"
cp "$JFA_PAM_SO" "$W/mod/pam_jellyfin.so"
chmod -R a+rX "$W/mod"
sed -i "s#$JFA_PAM_SO#$W/mod/pam_jellyfin.so#" "$W/services/"*
# The fixture is root's: make it readable (not writable) for other uids,
# as /etc/jellyfin-auth.conf and the users database are on a real machine.
chmod 0755 "$W" "$W/services" "$W/state" "$W/tls"
chmod 0644 "$W/services/"* "$W/passwd" "$W/group" "$W/state/users.db" "$W/tls/cert.pem"
ALICE_UID=$((U0 + 1))
NOBODY=65534

# as UID INPUT SERVICE USER OPS...: pamtester under pam_wrapper as UID; sets OUT and RC
as() {
    local uid=$1 input=$2
    shift 2
    OUT=$(cd / && printf '%s\n' "$input" |
        pam_env setpriv --reuid="$uid" --regid="$uid" --clear-groups pamtester -v "$@" 2>&1)
    RC=$?
    printf '%s\n' "$OUT" >>"$W/module.log"
}
asked() { echo $(($(fake_get auth_requests) - BEFORE)); }

# --- another user's password: refused, Jellyfin never asked ---
BEFORE=$(fake_get auth_requests)
as "$NOBODY" "$PW_ALICE" jellyfin alice authenticate
expect_err "nobody checking alice's right password" "Authentication failure"
as "$NOBODY" "wrong-password" jellyfin alice authenticate
expect_err "nobody checking a wrong password for alice" "Authentication failure"
as "$((ALICE_UID + 1))" "$PW_ALICE" jellyfin alice authenticate
expect_err "another Jellyfin user's uid checking alice" "Authentication failure"
[ "$(asked)" = 0 ] || jfa_fail "an unprivileged caller got $(asked) password(s) for alice to Jellyfin"
grep -q "refusing 'alice' without asking Jellyfin: an unprivileged caller (uid $NOBODY)" \
    "$W/module.log" || jfa_fail "the refusal is not logged with its reason"

# chauthtok for another account: refused before the current password is sent
BEFORE=$(fake_get auth_requests)
as "$NOBODY" "$PW_ALICE
new-alice-pw
new-alice-pw" jellyfin alice chauthtok
[ "$RC" != 0 ] || jfa_fail "nobody changed alice's password: $OUT"
[ "$(asked)" = 0 ] || jfa_fail "an unprivileged chauthtok sent alice's password"

# --- the caller's own account: the password goes to Jellyfin as before ---
BEFORE=$(fake_get auth_requests)
as "$ALICE_UID" "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice checking her own password (a screen locker)"
as "$ALICE_UID" "not-her-password" jellyfin alice authenticate
expect_err "alice with a wrong password" "Authentication failure"
[ "$(asked)" = 2 ] || jfa_fail "alice's own checks: expected 2 requests, the server saw $(asked)"

# --- a caller that owns state_dir is privileged (as in the other PAM tests) ---
chown "$NOBODY" "$W/state"
BEFORE=$(fake_get auth_requests)
as "$NOBODY" "$PW_ALICE" jellyfin alice authenticate
expect_ok "the owner of state_dir checking alice"
[ "$(asked)" = 1 ] || jfa_fail "the owner of state_dir: expected 1 request, saw $(asked)"

grep -qF -- "$PW_ALICE" "$W/module.log" && jfa_fail "a password reached the log"
echo "PASS: unprivileged callers check only their own password"
exit 0
