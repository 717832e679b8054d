#!/bin/bash
# tests/integration/e2e-deb.sh - the Debian packages: built with
# `dpkg-buildpackage -us -uc -b` from the dist tree (under $W: nothing is
# written next to the source), checked with lintian (no errors), then, in a
# private namespace on top of the running system: dpkg -i, setup, a Jellyfin
# login over sshd, dpkg -r with the profile enabled, dpkg -P (also of a key
# and a state directory the configuration moved; the body is
# tests/e2e-lifecycle.sh); with Samba installed, a Jellyfin user's Samba
# entry is disabled by dpkg -r and removed by dpkg -P. Root only; skips
# without debhelper.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
    jfa_skip "dpkg-dev or debhelper not installed (scripts/install-deps.sh installs them)"
e2e_enter "$@"
LC_WHAT="Debian packages"
PKGS="jellyfin-auth libpam-jellyfin libnss-jellyfin"

# Build from the dist tree: what `make dist` ships must be enough.
mkdir -p "$W/deb"
e2e_mk distdir distdir="$W/deb/src" >"$W/distdir.log" 2>&1 || {
    tail -n 20 "$W/distdir.log"
    jfa_fail "make distdir"
}
(cd "$W/deb/src" && dpkg-buildpackage -us -uc -b -j2 >"$W/deb/build.log" 2>&1) || {
    tail -n 40 "$W/deb/build.log"
    jfa_fail "dpkg-buildpackage -us -uc -b failed"
}
debs=""
for p in $PKGS; do
    f=$(ls "$W/deb/${p}_"*.deb 2>/dev/null | head -1)
    [ -n "$f" ] || jfa_fail "package $p was not built"
    debs="$debs $f"
done
# Every file `make install` installs is in one of the packages.
e2e_mk install DESTDIR="$W/deb/stage" >"$W/deb/stage.log" 2>&1 || jfa_fail "make install DESTDIR"
(cd "$W/deb/stage" && find . \( -type f -o -type l \) ! -name '*.la' ! -name 'libnss_jellyfin.so' |
    sed 's|^\.||; s|^/lib/|/usr/lib/|' | sort) >"$W/deb/want"
for f in $debs; do dpkg-deb -c "$f"; done | awk '{ print $6 }' | sed 's|^\.||; s|^/lib/|/usr/lib/|; s|\.gz$||' |
    sort >"$W/deb/have"
missing=$(comm -23 "$W/deb/want" "$W/deb/have" | grep -v '^/usr/share/doc/jellyfin-auth/$')
[ -z "$missing" ] || jfa_fail "installed by make install but in no package: $missing"
if command -v lintian >/dev/null; then
    lintian --tag-display-limit 0 "$W/deb/"*.changes >"$W/deb/lintian.log" 2>&1
    grep '^E:' "$W/deb/lintian.log" && jfa_fail "lintian reports errors"
    grep '^W:' "$W/deb/lintian.log" | grep -v -e 'package-name-doesnt-match-sonames' &&
        jfa_fail "lintian warnings not listed in doc/design.md"
else
    echo "note: lintian not installed, not run"
fi

