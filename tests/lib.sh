# tests/lib.sh - shared shell helpers for integration tests (sourced).
#
# Owns: scratch directories, test certificates, starting and stopping the
# fake Jellyfin, writing test configs, running a command with a private
# /tmp (jfa_private_tmp_*, as root). Each test sources this file, calls
# jfa_setup, and leaves through exit (the EXIT trap cleans up).
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.

set -u
: "${top_srcdir:?run through make check}"
: "${top_builddir:?run through make check}"
: "${PYTHON3:=/usr/bin/python3}"

JFA_FAKE="$top_srcdir/tests/fake-jellyfin/fake_jellyfin.py"
JFA_TOOL="$top_builddir/tools/jellyfin-auth"
JFA_PAM_SO="$top_builddir/pam_jellyfin/.libs/pam_jellyfin.so"
JFA_NSS_SO="$top_builddir/nss_jellyfin/.libs/libnss_jellyfin.so.2"
JFA_FAKE_PIDS=""
# The system's multiarch library directory (pam_wrapper, nss_wrapper, ...).
JFA_SYSLIBDIR=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

# jfa_preload SO...: an LD_PRELOAD value for programs we did not build; in
# sanitizer builds (JFA_ASAN_PRELOAD set by tests/all.sh) the sanitizer
# runtimes come first, as they must. Use with jfa_asan_env.
jfa_preload() { echo "${JFA_ASAN_PRELOAD:+$JFA_ASAN_PRELOAD }$*"; }
# Settings for sanitizer builds, as words for env(1) (unquoted): leak
# reports from programs we did not build are not ours to fix, and the cwrap
# wrappers must not dlopen libc with RTLD_DEEPBIND under ASan.
jfa_asan_env() {
    [ -n "${JFA_ASAN_PRELOAD:-}" ] || return 0
    echo "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UID_WRAPPER_DISABLE_DEEPBIND=1" \
        "NSS_WRAPPER_DISABLE_DEEPBIND=1 PAM_WRAPPER_DISABLE_DEEPBIND=1"
}

# jfa_private_tmp_check: sets JFA_PRIVATE_TMP to yes when this process may
# give commands a private /tmp (root, mount namespaces), else to no. Call it
# in the test's own shell (the answer is kept there), after jfa_setup.
jfa_private_tmp_check() {
    JFA_PRIVATE_TMP=no
    [ "$(id -u)" = 0 ] && command -v unshare >/dev/null &&
        unshare -m --propagation private "$BASH" "$top_srcdir/tests/private-tmp.sh" -- true \
            2>/dev/null && JFA_PRIVATE_TMP=yes
    return 0
}
# jfa_private_tmp_argv: JFA_PRIVATE_TMP_ARGV, the words that run a command
# with a private /tmp (see tests/private-tmp.sh; empty without root), for
# "exec" and "env"-style use: "${JFA_PRIVATE_TMP_ARGV[@]}" CMD...
jfa_private_tmp_argv() {
    [ -n "${JFA_PRIVATE_TMP:-}" ] || jfa_private_tmp_check
    JFA_PRIVATE_TMP_ARGV=()
    [ "$JFA_PRIVATE_TMP" = yes ] || return 0
    JFA_PRIVATE_TMP_ARGV=(unshare -m --propagation private "$BASH" "$top_srcdir/tests/private-tmp.sh"
        "${W:-}" "$top_builddir" "$top_srcdir" "${TMPDIR:-}" "$PWD" --)
}

jfa_fail() { echo "FAIL: $*" >&2; exit 1; }
jfa_skip() { echo "SKIP: $*" >&2; exit 77; }
jfa_require_root() { [ "$(id -u)" = 0 ] || jfa_skip "needs root"; }

jfa_cleanup() {
    local p
    for p in $JFA_FAKE_PIDS; do kill "$p" 2>/dev/null; done
    for p in $JFA_FAKE_PIDS; do wait "$p" 2>/dev/null; done
    [ -n "${W:-}" ] && [ -z "${JFA_KEEP:-}" ] && rm -rf "$W"
}

