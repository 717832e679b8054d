#!/bin/bash
# tests/integration/e2e-smb.sh - Samba with Jellyfin accounts. SMB logins
# use NTLM and never hand PAM a clear-text password, so pam_jellyfin cannot
# check them; what works is NSS (Samba sees the Jellyfin users, their UIDs
# and groups) plus a separate SMB password set with smbpasswd, as the
# README's Samba section describes. Root only (namespace). Samba (samba,
# samba-common-bin) is installed by scripts/install-deps.sh; the test skips
# where it is absent.
#
# Owns: the documented Samba procedure works for a Jellyfin user and is
# refused for a name NSS does not know.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v smbpasswd >/dev/null && command -v pdbedit >/dev/null ||
    jfa_skip "Samba tools (smbpasswd, pdbedit) not installed: the Samba guide stays untested"
e2e_system
e2e_jellyfin

mkdir -p /var/lib/samba/private /run/samba /var/log/samba
cat >"$W/smb.conf" <<EOF
[global]
   workgroup = E2E
   server role = standalone server
   passdb backend = tdbsam:/var/lib/samba/private/passdb.tdb
   obey pam restrictions = no
   log file = $W/samba.log
[homes]
   read only = no
   browseable = no
EOF

uid=$(getent passwd alice | cut -d: -f3) || e2e_fail "NSS does not know alice"
OUT=$(printf 'smb-pw-1\nsmb-pw-1\n' | smbpasswd -c "$W/smb.conf" -a -s alice 2>&1) ||
    e2e_fail "smbpasswd -a alice failed although NSS knows alice: $OUT"
OUT=$(pdbedit -s "$W/smb.conf" -L 2>&1) || e2e_fail "pdbedit -L failed: $OUT"
printf '%s\n' "$OUT" | grep -q "^alice:$uid:" ||
    e2e_fail "Samba does not map alice to her Jellyfin uid $uid: $OUT"

OUT=$(printf 'x1\nx1\n' | smbpasswd -c "$W/smb.conf" -a -s nosuchuser 2>&1) &&
    e2e_fail "smbpasswd added a user NSS does not know: $OUT"

# A disabled Jellyfin user still resolves (as for any Linux account); the
# admin disables the SMB entry as well (smbpasswd -d), as the guide says.
printf 'smb-pw-2\nsmb-pw-2\n' | smbpasswd -c "$W/smb.conf" -a -s carol >/dev/null 2>&1 ||
    e2e_fail "smbpasswd -a carol failed"
smbpasswd -c "$W/smb.conf" -d carol >/dev/null 2>&1 || e2e_fail "smbpasswd -d carol failed"
pdbedit -s "$W/smb.conf" -v -u carol 2>/dev/null | grep -q "Account Flags: *\[DU" ||
    e2e_fail "carol's SMB entry is not disabled"

echo "PASS: Samba sees Jellyfin users through NSS; SMB passwords are separate"
exit 0
