#!/bin/sh
# sync-status: `status`, `doctor`, `login`, `users`, --help of every
# command, usage errors (exit 2), and the shipped example configuration.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_B=b0b00000000000000000000000000002
sync_fixture "[$(user_json Alice $ID_A '"password": "alice pw", "is_administrator": true'),
 $(user_json bob $ID_B '"password": "bob pw", "is_disabled": true')]"

# before any sync
jf status >"$W/out" 2>&1 && jfa_fail "status ok without a database"
expect_in "$(cat "$W/out")" "^database: FAIL" "status: missing database"
jf users >"$W/out" 2>&1 && jfa_fail "users ok without a database"
expect_in "$(cat "$W/out")" "run 'jellyfin-auth sync'" "users: hint"

jf sync --quiet || jfa_fail "sync"
# status checks the NSS and PAM wiring too: wire them
printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$W/ns"
mkdir -p "$W/pam.d"
printf 'auth [success=1 default=ignore] pam_jellyfin.so\n' >"$W/pam.d/common-auth"
export JELLYFIN_AUTH_NSSWITCH="$W/ns" JELLYFIN_AUTH_PAM_DIR="$W/pam.d"
out=$(jf status) || { echo "$out" >&2; jfa_fail "status not ok"; }
expect_in "$out" '^server:   ok, "Sync Test" version [0-9.]*, id 5e2e2000000000000000000000000001' "server line"
expect_in "$out" "^api key:  ok, GET /Users lists 2 users" "api key line"
expect_in "$out" "^database: ok, 2 users, last sync [0-9]* s ago" "database line"
expect_in "$out" "^omitted:  0 " "omitted line"
expect_in "$out" "^status:   all is well" "status summary"
expect_not_in "$out" "$SYNC_KEY" "status printed the key"

# doctor: everything in place
printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$W/ns"
mkdir -p "$W/pam.d"
printf 'auth [success=1 default=ignore] pam_jellyfin.so\n' >"$W/pam.d/common-auth"
export JELLYFIN_AUTH_NSSWITCH="$W/ns" JELLYFIN_AUTH_PAM_DIR="$W/pam.d"
out=$(jf doctor) || { echo "$out" >&2; jfa_fail "doctor failed on a good setup"; }
for check in "state dir" private integrity "db age" ledger shell nsswitch pam "lockout guard"; do
    expect_in "$out" "^OK    $check " "doctor: $check not OK"
done
# files owned by the running user: OK as root, a WARN naming the owner otherwise
for check in config "api key" database; do
    if [ "$(id -u)" = 0 ]; then
        expect_in "$out" "^OK    $check " "doctor: $check not OK"
    else
        expect_in "$out" "^WARN  $check .*owned by uid $(id -u), not root" "doctor: $check"
    fi
done
expect_in "$out" "^0 failed" "doctor summary"
# only common-auth wired: warnings name what is missing; the state dir is not
# where the NSS module looks
printf 'account required pam_unix.so\n' >"$W/pam.d/common-account"
printf 'session required pam_unix.so\n' >"$W/pam.d/common-session"
out=$(jf doctor) || { echo "$out" >&2; jfa_fail "doctor failed with warnings only"; }
expect_in "$out" "^WARN  pam .*common-account does not use pam_jellyfin.so: disabled" "doctor: account"
expect_in "$out" "^WARN  pam .*common-session does not use pam_jellyfin.so: Jellyfin tokens" \
    "doctor: session"
expect_in "$out" "^WARN  state dir .*the NSS module reads only" "doctor: state dir elsewhere"
rm -f "$W/pam.d/common-account" "$W/pam.d/common-session"

cp "$JELLYFIN_AUTH_CONF" "$W/conf.good"
echo "lockout_guard = no" >>"$JELLYFIN_AUTH_CONF"
out=$(jf doctor) || { echo "$out" >&2; jfa_fail "doctor failed with the guard off"; }
expect_in "$out" "^WARN  lockout guard .*off" "doctor: lockout guard off"
cp "$W/conf.good" "$JELLYFIN_AUTH_CONF"

