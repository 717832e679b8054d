# shellcheck shell=bash
# tests/e2e-lifecycle.sh - install, use, remove: the body shared by
# tests/integration/e2e-uninstall.sh (make install / make uninstall) and
# tests/integration/e2e-deb.sh (dpkg -i / dpkg -r / dpkg -P). Sourced after
# tests/lib.sh, tests/e2e-lib.sh and e2e_enter, inside the namespace, with
# /usr writable (e2e_mounts rw). The caller defines lc_install, lc_upgrade
# (install again over a configured system), lc_remove and lc_purge (may do
# nothing), and LC_WHAT (a label).
#
# Owns (issue 10): on top of the running system,
# - installing wires nothing into PAM or NSS before setup ran;
# - setup --enable against the fake, then a Jellyfin user logs in over sshd
#   and gets a home (0700, owned by the user, from /etc/skel); an upgrade
#   (installing again) keeps the wiring, the configuration and the key;
# - root's su, su to nobody and a local user (su, ssh, pamtester, a wrong
#   password) add no pam_jellyfin line at info or above to syslog, and no
#   directory is created for any non-Jellyfin account (nobody's home);
# - after removal (with the profile still enabled): root's su, a local
#   user's ssh login and pamtester for a local account work, and nothing
#   in /etc/pam.d or nsswitch.conf names jellyfin; after purge, no config,
#   key or state is left (packages).

# homes_present: every passwd home that exists, and what is in /home.
homes_present() {
    getent passwd | cut -d: -f6 | sort -u | while read -r d; do
        [ -n "$d" ] && [ -e "$d" ] && echo "home $d"
    done
    ls -A /home | sed 's/^/in-home /'
    return 0
}

# no_new_dirs WHY: no home appeared but the Jellyfin users' (alice's).
no_new_dirs() {
    [ -e "$NOBODY_HOME" ] && e2e_fail "$1: nobody's home $NOBODY_HOME was created"
    homes_present | grep -v -x -e 'home /home/alice' -e 'in-home alice' -e 'home /home/bob' \
        -e 'in-home bob' >"$W/homes.now"
    grep -v -x -e 'home /home/alice' -e 'in-home alice' -e 'home /home/bob' -e 'in-home bob' \
        "$W/homes.before" >"$W/homes.was"
    diff "$W/homes.was" "$W/homes.now" >&2 && return 0
    e2e_fail "$1: directories appeared for accounts that are not Jellyfin users"
}

# syslog_mark: the number of syslog lines so far. syslog_flush: wait until
# the sink has written everything sent before (a marker line comes back).
syslog_mark() { wc -l <"$W/syslog" 2>/dev/null || echo 0; }
syslog_flush() {
    local tag=e2e-flush-$RANDOM$RANDOM
    logger -p authpriv.notice -t e2e "$tag" || e2e_fail "logger failed"
    e2e_poll 10 grep -q "$tag" "$W/syslog" || e2e_fail "syslog sink did not receive $tag"
}
# quiet_since MARK WHY: no pam_jellyfin line at info or above since MARK
# (the raw datagram starts with <PRI>: severity = PRI % 8, info = 6).
quiet_since() {
    local loud
    syslog_flush
    tail -n +"$(($1 + 1))" "$W/syslog" >"$W/syslog.window"
    # the window must hold the sessions' own lines, or it proves nothing
    grep -q 'pam_unix' "$W/syslog.window" || e2e_fail "$2: no pam_unix line captured in syslog"
    loud=$(grep 'pam_jellyfin' "$W/syslog.window" | while IFS= read -r l; do
        pri=${l#<}
        pri=${pri%%>*}
        case "$pri" in *[!0-9]* | '') echo "$l" ;; *) [ $((pri % 8)) -le 6 ] && echo "$l" ;; esac
    done)
    [ -z "$loud" ] || e2e_fail "$2: pam_jellyfin logged at info or above: $loud"
}

# local_sessions WHY: root's su, su to nobody, a local user over su, ssh
# and pamtester (right and wrong password); all but the wrong one succeed.
local_sessions() {
    su - lowly -c true </dev/null >"$W/su.out" 2>&1 || e2e_fail "$1: root's su to lowly: $(cat "$W/su.out")"
    su -s /bin/sh nobody -c true </dev/null >"$W/su.out" 2>&1 ||
        e2e_fail "$1: root's su to nobody: $(cat "$W/su.out")"
    e2e_ssh lowly lowly-pw password 'id -un'
    [ "$RC" = 0 ] && [ "$OUT" = lowly ] || e2e_fail "$1: ssh login of the local user lowly ($RC): $OUT"
    printf 'lowly-pw\n' | pamtester lc lowly authenticate acct_mgmt open_session close_session \
        >"$W/pt.out" 2>&1 || e2e_fail "$1: pamtester for local lowly: $(cat "$W/pt.out")"
    printf 'wrong\n' | pamtester lc lowly authenticate >"$W/pt.out" 2>&1 &&
        e2e_fail "$1: pamtester accepted a wrong password for lowly"
    return 0
}

