#!/bin/bash
# tests/integration/e2e-uninstall.sh - `make install` on top of the running
# system (in a private namespace), setup, a Jellyfin login over sshd, then
# `make uninstall` with the profile still enabled: the PAM stacks and
# nsswitch.conf no longer name us, and root's su, local logins and
# pamtester still work. The body is tests/e2e-lifecycle.sh. Root only.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
LC_WHAT="make install / make uninstall"
lc_install() {
    e2e_mk install >"$W/install.log" 2>&1 || { tail -n 30 "$W/install.log"; e2e_fail "make install"; }
}
lc_upgrade() { lc_install; }
lc_remove() {
    e2e_mk uninstall >"$W/uninstall.log" 2>&1 || {
        tail -n 30 "$W/uninstall.log"
        e2e_fail "make uninstall"
    }
}
lc_purge() { :; }
. "$top_srcdir/tests/e2e-lifecycle.sh"
