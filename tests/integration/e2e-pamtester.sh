#!/bin/bash
# tests/integration/e2e-pamtester.sh - every PAM operation through the
# stacks that the real pam-auth-update writes from our profile, with the
# installed module (no pam_wrapper). Root only (namespace).
#
# Owns: the behaviour of data/pam-configs/jellyfin as installed: Jellyfin
# users authenticate after pam_unix, local accounts and root never against
# Jellyfin, our account refusal is final for a disabled user while local
# accounts pass (also with a broken configuration), sessions log out their
# token, and chauthtok changes the Jellyfin password.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
e2e_system
e2e_local_user dave dave-local-pw
e2e_jellyfin

# A service made of the four common-* stacks, as most Debian services are.
cat >/etc/pam.d/e2e <<'EOF'
@include common-auth
@include common-account
@include common-session
@include common-password
EOF

# pt INPUT USER OPS...: run pamtester on the e2e service; sets OUT, RC.
pt() {
    local input=$1
    shift
    OUT=$(printf '%s\n' "$input" | timeout 30 pamtester -v e2e "$@" 2>&1)
    RC=$?
}
ok() { [ "$RC" = 0 ] || e2e_fail "$1: expected success: $OUT"; }
no() { [ "$RC" != 0 ] || e2e_fail "$1: expected a refusal: $OUT"; }
# refused WHY INPUT USER OPS...: a refusal, checked in parallel.
pt_refused() {
    pt "$@"
    [ "$RC" != 0 ] && return 0
    echo "pamtester succeeded: $OUT"
    return 1
}
refused() {
    local why=$1
    shift
    e2e_expect_refusal "$why" pt_refused "$@"
}

pt "$E2E_PW_alice" alice authenticate acct_mgmt open_session close_session
ok "alice: authenticate, acct_mgmt, open_session, close_session"
e2e_poll 30 e2e_no_devices alice || e2e_fail "close_session did not log alice's token out"
[ -d /home/alice ] || e2e_fail "open_session did not create /home/alice (pam_jellyfin session)"
[ "$(stat -c '%a %U' /home/alice)" = "700 alice" ] ||
    e2e_fail "/home/alice is $(stat -c '%a %U' /home/alice), not 700 alice"

pt "$E2E_PW_bob" bob authenticate acct_mgmt
ok "bob: authenticate"

refused "alice with a wrong password" "wrong" alice authenticate
refused "alice with an empty password" "" alice authenticate
refused "carol (disabled) with her password" "$E2E_PW_carol" carol authenticate
refused "carol (disabled): account management alone (e.g. after an SSH key)" "" carol acct_mgmt
refused "root with a Jellyfin password" "$E2E_PW_root" root authenticate
refused "an unknown user" "whatever" nosuchuser authenticate
refused "local dave with his Jellyfin password" "$E2E_PW_dave" dave authenticate
e2e_check_refusals
pt "dave-local-pw" dave authenticate acct_mgmt open_session close_session
ok "local dave with his local password"

# chauthtok: current password, new password, new password again.
newpw='bob new pw 9'
pt "$(printf '%s\n%s\n%s' "$E2E_PW_bob" "$newpw" "$newpw")" bob chauthtok
ok "bob: chauthtok"
pt "$newpw" bob authenticate
ok "bob with his new password"
refused "bob with his old password" "$E2E_PW_bob" bob authenticate
# A local account's password change still goes to pam_unix only (as root,
# pam_unix asks for the new password only).
pt "$(printf '%s\n%s' 'Dave-new-pw-77' 'Dave-new-pw-77')" dave chauthtok
ok "local dave: chauthtok through pam_unix"
pt 'Dave-new-pw-77' dave authenticate
ok "local dave with his new local password"

# Local accounts never depend on Jellyfin: with the configuration missing,
# they still pass every stack, while Jellyfin users cannot log in.
mv /etc/jellyfin-auth.conf /etc/jellyfin-auth.conf.off
pt 'Dave-new-pw-77' dave authenticate acct_mgmt open_session close_session
ok "local dave with no jellyfin-auth.conf"
pt "" root acct_mgmt
ok "root's account with no jellyfin-auth.conf"
refused "alice with no jellyfin-auth.conf" "$E2E_PW_alice" alice authenticate
e2e_check_refusals
mv /etc/jellyfin-auth.conf.off /etc/jellyfin-auth.conf

e2e_nosecret
echo "PASS: pamtester through the pam-auth-update stacks"
exit 0
