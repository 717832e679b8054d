#!/bin/bash
# tests/integration/e2e-ftp.sh - FTP logins with Jellyfin accounts through
# the real vsftpd and Debian's own /etc/pam.d/vsftpd (pam_listfile on
# /etc/ftpusers, the common-* stacks, pam_shells). Root only (namespace).
#
# Owns: a Jellyfin user fetches a file from their home over FTP (the first
# login creates the home), and wrong passwords, disabled accounts and
# local accounts with their Jellyfin password are refused.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
[ -x /usr/sbin/vsftpd ] || jfa_skip "vsftpd not installed"
[ -f /etc/pam.d/vsftpd ] || jfa_skip "/etc/pam.d/vsftpd missing (Debian's vsftpd package ships it)"
e2e_system
e2e_local_user dave dave-local-pw
e2e_jellyfin

FTP_PORT=$(e2e_free_port)
mkdir -p -m 0755 /run/vsftpd/empty
cat >"$W/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$FTP_PORT
background=NO
# Required: with the seccomp sandbox, a PAM module that talks HTTPS fails.
seccomp_sandbox=NO
delay_failed_login=0
pam_service_name=vsftpd
# Opens a PAM session: creates the home, and logs the Jellyfin token out at
# the end of the FTP session (without it vsftpd never closes one).
session_support=YES
anonymous_enable=NO
local_enable=YES
write_enable=NO
secure_chroot_dir=/run/vsftpd/empty
pasv_enable=YES
pasv_address=127.0.0.1
vsftpd_log_file=$W/vsftpd.log
xferlog_enable=YES
dual_log_enable=YES
xferlog_file=$W/vsftpd.xfer
syslog_enable=NO
EOF
e2e_bg /usr/sbin/vsftpd "$W/vsftpd.conf"
e2e_poll 30 e2e_port_open "$FTP_PORT" || e2e_fail "vsftpd did not start on port $FTP_PORT"

# ftp USER PASSWORD PATH: curl with the credentials on a private config
# file (not the command line); sets OUT, RC.
ftp() {
    local cfg=$W/curl.$BASHPID.cfg
    printf 'user = "%s:%s"\n' "$1" "$(printf '%s' "$2" | sed 's/\\/\\\\/g; s/"/\\"/g')" >"$cfg"
    OUT=$(timeout 30 curl -sS --max-time 20 -K "$cfg" "ftp://127.0.0.1:$FTP_PORT/$3" 2>&1)
    RC=$?
}

# The first login creates bob's home (pam_jellyfin's session hook).
ftp bob "$E2E_PW_bob" ""
[ "$RC" = 0 ] || e2e_fail "bob cannot list his FTP home: $OUT"
[ -d /home/bob ] || e2e_fail "the FTP login did not create /home/bob"
echo "file for bob over ftp" >/home/bob/note.txt
chown bob:bob /home/bob/note.txt
ftp bob "$E2E_PW_bob" note.txt
[ "$RC" = 0 ] && [ "$OUT" = "file for bob over ftp" ] || e2e_fail "bob cannot fetch note.txt: $OUT"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token survived the FTP session"

# alice's password has spaces, quotes and a comma.
ftp alice "$E2E_PW_alice" ""
[ "$RC" = 0 ] || e2e_fail "alice cannot log in over FTP: $OUT"

# ftp_refused USER PASSWORD: the login must end in a 530.
ftp_refused() {
    ftp "$1" "$2" ""
    [ "$RC" != 0 ] && printf '%s' "$OUT" | grep -q 530 && return 0
    echo "not a 530 refusal: $OUT"
    return 1
}
e2e_expect_refusal "bob with a wrong password" ftp_refused bob 'wrong password'
e2e_expect_refusal "disabled carol" ftp_refused carol "$E2E_PW_carol"
e2e_expect_refusal "local dave with his Jellyfin password" ftp_refused dave "$E2E_PW_dave"
e2e_expect_refusal "unknown user" ftp_refused nosuch x
e2e_check_refusals
# The unknown user started a background sync (sync_on_login) from inside
# vsftpd's privileged process, and vsftpd did not notice (its SIGCHLD
# handler ends a session when a child it did not expect exits: with a
# plain fork() every refusal above hung).
grep -q "unknown user 'nosuch': started" "$W/syslog" || e2e_fail "nosuch started no sync"

# The local dave still logs in with his local password.
ftp dave dave-local-pw ""
[ "$RC" = 0 ] || e2e_fail "local dave cannot log in over FTP: $OUT"

e2e_nosecret
echo "PASS: vsftpd with Jellyfin accounts"
exit 0
