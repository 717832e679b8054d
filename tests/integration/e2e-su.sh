#!/bin/bash
# tests/integration/e2e-su.sh - `su` (setuid root, PAM service su) to a
# Jellyfin account from an unprivileged local account, driven by expect on a
# real terminal. Root only (namespace).
#
# Owns: su with the Jellyfin password gives the mapped uid and a home; a
# wrong password, a disabled account and root (with a Jellyfin password) are
# refused.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v expect >/dev/null || jfa_skip "expect not installed"
e2e_system
e2e_local_user lowly lowly-pw
e2e_jellyfin

# su_as TARGET PASSWORD: run su from the local account lowly; sets OUT, RC.
su_as() { e2e_su_as lowly "$@"; }

uid=$(getent passwd alice | cut -d: -f3) || e2e_fail "NSS does not know alice"
su_as alice "$E2E_PW_alice"
[ "$RC" = 0 ] || e2e_fail "su to alice with her Jellyfin password failed ($RC): $OUT"
printf '%s' "$OUT" | grep -q "SU-UID=$uid SU-HOME=/home/alice" ||
    e2e_fail "su to alice did not give uid $uid and /home/alice: $OUT"
[ -d /home/alice ] || e2e_fail "su did not create /home/alice"
e2e_poll 30 e2e_no_devices alice || e2e_fail "alice's token survived the su session"

# su_refused TARGET PASSWORD: su must fail and give no shell.
su_refused() {
    su_as "$1" "$2"
    if [ "$RC" != 0 ] && ! printf '%s' "$OUT" | grep -q "SU-UID=[0-9]"; then
        printf '%s' "$OUT" | grep -q "Authentication failure" && return 0
        echo "su did not report an authentication failure: $OUT"
        return 1
    fi
    echo "su succeeded: $OUT"
    return 1
}
e2e_expect_refusal "su to alice with a wrong password" su_refused alice 'not her password'
e2e_expect_refusal "su to disabled carol" su_refused carol "$E2E_PW_carol"
e2e_expect_refusal "su to root with a Jellyfin password" su_refused root "$E2E_PW_root"
e2e_check_refusals

e2e_nosecret
echo "PASS: su to a Jellyfin account"
exit 0
