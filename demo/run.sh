#!/bin/bash
# demo/run.sh - see jellyfin-auth work without changing this machine.
#
#   sudo bash demo/run.sh
#
# Installs the build dependencies (scripts/install-deps.sh), builds the
# project out of tree in _build/demo, and then, inside a private mount and
# PID namespace (tests/e2e-lib.sh: the host's /etc, /usr, /var, /home stay
# untouched), installs it, enables it with the real pam-auth-update and
# nsswitch.conf, and shows Jellyfin accounts as Linux users: getent, id, a
# PAM authentication and a real SSH login.
#
# By default it talks to the bundled fake Jellyfin (tests/fake-jellyfin)
# with sample users: alice (administrator), bob, carol (disabled), dave.
# To use your own server instead:
#   sudo JELLYFIN_URL=https://jellyfin.example.org JELLYFIN_ADMIN=admin \
#        JELLYFIN_PASSWORD=... [JELLYFIN_CA_FILE=/path/ca.pem] \
#        [JELLYFIN_DEMO_USER=someone JELLYFIN_DEMO_PASSWORD=...] bash demo/run.sh
# This runs `jellyfin-auth setup`, which creates an API key named
# "jellyfin-auth HOST" on that server; the demo deletes it at the end
# (`jellyfin-auth key revoke`).
#
# Environment: JFA_DEMO_BUILD_DIR (default _build/demo), JFA_DEMO_SKIP_DEPS=1
# (do not run install-deps.sh), JFA_DEMO_NONINTERACTIVE=1 (no shell at the
# end; the default when stdin is not a terminal).
set -u
DEMO_START=${DEMO_START:-$(date +%s)}
export DEMO_START # the namespace half reports the time since the start

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [ -t 1 ]; then
    say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
    say() { printf '\n== %s\n' "$*"; }
fi
note() { printf '   %s\n' "$@"; }
show() {
    printf '$ %s\n' "$*"
    "$@" 2>&1 | sed 's/^/  /'
    return "${PIPESTATUS[0]}"
}

