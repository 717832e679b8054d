#!/bin/bash
# pam-safepath.sh - root trusts state_dir only when every directory from /
# down to it is root's and not writable by others (a root-owned sticky
# directory such as /tmp excepted above state_dir), as OpenSSH checks the
# way to authorized_keys. The files' own O_NOFOLLOW, owner and mode checks
# mean nothing if another user may rename a directory above them: whoever
# owns a parent can swap in a state directory of their choice (an old
# throttle, old verifiers, another users.db). Checked by the PAM module
# before it trusts anything there, by sync before it writes, by the NSS
# module when it opens the database, and reported by doctor, each naming
# the unsafe directory. Root only (chown).
. "$top_srcdir/tests/lib.sh"
[ "$(id -u)" = 0 ] || jfa_skip "needs root (directories owned by another user)"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
chmod 0755 "$W"
OTHER=$(id -u nobody) || jfa_skip "no user nobody"
CONF=$W/jellyfin-auth.conf
use_state() { sed -i "s|^state_dir = .*|state_dir = $1|" "$CONF"; }
login_ok() {
    pt "$PW_ALICE" jellyfin alice authenticate
    expect_ok "$1"
}
# login_refused WHAT DIR WHY: refused, and the log names DIR and WHY
login_refused() {
    : >"$W/module.log"
    pt "$PW_ALICE" jellyfin alice authenticate
    [ "$RC" != 0 ] || jfa_fail "$1: alice logged in (the unsafe directory was trusted)"
    grep -qF "is not safe: $2: $3" "$W/module.log" ||
        jfa_fail "$1: the log does not name $2 ($3): $(cat "$W/module.log")"
}
# getent through our NSS module, with the database given by path
nss_alice() {
    env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" NSS_WRAPPER_PASSWD="$W/passwd" \
        NSS_WRAPPER_GROUP="$W/group" NSS_WRAPPER_MODULE_SO_PATH="$JFA_NSS_SO" \
        NSS_WRAPPER_MODULE_FN_PREFIX=jellyfin JELLYFIN_AUTH_DB="$1/users.db" \
        getent passwd alice >/dev/null
}

login_ok "state_dir under root's directories"
nss_alice "$W/state" || jfa_fail "NSS refused a database under root's directories"

# --- a parent owned by another user ---
mkdir -m 0755 "$W/u"
mv "$W/state" "$W/u/state"
chown "$OTHER" "$W/u"
use_state "$W/u/state"
login_refused "parent owned by nobody" "$W/u" "owned by uid $OTHER, not root"
nss_alice "$W/u/state" && jfa_fail "NSS used a database under a directory owned by nobody"
out=$(JELLYFIN_AUTH_CONF=$CONF "$JFA_TOOL" doctor 2>&1)
printf '%s\n' "$out" | grep "state dir" | grep -qF "$W/u: owned by uid $OTHER" ||
    jfa_fail "doctor does not name the unsafe parent: $out"
out=$(JELLYFIN_AUTH_CONF=$CONF "$JFA_TOOL" sync 2>&1) &&
    jfa_fail "sync wrote under a directory owned by nobody: $out"
printf '%s\n' "$out" | grep -qF "state directory $W/u/state is not safe: $W/u: owned by uid $OTHER" ||
    jfa_fail "sync does not name the unsafe parent: $out"

# --- reached through a symbolic link: the link's target is checked ---
ln -s u "$W/link"
use_state "$W/link/state"
login_refused "state_dir through a link" "$W/u" "owned by uid $OTHER, not root"

# --- root's, but writable by its group ---
chown 0 "$W/u"
chmod 0775 "$W/u"
use_state "$W/u/state"
login_refused "group-writable parent" "$W/u" "writable by group or others (mode 0775)"

# --- root's sticky directory (as /tmp) above state_dir is fine... ---
chmod 1777 "$W/u"
login_ok "a root-owned sticky parent"
nss_alice "$W/u/state" || jfa_fail "NSS refused a database under a root-owned sticky directory"
# ...but not one owned by someone else, nor state_dir itself writable by others
chown "$OTHER" "$W/u"
login_refused "a sticky parent owned by nobody" "$W/u" "owned by uid $OTHER, not root"
chown 0 "$W/u"
chmod 0755 "$W/u"
chmod 1777 "$W/u/state"
login_refused "state_dir writable by others" "$W/u/state" "writable by group or others (mode 1777)"
chmod 0755 "$W/u/state"
login_ok "every directory safe again"
exit 0
