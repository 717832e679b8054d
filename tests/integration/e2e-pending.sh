#!/bin/bash
# tests/integration/e2e-pending.sh - the pending record and the tokens of
# refused logins under the real daemons (sshd, vsftpd without sessions),
# installed modules, fake Jellyfin over HTTPS. Root only (namespace).
#
# Owns: security issue 8, finding 4: a login that never opens a session
# (vsftpd with session_support=NO) leaves a pending record that a later
# login must not use: once the admin disables alice and syncs, her SSH key
# is refused. Every login refused at the account stage after Jellyfin
# issued its token (disabled as of the last sync; no remote access from
# outside local_networks; password and keyboard-interactive, i.e. sshd's
# monitor and its child) leaves no token on the server, and
# `jellyfin-auth sync` logs out and removes records older than the
# maximum age.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
[ -x /usr/sbin/vsftpd ] || jfa_skip "vsftpd not installed"
[ -f /etc/pam.d/vsftpd ] || jfa_skip "/etc/pam.d/vsftpd missing (Debian's vsftpd package ships it)"
e2e_system
e2e_jellyfin
e2e_start_sshd
PENDING_DIR=/var/lib/jellyfin-auth/private/pending

# vsftpd with session_support=NO (its default): PAM authenticates and checks
# the account, and never opens (or closes) a session.
e2e_start_vsftpd NO
ssh_refused() {
    e2e_ssh "$1" "$2" "$3" echo LOGGED-IN
    [ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q LOGGED-IN ||
        e2e_fail "$1 logged in over SSH ($3) where it must be refused: $OUT"
}
# tokens_zero USER WHY: the fake holds no token of USER (the logout may
# still be on its way when the client sees the refusal).
tokens_zero() {
    e2e_poll 10 e2e_no_devices "$1" ||
        e2e_fail "$2: $1 still has $(e2e_fake_devices "$1") Jellyfin token(s)"
}

# homes and keys (a session-less FTP login creates no home)
ssh-keygen -q -t ed25519 -N '' -f "$W/user_key" || e2e_fail "ssh-keygen"
for u in alice bob; do
    install -d -m 0700 -o "$u" -g "$u" "/home/$u" "/home/$u/.ssh"
    install -m 0600 -o "$u" -g "$u" "$W/user_key.pub" "/home/$u/.ssh/authorized_keys"
done

# 1. the finding: an FTP login leaves a record; alice is disabled and synced;
# her SSH key must be refused.
e2e_ftp alice "$E2E_PW_alice"
[ "$RC" = 0 ] || e2e_fail "alice cannot log in over FTP: $OUT"
[ -f "$PENDING_DIR/$E2E_ID_alice" ] || e2e_fail "the session-less FTP login left no pending record"
[ "$(e2e_fake_devices alice)" = 1 ] || e2e_fail "alice has no token after the FTP login"
e2e_fake_user alice '{"is_disabled": true}'
e2e_sync
ssh_refused alice "$W/user_key" publickey
grep -q "Access denied for user alice by PAM account configuration" "$W/sshd.log" ||
    e2e_fail "alice's key login was not refused by the PAM account stack"
[ ! -e "$PENDING_DIR/$E2E_ID_alice" ] || e2e_fail "the FTP login's record survived the key login"
# (Its token cannot be logged out while alice is disabled: Jellyfin answers
# 401 to a disabled user's token. Her next login revokes it: same DeviceId.)

# 2. disabled as of the last sync, enabled on the server (not synced yet):
# the server hands out a token (revoking the FTP login's), the account
# stage refuses and logs it out; in sshd's monitor (password) and in its
# child (keyboard-interactive).
e2e_fake_user alice '{"is_disabled": false}'
ssh_refused alice "$E2E_PW_alice" password
tokens_zero alice "disabled at the account stage (password)"
ssh_refused alice "$E2E_PW_alice" keyboard-interactive
tokens_zero alice "disabled at the account stage (keyboard-interactive)"
[ -z "$(ls -A "$PENDING_DIR")" ] || e2e_fail "records left after refusals: $(ls "$PENDING_DIR")"
e2e_sync
e2e_ssh alice "$W/user_key" publickey id -un
[ "$RC" = 0 ] && [ "$OUT" = alice ] || e2e_fail "alice, enabled and synced, cannot use her key: $OUT"

# 3. the sync sweep: a record older than the maximum age is logged out and removed.
e2e_ftp alice "$E2E_PW_alice"
[ "$RC" = 0 ] && [ -f "$PENDING_DIR/$E2E_ID_alice" ] || e2e_fail "second FTP login: $OUT"
sed -i "s/^time=.*/time=$(($(date +%s) - 1000))/" "$PENDING_DIR/$E2E_ID_alice"
jellyfin-auth sync >"$W/sync.log" 2>&1 || e2e_fail "sync failed: $(cat "$W/sync.log")"
grep -q "removed 1 left-over login record (1 token logged out)" "$W/sync.log" ||
    e2e_fail "sync did not report the sweep: $(cat "$W/sync.log")"
[ ! -e "$PENDING_DIR/$E2E_ID_alice" ] || e2e_fail "sync left the old record"
tokens_zero alice "swept by sync"

# 4. no remote access from outside local_networks (127.0.0.1 is outside
# here; the fake still counts loopback as its LAN and answers 200).
e2e_write_config "$URL" "$W/tls/cert.pem" "local_networks = 10.0.0.0/8"
e2e_fake_user bob '{"enable_remote_access": false}'
e2e_sync
ssh_refused bob "$E2E_PW_bob" password
tokens_zero bob "no remote access at the account stage (password)"
ssh_refused bob "$E2E_PW_bob" keyboard-interactive
tokens_zero bob "no remote access at the account stage (keyboard-interactive)"
ssh_refused bob "$W/user_key" publickey
e2e_ftp bob "$E2E_PW_bob"
[ "$RC" != 0 ] || e2e_fail "bob logged in over FTP from outside local_networks"
tokens_zero bob "no remote access at the account stage (FTP)"
if [ -S /dev/log ]; then
    grep -q "'bob' may not log in from 127.0.0.1: Jellyfin denies this user remote access" \
        "$W/syslog" || e2e_fail "no log line for bob's refusal"
fi
[ -z "$(ls -A "$PENDING_DIR")" ] || e2e_fail "records left after refusals: $(ls "$PENDING_DIR")"

e2e_nosecret
echo "PASS: pending records and refused logins end to end"
exit 0
