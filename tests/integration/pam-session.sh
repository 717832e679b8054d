#!/bin/bash
# pam-session.sh - the session group: the token kept at authentication is
# logged out at close; 50 login/logout cycles leave nothing on the server;
# two overlapping sessions of one user do not break each other; chauthtok.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https

# --- one session: token present while open, gone after close ---
pt "$PW_GRACE" jellyfin grace authenticate open_session close_session
expect_ok "grace session"
[ "$(devices_of $ID_GRACE)" = 0 ] || jfa_fail "token left after close_session"
[ -z "$(ls -A "$W/state/private/pending" 2>/dev/null)" ] || jfa_fail "pending record left"

# --- 50 cycles ---
for i in $(seq 1 50); do
    pt "$PW_ALICE" jellyfin alice authenticate acct_mgmt open_session close_session
    expect_ok "cycle $i"
done
[ "$(devices_of $ID_ALICE)" = 0 ] || jfa_fail "tokens left after 50 cycles: $(devices_of $ID_ALICE)"
fake_state | grep -q "$ID_ALICE" && fake_state | "$PYTHON3" -c '
import json, sys
s = json.load(sys.stdin)
left = [x for x in s.get("sessions", []) if x.get("UserId", x.get("user_id")) == sys.argv[1]]
sys.exit(1 if left else 0)' "$ID_ALICE" || jfa_fail "in-memory sessions left after 50 cycles"

# --- authentication in one process, session in another (as in sshd) ---
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "auth only"
[ -f "$W/state/private/pending/$ID_ALICE" ] || jfa_fail "no pending record after auth"
[ "$(stat -c %a "$W/state/private/pending/$ID_ALICE")" = 600 ] || jfa_fail "pending not 0600"
[ "$(stat -c %a "$W/state/private")" = 700 ] || jfa_fail "private dir not 0700"
# pam_sessions runs open/close in a new handle: it must pick up the record.
# (here through a full second login; the pending record is replaced)

# --- two overlapping sessions ---
cat >"$W/hook.sh" <<HOOK
#!/bin/bash
# the hook only talks to the fake: no wrappers or sanitizer runtimes here
unset LD_PRELOAD
n=\$(curl -sk "$URL/__fake/state" | "$PYTHON3" -c '
import json, sys
print(sum(1 for d in json.load(sys.stdin)["devices"] if d["user_id"] == sys.argv[1]))' "$ID_ALICE")
case "\$1" in
opened1|opened2|closed1) [ "\$n" = 1 ] ;;
closed2) [ "\$n" = 0 ] ;;
esac || { echo "hook \$1: \$n tokens" >&2; exit 1; }
HOOK
chmod +x "$W/hook.sh"
pam_env "$top_builddir/tests/unit/pam_sessions" jellyfin alice "$PW_ALICE" "env -u LD_PRELOAD $W/hook.sh" \
    >>"$W/module.log" 2>&1 || jfa_fail "overlapping sessions: $(tail -5 "$W/module.log")"

# --- chauthtok: wrong current password, policy refusal, success ---
pt "$(printf 'wrong-current\nnew-pass-1\nnew-pass-1')" jellyfin grace chauthtok
expect_err "chauthtok wrong current" "failure\|error"
pt "$(printf '%s\nnew-pass-1\nnew-pass-1' "$PW_FRANK")" jellyfin frank chauthtok
expect_err "frank may not change" "denied"
pt "$(printf '%s\nnew-grace-pass\nnew-grace-pass' "$PW_GRACE")" jellyfin grace chauthtok
expect_ok "grace changes the password"
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "old password after change" "Authentication failure"
pt "new-grace-pass" jellyfin grace authenticate
expect_ok "new password after change"
pt "$(printf 'new-grace-pass\n\n')" jellyfin grace chauthtok
expect_err "empty new password" "error\|failure"
pt "x" jellyfin localuser chauthtok
expect_err "chauthtok of a local account" "not known"

for s in "$PW_ALICE" "$PW_GRACE" new-grace-pass new-pass-1 wrong-current "$PW_FRANK"; do
    grep -qF -- "$s" "$W/module.log" && jfa_fail "a password appears in the module log"
done
exit 0