ours_in_config() {
    grep -l -s -e jellyfin /etc/pam.d/* /etc/nsswitch.conf
    ls /usr/share/pam-configs/jellyfin 2>/dev/null
    return 0
}

e2e_mounts rw
# The host's own state must not leak in: start from a system without us.
sed -i -E 's/^(passwd|group):.*/\1:         files/' /etc/nsswitch.conf
[ -z "$(ours_in_config)" ] || e2e_fail "the system already names jellyfin: $(ours_in_config)"
cat >/etc/pam.d/lc <<'EOF'
@include common-auth
@include common-account
@include common-session
EOF
e2e_local_user lowly lowly-pw
# nobody's home (/nonexistent) lies on the host's root file system, which
# the namespace does not overlay: point it into the namespace's /run so a
# regression shows here instead of writing to the host.
NOBODY_HOME=/run/e2e/nonexistent
usermod -d "$NOBODY_HOME" nobody || e2e_fail "usermod -d nobody"
homes_present >"$W/homes.before"

# 1. install: nothing wired yet
lc_install
command -v jellyfin-auth >/dev/null || e2e_fail "$LC_WHAT: jellyfin-auth not installed"
[ -f /usr/share/pam-configs/jellyfin ] || e2e_fail "$LC_WHAT: the profile is not installed"
[ -z "$(ours_in_config)" ] || [ "$(ours_in_config)" = /usr/share/pam-configs/jellyfin ] ||
    e2e_fail "$LC_WHAT: installing wired PAM or NSS before setup: $(ours_in_config)"

# 2. setup --enable against the fake, as an administrator would
jfa_make_cert "$W/tls"
chmod 0755 "$W/tls" && chmod 0644 "$W/tls/cert.pem"
e2e_fake_data "$W/users.json"
jfa_start_fake main "$W/users.json" --tls-cert "$W/tls/cert.pem" --tls-key "$W/tls/key.pem"
URL=$FAKE_URL_main
printf '%s\n' "$E2E_PW_alice" | jellyfin-auth setup --url "$URL" --ca-file "$W/tls/cert.pem" \
    --user alice --password-stdin --enable >"$W/setup.log" 2>&1 || {
    cat "$W/setup.log"
    e2e_fail "$LC_WHAT: jellyfin-auth setup --enable"
}
grep -q pam_jellyfin.so /etc/pam.d/common-auth || e2e_fail "setup --enable did not wire common-auth"
grep -q pam_mkhomedir /etc/pam.d/common-session &&
    e2e_fail "the profile put pam_mkhomedir in common-session (homes for every account)"
getent passwd alice >/dev/null || e2e_fail "NSS does not know alice after setup"

# 3. a Jellyfin user over sshd: a home 0700, theirs, from /etc/skel
e2e_start_sshd
e2e_ssh alice "$E2E_PW_alice" password 'id -un; stat -c "%a %U" "$HOME"; ls -A "$HOME"'
[ "$RC" = 0 ] || e2e_fail "$LC_WHAT: ssh login of alice ($RC): $OUT"
[ "$(printf '%s\n' "$OUT" | sed -n 2p)" = "700 alice" ] || e2e_fail "alice's home: $OUT"
for f in /etc/skel/.[!.]* /etc/skel/*; do
    [ -e "$f" ] || continue
    printf '%s\n' "$OUT" | grep -qx "$(basename "$f")" || e2e_fail "alice's home lacks $(basename "$f") from /etc/skel"
done

# 3b. upgrade (reinstall over the running setup): the wiring stays, and
# the stacks follow the new profile: an older one's pam_mkhomedir goes.
printf '\toptional\tpam_mkhomedir.so umask=0077\n' >"$W/mkhd.line"
sed -i "/^Session:/r $W/mkhd.line" /usr/share/pam-configs/jellyfin
DEBIAN_FRONTEND=noninteractive pam-auth-update --package >/dev/null 2>&1
grep -q pam_mkhomedir /etc/pam.d/common-session || e2e_fail "could not simulate the old profile"
lc_upgrade
grep -q pam_mkhomedir /etc/pam.d/common-session &&
    e2e_fail "$LC_WHAT: the upgrade left the old profile's pam_mkhomedir in common-session"
grep -q pam_jellyfin.so /etc/pam.d/common-auth || e2e_fail "$LC_WHAT: the upgrade unwired PAM"
grep -Eq '^passwd:.*[[:space:]]jellyfin' /etc/nsswitch.conf || e2e_fail "$LC_WHAT: the upgrade unwired NSS"
[ -f /etc/jellyfin-auth.conf ] && [ -f /etc/jellyfin-auth.key ] || e2e_fail "$LC_WHAT: the upgrade lost the config or key"
e2e_ssh bob "$E2E_PW_bob" password 'id -un'
[ "$RC" = 0 ] && [ "$OUT" = bob ] || e2e_fail "$LC_WHAT: ssh login of bob after the upgrade ($RC): $OUT"
e2e_poll 20 grep -q "session closed for 'bob'" "$W/syslog" || e2e_fail "bob's session did not close"

# 4. root and local accounts: quiet, and no directories. alice's session
# closes after ssh returned: wait for its line so it stays out of the window.
e2e_poll 20 grep -q "session closed for 'alice'" "$W/syslog" ||
    e2e_fail "alice's session did not close (no pam_jellyfin line)"
mark=$(syslog_mark)
local_sessions "installed"
quiet_since "$mark" "root and local sessions, installed"
no_new_dirs "installed"

# 5. remove, the profile still enabled
lc_remove
[ -z "$(ours_in_config)" ] || e2e_fail "$LC_WHAT: left behind: $(ours_in_config)"
[ -e "/usr/lib/$E2E_MULTIARCH/security/pam_jellyfin.so" ] && e2e_fail "$LC_WHAT: the PAM module is still there"
local_sessions "removed"
no_new_dirs "removed"

# 6. purge
lc_purge
[ -z "$(ours_in_config)" ] || e2e_fail "$LC_WHAT (purge): left behind: $(ours_in_config)"
no_new_dirs "purged"
e2e_nosecret
echo "PASS: $LC_WHAT: installed, used, removed; other accounts untouched and quiet"
exit 0