lc_install() {
    # shellcheck disable=SC2086
    dpkg -i $debs >"$W/dpkg.log" 2>&1 || { cat "$W/dpkg.log"; e2e_fail "dpkg -i"; }
    [ -L /etc/systemd/system/timers.target.wants/jellyfin-auth-sync.timer ] ||
        e2e_fail "the sync timer is not enabled by the package"
}
lc_upgrade() {
    # shellcheck disable=SC2086
    dpkg -i $debs >"$W/dpkg.log" 2>&1 || { cat "$W/dpkg.log"; e2e_fail "dpkg -i over the installed packages"; }
}
# With Samba: bob enrolls (samba_sync) over sshd before the removal; his
# entry must be disabled by dpkg -r of jellyfin-auth (nothing keeps it in
# step afterwards; libnss-jellyfin, still installed, keeps bob a Unix user
# Samba can log in) and gone after dpkg -P (sec8).
SAMBA=no
for t in smbd smbclient smbpasswd pdbedit; do command -v "$t" >/dev/null || SAMBA="no ($t missing)"; done
[ "$SAMBA" = no ] && SAMBA=yes
lc_remove() {
    if [ "$SAMBA" = yes ]; then
        e2e_smbd /run/e2e/share # not in /home: the lifecycle checks what appears there
        pdbedit -s "$W/smb.conf" -P "bad lockout attempt" -C 50 >/dev/null 2>&1 ||
            e2e_fail "cannot set Samba's bad lockout attempt"
        printf 'samba_sync = yes\nsamba_conf = %s\n' "$W/smb.conf" >>/etc/jellyfin-auth.conf
        e2e_ssh bob "$E2E_PW_bob" password 'id -un'
        [ "$RC" = 0 ] || e2e_fail "ssh login of bob with samba_sync ($RC): $OUT"
        e2e_smb_ok bob "$E2E_PW_bob" "bob enrolled in Samba before dpkg -r"
    else
        echo "note: Samba not tested: $SAMBA"
    fi
    if [ "$SAMBA" = yes ]; then
        # libnss-jellyfin may stay (a Samba server that needs only the
        # UIDs): Samba still knows bob, and only his entry's state decides
        dpkg -r libpam-jellyfin jellyfin-auth >"$W/dpkg.log" 2>&1 || {
            cat "$W/dpkg.log"
            e2e_fail "dpkg -r libpam-jellyfin jellyfin-auth"
        }
        getent passwd bob >/dev/null || e2e_fail "NSS lost bob with libnss-jellyfin installed"
        e2e_smb_no bob "$E2E_PW_bob" "after dpkg -r (nothing would disable the entry any more)"
        grep -q 'samba: disabled bob (jellyfin-auth is removed)' "$W/dpkg.log" ||
            e2e_fail "dpkg -r did not say it disabled bob's Samba entry: $(cat "$W/dpkg.log")"
    fi
    # shellcheck disable=SC2086
    dpkg -r $PKGS >"$W/dpkg.log" 2>&1 || { cat "$W/dpkg.log"; e2e_fail "dpkg -r"; }
    # removing keeps the configuration, the key and the state (as Debian does)
    [ -f /etc/jellyfin-auth.conf ] && [ -f /etc/jellyfin-auth.key ] && [ -d /var/lib/jellyfin-auth ] ||
        e2e_fail "dpkg -r removed the configuration, key or state"
}
lc_purge() {
    local f
    # The key and the state where the configuration put them (api_key_file,
    # state_dir): purge takes them too (the key is a Jellyfin administrator
    # credential, the state holds password verifiers), and nothing else of a
    # directory it did not create.
    mkdir -p /etc/jfa-keys /var/opt
    mv /etc/jellyfin-auth.key /etc/jfa-keys/jellyfin.key || e2e_fail "cannot move the key"
    cp -a /var/lib/jellyfin-auth /var/opt/jfa-state || e2e_fail "cannot copy the state"
    echo "the administrator's own file" >/var/opt/jfa-state/notes
    printf 'api_key_file = /etc/jfa-keys/jellyfin.key\nstate_dir = /var/opt/jfa-state\n' \
        >>/etc/jellyfin-auth.conf
    # shellcheck disable=SC2086
    dpkg -P $PKGS >"$W/dpkg.log" 2>&1 || { cat "$W/dpkg.log"; e2e_fail "dpkg -P"; }
    if [ "$SAMBA" = yes ]; then
        e2e_passdb | grep -q '^bob:' && e2e_fail "dpkg -P left bob's Samba entry: $(e2e_passdb)"
        grep -q 'removed the Samba entry of bob' "$W/dpkg.log" ||
            e2e_fail "dpkg -P did not say it removed bob's Samba entry: $(cat "$W/dpkg.log")"
    fi
    for f in /etc/jfa-keys/jellyfin.key /var/opt/jfa-state/private /var/opt/jfa-state/users.db \
        /var/opt/jfa-state/sync-report; do
        [ -e "$f" ] || [ -L "$f" ] && e2e_fail "dpkg -P left $f (where the configuration put it)"
    done
    [ -f /var/opt/jfa-state/notes ] || e2e_fail "dpkg -P removed a file it did not write"
    for f in /etc/jellyfin-auth.conf /etc/jellyfin-auth.conf.bak /etc/jellyfin-auth.key \
        /var/lib/jellyfin-auth /etc/nsswitch.conf.jellyfin-auth.bak \
        /etc/systemd/system/timers.target.wants/jellyfin-auth-sync.timer; do
        [ -e "$f" ] || [ -L "$f" ] && e2e_fail "dpkg -P left $f"
    done
    dpkg-query -W $PKGS >/dev/null 2>&1 && e2e_fail "packages still known to dpkg after purge"
    return 0
}
. "$top_srcdir/tests/e2e-lifecycle.sh"
