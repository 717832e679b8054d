#!/bin/bash
# setup-keep: re-running `jellyfin-auth setup` keeps what the administrator
# wrote, and the API key lifecycle (issue 10). Against the fake, no root:
# - a re-run without options leaves the edited configuration byte for byte;
# - a re-run with --url (with --force too) changes that one line only,
#   every other line and comment kept in place (checked line by line), and
#   saves the previous file as PATH.bak;
# - a working key is reused: exactly one key of our name on the server
#   after any number of runs; a refused key is replaced, still one key;
# - `key rotate` leaves exactly one key of ours, the new one works and the
#   old one is refused; `key revoke` leaves none and removes the key file;
# - a failed rotate (server unreachable) changes nothing; no key is printed.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

OBSERVER=0b5e2e20b5e2e20b5e2e20b5e2e20b5e
mkdir -p "$W/etc"
cat >"$W/data.json" <<JSON
{"server": {"name": "Keep Test"},
 "api_keys": [{"key": "$OBSERVER", "app": "test observer"}],
 "users": [$(user_json Boss b0550000000000000000000000000001 '"is_administrator": true, "password": "boss pw"'),
           $(user_json kid c1d00000000000000000000000000002 '"password": "kid pw"')]}
JSON
jfa_start_fake main "$W/data.json"
FAKE=$FAKE_URL_main
CONF="$W/etc/jellyfin-auth.conf"
KEY="$W/etc/jellyfin-auth.key"
export JELLYFIN_AUTH_CONF="$CONF"
export JELLYFIN_AUTH_NSSWITCH="$W/nsswitch.conf"
NAME="jellyfin-auth $(hostname)"

api() { # api TOKEN METHOD PATH: prints the HTTP status, body in $W/api.out
    curl -s -o "$W/api.out" -w '%{http_code}' -X "$2" -H \
        "Authorization: MediaBrowser Client=\"t\", Device=\"t\", DeviceId=\"t\", Version=\"1\", Token=\"$1\"" \
        "$FAKE$3"
}
our_keys() { # the tokens of keys named $NAME on the server, one a line
    [ "$(api "$OBSERVER" GET /Auth/Keys)" = 200 ] || jfa_fail "GET /Auth/Keys with the observer key"
    "$PYTHON3" -c 'import json,sys
for k in json.load(open(sys.argv[1]))["Items"]:
    if k["AppName"] == sys.argv[2]: print(k["AccessToken"])' "$W/api.out" "$NAME"
}
one_key() { # one_key WHY: exactly one key of ours, the one in the key file
    local keys
    keys=$(our_keys)
    [ "$(printf '%s\n' "$keys" | grep -c .)" = 1 ] ||
        jfa_fail "$1: keys of ours on the server: $(printf '%s\n' "$keys" | grep -c .)"
    [ "$keys" = "$(cat "$KEY")" ] || jfa_fail "$1: the server's key is not the key file's"
}
no_key_printed() {
    grep -qiF "$(cat "$KEY" 2>/dev/null || echo none)" "$W/out" && jfa_fail "$1: the API key was printed"
    return 0
}
setup() { printf 'boss pw\n' | "$JFA_TOOL" setup --user Boss --password-stdin "$@" >"$W/out" 2>&1; }

setup --url "$FAKE" --key-file "$KEY" --state-dir "$W/state" || { cat "$W/out"; jfa_fail "first setup"; }
one_key "first setup"
no_key_printed "first setup"

# The administrator edits the configuration: comments, blank lines, settings.
printf '%s\n' '' '# --- local policy, added by the admin ---' 'home = /srv/home/%u' \
    'shell = /bin/sh' 'timeout = 7   ' \
    '#   a comment with odd spacing = not a setting' >>"$CONF"
sed -i '1i # first line written by the admin' "$CONF"
cp "$CONF" "$W/conf.edited"
"$JFA_TOOL" sync >"$W/out" 2>&1 || { cat "$W/out"; jfa_fail "sync with the admin's settings"; }

