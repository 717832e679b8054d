#!/bin/sh
# sync-setup: `jellyfin-auth setup` against the fake with an administrator:
# key file 0600 (never printed), config written, first sync done, admin
# token logged out; a second run keeps the working key, an unreachable
# server changes nothing, --force replaces only a bad key file; a wrong password or
# a non-administrator writes nothing; --enable / --disable edit a temporary
# nsswitch.conf idempotently and reversibly, keeping its mode, with one
# backup.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_BOSS=b0550000000000000000000000000001
ID_KID=c1d00000000000000000000000000002
mkdir -p "$W/etc"
cat >"$W/data.json" <<EOF
{"server": {"name": "Setup Test"},
 "api_keys": [],
 "users": [$(user_json Boss $ID_BOSS '"is_administrator": true, "password": "boss pw"'),
           $(user_json kid $ID_KID '"password": "kid pw"')]}
EOF
jfa_start_fake main "$W/data.json"
FAKE=$FAKE_URL_main
CONF="$W/etc/jellyfin-auth.conf"
KEY="$W/etc/jellyfin-auth.key"
export JELLYFIN_AUTH_CONF="$CONF"
NS="$W/nsswitch.conf"
export JELLYFIN_AUTH_NSSWITCH="$NS"
# status_ok WHEN: status finds no problem except the NSS/PAM wiring
status_ok() {
    out=$("$JFA_TOOL" status)
    for l in config server "api key" database; do
        expect_in "$out" "^$l: *ok" "status $1: $l"
    done
}
setup() {
    "$JFA_TOOL" setup --url "$FAKE" --key-file "$KEY" --state-dir "$W/state" --password-stdin "$@"
}

# a wrong password, then a non-administrator: nothing written
printf 'wrong\n' | setup --user Boss >"$W/out" 2>&1 && jfa_fail "setup with a wrong password"
expect_in "$(cat "$W/out")" "administrator login failed" "wrong password message"
printf 'kid pw\n' | setup --user kid >"$W/out" 2>&1 && jfa_fail "setup as a non-administrator"
expect_in "$(cat "$W/out")" "not an administrator" "non-admin message"
[ -e "$KEY" ] && jfa_fail "key file written after a failed setup"
[ -e "$CONF" ] && jfa_fail "config written after a failed setup"

# the real thing
printf 'boss pw\n' | setup --user Boss >"$W/out" 2>&1 || { cat "$W/out" >&2; jfa_fail "setup failed"; }
[ -f "$KEY" ] || jfa_fail "no key file"
[ "$(stat -c %a "$KEY")" = 600 ] || jfa_fail "key file mode $(stat -c %a "$KEY")"
key=$(cat "$KEY")
printf '%s' "$key" | grep -qx '[0-9a-f]\{32\}' || jfa_fail "key file content"
grep -q "$key" "$W/out" && jfa_fail "the API key was printed"
[ "$(stat -c %a "$CONF")" = 644 ] || jfa_fail "config mode"
grep -qx "url = $FAKE" "$CONF" || jfa_fail "config lacks the url"
grep -qx "api_key_file = $KEY" "$CONF" || jfa_fail "config lacks the key file"
expect_in "$(cat "$W/out")" "^added    boss" "first sync not run"
expect_in "$(cat "$W/out")" "pam-auth-update --enable jellyfin" "PAM hint"
expect_in "$(cat "$W/out")" "passwd:  *files jellyfin" "nsswitch hint"
[ -f "$W/state/users.db" ] || jfa_fail "no database"
# the key is on the server under a unique name, and the admin session is gone
keys=$(curl -s -H "Authorization: MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t\", Version=\"1\", Token=\"$key\"" \
    "$FAKE/Auth/Keys")
expect_in "$keys" "\"AppName\": *\"jellyfin-auth $(hostname)\"" "key name on the server (the documented one)"
state=$(jfa_fake_ctl "$FAKE" GET /__fake/state)
[ "$("$PYTHON3" -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))' <<EOF
$state
EOF
)" = 0 ] || jfa_fail "the administrator token was not logged out"
status_ok "after setup"

# a second run keeps the working key and the config (see setup-keep.sh for
# an edited config)
cp "$KEY" "$W/key.before"
cp "$CONF" "$W/conf.before"
"$JFA_TOOL" setup </dev/null >"$W/out" 2>&1 || { cat "$W/out" >&2; jfa_fail "second setup"; }
expect_in "$(cat "$W/out")" "API key .*: kept" "key not kept"
cmp -s "$KEY" "$W/key.before" || jfa_fail "key replaced"
cmp -s "$CONF" "$W/conf.before" || jfa_fail "config replaced"
# a server that cannot be reached is no verdict on the key: nothing changes
"$JFA_TOOL" setup --url http://127.0.0.1:1 </dev/null >"$W/out" 2>&1 &&
    jfa_fail "setup against an unreachable url succeeded"
expect_in "$(cat "$W/out")" "nothing changed" "unreachable server message"
cmp -s "$KEY" "$W/key.before" || jfa_fail "key replaced after a network error"
cmp -s "$CONF" "$W/conf.before" || jfa_fail "config changed after a network error"

