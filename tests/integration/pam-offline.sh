#!/bin/bash
# pam-offline.sh - offline logins: a verifier is kept after each successful
# online login and used only when the server is unreachable; a 401 for the
# password it holds and any 403 drop
# it; a user disabled as last seen stays refused; expiry; online -> offline
# -> online; a password change without an answer drops it; a process that
# cannot read the state gets AUTHINFO_UNAVAIL.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
pam_fixture https
conf() { TIMEOUT=2 write_conf "$@" "offline_max_age = 1h"; }
conf "$URL"
UNAVAIL="retrieve authentication info"
V=$W/state/private/verifiers

pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace online"
[ -f "$V/$ID_GRACE" ] || jfa_fail "no verifier after an online login"
[ "$(stat -c %a "$V/$ID_GRACE")" = 600 ] || jfa_fail "verifier is not 0600"
[ "$(stat -c %a "$V")" = 700 ] || jfa_fail "verifier dir is not 0700"
grep -q '^hash=\$y\$' "$V/$ID_GRACE" || jfa_fail "verifier is not yescrypt"
grep -qF -- "$PW_GRACE" "$V/$ID_GRACE" && jfa_fail "password in clear in the verifier"

# --- server unreachable in three ways: offline login with the right password ---
for mode in 503 hang reset; do
    fake_fault "{\"mode\": \"$mode\"}"
    pt "$PW_GRACE" jellyfin grace authenticate
    expect_ok "offline login ($mode)"
    pt "wrong-offline" jellyfin grace authenticate
    expect_err "offline wrong password ($mode)" "Authentication failure"
done
grep -q "offline login for 'grace'" "$W/module.log" || jfa_fail "offline login not logged"

# --- a certificate failure or a redirect is not 'server down': never offline ---
# A man in the middle must not make the old password work again through the
# offline path. grace has a verifier; each of these must refuse her right
# password with AUTHINFO_UNAVAIL, log the reason, and keep the verifier.
jfa_make_cert "$W/untrusted"
jfa_make_cert "$W/wronghost" "DNS:not-this-host.example"
jfa_start_fake wronghost "$W/users.json" --tls-cert "$W/wronghost/cert.pem" \
    --tls-key "$W/wronghost/key.pem"
jfa_make_expired_cert "$W/expired"
jfa_start_fake expired "$W/users.json" --tls-cert "$W/expired/cert.pem" \
    --tls-key "$W/expired/key.pem"
# no_offline WHAT REASON-IN-LOG
no_offline() {
    local lines new
    lines=$(wc -l <"$W/module.log")
    pt "$PW_GRACE" jellyfin grace authenticate
    expect_err "$1: no offline login" "$UNAVAIL"
    new=$(tail -n +"$((lines + 1))" "$W/module.log")
    ! grep -q "offline login for 'grace'" <<<"$new" || jfa_fail "$1: went offline"
    grep -qi -- "$2" <<<"$new" || jfa_fail "$1: the log does not name the reason ($2)"
    [ -f "$V/$ID_GRACE" ] || jfa_fail "$1: the verifier was dropped"
}
CA_FILE="$W/untrusted/cert.pem" conf "$URL"
no_offline "untrusted certificate" "untrusted issuer"
# without the lockout guard the login request itself meets the certificate
CA_FILE="$W/untrusted/cert.pem" conf "$URL" "lockout_guard = no"
no_offline "untrusted certificate, no lockout guard" "untrusted issuer"
# a password change through an untrusted certificate: refused, reason logged
CA_FILE="$W/untrusted/cert.pem" conf "$URL"
lines=$(wc -l <"$W/module.log")
pt "$(printf '%s\n%s\n%s' "$PW_GRACE" grace-tls-new grace-tls-new)" jellyfin grace chauthtok
expect_err "password change through an untrusted certificate" "manipulation error"
tail -n +"$((lines + 1))" "$W/module.log" | grep -q "untrusted issuer" ||
    jfa_fail "password change: the log does not name the untrusted certificate"
CA_FILE="$W/wronghost/cert.pem" conf "$FAKE_URL_wronghost"
no_offline "certificate for another name" "host name"
CA_FILE="$W/expired/cert.pem" conf "$FAKE_URL_expired"
no_offline "expired certificate" "expired"
conf "$URL"
fake_fault '{"mode": "redirect"}'
no_offline "redirect to plain http" "redirect"
fake_fault '{"mode": "none"}'
# the other side, after the TLS refusals: a dead server still goes offline
conf "http://127.0.0.1:$(jfa_free_port)"
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "offline login after the TLS refusals, connection refused"
conf "$URL"
fake_fault '{"mode": "none"}'
conf "http://127.0.0.1:$(jfa_free_port)"
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "offline login, connection refused"
# offline sessions have no token: open/close work and send nothing
pt "$PW_GRACE" jellyfin grace authenticate open_session close_session
expect_ok "offline session"
pt "$PW_ALICE" jellyfin alice authenticate
expect_err "no verifier for alice" "$UNAVAIL"

# --- never offline on a malformed answer (a hostile server must not force it) ---
conf "$URL"
fake_fault '{"mode": "malformed"}'
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "malformed answer is not 'unreachable'" "$UNAVAIL"
fake_fault '{"mode": "none"}'

# --- a 401 for another password (a typo) keeps the verifier: it says nothing
# about the password the verifier holds ---
pt "wrong-online" jellyfin grace authenticate
expect_err "grace wrong password online" "Authentication failure"
[ -f "$V/$ID_GRACE" ] || jfa_fail "verifier dropped after a 401 for another password"
fake_fault '{"mode": "503"}'
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "offline login after a typo online"
fake_fault '{"mode": "none"}'