# 1. a re-run without options: byte for byte, no backup needed
for i in 1 2 3; do
    setup || { cat "$W/out"; jfa_fail "re-run $i"; }
done
cmp -s "$CONF" "$W/conf.edited" || {
    diff "$W/conf.edited" "$CONF"
    jfa_fail "a plain re-run changed the config"
}
one_key "three re-runs"

# 2. --url (and --force): only the url line changes, line by line
FAKE2=http://localhost:${FAKE##*:}
for force in "" --force; do
    cp "$CONF" "$W/conf.prev"
    if [ -z "$force" ]; then new=$FAKE2; else new=$FAKE; fi
    # shellcheck disable=SC2086
    setup --url "$new" $force || { cat "$W/out"; jfa_fail "re-run with --url $force"; }
    cmp -s "$CONF.bak" "$W/conf.prev" || jfa_fail "no backup of the previous file ($force)"
    [ "$(wc -l <"$CONF")" = "$(wc -l <"$W/conf.prev")" ] || jfa_fail "line count changed ($force)"
    n=0
    while IFS= read -r -u 3 a && IFS= read -r -u 4 b; do
        n=$((n + 1))
        if [ "$a" != "$b" ]; then
            case "$a" in url\ =*) ;; *) jfa_fail "line $n changed: '$a' -> '$b' ($force)" ;; esac
            [ "$b" = "url = $new" ] || jfa_fail "line $n: '$b', expected 'url = $new' ($force)"
        fi
    done 3<"$W/conf.prev" 4<"$CONF"
    [ "$n" = "$(wc -l <"$CONF")" ] || jfa_fail "compared $n lines only ($force)"
    grep -qx "url = $new" "$CONF" || jfa_fail "the url was not set ($force)"
    one_key "re-run with --url $force"
    no_key_printed "re-run with --url $force"
done
for l in '# first line written by the admin' 'home = /srv/home/%u' 'shell = /bin/sh' \
    'timeout = 7   ' '#   a comment with odd spacing = not a setting'; do
    grep -qxF -- "$l" "$CONF" || jfa_fail "the admin's line '$l' was lost"
done

# 2b. a setting the file lacks is appended, even to a file without a final
# newline; giving a value equal to the file's changes nothing
printf '%s' "$(cat "$CONF")" >"$W/conf.nonl" && cp "$W/conf.nonl" "$CONF"
# a real certificate: setup checks --ca-file as the configuration does
jfa_make_cert "$W/ca-only"
cp "$W/ca-only/cert.pem" "$W/ca.pem"
setup --ca-file "$W/ca.pem" || { cat "$W/out"; jfa_fail "re-run with --ca-file"; }
{ cat "$W/conf.nonl"; printf '\nca_file = %s\n' "$W/ca.pem"; } >"$W/conf.want"
cmp -s "$CONF" "$W/conf.want" || { diff "$W/conf.want" "$CONF"; jfa_fail "--ca-file not appended as one line"; }
cmp -s "$CONF.bak" "$W/conf.nonl" || jfa_fail "no backup before appending"
cp "$CONF" "$W/conf.prev"
setup --key-file "$KEY" || { cat "$W/out"; jfa_fail "re-run with the same --key-file"; }
cmp -s "$CONF" "$W/conf.prev" || jfa_fail "an unchanged setting rewrote the file"
grep -q "configuration .*: kept" "$W/out" || { cat "$W/out"; jfa_fail "unchanged config not reported as kept"; }
# a value on two lines is refused, nothing written
setup --url "$(printf 'http://a\nshell = /bin/evil')" && jfa_fail "a url with a newline was accepted"
cmp -s "$CONF" "$W/conf.prev" || jfa_fail "a refused --url changed the file"
one_key "after the append checks"
# also for a new configuration: no setting smuggled in with a newline
printf 'boss pw\n' | JELLYFIN_AUTH_CONF=$W/new.conf "$JFA_TOOL" setup --url "$FAKE" --password-stdin \
    --user Boss --key-file "$W/new.key" --state-dir "$(printf '%s\nshell = /bin/evil' "$W/st2")" \
    >"$W/out" 2>&1 && jfa_fail "a new config with a two-line --state-dir was accepted"