# nsswitch.conf editing
cat >"$NS" <<'EOF'
# test nsswitch.conf
passwd:         files systemd
group:          files systemd # trailing comment
shadow:         files
hosts:          files dns
EOF
chmod 0640 "$NS"
cp "$NS" "$W/ns.orig"
# PAM wiring goes through pam-auth-update: a stub records the calls (the
# real one would change this machine's /etc/pam.d)
printf '#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >>"%s/pam-auth-update.calls"\n' "$W" >"$W/pau"
chmod 0755 "$W/pau"
export JELLYFIN_AUTH_PAM_AUTH_UPDATE="$W/pau"
"$JFA_TOOL" setup --enable </dev/null >"$W/out" 2>&1 || { cat "$W/out" >&2; jfa_fail "setup --enable"; }
grep -qx 'passwd:         files systemd jellyfin' "$NS" || { cat "$NS" >&2; jfa_fail "passwd line"; }
grep -qx 'group:          files systemd jellyfin # trailing comment' "$NS" || jfa_fail "group line"
grep -qx 'shadow:         files' "$NS" || jfa_fail "shadow line touched"
[ "$(stat -c %a "$NS")" = 640 ] || jfa_fail "mode not kept"
cmp -s "$NS.jellyfin-auth.bak" "$W/ns.orig" || jfa_fail "backup differs from the original"
cp "$NS" "$W/ns.enabled"
"$JFA_TOOL" setup --enable </dev/null >"$W/out" 2>&1 || jfa_fail "second --enable"
cmp -s "$NS" "$W/ns.enabled" || jfa_fail "--enable is not idempotent"
expect_in "$(cat "$W/out")" "already" "second --enable message"
JELLYFIN_AUTH_PAM_DIR="$W" "$JFA_TOOL" doctor | grep -q '^OK    nsswitch' || jfa_fail "doctor: nsswitch"
"$JFA_TOOL" setup --disable >/dev/null 2>&1 || jfa_fail "--disable"
cmp -s "$NS" "$W/ns.orig" || { diff "$W/ns.orig" "$NS" >&2; jfa_fail "--disable did not restore the file"; }
[ "$(stat -c %a "$NS")" = 640 ] || jfa_fail "mode not kept by --disable"
"$JFA_TOOL" setup --disable >"$W/out" 2>&1 || jfa_fail "second --disable"
cmp -s "$NS" "$W/ns.orig" || jfa_fail "--disable is not idempotent"
cmp -s "$NS.jellyfin-auth.bak" "$W/ns.orig" || jfa_fail "backup rewritten"
printf 'noninteractive --enable jellyfin\nnoninteractive --enable jellyfin\nnoninteractive --remove jellyfin\nnoninteractive --remove jellyfin\n' >"$W/pau.want"
diff -u "$W/pau.want" "$W/pam-auth-update.calls" || jfa_fail "pam-auth-update calls"
# a failing pam-auth-update is an error that says PAM is unchanged
printf '#!/bin/sh\nexit 3\n' >"$W/pau"
"$JFA_TOOL" setup --disable >"$W/out" 2>&1 && jfa_fail "--disable with a failing pam-auth-update"
expect_in "$(cat "$W/out")" "failed (exit 3): PAM is unchanged" "pam-auth-update failure message"
# no pam-auth-update (not Debian): a hint, not an error
JELLYFIN_AUTH_PAM_AUTH_UPDATE="$W/none" "$JFA_TOOL" setup --disable >"$W/out" 2>&1 ||
    jfa_fail "--disable without pam-auth-update"
expect_in "$(cat "$W/out")" "not found: remove pam_jellyfin.so by hand" "no pam-auth-update hint"
printf '#!/bin/sh\nexit 0\n' >"$W/pau"
"$JFA_TOOL" setup --enable --disable >/dev/null 2>&1
[ $? = 2 ] || jfa_fail "--enable --disable is not a usage error"
# lines missing altogether are added
printf 'hosts: files\n' >"$W/ns2"
JELLYFIN_AUTH_NSSWITCH="$W/ns2" "$JFA_TOOL" setup --enable </dev/null >/dev/null 2>&1 ||
    jfa_fail "--enable on a file without passwd:"
grep -qx 'passwd: files jellyfin' "$W/ns2" || jfa_fail "passwd line not added"

# --force keeps a working key (never duplicated); it replaces a bad key file
printf 'boss pw\n' | setup --user Boss --force >"$W/out" 2>&1 || { cat "$W/out" >&2; jfa_fail "setup --force"; }
cmp -s "$KEY" "$W/key.before" || jfa_fail "--force replaced a working key"
echo garbage >"$KEY"
printf 'boss pw\n' | setup --user Boss >"$W/out" 2>&1 && jfa_fail "setup over a malformed key file without --force"
printf 'boss pw\n' | setup --user Boss --force >"$W/out" 2>&1 || { cat "$W/out" >&2; jfa_fail "setup --force over a bad key"; }
cmp -s "$KEY" "$W/key.before" && jfa_fail "--force kept a malformed key file"
status_ok "after --force"
exit 0
