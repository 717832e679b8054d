#!/bin/bash
# pam-reset.sh - `jellyfin-auth reset`: clears the local back-off of a user
# (its throttle record and refused passwords) or of a remote host, under the
# locks the module takes; --server sets the user's failed-login count on
# Jellyfin to 0 with the API key (POST /Users/{id}/Policy, every other
# policy field kept).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
[ -x "$JFA_TOOL" ] || jfa_fail "tools/jellyfin-auth not built"
pam_api_key
conf() { write_conf "$URL" "throttle_failures = 2" "offline_max_age = 0" "$@"; }
conf
P=$W/state/private
# the admin tool: the fixture's users (nss_wrapper) and configuration, no pam_wrapper
jfa() {
    env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) \
        NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group" \
        JELLYFIN_AUTH_CONF="$W/jellyfin-auth.conf" "$JFA_TOOL" "$@"
}
grace_field() {
    fake_state | "$PYTHON3" -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["name"] == "grace"][0]
print(json.dumps(u[sys.argv[1]]))' "$1"
}
rec_of() { echo "$P/throttle/$(printf '%s' "$1" | sha256sum | cut -c1-32)"; }

# --- usage ---
jfa reset >/dev/null 2>&1
[ $? = 2 ] || jfa_fail "reset without USER or --host is not a usage error"
jfa reset --server --host 192.0.2.1 >/dev/null 2>&1
[ $? = 2 ] || jfa_fail "--server without USER is not a usage error"
out=$(jfa reset nosuchuser 2>&1) && jfa_fail "reset of an unknown user succeeded"
printf '%s' "$out" | grep -q "'nosuchuser' is not in the users database" || jfa_fail "unknown user: $out"

# --- a throttled user: reset lets the right password through again ---
pt wrong-1 jellyfin grace authenticate
pt wrong-2 jellyfin grace authenticate
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "grace throttled" "Authentication failure"
[ -f "$(rec_of "$ID_GRACE")" ] || jfa_fail "no throttle record for grace"
[ -f "$P/rejected/$ID_GRACE" ] || jfa_fail "no refused passwords for grace"
out=$(jfa reset grace) || jfa_fail "reset grace: $out"
printf '%s\n' "$out" | grep -q "^local: back-off of 'grace' cleared (2 failures counted), 2 refused passwords forgotten" ||
    jfa_fail "reset output: $out"
[ -f "$(rec_of "$ID_GRACE")" ] && jfa_fail "grace's throttle record survived the reset"
[ -f "$P/rejected/$ID_GRACE" ] && jfa_fail "grace's refused passwords survived the reset"
BEFORE=$(fake_get auth_requests)
pt wrong-1 jellyfin grace authenticate
[ "$(($(fake_get auth_requests) - BEFORE))" = 1 ] || jfa_fail "a refused password was not forgotten"
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace after the reset"

# --- USER found as the module finds it: case folded (case_sensitive = no:
# the database's fold flag, mkdb spec field 10 = 0x10), root named as never
# a Jellyfin user ---
awk '$1 == "user" && $10 == "0" { $10 = "0x10" } { print }' "$W/db.spec" >"$W/db.spec.fold"
"$JFA_MKDB" "$W/db.spec.fold" "$W/state/users.db" || jfa_fail "mkdb (fold)"
pt wrong-3 jellyfin grace authenticate
[ -f "$(rec_of "$ID_GRACE")" ] || jfa_fail "no throttle record for grace after wrong-3"
out=$(jfa reset GRACE 2>&1) || jfa_fail "reset GRACE (the module folds case): $out"
[ -f "$(rec_of "$ID_GRACE")" ] && jfa_fail "reset GRACE left grace's throttle record"
out=$(jfa reset root 2>&1) && jfa_fail "reset root succeeded"
printf '%s' "$out" | grep -q "'root' is not a Jellyfin user here (the name is root)" ||
    jfa_fail "reset root: $out"

# --- a throttled host ---
pt wrong-h1 -I rhost=198.51.100.20 jellyfin frank authenticate
pt wrong-h2 -I rhost=198.51.100.20 jellyfin dave authenticate
pt "$PW_ALICE" -I rhost=198.51.100.20 jellyfin alice authenticate
expect_err "alice from a throttled host" "Authentication failure"
out=$(jfa reset --host 198.51.100.20) || jfa_fail "reset --host: $out"
printf '%s\n' "$out" | grep -q "^local: back-off of host 198.51.100.20 cleared (2 failures counted)" ||
    jfa_fail "reset --host output: $out"
[ -f "$(rec_of host:198.51.100.20)" ] && jfa_fail "the host's record survived the reset"
[ -f "$(rec_of "$ID_FRANK")" ] || jfa_fail "reset --host touched frank's own record"
pt "$PW_ALICE" -I rhost=198.51.100.20 jellyfin alice authenticate
expect_ok "alice from the host after the reset"

# --- the module's lock: a login of grace in flight makes reset wait, then give up ---
pt wrong-3 jellyfin grace authenticate
TIMEOUT=1 conf
mkfifo "$W/release"
flock -x "$P/locks/$ID_GRACE" sh -c 'echo >"$1/held"; read x <"$1/release"' sh "$W" &
holder=$!
for i in $(seq 1 100); do [ -e "$W/held" ] && break; sleep 0.05; done
[ -e "$W/held" ] || jfa_fail "the test could not take the lock"
out=$(jfa reset grace 2>&1) && jfa_fail "reset succeeded while a login held the lock"
printf '%s' "$out" | grep -q "a login of 'grace' is still being checked; try again" || jfa_fail "lock: $out"
[ -f "$(rec_of "$ID_GRACE")" ] || jfa_fail "reset removed the record without the lock"
echo >"$W/release"
wait "$holder"
jfa reset grace >/dev/null || jfa_fail "reset once the lock is free"
[ -f "$(rec_of "$ID_GRACE")" ] && jfa_fail "the record survived"
conf

# --- --server: Jellyfin's count back to 0, every other policy field kept ---
jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [{\"id\": \"$ID_GRACE\", \
\"login_attempts_before_lockout\": 3, \"invalid_login_attempt_count\": 2, \
\"enable_remote_access\": false, \"max_active_sessions\": 4, \"is_hidden\": false}]}" >/dev/null
before=$(fake_state | "$PYTHON3" -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["name"] == "grace"][0]
u.pop("invalid_login_attempt_count"); print(json.dumps(u, sort_keys=True))')
out=$(jfa reset grace --server) || jfa_fail "reset --server: $out"
printf '%s\n' "$out" | grep -q "^server: failed-login count of 'grace' on Jellyfin set to 0 (was 2)" ||
    jfa_fail "reset --server output: $out"
[ "$(grace_field invalid_login_attempt_count)" = 0 ] || jfa_fail "the server's count is not 0"
after=$(fake_state | "$PYTHON3" -c '
import json, sys
u = [u for u in json.load(sys.stdin)["users"] if u["name"] == "grace"][0]
u.pop("invalid_login_attempt_count"); print(json.dumps(u, sort_keys=True))')
[ "$before" = "$after" ] || jfa_fail "reset --server changed more than the count: $before -> $after"
# ...so the guard lets grace's right password through again
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace after reset --server"
# a key the server refuses: an error that says so, exit 1
printf '%s\n' "deadbeef${API_KEY:8}" >"$W/api.key"
out=$(jfa reset grace --server 2>&1) && jfa_fail "reset --server with a refused key succeeded"
printf '%s' "$out" | grep -q "cannot reset the failed-login count of 'grace' on Jellyfin" ||
    jfa_fail "refused key: $out"
exit 0