# doctor: each problem is a FAIL with a reason
chmod 0640 "$W/etc/jellyfin-auth.key"
out=$(jf doctor) && jfa_fail "doctor ok with a group-readable key"
expect_in "$out" "^FAIL  api key" "doctor: key mode"
expect_in "$out" "^WARN  lockout guard .*without a usable API key" "doctor: guard without key"
chmod 0600 "$W/etc/jellyfin-auth.key"
printf 'passwd: files\ngroup: files jellyfin\n' >"$W/ns"
out=$(jf doctor) && jfa_fail "doctor ok without jellyfin on passwd"
expect_in "$out" "^FAIL  nsswitch .*missing on passwd" "doctor: nsswitch"
printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$W/ns"
printf '# pam_jellyfin.so commented out\n' >"$W/pam.d/common-auth"
out=$(jf doctor) && jfa_fail "doctor ok without PAM"
expect_in "$out" "^FAIL  pam" "doctor: pam"
printf 'auth required pam_jellyfin.so\n' >"$W/pam.d/common-auth"
cp "$DB" "$W/db.good"
"$PYTHON3" -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-3] ^= 0xff; open(p, "wb").write(b)' "$DB"
out=$(jf doctor) && jfa_fail "doctor ok with a corrupt database"
expect_in "$out" "^FAIL  database" "doctor: corrupt db"
cp "$W/db.good" "$DB"
chmod 0644 "$DB"
printf 'junk\n' >>"$LEDGER"
out=$(jf doctor) && jfa_fail "doctor ok with a corrupt ledger"
expect_in "$out" "^FAIL  ledger .*ledger:[0-9]*:" "doctor: ledger with line"
head -n -1 "$LEDGER" >"$W/l" && cat "$W/l" >"$LEDGER"
write_conf "shell = /bin/false"
out=$(jf doctor) && jfa_fail "doctor ok with a shell not in /etc/shells"
expect_in "$out" "^FAIL  shell" "doctor: shell"
write_conf
jf doctor >/dev/null || jfa_fail "doctor not ok after the repairs"

# login (= explain asking for the password): as PAM would, options after USER
out=$(printf 'alice pw\n' | jf login alice --password-stdin) || { echo "$out" >&2; jfa_fail "login"; }
expect_in "$out" "^pass  database .*Jellyfin \"Alice\", Id $ID_A, flags: admin" "login mapping"
expect_in "$out" "^pass  guard .*no lockout set in Jellyfin" "login: lockout line"
expect_in "$out" "^logout: the new Jellyfin session: ok" "login did not log out"
expect_in "$out" "^verdict: PAM_SUCCESS" "login verdict"
out=$(printf 'wrong\n' | jf login --password-stdin alice) && jfa_fail "login with a wrong password"
expect_in "$out" "^STOP  answer .*401: wrong password" "wrong password class"
out=$(printf 'bob pw\n' | jf login --password-stdin bob) && jfa_fail "login of a disabled user"
expect_in "$out" "^STOP  answer .*403" "disabled user class"
out=$(printf 'x\n' | jf login --password-stdin root) && jfa_fail "login of root"
expect_in "$out" "^STOP  root" "root refused"
out=$(printf 'x\n' | jf login --password-stdin nosuchuser) && jfa_fail "login of an unknown user"
expect_in "$out" "^STOP  database .*not a Jellyfin user" "unknown user"
out=$(printf '\n' | jf login --password-stdin alice) && jfa_fail "login with an empty password"
expect_in "$out" "^STOP  password .*empty" "empty password"
# the lockout guard's view; nothing is sent where pam_jellyfin would not send
fake_users "{\"upsert\": [{\"id\": \"$ID_A\", \"login_attempts_before_lockout\": 3, \"invalid_login_attempt_count\": 1}]}"
out=$(printf 'alice pw\n' | jf login --password-stdin alice) || { echo "$out" >&2; jfa_fail "login 1 of 3"; }
expect_in "$out" "^pass  guard .*1 failed logins, Jellyfin disables the account at 3" "login: counts"
fake_users "{\"upsert\": [{\"id\": \"$ID_A\", \"invalid_login_attempt_count\": 2}]}"
out=$(printf 'not alice pw\n' | jf login --password-stdin alice) && jfa_fail "login sent at 2 of 3"
expect_in "$out" "^STOP  guard .*2 failed logins, Jellyfin disables the account at 3" \
    "login: guard refusal"