[ -e "$W/new.conf" ] && jfa_fail "a refused setup wrote a new config"

# 3. a refused key (deleted on the server) is replaced: still one key
[ "$(api "$OBSERVER" DELETE "/Auth/Keys/$(cat "$KEY")")" = 204 ] || jfa_fail "DELETE with the observer"
cp "$KEY" "$W/key.refused"
setup || { cat "$W/out"; jfa_fail "setup with a refused key"; }
grep -q "refused by the server" "$W/out" || { cat "$W/out"; jfa_fail "refused key not reported"; }
cmp -s "$KEY" "$W/key.refused" && jfa_fail "the refused key was kept"
one_key "after replacing a refused key"

# 4. key rotate: one key, the new one works, the old one is refused
cp "$KEY" "$W/key.old"
"$JFA_TOOL" key rotate >"$W/out" 2>&1 || { cat "$W/out"; jfa_fail "key rotate"; }
cmp -s "$KEY" "$W/key.old" && jfa_fail "key rotate kept the key"
[ "$(stat -c %a "$KEY")" = 600 ] || jfa_fail "rotated key file mode $(stat -c %a "$KEY")"
one_key "after key rotate"
no_key_printed "key rotate"
grep -qF "$(cat "$W/key.old")" "$W/out" && jfa_fail "key rotate printed the old key"
[ "$(api "$(cat "$KEY")" GET /Users)" = 200 ] || jfa_fail "the rotated key does not work"
[ "$(api "$(cat "$W/key.old")" GET /Users)" = 401 ] || jfa_fail "the old key still works"
"$JFA_TOOL" sync >/dev/null 2>&1 || jfa_fail "sync with the rotated key"

# 5. a rotate or revoke that cannot reach the server changes nothing
cp "$CONF" "$W/conf.ok" && cp "$KEY" "$W/key.ok"
sed -i "s|^url = .*|url = http://127.0.0.1:1|" "$CONF"
"$JFA_TOOL" key rotate >"$W/out" 2>&1 && jfa_fail "key rotate against an unreachable server"
cmp -s "$KEY" "$W/key.ok" || jfa_fail "a failed rotate changed the key file"
"$JFA_TOOL" key revoke >"$W/out" 2>&1 && jfa_fail "key revoke against an unreachable server"
[ -f "$KEY" ] || jfa_fail "a failed revoke removed the key file"
cp "$W/conf.ok" "$CONF"
one_key "after the failed rotate and revoke"

# 6. key revoke: none left, the file is gone, the key is refused
"$JFA_TOOL" key revoke >"$W/out" 2>&1 || { cat "$W/out"; jfa_fail "key revoke"; }
[ -e "$KEY" ] && jfa_fail "key revoke left the key file"
[ -z "$(our_keys)" ] || jfa_fail "key revoke left a key of ours on the server"
[ "$(api "$(cat "$W/key.ok")" GET /Users)" = 401 ] || jfa_fail "the revoked key still works"
"$JFA_TOOL" key revoke >"$W/out" 2>&1 || jfa_fail "a second revoke is not a no-op"
grep -q "nothing to revoke" "$W/out" || jfa_fail "second revoke message"
"$JFA_TOOL" key bogus >/dev/null 2>&1
[ $? = 2 ] || jfa_fail "key bogus: not a usage error"
# no secret in the fake's request log (DELETE /Auth/Keys/{key} is masked there)
for k in "$W/key.old" "$W/key.ok" "$W/key.refused"; do
    grep -qF "$(cat "$k")" "$W/fake-main.log" && jfa_fail "a key is in the server's request log"
done
# setup creates a key again: one key
setup || { cat "$W/out"; jfa_fail "setup after revoke"; }
one_key "setup after revoke"
exit 0
