#!/bin/bash
# pam-samba.sh - samba_sync in the PAM module through pamtester (pam_wrapper,
# nss_wrapper), with a shim in place of smbpasswd; under valgrind when it is
# installed (zero errors, no definite leak on the new path). Root only: the
# module updates Samba only as root.
#
# Owns: the password reaches smbpasswd on stdin only (twice, one a line),
# never in its argv or environment, and the helper gets the fixed
# environment; a login with a current password runs nothing; chauthtok
# sends the new password; a wrong password, an offline login, a disabled
# user, a user without remote access from outside local_networks and
# samba_sync = no run nothing; a failing, hanging or missing
# helper leaves the login successful with one warning naming the cause.
. "$top_srcdir/tests/lib.sh"
jfa_require_root
[ -n "${JFA_ASAN_PRELOAD:-}" ] && VALGRIND=""
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
pam_api_key

mkdir -m 0755 "$W/bin"
cat >"$W/bin/smbpasswd" <<EOF
#!/bin/sh
{ printf 'ARGV'; for a in "\$@"; do printf ' [%s]' "\$a"; done; echo; env; echo END; } >>"$W/shim.log"
case "\$(cat "$W/shim.mode" 2>/dev/null)" in
hang) sleep 600 ;;
fail) echo "Failed to add entry for user x." >&2; exit 1 ;;
esac
case "\$1" in -e) exit 0 ;; esac
cat >>"$W/shim.stdin"
EOF
chmod 0755 "$W/bin/smbpasswd"
# pdbedit -P "bad lockout attempt": Samba's lockout policy, $W/lockout (5)
cat >"$W/bin/pdbedit" <<EOF
#!/bin/sh
echo "account policy \\"bad lockout attempt\\" value is: \$(cat "$W/lockout" 2>/dev/null || echo 5)"
EOF
chmod 0755 "$W/bin/pdbedit"
touch "$W/shim.log" "$W/shim.stdin"
runs() { grep -c '^ARGV' "$W/shim.log"; }
conf() { # conf yes|no [extra lines]
    local sync=$1
    shift
    TIMEOUT=60 write_conf "$URL" "offline_max_age = 1h" "samba_sync = $sync" \
        "samba_smbpasswd = ${HELPER:-$W/bin/smbpasswd}" "samba_pdbedit = $W/bin/pdbedit" \
        "samba_timeout = 2s" "$@"
}

n=0
# run INPUT OPS...: pamtester, under valgrind when available; sets RC, OUT
run() {
    local input=$1
    shift
    n=$((n + 1))
    if [ -n "${VALGRIND:-}" ]; then
        printf '%s\n' "$input" | pam_env "$VALGRIND" -q --error-exitcode=42 --keep-debuginfo=yes \
            --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
            --log-file="$W/vg.$n.log" pamtester -v "$@" >"$W/run.$n.out" 2>&1
        RC=$?
        [ "$RC" != 42 ] && [ ! -s "$W/vg.$n.log" ] ||
            { cat "$W/vg.$n.log" >&2; jfa_fail "valgrind errors in: $*"; }
    else
        printf '%s\n' "$input" | pam_env pamtester -v "$@" >"$W/run.$n.out" 2>&1
        RC=$?
    fi
    OUT=$(cat "$W/run.$n.out")
    printf '%s\n' "$OUT" >>"$W/module.log"
}
ok() { [ "$RC" = 0 ] || jfa_fail "$1: expected success ($RC): $OUT"; }

# samba_sync = no: nothing runs.
conf no
run "$PW_GRACE" jellyfin grace authenticate
ok "samba_sync = no"
[ "$(runs)" = 0 ] || jfa_fail "samba_sync = no ran smbpasswd"

# Samba's lockout policy off ("bad lockout attempt" 0, its default): SMB
# guesses never reach PAM, so the password is not published; the login
# itself succeeds.
conf yes
echo 0 >"$W/lockout"
run "$PW_GRACE" jellyfin grace authenticate
ok "login with no Samba lockout policy"
[ "$(runs)" = 0 ] || jfa_fail "a passdb without lockout got the password: $(grep ARGV "$W/shim.log")"
grep -q "Samba password of 'grace' not updated: Samba's account policy \"bad lockout attempt\" is 0" \
    "$W/module.log" || jfa_fail "no log line naming the lockout policy"
rm -f "$W/lockout"

# The first login sets the password: on stdin, twice; not in argv or env.
run "$PW_GRACE" jellyfin grace authenticate
ok "first login"
[ "$(runs)" = 2 ] || jfa_fail "expected smbpasswd -a then -e, got: $(grep ARGV "$W/shim.log")"
[ "$(cat "$W/shim.stdin")" = "$(printf '%s\n%s' "$PW_GRACE" "$PW_GRACE")" ] ||
    jfa_fail "smbpasswd did not get the password twice on stdin"
