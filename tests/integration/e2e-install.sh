#!/bin/bash
# tests/integration/e2e-install.sh - `make install` and `make uninstall`
# into a DESTDIR put exactly the shipped files in place and take them all
# away again. Needs no root.
#
# Owns: the list of installed files (modules, tool, profile, units, man
# pages, example configuration) and their modes.
. "$top_srcdir/tests/lib.sh"
jfa_setup

dirs=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" e2e-print-dirs) ||
    jfa_fail "cannot read the installation directories from $top_builddir/Makefile"
eval "$dirs"
stage=$W/stage

mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@" >"$W/make.log" 2>&1; }
mk install DESTDIR="$stage" || { tail -n 30 "$W/make.log"; jfa_fail "make install DESTDIR failed"; }

( cd "$stage" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort ) >"$W/installed"
expected="
$pamdir/pam_jellyfin.so
$libdir/libnss_jellyfin.so.2
$sbindir/jellyfin-auth
$pamconfigsdir/jellyfin
$systemdunitdir/jellyfin-auth-sync.service
$systemdunitdir/jellyfin-auth-sync.timer
$mandir/man8/pam_jellyfin.8
$mandir/man8/libnss_jellyfin.8
$mandir/man8/jellyfin-auth.8
$mandir/man5/jellyfin-auth.conf.5
$docdir/jellyfin-auth.conf.example"
missing=""
for f in $expected; do
    grep -qxF "$f" "$W/installed" || missing="$missing $f"
done
[ -z "$missing" ] || { cat "$W/installed"; jfa_fail "not installed:$missing"; }

# Nothing a system does not load: no libtool archives, no unversioned .so.
extra=$(grep -E '\.la$|\.a$|/libnss_jellyfin\.so$' "$W/installed")
[ -z "$extra" ] || jfa_fail "installed files that do not belong on a system: $extra"

# The NSS module is found by glibc under its soname.
[ -e "$stage$libdir/libnss_jellyfin.so.2" ] || jfa_fail "libnss_jellyfin.so.2 dangling"
# No secrets or state are installed: setup writes the configuration.
grep -qE "^$sysconfdir/jellyfin-auth\.(conf|key)$" "$W/installed" &&
    jfa_fail "make install must not write $sysconfdir/jellyfin-auth.conf or .key"

# Modes: modules and tool executable, data not; nothing group/world-writable.
for f in "$pamdir/pam_jellyfin.so" "$sbindir/jellyfin-auth"; do
    [ -x "$stage$f" ] || jfa_fail "$f is not executable"
done
for f in "$pamconfigsdir/jellyfin" "$systemdunitdir/jellyfin-auth-sync.service"; do
    [ -x "$stage$f" ] && jfa_fail "$f is executable"
done
ww=$(find "$stage" -perm /022 ! -type l)
[ -z "$ww" ] || jfa_fail "group/world-writable files installed: $ww"

# The profile is a valid pam-auth-update profile naming the module.
prof=$stage$pamconfigsdir/jellyfin
for k in Name Default Priority Auth-Type Auth Auth-Initial Account-Type Account Session-Type \
    Session Password-Type Password; do
    grep -q "^$k:" "$prof" || jfa_fail "profile lacks $k:"
done
grep -q '^Default: no$' "$prof" || jfa_fail "profile must not be enabled by default"
prio=$(sed -n 's/^Priority: *//p' "$prof")
[ "$prio" -lt 256 ] || jfa_fail "profile priority $prio must stay below pam_unix (256)"

# The sync unit runs the installed tool.
grep -q "$sbindir/jellyfin-auth sync" "$stage$systemdunitdir/jellyfin-auth-sync.service" ||
    jfa_fail "jellyfin-auth-sync.service does not run $sbindir/jellyfin-auth sync"

mk uninstall DESTDIR="$stage" || { tail -n 30 "$W/make.log"; jfa_fail "make uninstall failed"; }
left=$(find "$stage" \( -type f -o -type l \))
[ -z "$left" ] || jfa_fail "make uninstall left files behind: $left"
echo "PASS: $(wc -l <"$W/installed") files installed and removed"
exit 0
