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

# session_support=YES opens a PAM session: creates the home, and logs the
# Jellyfin token out at the end of the FTP session (without it vsftpd never
# closes one).
e2e_start_vsftpd YES pasv_enable=YES pasv_address=127.0.0.1 xferlog_enable=YES \
    dual_log_enable=YES "xferlog_file=$W/vsftpd.xfer"

# The first login creates bob's home (pam_jellyfin's session hook).
e2e_ftp bob "$E2E_PW_bob"
[ "$RC" = 0 ] || e2e_fail "bob cannot list his FTP home: $OUT"
[ -d /home/bob ] || e2e_fail "the FTP login did not create /home/bob"
echo "file for bob over ftp" >/home/bob/note.txt
chown bob:bob /home/bob/note.txt
e2e_ftp bob "$E2E_PW_bob" note.txt
[ "$RC" = 0 ] && [ "$OUT" = "file for bob over ftp" ] || e2e_fail "bob cannot fetch note.txt: $OUT"
e2e_poll 30 e2e_no_devices bob || e2e_fail "bob's token survived the FTP session"

# alice's password has spaces, quotes and a comma.
e2e_ftp alice "$E2E_PW_alice"
[ "$RC" = 0 ] || e2e_fail "alice cannot log in over FTP: $OUT"

# ftp_refused USER PASSWORD: the login must end in a 530.
ftp_refused() {
    e2e_ftp "$1" "$2"
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
e2e_ftp dave dave-local-pw
[ "$RC" = 0 ] || e2e_fail "local dave cannot log in over FTP: $OUT"

e2e_nosecret
echo "PASS: vsftpd with Jellyfin accounts"
exit 0
