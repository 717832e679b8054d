#!/bin/bash
# tests/integration/install-unwire.sh - data/unwire.sh, which `make
# uninstall` runs before removing the modules (no root: temporary files).
# Owns: pam-auth-update --remove is called when a common-* file names
# pam_jellyfin; a hand-edited PAM file still naming it stops the uninstall
# with its name and leaves nsswitch.conf alone; "jellyfin" (with an action
# block) leaves the passwd/group/shadow/initgroups lines only, every other
# line byte for byte, the mode kept, one backup.
. "$top_srcdir/tests/lib.sh"
jfa_setup
UNWIRE=$top_srcdir/data/unwire.sh
mkdir -p "$W/pam.d"
printf 'auth [success=1 default=ignore] pam_unix.so\nauth [success=end default=ignore] pam_jellyfin.so try_first_pass\n' \
    >"$W/pam.d/common-auth"
printf 'session optional pam_jellyfin.so\n' >"$W/pam.d/sshd"
# a pam-auth-update stand-in: records the call, removes the lines from common-*
printf '#!/bin/sh\necho "$*" >>"%s/pau.calls"\nsed -i "/pam_jellyfin/d" "%s"/pam.d/common-*\n' "$W" "$W" >"$W/pau"
chmod 0755 "$W/pau"
cat >"$W/ns" <<'EOF'
# nsswitch.conf with comments
passwd:         files jellyfin
group:          files jellyfin [NOTFOUND=return] systemd
shadow:         files
hosts:          files jellyfin dns
initgroups:     jellyfin files
EOF
chmod 0640 "$W/ns"
cp "$W/ns" "$W/ns.orig"

# 1. a hand-edited file still names the module: stop, nothing else changes
JFA_PAM_AUTH_UPDATE=$W/pau sh "$UNWIRE" "$W/pam.d" "$W/ns" >"$W/out" 2>&1 &&
    jfa_fail "unwire.sh went on with pam_jellyfin in a hand-edited file"
grep -q "pam.d/sshd" "$W/out" || { cat "$W/out"; jfa_fail "the hand-edited file is not named"; }
grep -qx -- "--package --remove jellyfin" "$W/pau.calls" || jfa_fail "pam-auth-update --remove not called"
cmp -s "$W/ns" "$W/ns.orig" || jfa_fail "nsswitch.conf changed although the uninstall stopped"

# 2. once the admin fixed it: nsswitch.conf loses jellyfin on the NSS lines only
rm "$W/pam.d/sshd"
JFA_PAM_AUTH_UPDATE=$W/pau sh "$UNWIRE" "$W/pam.d" "$W/ns" >"$W/out" 2>&1 ||
    { cat "$W/out"; jfa_fail "unwire.sh failed"; }
printf '%s\n' '# nsswitch.conf with comments' 'passwd:         files' \
    'group:          files  systemd' 'shadow:         files' 'hosts:          files jellyfin dns' \
    'initgroups:      files' >"$W/ns.want"
diff -u "$W/ns.want" "$W/ns" || jfa_fail "nsswitch.conf not edited as expected"
[ "$(stat -c %a "$W/ns")" = 640 ] || jfa_fail "mode not kept"
cmp -s "$W/ns.jellyfin-auth.bak" "$W/ns.orig" || jfa_fail "no backup of the original"
# 3. idempotent, the backup stays the original
JFA_PAM_AUTH_UPDATE=$W/pau sh "$UNWIRE" "$W/pam.d" "$W/ns" >"$W/out" 2>&1 || jfa_fail "second run"
diff -q "$W/ns.want" "$W/ns" >/dev/null || jfa_fail "second run changed the file"
cmp -s "$W/ns.jellyfin-auth.bak" "$W/ns.orig" || jfa_fail "backup rewritten"
exit 0
