# tests/integration/pam-common.sh - fixture for the PAM integration tests
# (sourced after tests/lib.sh).
#
# Owns: the Jellyfin test users, the matching users database, the PAM
# service files, and pamtester/libpam runs under pam_wrapper and
# nss_wrapper (no root needed). Every module log line (pam_syslog, shown on
# stderr by PAM_WRAPPER_DEBUGLEVEL) is appended to $W/module.log so tests
# can assert that no secret ever reaches it.

PAM_WRAPPER_SO=$JFA_SYSLIBDIR/libpam_wrapper.so
NSS_WRAPPER_SO=$JFA_SYSLIBDIR/libnss_wrapper.so
PAM_TEST_MODULES=$JFA_SYSLIBDIR/pam_wrapper
JFA_MKDB="$top_builddir/tests/unit/mkdb"

API_KEY=0123456789abcdef0123456789abcdef
ID_ALICE=a11ce000000000000000000000000001
ID_BOB=b0b00000000000000000000000000002
ID_CAROL=ca201000000000000000000000000003
ID_DAVE=da7e0000000000000000000000000004
ID_LOCAL=10ca1000000000000000000000000005
ID_FRANK=f2a4c000000000000000000000000006
ID_GRACE=62ace000000000000000000000000007
ID_MALLORY=3a1102e0000000000000000000000008
ID_GHOST=60057000000000000000000000000009
PW_ALICE='alice "quoted", comma & percent%'
PW_BOB=bob-password-2
PW_CAROL=carol-password-3
PW_LOCAL=local-password-5
PW_FRANK=frank-password-6
PW_GRACE=grace-password-7
U0=1879048300

command -v pamtester >/dev/null || jfa_skip "pamtester not installed"
[ -f "$PAM_WRAPPER_SO" ] || jfa_skip "pam_wrapper not installed"
[ -f "$NSS_WRAPPER_SO" ] || jfa_skip "nss_wrapper not installed"
[ -x "$JFA_MKDB" ] || jfa_fail "tests/unit/mkdb not built"
[ -f "$JFA_PAM_SO" ] || jfa_fail "pam_jellyfin.so not built"
# once, in the test's shell: may pam_env give each process a private /tmp?
jfa_private_tmp_check

json_str() { "$PYTHON3" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }

# pam_api_key: the fake's API key in $W/api.key (0600), as setup writes it.
pam_api_key() {
    printf '%s\n' "$API_KEY" >"$W/api.key"
    chmod 0600 "$W/api.key"
}

# pam_fixture SCHEME: start the fake (http or https), write config, db,
# services, nss_wrapper files.
pam_fixture() {
    local scheme=$1 tls=""
    mkdir -p "$W/state" "$W/services"
    chmod 0755 "$W/state"
    cat >"$W/users.json" <<EOF
{"server": {"name": "Test Jellyfin", "id": "5e2e2000000000000000000000000000"},
 "api_keys": [{"key": "$API_KEY", "app": "jellyfin-auth"}],
 "users": [
  {"name": "Alice", "id": "$ID_ALICE", "password": $(json_str "$PW_ALICE")},
  {"name": "bob", "id": "$ID_BOB", "password": "$PW_BOB", "is_disabled": true},
  {"name": "carol", "id": "$ID_CAROL", "password": "$PW_CAROL", "enable_remote_access": false},
  {"name": "dave", "id": "$ID_DAVE"},
  {"name": "localuser", "id": "$ID_LOCAL", "password": "$PW_LOCAL"},
  {"name": "frank", "id": "$ID_FRANK", "password": "$PW_FRANK",
   "enable_user_preference_access": false},
  {"name": "grace", "id": "$ID_GRACE", "password": "$PW_GRACE"},
  {"name": "root", "id": "7007000000000000000000000000000a", "password": "rootpw"}
 ]}
EOF
    if [ "$scheme" = https ]; then
        jfa_make_cert "$W/tls"
        tls="--tls-cert $W/tls/cert.pem --tls-key $W/tls/key.pem"
    fi
    # shellcheck disable=SC2086
    jfa_start_fake main "$W/users.json" $tls
    URL=$FAKE_URL_main
    write_conf "$URL"
    local g=$((U0 - 1))
    cat >"$W/db.spec" <<EOF
generation 1700000000
user alice $((U0 + 1)) $((U0 + 1)) Alice /home/alice /bin/sh Alice $ID_ALICE 0 $g
user bob $((U0 + 2)) $((U0 + 2)) bob /home/bob /bin/sh bob $ID_BOB 0x2 $g
user carol $((U0 + 3)) $((U0 + 3)) carol /home/carol /bin/sh carol $ID_CAROL 0x8 $g
user dave $((U0 + 4)) $((U0 + 4)) dave /home/dave /bin/sh dave $ID_DAVE 0 $g
user localuser $((U0 + 5)) $((U0 + 5)) localuser /home/localuser /bin/sh localuser $ID_LOCAL 0 $g
user frank $((U0 + 6)) $((U0 + 6)) frank /home/frank /bin/sh frank $ID_FRANK 0 $g
user grace $((U0 + 7)) $((U0 + 7)) grace /home/grace /bin/sh grace $ID_GRACE 0 $g
user mallory $((U0 + 8)) $((U0 + 8)) mallory /home/mallory /bin/sh Alice $ID_MALLORY 0 $g
user ghost $((U0 + 9)) $((U0 + 9)) ghost /home/ghost /bin/sh ghost $ID_GHOST 0 $g
user lowuid 1500 1500 lowuid /home/lowuid /bin/sh grace $ID_GRACE 0 $g
group jellyfin-users $g alice,bob,carol,dave,localuser,frank,grace,mallory,ghost
EOF
    "$JFA_MKDB" "$W/db.spec" "$W/state/users.db" || jfa_fail "mkdb"
    printf 'localuser:x:1001:1001:Local User:/home/localuser:/bin/sh\n' >"$W/passwd"
    printf 'localuser:x:1001:\n' >"$W/group"
    write_services ""
}

