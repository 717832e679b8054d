#!/bin/bash
# tests/integration/e2e-ssh.sh - real SSH and SFTP logins with Jellyfin
# accounts: the installed modules, the stacks pam-auth-update writes, the
# real /usr/sbin/sshd, the fake Jellyfin over HTTPS. Root only (namespace).
#
# Owns: what an SSH user sees (uid, groups, home creation, SFTP), every
# refusal an SSH login must meet (wrong password, disabled account with a
# password or a public key, unknown user, local account with its Jellyfin
# password, root), the Jellyfin logout when the session ends, and that
# password spraying over SSH never gets an account disabled in Jellyfin.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
e2e_system
e2e_local_user dave dave-local-pw
e2e_jellyfin
e2e_start_sshd

# refused USER PASSWORD METHOD WHY: the login must fail without a shell
# (checked in parallel by e2e_check_refusals).
ssh_refused() {
    e2e_ssh "$1" "$2" "$3" echo LOGGED-IN
    [ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q LOGGED-IN && return 0
    echo "$1 logged in over SSH ($3): $OUT"
    return 1
}
refused() { e2e_expect_refusal "$4" ssh_refused "$1" "$2" "$3"; }

# 1. alice (Jellyfin admin), password authentication.
pw_line=$(getent passwd alice) || e2e_fail "NSS does not know alice"
uid=$(echo "$pw_line" | cut -d: -f3)
[ "$uid" -ge 1879048192 ] || e2e_fail "alice got uid $uid, outside the default range"
e2e_ssh alice "$E2E_PW_alice" password \
    'echo "uid=$(id -u) group=$(id -gn) groups=$(id -Gn) pwd=$PWD mode=$(stat -c %a "$HOME")"; echo sftp-data >hello.txt'
[ "$RC" = 0 ] || e2e_fail "alice cannot log in with her Jellyfin password: $OUT"
echo "alice: $OUT"
case "$OUT" in *"uid=$uid group=alice "*) ;; *) e2e_fail "alice: wrong uid or primary group: $OUT" ;; esac
case "$OUT" in *groups=*jellyfin-users*) ;; *) e2e_fail "alice is not in jellyfin-users: $OUT" ;; esac
case "$OUT" in *groups=*jellyfin-admins*) ;; *) e2e_fail "admin alice is not in jellyfin-admins: $OUT" ;; esac
case "$OUT" in *"pwd=/home/alice mode=700"*) ;; *) e2e_fail "alice's home not created private: $OUT" ;; esac
[ "$(stat -c %u /home/alice)" = "$uid" ] || e2e_fail "/home/alice is not owned by alice"
# The session's Jellyfin token is logged out when the session closes.
e2e_poll 30 e2e_no_devices alice ||
    e2e_fail "alice's Jellyfin token survived the end of the SSH session"

# 2. bob (not an admin), keyboard-interactive; the token lives as long as
# the session does.
e2e_ssh bob "$E2E_PW_bob" keyboard-interactive 'id -Gn'
[ "$RC" = 0 ] || e2e_fail "bob cannot log in with keyboard-interactive: $OUT"
case "$OUT" in *jellyfin-users*) ;; *) e2e_fail "bob is not in jellyfin-users: $OUT" ;; esac
case "$OUT" in *jellyfin-admins*) e2e_fail "bob is in jellyfin-admins: $OUT" ;; esac
# The session lasts until the test releases it (at most 30 s), so a slow
# machine cannot end it before the check.
(e2e_ssh bob "$E2E_PW_bob" keyboard-interactive \
    'touch in-session; for i in $(seq 300); do [ -e release ] && break; sleep 0.1; done') &
long=$!
e2e_poll 30 test -e /home/bob/in-session || e2e_fail "bob's long session did not start"
[ "$(e2e_fake_devices bob)" = 1 ] || e2e_fail "bob has no Jellyfin token during his session"
touch /home/bob/release
wait "$long"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token survived his session"

# 3. refusals
refused alice 'wrong password' password "wrong password"
refused alice 'wrong password' keyboard-interactive "wrong password"
refused carol "$E2E_PW_carol" password "disabled account, right password"
refused nosuchuser whatever password "unknown user"
refused dave "$E2E_PW_dave" password "local account with its Jellyfin password"
refused root "$E2E_PW_root" password "root with a Jellyfin password"
refused root "$E2E_PW_root" keyboard-interactive "root with a Jellyfin password"
e2e_check_refusals

# 4. public keys: sshd does not ask PAM to authenticate, but the account
# stack still runs, and our refusal of a disabled user is final.
ssh-keygen -q -t ed25519 -N '' -f "$W/user_key" || e2e_fail "ssh-keygen"
for u in alice carol; do
    install -d -m 0700 -o "$u" -g "$u" "/home/$u" "/home/$u/.ssh"
    install -m 0600 -o "$u" -g "$u" "$W/user_key.pub" "/home/$u/.ssh/authorized_keys"
