#!/bin/bash
# tests/integration/e2e-demo.sh - the README's first command, demo/run.sh,
# run non-interactively: once with the bundled fake Jellyfin, once in
# "real server" mode (JELLYFIN_URL, jellyfin-auth setup) against a fake
# started here. Root only.
#
# Owns: the demo works and shows what it promises (getent, id, a PAM login,
# a refused wrong password and disabled user, an SSH login), and leaves the
# host unchanged (checked by the demo's own harness).
. "$top_srcdir/tests/lib.sh"
jfa_require_root
[ -z "${JFA_ASAN_PRELOAD:-}" ] || jfa_skip "sanitizer build (see tests/e2e-lib.sh)"
jfa_setup

demo() {
    env -u E2E_INNER JFA_DEMO_NONINTERACTIVE=1 JFA_DEMO_SKIP_DEPS=1 \
        JFA_DEMO_BUILD_DIR="$top_builddir" "$@" timeout 150 bash "$top_srcdir/demo/run.sh" \
        </dev/null >"$W/demo.out" 2>&1
    RC=$?
    [ "$RC" = 77 ] && { cat "$W/demo.out"; jfa_skip "the demo's namespace harness skipped"; }
}
expect_out() {
    grep -qE -- "$1" "$W/demo.out" || { cat "$W/demo.out"; jfa_fail "demo output lacks /$1/ ($2)"; }
}

# 1. bundled fake
demo env
[ "$RC" = 0 ] || { cat "$W/demo.out"; jfa_fail "demo/run.sh failed ($RC)"; }
expect_out '^  alice:x?\*?:[0-9]+:[0-9]+:alice:/home/alice:/bin/bash' "getent passwd alice"
expect_out 'uid=[0-9]+\(alice\) gid=[0-9]+\(alice\) groups=.*jellyfin-users.*jellyfin-admins' "id alice"
expect_out 'pamtester: successfully authenticated' "PAM login"
expect_out 'pamtester: session has successfully been closed' "PAM session"
expect_out 'Authentication failure|Authentication token|failure' "refusals"
expect_out '^  uid=[0-9]+\(alice\)' "ssh alice id"
expect_out 'home: /home/alice \(drwx------\)' "private home"
expect_out 'token was logged out' "session logout"
expect_out '^== Done in [0-9]+ s' "demo finished"
expect_out '^   built \([0-9]+ s\)' "build step reported"
grep -q FAIL "$W/demo.out" && { cat "$W/demo.out"; jfa_fail "demo printed a FAIL"; }

# 2. "real server" mode: setup with an administrator's login.
OBSERVER=0b5e2e20b5e2e20b5e2e20b5e2e20b5e
cat >"$W/users.json" <<JSON
{"server": {"name": "Real-ish Jellyfin"},
 "api_keys": [{"key": "$OBSERVER", "app": "test observer"}],
 "users": [
  {"name": "Admin", "id": "ad300000000000000000000000000001", "password": "admin-pw",
   "is_administrator": true},
  {"name": "erin", "id": "e2100000000000000000000000000002", "password": "erin pw 2"}
 ]}
JSON
jfa_make_cert "$W/tls"
jfa_start_fake real "$W/users.json" --tls-cert "$W/tls/cert.pem" --tls-key "$W/tls/key.pem"
demo env JELLYFIN_URL="$FAKE_URL_real" JELLYFIN_ADMIN=Admin JELLYFIN_PASSWORD=admin-pw \
    JELLYFIN_CA_FILE="$W/tls/cert.pem" JELLYFIN_DEMO_USER=erin JELLYFIN_DEMO_PASSWORD='erin pw 2'
[ "$RC" = 0 ] || { cat "$W/demo.out"; jfa_fail "demo/run.sh with JELLYFIN_URL failed ($RC)"; }
expect_out 'jellyfin-auth setup against https://' "setup step"
expect_out '^  erin:' "getent passwd erin"
expect_out 'uid=[0-9]+\(erin\)' "ssh erin id"
expect_out 'pamtester: successfully authenticated' "PAM login of erin"
grep -qF 'admin-pw' "$W/demo.out" && jfa_fail "the demo printed the administrator password"
expect_out '^  API key ".*" created' "setup created an API key with the admin login"
expect_out '^  PAM: .*pam-auth-update --enable jellyfin done' "setup --enable ran pam-auth-update"
# the demo removes the key it created: only the observer's is left
expect_out '^  API key deleted on the server' "the demo's key revoked"
keys=$(curl -s --cacert "$W/tls/cert.pem" -H "Authorization: MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t\", Version=\"1\", Token=\"$OBSERVER\"" \
    "$FAKE_URL_real/Auth/Keys" | "$PYTHON3" -c 'import json,sys; print(" ".join(k["AppName"] for k in json.load(sys.stdin)["Items"]))')
[ "$keys" = "test observer" ] || jfa_fail "keys left on the server after the demo: $keys"
echo "PASS: demo/run.sh with the fake and with JELLYFIN_URL"
exit 0