# write_conf URL [extra lines...]; $CA_FILE and $TIMEOUT override the defaults
write_conf() {
    local url=$1
    shift
    {
        echo "url = $url"
        local ca=${CA_FILE:-$W/tls/cert.pem}
        [ -f "$ca" ] && echo "ca_file = $ca"
        echo "timeout = ${TIMEOUT:-10}"
        echo "state_dir = $W/state"
        echo "api_key_file = $W/api.key"
        for l in "$@"; do echo "$l"; done
    } >"$W/jellyfin-auth.conf"
    chmod 0644 "$W/jellyfin-auth.conf"
}

# write_services EXTRA_ARGS: the services jellyfin, jellyfin-nullok,
# jellyfin-first (pam_set_items + use_first_pass) and other (deny).
write_services() {
    local m="$JFA_PAM_SO config=$W/jellyfin-auth.conf debug $1" t
    for t in auth account password session; do echo "$t required $m"; done >"$W/services/jellyfin"
    for t in auth account password session; do echo "$t required $m nullok"; done \
        >"$W/services/jellyfin-nullok"
    {
        echo "auth required $PAM_TEST_MODULES/pam_set_items.so"
        echo "auth required $m use_first_pass"
        echo "account required $m"
    } >"$W/services/jellyfin-first"
    for t in auth account password session; do echo "$t required pam_deny.so"; done \
        >"$W/services/other"
}

# pt INPUT SERVICE USER OPS... : run pamtester; sets OUT and RC.
pt() {
    local input=$1
    shift
    OUT=$(printf '%s\n' "$input" | pam_env pamtester -v "$@" 2>&1)
    RC=$?
    printf '%s\n' "$OUT" >>"$W/module.log"
}

# pam_env_argv: PAM_ENV_ARGV, the words that run a command under
# pam_wrapper and nss_wrapper, as root with a private /tmp: pam_wrapper's
# directories in /tmp are machine-wide and clash between processes that
# start together (tests/private-tmp.sh); without root, as they come.
pam_env_argv() {
    jfa_private_tmp_argv
    # shellcheck disable=SC2046 # jfa_asan_env gives words
    PAM_ENV_ARGV=("${JFA_PRIVATE_TMP_ARGV[@]}"
        env LD_PRELOAD="$(jfa_preload "$PAM_WRAPPER_SO" "$NSS_WRAPPER_SO")" $(jfa_asan_env)
        PAM_WRAPPER=1
        PAM_WRAPPER_SERVICE_DIR="$W/services" PAM_WRAPPER_DEBUGLEVEL=2
        NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group"
        JELLYFIN_AUTH_CONF="$W/jellyfin-auth.conf")
}
# pam_env CMD...: run under pam_wrapper and nss_wrapper (see pam_env_argv).
pam_env() {
    local PAM_ENV_ARGV
    pam_env_argv
    "${PAM_ENV_ARGV[@]}" "$@"
}

expect_ok() { [ "$RC" = 0 ] || jfa_fail "$1: expected success, got ($RC): $OUT"; }
# expect_err WHAT PATTERN: pamtester failed and printed PATTERN
expect_err() {
    [ "$RC" != 0 ] || jfa_fail "$1: expected failure, got success: $OUT"
    printf '%s' "$OUT" | grep -q -- "$2" || jfa_fail "$1: expected '$2' in: $OUT"
}

# peer CMD...: run CMD holding a TCP connection to 127.0.0.1 (the fake's
# port, on descriptor 7), as sshd and vsftpd hold the client's socket when
# they call PAM: only then does PAM_RHOST 127.0.0.1 count as that address
# (design.md "Remote host"; without it an address counts as outside
# local_networks).
peer() { "$@" 7<>"/dev/tcp/127.0.0.1/$FAKE_PORT_main"; }

fake_state() { jfa_fake_ctl "$URL" GET /__fake/state; }
# fake_get KEY: a top-level number from /__fake/state
fake_get() { fake_state | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# devices_of USERID: number of device rows (tokens) the fake holds for a user
devices_of() {
    fake_state | "$PYTHON3" -c '
import json, sys
print(sum(1 for d in json.load(sys.stdin)["devices"] if d["user_id"] == sys.argv[1]))' "$1"
}
fake_fault() { jfa_fake_ctl "$URL" POST /__fake/fault "$1" >/dev/null; }