done
e2e_ssh alice "$W/user_key" publickey id -un
[ "$RC" = 0 ] && [ "$OUT" = alice ] || e2e_fail "alice cannot log in with her key: $OUT"
refused carol "$W/user_key" publickey "disabled account, public key"
e2e_check_refusals
grep -q "Access denied for user carol by PAM account configuration" "$W/sshd.log" ||
    e2e_fail "carol's key login was not refused by the PAM account stack"

# 5. the local dave logs in with his local password as the local uid.
e2e_ssh dave dave-local-pw password id -u
[ "$RC" = 0 ] && [ "$OUT" = "$(id -u dave)" ] || e2e_fail "local dave cannot log in: $OUT"

# 6. SFTP: list and fetch the file alice wrote.
printf 'ls\nget hello.txt %s/got.txt\n' "$W" >"$W/sftp.batch"
OUT=$(SSHPASS=$E2E_PW_alice timeout 30 sshpass -e sftp -P "$SSH_PORT" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o PreferredAuthentications=password -o PubkeyAuthentication=no -o BatchMode=no \
    -b "$W/sftp.batch" alice@127.0.0.1 2>&1) || e2e_fail "sftp as alice failed: $OUT"
printf '%s' "$OUT" | grep -q hello.txt || e2e_fail "sftp ls does not show hello.txt: $OUT"
[ "$(cat "$W/got.txt" 2>/dev/null)" = sftp-data ] || e2e_fail "sftp get returned the wrong data"
e2e_poll 30 e2e_no_devices alice || e2e_fail "alice's token survived the SFTP session"

# 7. spraying over SSH never gets an account disabled in Jellyfin. Jellyfin
# disables bob at his 3rd failure in a row; the lockout guard sends 2.
e2e_fake_user bob '{"login_attempts_before_lockout": 3, "invalid_login_attempt_count": 0}'
for i in 1 2 3 4 5 6; do
    e2e_ssh bob "spray-$i" password echo LOGGED-IN
    [ "$RC" != 0 ] || e2e_fail "bob logged in with spray-$i"
done
[ "$(e2e_fake_user_get bob is_disabled)" = false ] || e2e_fail "spraying over SSH got bob disabled in Jellyfin"
[ "$(e2e_fake_user_get bob invalid_login_attempt_count)" = 2 ] ||
    e2e_fail "Jellyfin counted $(e2e_fake_user_get bob invalid_login_attempt_count) failures, expected 2"
# The 4 guesses the guard refused unasked were judged (none is the password
# of bob's offline verifier) and count for the back-off like the 2 Jellyfin
# refused: bob's own password is refused unasked until it runs out, or an
# administrator ends it.
e2e_ssh bob "$E2E_PW_bob" password echo LOGGED-IN
[ "$RC" != 0 ] || e2e_fail "the back-off after 6 sprayed guesses let bob in"
[ "$(e2e_fake_user_get bob invalid_login_attempt_count)" = 2 ] || e2e_fail "a password was sent during the back-off"
jellyfin-auth reset bob >/dev/null && jellyfin-auth reset --host 127.0.0.1 >/dev/null ||
    e2e_fail "jellyfin-auth reset failed"
# One failure from the limit, only a password matching bob's offline verifier
# (his last login's) is sent: his own gets him in (e2e-kinder.sh has more)...
e2e_ssh bob "$E2E_PW_bob" password echo LOGGED-IN
[ "$RC" = 0 ] || e2e_fail "bob's right password (it matches his verifier) was refused at 2 of 3: $OUT"
[ "$(e2e_fake_user_get bob is_disabled)" = false ] || e2e_fail "bob was disabled in Jellyfin"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token survived his session"
# ...and without a verifier (never logged in here, or expired) nothing is sent
rm -f "/var/lib/jellyfin-auth/private/verifiers/$E2E_ID_bob"
e2e_fake_user bob '{"invalid_login_attempt_count": 2}'
e2e_ssh bob "$E2E_PW_bob" password echo LOGGED-IN
[ "$RC" != 0 ] || e2e_fail "bob's right password was sent one failure from the lockout without a verifier"
[ "$(e2e_fake_user_get bob invalid_login_attempt_count)" = 2 ] || e2e_fail "a password was sent at 2 of 3"
# a reset in Jellyfin (a login through Jellyfin itself, or an admin) lets him in
e2e_fake_user bob '{"invalid_login_attempt_count": 0}'
e2e_ssh bob "$E2E_PW_bob" password echo LOGGED-IN
[ "$RC" = 0 ] || e2e_fail "bob cannot log in after the reset: $OUT"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token survived his session"

e2e_nosecret
echo "PASS: ssh and sftp end to end"
exit 0
