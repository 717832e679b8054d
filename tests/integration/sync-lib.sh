# tests/integration/sync-lib.sh - fixture for the sync and admin tool tests
# (sourced after tests/lib.sh and jfa_setup).
#
# Owns: the fake Jellyfin data file, a test configuration and API key owned
# by the running user (the trust rules accept the effective uid), helpers
# to add users, read UIDs from `jellyfin-auth users`, and look users up
# through the real NSS module under nss_wrapper.

SYNC_KEY=5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e
# nss_wrapper.pc has no libdir variable; its Libs: is the library's path
NSS_WRAPPER_SO=$(pkg-config --libs nss_wrapper 2>/dev/null | awk '{ print $1 }')
[ -f "$NSS_WRAPPER_SO" ] || NSS_WRAPPER_SO=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
[ -x "$JFA_TOOL" ] || jfa_fail "tools/jellyfin-auth not built"
[ -f "$JFA_FAKE" ] || jfa_skip "fake Jellyfin not present"

# user_json NAME ID [extra json members]: one user object for the data file.
user_json() {
    "$PYTHON3" -c 'import json,sys
u={"name":sys.argv[1],"id":sys.argv[2],"password":"pw-"+sys.argv[2][:6]}
if len(sys.argv)>3: u.update(json.loads("{"+sys.argv[3]+"}"))
print(json.dumps(u))' "$@"
}

# sync_fixture USERS_JSON_ARRAY [fake args...]: data file, fake, config, key.
sync_fixture() {
    local users=$1
    shift
    mkdir -p "$W/etc"
    cat >"$W/data.json" <<EOF
{"server": {"name": "Sync Test", "id": "5e2e2000000000000000000000000001"},
 "api_keys": [{"key": "$SYNC_KEY", "app": "jellyfin-auth"}],
 "users": $users}
EOF
    jfa_start_fake main "$W/data.json" "$@"
    FAKE="$FAKE_URL_main"
    printf '%s\n' "$SYNC_KEY" >"$W/etc/jellyfin-auth.key"
    chmod 0600 "$W/etc/jellyfin-auth.key"
    CONF="$W/etc/jellyfin-auth.conf"
    write_conf
    export JELLYFIN_AUTH_CONF="$CONF"
    DB="$W/state/users.db"
    LEDGER="$W/state/private/ledger"
}

# write_conf ["key = value"...]: (re)write the test configuration; a given
# key replaces its default.
write_conf() {
    local line key skip
    {
        for line in "url = $FAKE" "api_key_file = $W/etc/jellyfin-auth.key" \
            "state_dir = $W/state" "timeout = ${SYNC_TIMEOUT:-5}" "home = /home/%u" \
            "shell = /bin/sh"; do
            key=${line%% =*}
            skip=
            for extra in "$@"; do
                [ "${extra%% =*}" = "$key" ] && skip=1
            done
            [ -n "$skip" ] || echo "$line"
        done
        [ $# -gt 0 ] && printf '%s\n' "$@"
    } >"$CONF"
    chmod 0644 "$CONF"
}

jf() { "$JFA_TOOL" "$@"; }

# uid_of LOGIN: the UID `jellyfin-auth users` shows (empty if absent).
uid_of() { jf users 2>/dev/null | awk -v n="$1" '$1 == n { print $2; exit }'; }

# fake_users JSON: upsert/delete users at runtime.
fake_users() {
    local out
    out=$(jfa_fake_ctl "$FAKE" POST /__fake/users "$1") || jfa_fail "fake control failed"
    [ -z "$out" ] || jfa_fail "fake control: $out"
}
fake_fault() { jfa_fake_ctl "$FAKE" POST /__fake/fault "$1" >/dev/null || jfa_fail "fault"; }

# nss_getent KEY...: getent through libnss_jellyfin under nss_wrapper
# (empty passwd/group files, so only our module answers).
have_nss() { [ -f "$NSS_WRAPPER_SO" ] && [ -f "$JFA_NSS_SO" ]; }
nss_getent() {
    : >"$W/nw-passwd"
    : >"$W/nw-group"
    env LD_PRELOAD="$(jfa_preload "$NSS_WRAPPER_SO")" $(jfa_asan_env) \
        NSS_WRAPPER_PASSWD="$W/nw-passwd" NSS_WRAPPER_GROUP="$W/nw-group" \
        NSS_WRAPPER_MODULE_SO_PATH="$JFA_NSS_SO" NSS_WRAPPER_MODULE_FN_PREFIX=jellyfin \
        JELLYFIN_AUTH_DB="$DB" getent "$@"
}

# expect_in TEXT PATTERN MSG / expect_not_in TEXT PATTERN MSG
expect_in() {
    printf '%s\n' "$1" | grep -q -- "$2" && return 0
    printf '%s\n' "$1" >&2
    jfa_fail "$3"
}
expect_not_in() {
    printf '%s\n' "$1" | grep -q -- "$2" || return 0
    printf '%s\n' "$1" >&2
    jfa_fail "$3"
}