# jfa_setup: make $W (mode 0700) and install the cleanup trap.
jfa_setup() {
    W=$(mktemp -d "${TMPDIR:-/tmp}/jfa-test.XXXXXX") || exit 99
    chmod 0700 "$W"
    trap jfa_cleanup EXIT
}

# jfa_make_cert DIR [SAN]: DIR/cert.pem, DIR/key.pem, self-signed, valid for a
# day, SAN "DNS:localhost,IP:127.0.0.1" unless given.
jfa_make_cert() {
    local dir=$1 san=${2:-DNS:localhost,IP:127.0.0.1}
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj "/CN=localhost" -addext "subjectAltName=$san" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 || exit 99
    chmod 0600 "$dir/key.pem"
}

# jfa_make_expired_cert DIR: like jfa_make_cert, but it expired in 2020.
jfa_make_expired_cert() {
    local dir=$1
    mkdir -p "$dir/ca/newcerts"
    : >"$dir/ca/index.txt"
    echo 01 >"$dir/ca/serial"
    printf '%s\n' '[ ca ]' 'default_ca = CA_default' '[ CA_default ]' "dir = $dir/ca" \
        'database = $dir/index.txt' 'new_certs_dir = $dir/newcerts' 'serial = $dir/serial' \
        'default_md = sha256' 'policy = policy_any' 'copy_extensions = copy' \
        '[ policy_any ]' 'commonName = supplied' >"$dir/ca.cnf"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$dir/key.pem" \
        -out "$dir/csr.pem" >/dev/null 2>&1 &&
        openssl ca -batch -config "$dir/ca.cnf" -selfsign -keyfile "$dir/key.pem" \
            -in "$dir/csr.pem" -out "$dir/cert.pem" -startdate 20200101000000Z \
            -enddate 20200102000000Z >/dev/null 2>&1 || exit 99
    chmod 0600 "$dir/key.pem"
}

# jfa_free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
jfa_free_port() {
    "$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# jfa_elapsed CMD...: run CMD; sets RC and ELAPSED_MS; output in $W/elapsed.out.
jfa_elapsed() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >"$W/elapsed.out" 2>&1
    RC=$?
    t1=$(date +%s%N)
    ELAPSED_MS=$(((t1 - t0) / 1000000))
}

# jfa_start_fake NAME DATAFILE [extra fake args...]: starts the fake and sets
# FAKE_PORT_<NAME> and FAKE_URL_<NAME> (http or https depending on --tls-cert).
jfa_start_fake() {
    local name=$1 data=$2 scheme=http port i
    shift 2
    case " $* " in *" --tls-cert "*) scheme=https ;; esac
    rm -f "$W/fake-$name.port"
    "$PYTHON3" "$JFA_FAKE" --data "$data" --port-file "$W/fake-$name.port" \
        --log "$W/fake-$name.log" "$@" 2>>"$W/fake-$name.err" &
    JFA_FAKE_PIDS="$JFA_FAKE_PIDS $!"
    for i in $(seq 1 100); do
        [ -s "$W/fake-$name.port" ] && break
        sleep 0.1
    done
    [ -s "$W/fake-$name.port" ] || { cat "$W/fake-$name.err" >&2; exit 99; }
    port=$(cat "$W/fake-$name.port")
    eval "FAKE_PORT_$name=$port"
    eval "FAKE_URL_$name=$scheme://127.0.0.1:$port"
    [ "$scheme" = https ] && eval "FAKE_URL_$name=https://localhost:$port"
    return 0
}

# jfa_fake_ctl URL METHOD PATH [JSON]: talk to the fake's /__fake/ control API.
jfa_fake_ctl() {
    local url=$1 method=$2 path=$3 body=${4:-}
    if [ -n "$body" ]; then
        curl -sk -X "$method" -H 'Content-Type: application/json' --data "$body" "$url$path"
    else
        curl -sk -X "$method" "$url$path"
    fi
}