# --- a 401 for the verifier's own password (changed in Jellyfin) deletes it at once ---
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"changed-elsewhere\"}]}" >/dev/null
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "grace's old password online" "Authentication failure"
[ -f "$V/$ID_GRACE" ] && jfa_fail "verifier kept after a 401 for its own password"
# (the refused password is also remembered and would be refused unasked:
# forget it, to see the verifier's part alone)
rm -rf "$W/state/private/rejected"
fake_fault '{"mode": "503"}'
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "no offline login with the old password after a 401" "$UNAVAIL"
fake_fault '{"mode": "none"}'
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\"}]}" >/dev/null

# --- a 403 deletes it too ---
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace online again"
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", \"is_disabled\": true}]}" >/dev/null
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "grace disabled on the server" "expired\|Authentication failure"
[ -f "$V/$ID_GRACE" ] && jfa_fail "verifier kept after a 403"
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"$PW_GRACE\", \"is_disabled\": false}]}" >/dev/null

# --- disabled as last seen (by the last sync): refused offline ---
pt "$PW_GRACE" jellyfin grace authenticate
expect_ok "grace online, re-enabled"
sed "s/^user grace \(.*\) $ID_GRACE 0 /user grace \1 $ID_GRACE 0x2 /" "$W/db.spec" >"$W/db2.spec"
"$JFA_MKDB" "$W/db2.spec" "$W/state/users.db" || jfa_fail mkdb
fake_fault '{"mode": "503"}'
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "offline login of a user disabled at the last sync" "expired"
"$JFA_MKDB" "$W/db.spec" "$W/state/users.db" || jfa_fail mkdb

# --- online -> offline -> online with a new password ---
fake_fault '{"mode": "none"}'
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"grace-new-pw\"}]}" >/dev/null
pt "grace-new-pw" jellyfin grace authenticate
expect_ok "online with the new password"
fake_fault '{"mode": "503"}'
pt "$PW_GRACE" jellyfin grace authenticate
expect_err "offline with the old password" "Authentication failure"
pt "grace-new-pw" jellyfin grace authenticate
expect_ok "offline with the new password"
fake_fault '{"mode": "none"}'
pt "grace-new-pw" jellyfin grace authenticate
expect_ok "back online"

# --- a password change whose answer does not arrive drops the verifier:
# Jellyfin may hold the new password already (here it does), and the old
# one must not stay good offline ---
pt "grace-new-pw" jellyfin grace authenticate
expect_ok "grace online before the password change"
fake_fault '{"mode": "slow", "delay": 4, "paths": ["/Users/Password"]}'
pt "$(printf '%s\n%s\n%s' grace-new-pw grace-newer-pw grace-newer-pw)" jellyfin grace chauthtok
[ "$RC" != 0 ] || jfa_fail "a password change without an answer succeeded"
sleep 3 # the fake applies the change when its delay is over (not a timing assertion)
fake_fault '{"mode": "503"}'
pt "grace-new-pw" jellyfin grace authenticate
expect_err "offline login with the password a change without an answer replaced" "$UNAVAIL"
grep -q "password change for 'grace' has no answer" "$W/module.log" ||
    jfa_fail "the dropped verifier is not logged"
fake_fault '{"mode": "none"}'
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"grace\", \"id\": \"$ID_GRACE\", \"password\": \"grace-new-pw\"}]}" >/dev/null

# --- expiry ---
pt "grace-new-pw" jellyfin grace authenticate
TIMEOUT=2 write_conf "$URL" "offline_max_age = 1"
fake_fault '{"mode": "503"}'
sleep 2
pt "grace-new-pw" jellyfin grace authenticate
expect_err "verifier older than offline_max_age" "$UNAVAIL"
# offline_max_age = 0: nothing stored, nothing used
TIMEOUT=2 write_conf "$URL" "offline_max_age = 0"
fake_fault '{"mode": "none"}'
rm -f "$V/$ID_ALICE"
pt "$PW_ALICE" jellyfin alice authenticate
expect_ok "alice online, offline disabled"
[ -f "$V/$ID_ALICE" ] && jfa_fail "verifier stored with offline_max_age = 0"

# --- a process that cannot read the private state: no crash, AUTHINFO_UNAVAIL ---
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    conf "$URL"
    pt "grace-new-pw" jellyfin grace authenticate
    expect_ok "grace online before the unprivileged test"
    fake_fault '{"mode": "503"}'
    # The build tree may sit where other uids cannot reach (a mktemp -d
    # clone): it loads a copy of the module from $W instead.
    mkdir -p "$W/nobody"
    cp "$JFA_PAM_SO" "$W/nobody/pam_jellyfin.so"
    chmod -R a+rX "$W/nobody"
    cp "$W/services/jellyfin" "$W/services.jellyfin.bak"
    sed -i "s#$JFA_PAM_SO#$W/nobody/pam_jellyfin.so#" "$W/services/jellyfin"
    chmod 0755 "$W"
    # grace's own uid: an unprivileged caller may check only its own account.
    OUT=$(printf 'grace-new-pw\n' | pam_env setpriv --reuid=$((U0 + 7)) --regid=$((U0 + 7)) --clear-groups \
        pamtester -v jellyfin grace authenticate 2>&1)
    RC=$?
    chmod 0700 "$W"
    mv "$W/services.jellyfin.bak" "$W/services/jellyfin"
    echo "$OUT" >>"$W/module.log"
    expect_err "unprivileged offline login" "$UNAVAIL"
fi

for s in "$PW_GRACE" grace-new-pw wrong-offline wrong-online "$PW_ALICE"; do
    grep -qF -- "$s" "$W/module.log" && jfa_fail "a password appears in the module log"
done
exit 0
