#!/bin/bash
# tests/integration/e2e-rhost.sh - a PAM_RHOST that a PTR record wrote,
# under the installed modules, the real sshd and vsftpd and a service that
# puts the client's reverse-DNS name in PAM_RHOST (rdns_service, as
# Fedora's vsftpd with reverse_lookup_enable=YES, or login started by a
# telnetd). Root only (namespace).
#
# Owns: bob, whom Jellyfin denies remote access, connects from 127.0.0.2,
# whose PTR record (here /etc/hosts: "127.0.0.2 10.9.8.7") reads like a LAN
# address; local_networks = 10.0.0.0/8 leaves loopback outside. The name is
# not the address of the connection the service holds, so the module takes
# it as a remote host and refuses (before: let in as a LAN login). Then the
# other side: with local_networks = 127.0.0.2/32 the real sshd (password,
# keyboard-interactive, public key: the monitor and its PAM child) and
# Debian's vsftpd (which puts the address, not a name, in PAM_RHOST) hold
# the client's socket when they call PAM, so bob from 127.0.0.2 is let in
# and from 127.0.0.1 is not.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
[ -x /usr/sbin/vsftpd ] || jfa_skip "vsftpd not installed"
[ -f /etc/pam.d/vsftpd ] || jfa_skip "/etc/pam.d/vsftpd missing (Debian's vsftpd package ships it)"
RDNS=$top_builddir/tests/integration/rdns_service
[ -x "$RDNS" ] || jfa_fail "tests/integration/rdns_service not built"
e2e_system
e2e_jellyfin
e2e_fake_user bob '{"enable_remote_access": false}'
e2e_sync

# The PTR record of 127.0.0.2 says "10.9.8.7" (glibc's getnameinfo reads
# /etc/hosts first: nsswitch.conf's hosts line).
echo "127.0.0.2 10.9.8.7" >>/etc/hosts
[ "$(getent hosts 127.0.0.2 | awk '{ print $2 }')" = 10.9.8.7 ] ||
    e2e_fail "/etc/hosts does not name 127.0.0.2 10.9.8.7: $(getent hosts 127.0.0.2)"

# The reverse-lookup service, PAM service e2e-rdns (Debian's common stacks).
printf '@include common-auth\n@include common-account\n' >/etc/pam.d/e2e-rdns
e2e_bg "$RDNS" e2e-rdns "$W/rdns.port"
e2e_poll 10 test -s "$W/rdns.port" || e2e_fail "rdns_service did not start"
RDNS_PORT=$(cat "$W/rdns.port")
# rdns SOURCE USER PASSWORD: one login from SOURCE; sets OUT, RC
rdns() {
    OUT=$(RD_USER=$2 RD_PW=$3 timeout 30 "$PYTHON3" -c '
import os, socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
s.connect(("127.0.0.1", int(sys.argv[2])))
s.sendall(("%s %s\n" % (os.environ["RD_USER"], os.environ["RD_PW"])).encode())
print(s.makefile().readline().strip())' "$1" "$RDNS_PORT" 2>&1)
    RC=$?
}
PAM_SUCCESS=0
PAM_PERM_DENIED=6

# 1. The finding: bob from 127.0.0.2, which the service calls "10.9.8.7".
e2e_write_config "$URL" "$W/tls/cert.pem" "local_networks = 10.0.0.0/8"
rdns 127.0.0.2 bob "$E2E_PW_bob"
case $OUT in
"rhost=10.9.8.7 auth=$PAM_SUCCESS acct=$PAM_PERM_DENIED") ;;
"rhost=10.9.8.7 auth=$PAM_SUCCESS acct=$PAM_SUCCESS")
    e2e_fail "bob, denied remote access, got in from 127.0.0.2 through its PTR name 10.9.8.7" ;;
*) e2e_fail "rdns_service from 127.0.0.2: $OUT" ;;
esac
if [ -S /dev/log ]; then
    e2e_poll 5 grep -q "the remote host 10.9.8.7 that service 'e2e-rdns' gave is not the address of a connection this process holds" \
        "$W/syslog" || e2e_fail "the unconfirmed address was not logged with the service"
fi
# alice (remote access allowed) is not affected by the name
rdns 127.0.0.2 alice "$E2E_PW_alice"
[ "$OUT" = "rhost=10.9.8.7 auth=$PAM_SUCCESS acct=$PAM_SUCCESS" ] || e2e_fail "alice through rdns_service: $OUT"

# 2. The daemons hold the client's socket: a confirmed address counts.
e2e_write_config "$URL" "$W/tls/cert.pem" "local_networks = 127.0.0.2/32"
e2e_start_sshd
e2e_start_vsftpd NO
# the home and key for bob (a session-less FTP login creates no home)
ssh-keygen -q -t ed25519 -N '' -f "$W/user_key" || e2e_fail "ssh-keygen"
install -d -m 0700 -o bob -g bob /home/bob /home/bob/.ssh
install -m 0600 -o bob -g bob "$W/user_key.pub" /home/bob/.ssh/authorized_keys
for m in password keyboard-interactive publickey; do
    pw=$E2E_PW_bob
    [ "$m" = publickey ] && pw=$W/user_key
    E2E_SRC=127.0.0.2 e2e_ssh bob "$pw" "$m" echo LOGGED-IN
    [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q LOGGED-IN ||
        e2e_fail "bob over SSH ($m) from 127.0.0.2, inside local_networks, refused: $OUT"
    E2E_SRC=127.0.0.1 e2e_ssh bob "$pw" "$m" echo LOGGED-IN
    [ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q LOGGED-IN ||
        e2e_fail "bob over SSH ($m) from 127.0.0.1, outside local_networks, let in: $OUT"
done
E2E_SRC=127.0.0.2 e2e_ftp bob "$E2E_PW_bob"
[ "$RC" = 0 ] || e2e_fail "bob over FTP from 127.0.0.2, inside local_networks, refused: $OUT"
E2E_SRC=127.0.0.1 e2e_ftp bob "$E2E_PW_bob"
[ "$RC" != 0 ] && printf '%s' "$OUT" | grep -q 530 ||
    e2e_fail "bob over FTP from 127.0.0.1, outside local_networks, not refused: $OUT"
# Debian's vsftpd gives the address, not the PTR name: no address went unconfirmed
if [ -S /dev/log ]; then
    [ "$(grep -c "that service '\(sshd\|vsftpd\)' gave is not the address" "$W/syslog")" = 0 ] ||
        e2e_fail "sshd or vsftpd gave an address the module could not confirm: $(grep 'gave is not' "$W/syslog")"
fi
e2e_nosecret
echo "PASS: PAM_RHOST counts as an address only as the peer of the service's connection"
exit 0