expect_not_in "$out" "^[a-zA-Z]*  *answer " "login sent a password one failure from the lockout"
# the kinder guard: the password of the last login (it matches the verifier) is sent
out=$(printf 'alice pw\n' | jf login --password-stdin alice) || { echo "$out" >&2; jfa_fail "login 2 of 3, verifier"; }
expect_in "$out" "^pass  guard .*the password matches the offline verifier" "login: kinder guard"
echo "lockout_guard = no" >>"$JELLYFIN_AUTH_CONF"
out=$(printf 'alice pw\n' | jf login --password-stdin alice) || { echo "$out" >&2; jfa_fail "login, guard off"; }
expect_in "$out" "^info  guard .*off (lockout_guard = no)" "login: guard off"
write_conf
fake_users "{\"upsert\": [{\"id\": \"$ID_A\", \"login_attempts_before_lockout\": -1, \"invalid_login_attempt_count\": 0}]}"
state=$(jfa_fake_ctl "$FAKE" GET /__fake/state)
expect_in "$state" '"devices": \[\]' "login left a token on the server"

# users as a table, with the report
out=$(jf users) || jfa_fail "users"
expect_in "$out" "^bob  *[0-9]*  bob  *no    yes" "users: disabled bob"

# --help everywhere, usage errors exit 2
for c in setup status sync users login doctor; do
    jf "$c" --help >"$W/out" 2>&1 || jfa_fail "$c --help failed"
    expect_in "$(cat "$W/out")" "^Usage: jellyfin-auth $c" "$c --help text"
done
jf --help >/dev/null || jfa_fail "--help"
jf --version | grep -q '^jellyfin-auth [0-9]' || jfa_fail "--version"
for args in "" "frobnicate" "sync extra" "sync --bogus" "login" "login a b" "users x" \
    "status --nope" "doctor x"; do
    # shellcheck disable=SC2086
    jf $args >/dev/null 2>&1
    rc=$?
    [ "$rc" = 2 ] || jfa_fail "'jellyfin-auth $args' exit $rc, expected 2"
done

# the systemd units: paths substituted, the documented schedule
svc="$top_builddir/tools/jellyfin-auth-sync.service"
if [ -f "$svc" ]; then
    grep -q '@' "$svc" && jfa_fail "unsubstituted @variable@ in $svc"
    grep -qx 'ExecStart=/.*/jellyfin-auth sync --quiet' "$svc" || jfa_fail "ExecStart"
    grep -qx 'Type=oneshot' "$svc" || jfa_fail "Type"
    grep -qx 'ProtectSystem=strict' "$svc" || jfa_fail "ProtectSystem"
fi
tmr="$top_srcdir/tools/jellyfin-auth-sync.timer"
for l in OnBootSec=1min OnUnitActiveSec=1min AccuracySec=1s RandomizedDelaySec=5s; do
    grep -qx "$l" "$tmr" || jfa_fail "timer lacks $l"
done

# the shipped example configuration parses
cp "$top_srcdir/tools/jellyfin-auth.conf.example" "$W/example.conf"
chmod 0644 "$W/example.conf"
jf --config "$W/example.conf" users >"$W/out" 2>&1
expect_not_in "$(cat "$W/out")" "example.conf:[0-9]" "example configuration does not parse"

# status fails clearly without a key and without a server
mv "$W/etc/jellyfin-auth.key" "$W/key.away"
out=$(jf status) && jfa_fail "status ok without a key"
expect_in "$out" "^api key:  FAIL" "status: missing key"
mv "$W/key.away" "$W/etc/jellyfin-auth.key"
kill $JFA_FAKE_PIDS 2>/dev/null
wait $JFA_FAKE_PIDS 2>/dev/null
JFA_FAKE_PIDS=
out=$(jf status) && jfa_fail "status ok without a server"
expect_in "$out" "^server:   FAIL" "status: server down"
exit 0