if [ -z "${E2E_INNER:-}" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "demo: run as root (sudo bash demo/run.sh): it needs a private mount namespace;" >&2
        echo "      nothing outside that namespace is changed." >&2
        exit 1
    fi
    if [ -z "${JFA_DEMO_SKIP_DEPS:-}" ]; then
        say "Installing the build and test dependencies (scripts/install-deps.sh)"
        bash "$SRC/scripts/install-deps.sh" || exit 1
    fi
    BUILD=${JFA_DEMO_BUILD_DIR:-$SRC/_build/demo}
    say "Building jellyfin-auth in $BUILD (only what the demo installs: the tool and the two modules)"
    if [ ! -f "$BUILD/Makefile" ]; then
        if [ ! -x "$SRC/configure" ]; then
            note "autoreconf -fi ($(($(date +%s) - DEMO_START)) s)"
            (cd "$SRC" && autoreconf -fi >/dev/null 2>&1) || { echo "demo: autoreconf failed" >&2; exit 1; }
        fi
        note "configure ($(($(date +%s) - DEMO_START)) s)"
        mkdir -p "$BUILD" && (cd "$BUILD" && "$SRC/configure" --prefix=/usr --sysconfdir=/etc \
            --localstatedir=/var --libdir=/usr/lib/x86_64-linux-gnu \
            --with-pamdir=/usr/lib/x86_64-linux-gnu/security >configure.log 2>&1) ||
            { tail -n 20 "$BUILD/configure.log"; exit 1; }
    fi
    # `make all` builds the installed programs only (no tests, benchmarks or
    # fuzzers); each compiler step is shown as it happens. The log goes to a
    # temp file: a build dir handed in by the tests must stay clean (make
    # distcheck checks that).
    note "make -j$(nproc) ($(($(date +%s) - DEMO_START)) s)"
    MAKELOG=$(mktemp "${TMPDIR:-/tmp}/jfa-demo-make.XXXXXX")
    (cd "$BUILD" && make -j"$(nproc)" all 2>&1) | tee "$MAKELOG" |
        sed -n -E 's/^ +(CC|CCLD|GEN) +(.*)$/     \1 \2/p'
    [ "${PIPESTATUS[0]}" = 0 ] || { tail -n 30 "$MAKELOG"; rm -f "$MAKELOG"; exit 1; }
    rm -f "$MAKELOG"
    note "built ($(($(date +%s) - DEMO_START)) s)"
    export top_srcdir=$SRC top_builddir=$BUILD
    export PYTHON3=${PYTHON3:-/usr/bin/python3}
    [ -t 0 ] || export JFA_DEMO_NONINTERACTIVE=1
    say "Entering a private namespace: install, pam-auth-update, nsswitch.conf"
    note "The host's /etc, /usr, /var and /home are overlaid; every change stays in a" \
        "scratch directory that is deleted at the end."
fi

. "$SRC/tests/lib.sh"
. "$SRC/tests/e2e-lib.sh"
e2e_enter "$@" # the outer half exits here with the status of the inner half

e2e_system
note "Installed: $(command -v jellyfin-auth), pam_jellyfin.so, libnss_jellyfin.so.2"
say "PAM stacks written by 'pam-auth-update --enable jellyfin'"
grep -H pam_jellyfin /etc/pam.d/common-* | sed 's/^/  /'
say "nsswitch.conf"
grep -E '^(passwd|group):' /etc/nsswitch.conf | sed 's/^/  /'

if [ -n "${JELLYFIN_URL:-}" ]; then
    : "${JELLYFIN_ADMIN:?set JELLYFIN_ADMIN (a Jellyfin administrator) with JELLYFIN_URL}"
    : "${JELLYFIN_PASSWORD:?set JELLYFIN_PASSWORD with JELLYFIN_URL}"
    say "jellyfin-auth setup against $JELLYFIN_URL"
    note "Creates an API key with the administrator's login, writes /etc/jellyfin-auth.conf" \
        "and /etc/jellyfin-auth.key (0600), runs the first sync, and (--enable) wires" \
        "nsswitch.conf and PAM (pam-auth-update)."
    ca=()
    [ -n "${JELLYFIN_CA_FILE:-}" ] && ca=(--ca-file "$JELLYFIN_CA_FILE")
    printf '%s\n' "$JELLYFIN_PASSWORD" | jellyfin-auth setup --url "$JELLYFIN_URL" \
        --user "$JELLYFIN_ADMIN" --password-stdin --enable "${ca[@]}" 2>&1 | sed 's/^/  /'
    [ "${PIPESTATUS[1]}" = 0 ] || e2e_fail "jellyfin-auth setup failed"
    USER1=${JELLYFIN_DEMO_USER:-$JELLYFIN_ADMIN}
    PW1=${JELLYFIN_DEMO_PASSWORD:-}
    [ -n "${JELLYFIN_DEMO_USER:-}" ] || PW1=$JELLYFIN_PASSWORD
    USER1=$(getent passwd "$USER1" >/dev/null && echo "$USER1" ||
        echo "$USER1" | tr '[:upper:]' '[:lower:]')
else
    say "Starting the bundled fake Jellyfin (HTTPS on 127.0.0.1) and running the first sync"
    note "Users: alice (administrator), bob, carol (disabled), dave; 'jellyfin-auth sync'" \
        "reads them with the API key (GET /Users) into /var/lib/jellyfin-auth/users.db."
    e2e_jellyfin
    sed 's/^/  /' "$W/sync.log"
    USER1=alice
    PW1=$E2E_PW_alice
fi

say "jellyfin-auth status"
show jellyfin-auth status

say "Jellyfin users are Linux users (NSS, no network: a local database)"
show getent passwd "$USER1" || e2e_fail "NSS does not know $USER1"
show id "$USER1"
[ -z "${JELLYFIN_URL:-}" ] && show getent group jellyfin-users

cat >/etc/pam.d/demo <<'EOF'
@include common-auth
@include common-account
@include common-session
EOF
if [ -n "$PW1" ]; then
    say "A PAM login with the Jellyfin password (pamtester, the common-* stacks)"
    printf '%s\n' "$PW1" | show pamtester demo "$USER1" authenticate acct_mgmt open_session \
        close_session || e2e_fail "the PAM login of $USER1 failed"
    if [ -z "${JELLYFIN_URL:-}" ]; then
        say "A wrong password, and the disabled user carol, are refused"
        printf 'wrong\n' | show pamtester demo alice authenticate && e2e_fail "wrong password accepted"
        printf '%s\n' "$E2E_PW_carol" | show pamtester demo carol authenticate &&
            e2e_fail "disabled carol accepted"
    fi

    say "A real SSH login (/usr/sbin/sshd on 127.0.0.1, UsePAM yes)"
    e2e_start_sshd
    note "ssh -p $SSH_PORT $USER1@127.0.0.1 id   (password sent by sshpass)"
    e2e_ssh "$USER1" "$PW1" password 'id; echo "home: $HOME ($(stat -c %A "$HOME"))"'
    printf '%s\n' "$OUT" | sed 's/^/  /'
    [ "$RC" = 0 ] || e2e_fail "the SSH login of $USER1 failed"
    if [ -z "${JELLYFIN_URL:-}" ]; then
        e2e_poll 10 e2e_no_devices alice &&
            note "The session's Jellyfin token was logged out when the SSH session ended."
    fi
else
    note "Set JELLYFIN_DEMO_USER and JELLYFIN_DEMO_PASSWORD to also try a PAM and SSH login."
fi

if [ -z "${JFA_DEMO_NONINTERACTIVE:-}" ]; then
    [ -n "${SSH_PORT:-}" ] || e2e_start_sshd
    say "Your turn: a shell inside the demo namespace (exit to finish)"
    note "Try: ssh -p $SSH_PORT $USER1@127.0.0.1    jellyfin-auth users    jellyfin-auth doctor" \
        "     getent passwd bob    su - $USER1"
    [ -z "${JELLYFIN_URL:-}" ] && note "Passwords: alice: $E2E_PW_alice   bob: $E2E_PW_bob"
    SSH_PORT=$SSH_PORT PS1='(jellyfin-auth demo) \u@\h:\w\$ ' bash --norc -i </dev/tty
fi
if [ -n "${JELLYFIN_URL:-}" ]; then
    say "Deleting the API key the demo created on $JELLYFIN_URL"
    show jellyfin-auth key revoke || e2e_fail "jellyfin-auth key revoke failed"
fi
say "Done in $(($(date +%s) - DEMO_START)) s: leaving the namespace takes every change above with it."
exit 0