grep -qF -- "$PW_GRACE" "$W/shim.log" && jfa_fail "the password is in the helper's argv or environment"
grep -q '^ARGV \[-s\] \[-a\] \[--\] \[grace\]$' "$W/shim.log" || jfa_fail "argv: $(grep ARGV "$W/shim.log")"
grep -q '^ARGV \[-e\] \[--\] \[grace\]$' "$W/shim.log" || jfa_fail "no smbpasswd -e after -a"
env_lines=$(sed -n '/^ARGV/,/^END/p' "$W/shim.log" | grep -v '^ARGV\|^END\|^PWD=\|^SHLVL=\|^_=' | sort -u)
[ "$env_lines" = "$(printf 'LANG=C\nLC_ALL=C\nPATH=/usr/sbin:/usr/bin:/sbin:/bin')" ] ||
    jfa_fail "the helper's environment is not the fixed one: $env_lines"
grep -q "Samba password of 'grace' set from Jellyfin" "$W/module.log" || jfa_fail "no log line"

# The same password: the record says current, nothing runs.
run "$PW_GRACE" jellyfin grace authenticate
ok "second login"
[ "$(runs)" = 2 ] || jfa_fail "a current password ran smbpasswd again"
grep -q "Samba password of 'grace' already current" "$W/module.log" || jfa_fail "no 'current' debug line"

# Offline login, wrong password, disabled user: nothing runs. (The record
# goes first: an offline login must not write even when it could.)
rm -f "$W/state/private/samba/$ID_GRACE"
fake_fault '{"mode": "503"}'
run "$PW_GRACE" jellyfin grace authenticate
ok "offline login"
fake_fault '{"mode": "none"}'
grep -q "offline login for 'grace'" "$W/module.log" || jfa_fail "the login was not offline"
run "wrong" jellyfin grace authenticate
[ "$RC" != 0 ] || jfa_fail "wrong password accepted"
run "$PW_BOB" jellyfin bob authenticate
[ "$RC" != 0 ] || jfa_fail "disabled bob accepted"
[ "$(runs)" = 2 ] || jfa_fail "a refused or offline login ran smbpasswd"

# chauthtok: the new password goes to Samba.
: >"$W/shim.stdin"
run "$(printf '%s\nsmb-new-pass-1\nsmb-new-pass-1' "$PW_ALICE")" jellyfin alice chauthtok
ok "chauthtok"
[ "$(cat "$W/shim.stdin")" = "$(printf 'smb-new-pass-1\nsmb-new-pass-1')" ] ||
    jfa_fail "chauthtok did not hand the new password to smbpasswd: $(cat "$W/shim.stdin")"
grep -qF 'smb-new-pass-1' "$W/shim.log" && jfa_fail "the new password is in the helper's argv or environment"

# A user without remote access: a login from outside local_networks (which
# acct_mgmt refuses) does not enroll; one from the LAN does.
c=$(runs)
run "$PW_CAROL" -Irhost=203.0.113.1 jellyfin carol authenticate
ok "carol from outside (authentication; acct_mgmt refuses later)"
[ "$(runs)" = "$c" ] || jfa_fail "a login that acct_mgmt refuses (no remote access) ran smbpasswd"
grep -q "Samba password of 'carol' not updated: no remote access for this host" "$W/module.log" ||
    jfa_fail "no log line for the remote-access skip"
peer run "$PW_CAROL" -Irhost=127.0.0.1 jellyfin carol authenticate
ok "carol from the LAN"
[ "$(runs)" = $((c + 2)) ] || jfa_fail "carol's login from the LAN did not set her Samba password"

# Failing, hanging and missing helpers: the login succeeds, one warning.
# (the record goes first, so that the login has something to write)
rm -f "$W/state/private/samba/$ID_ALICE"
echo fail >"$W/shim.mode"
run "smb-new-pass-1" jellyfin alice authenticate
ok "failing helper"
grep -q "Samba password of 'alice' not updated: smbpasswd -a: exit status 1: Failed to add entry" \
    "$W/module.log" || jfa_fail "no warning naming the helper's failure"
echo hang >"$W/shim.mode"
run "smb-new-pass-1" jellyfin alice authenticate
ok "hanging helper"
grep -q "Samba password of 'alice' not updated: smbpasswd -a timed out after 2 s" "$W/module.log" ||
    jfa_fail "no warning naming the timeout"
rm -f "$W/shim.mode"
HELPER=/nonexistent/smbpasswd conf yes
run "smb-new-pass-1" jellyfin alice authenticate
ok "missing helper"
grep -q "Samba password of 'alice' not updated: /nonexistent/smbpasswd: No such file" \
    "$W/module.log" || jfa_fail "no warning naming the missing helper"
# an unsafe helper (group-writable) is refused, the login goes on
conf yes
chmod 0775 "$W/bin/smbpasswd"
c=$(runs)
run "smb-new-pass-1" jellyfin alice authenticate
ok "unsafe helper"
[ "$(runs)" = "$c" ] || jfa_fail "a group-writable helper was run"
grep -q "not updated: .*unsafe owner or mode" "$W/module.log" || jfa_fail "no warning about the unsafe helper"
chmod 0755 "$W/bin/smbpasswd"

for s in "$PW_GRACE" "$PW_ALICE" smb-new-pass-1; do
    grep -qF -- "$s" "$W/module.log" && jfa_fail "a password reached the module log"
done
echo "$n runs${VALGRIND:+ under valgrind}, no errors"
exit 0
