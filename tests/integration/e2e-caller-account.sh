#!/bin/bash
# tests/integration/e2e-caller-account.sh - the caller of a setuid program
# must not pass the account stage by making the module fail. The account
# stack ignores PAM_AUTHINFO_UNAVAIL (data/pam-configs/jellyfin), and the
# module answered it whenever the users database could not be opened: in
# sudo, whose caller owns the limits, a Jellyfin user disabled in Jellyfin
# (carol) with a NOPASSWD rule (sudo asks no password, but runs the account
# stage) got root although the database says disabled. The open failure is
# made here by pointing the module's state_dir at a database it cannot
# use while NSS still reads the real one (an attacker gets the same with
# descriptor or memory limits); every ulimit -n from 4 to 40 is tried too.
# Root only (namespace); skips without sudo.
#
# Owns: inside sudo run by a Jellyfin user, a database the module cannot
# open refuses the account stage (PAM_PERM_DENIED); a disabled user stays
# refused under every small descriptor limit; an enabled user's sudo works.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v sudo >/dev/null || jfa_skip "sudo not installed"
command -v pamtester >/dev/null || jfa_skip "pamtester not installed"
[ -f /etc/pam.d/sudo ] || jfa_skip "no /etc/pam.d/sudo"
e2e_system
e2e_jellyfin
printf '%s\n' "bob ALL=(root) NOPASSWD: /usr/bin/id" "carol ALL=(root) NOPASSWD: /usr/bin/id" \
    >/etc/sudoers.d/e2e
chmod 0440 /etc/sudoers.d/e2e

# sudo_as USER [NOFILE]: USER runs `sudo -n id -u` (no password asked);
# sets OUT and RC.
sudo_as() {
    OUT=$(cd / && timeout 30 runuser -u "$1" -- sh -c "ulimit -n ${2:-1024} && exec sudo -n /usr/bin/id -u" 2>&1)
    RC=$?
}
got_root() { [ "$RC" = 0 ] && [ "$(printf '%s' "$OUT" | tail -n 1)" = 0 ]; }

# 1. As it should be: bob (enabled) gets root, carol (disabled) does not.
sudo_as bob
got_root || e2e_fail "bob's NOPASSWD sudo failed ($RC): $OUT"
sudo_as carol
got_root && e2e_fail "carol, disabled in Jellyfin, got root through sudo"
e2e_poll 10 grep -q "account of 'carol' is disabled in Jellyfin" "$W/syslog" ||
    e2e_fail "carol's refusal is not logged"

# 2. Every small descriptor limit: carol never passes.
for n in $(seq 4 40); do
    sudo_as carol "$n"
    got_root && e2e_fail "carol got root through sudo under ulimit -n $n: $OUT"
done

# 3. The module cannot open its users database (NSS still can).
mkdir -p /var/lib/jfa-broken/private
chmod 0700 /var/lib/jfa-broken/private
head -c 4096 /dev/urandom >/var/lib/jfa-broken/users.db
chmod 0644 /var/lib/jfa-broken/users.db
e2e_write_config "$URL" "$W/tls/cert.pem" "state_dir = /var/lib/jfa-broken"
sudo_as carol
got_root && e2e_fail "carol got root through sudo while the module could not open its database: $OUT"
e2e_poll 10 grep -q "refusing users database /var/lib/jfa-broken/users.db" "$W/syslog" ||
    e2e_fail "the unusable database is not logged"
e2e_write_config "$URL" "$W/tls/cert.pem"
sudo_as bob
got_root || e2e_fail "bob's NOPASSWD sudo failed afterwards ($RC): $OUT"
echo "PASS: the caller of sudo cannot pass the account stage by making the module fail"
exit 0
