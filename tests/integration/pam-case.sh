#!/bin/bash
# pam-case.sh - case-insensitive logins (case_sensitive = no, the database's
# fold flag): "ALICE" authenticates alice and the module sets PAM_USER to
# the canonical "alice" (account and session stages run as alice); without
# the flag "ALICE" is unknown and nothing is sent; a local account of the
# typed or the folded name is never sent to Jellyfin; ROOT is refused.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https

# the module resolves every symbol (a module that does not is never loaded
# by a real libpam, which uses RTLD_NOW)
if ldd -r "$JFA_PAM_SO" 2>&1 | grep -q 'undefined symbol'; then
    ldd -r "$JFA_PAM_SO" >&2
    jfa_fail "pam_jellyfin.so has undefined symbols"
fi

# mkdb spec: field 10 is the user's flags; 0x10 = JFA_DBU_FOLD
fold_db() { # fold_db 0x10|0
    awk -v f="$1" '$1 == "user" { $10 = ($10 == "0" ? f : $10) } { print }' "$W/db.spec" \
        >"$W/db.spec.fold"
    "$JFA_MKDB" "$W/db.spec.fold" "$W/state/users.db" || jfa_fail "mkdb"
}

# --- switch on: ALICE is alice -----------------------------------------------------
fold_db 0x10
pt "$PW_ALICE" jellyfin ALICE authenticate acct_mgmt open_session close_session
expect_ok "ALICE authenticates as alice"
grep -q "'ALICE' is Jellyfin user 'alice' (case_sensitive = no)" "$W/module.log" ||
    jfa_fail "PAM_USER not set to the canonical name"
# the account and session stages found the user under the canonical name
# (they resolve PAM_USER again: with "ALICE" still there they would log it)
grep -q "acct.*'ALICE'\|session.*'ALICE'" "$W/module.log" && jfa_fail "a later stage saw ALICE"
pt "wrong" jellyfin Alice authenticate
expect_err "Alice, wrong password" "Authentication failure"

# ROOT is root
before=$(fake_get auth_requests)
pt rootpw jellyfin ROOT authenticate
expect_err "ROOT" "not known"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "a request was sent for ROOT"

# local accounts win, under the typed name and under the folded one
printf 'localuser:x:1001:1001:Local User:/home/localuser:/bin/sh\nGrace:x:1002:1002::/home/g:/bin/sh\n' \
    >"$W/passwd"
for u in Grace LOCALUSER; do
    before=$(fake_get auth_requests)
    pw=$PW_GRACE
    [ "$u" = LOCALUSER ] && pw=$PW_LOCAL
    pt "$pw" jellyfin "$u" authenticate
    expect_err "local account $u" "not known"
    [ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "a request was sent for local $u"
done
pt "$PW_GRACE" jellyfin GRACE authenticate
expect_ok "GRACE (no local account of that spelling) authenticates as grace"

# --- switch off: ALICE is nobody ---------------------------------------------------
fold_db 0
before=$(fake_get auth_requests)
pt "$PW_ALICE" jellyfin ALICE authenticate
expect_err "ALICE without the fold flag" "not known"
[ "$(fake_get auth_requests)" = "$before" ] || jfa_fail "a request was sent for ALICE"
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice still authenticates"
exit 0
