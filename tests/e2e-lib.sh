# tests/e2e-lib.sh - the namespace harness of the end-to-end tests (sourced
# after tests/lib.sh; also used by demo/run.sh).
#
# Owns: running a test inside a private mount + PID namespace in which the
# staged `make install` is the system's: /usr is an overlay of the staged
# files over the real /usr (read-only), /etc and /var are writable overlays
# whose changes live in $W, /run and /home are fresh tmpfs, and /dev gets a
# private /dev/log read by tests/e2e-syslog.py. Inside, nsswitch.conf names
# the jellyfin source, pam-auth-update enables the installed profile, the
# fake Jellyfin serves HTTPS and the real `jellyfin-auth sync` fills the
# users database. Nothing on the host changes: the outer half checksums the
# host's PAM and NSS configuration before and after and fails on a change.
#
# Use:  . "$top_srcdir/tests/lib.sh"; . "$top_srcdir/tests/e2e-lib.sh"
#       e2e_enter "$@"        # outer half: re-runs the script inside, exits
#       e2e_system            # inner half: mounts, nsswitch, pam-auth-update
#       e2e_jellyfin          # fake Jellyfin, config, key, sync
#       ... the test ...
# Daemons started with e2e_bg are children of the script; all are killed on
# exit (and the PID namespace takes any stragglers with it).

E2E_PIDS=""
E2E_MULTIARCH=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
E2E_API_KEY=0123456789abcdef0123456789abcdef

# Sample Jellyfin users. carol is disabled; dave also exists as a local
# account (created by e2e_local_user in the test); root is a Jellyfin user
# name that must never log in.
E2E_PW_alice='alice Pw "1", ok'
E2E_PW_bob=bob-pw-2
E2E_PW_carol=carol-pw-3
E2E_PW_dave=dave-jellyfin-pw
E2E_PW_root=root-jellyfin-pw
E2E_ID_alice=a11ce000000000000000000000000001
E2E_ID_bob=b0b00000000000000000000000000002
E2E_ID_carol=ca201000000000000000000000000003
E2E_ID_dave=da7e0000000000000000000000000004
E2E_ID_root=7007000000000000000000000000000a

e2e_mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@"; }

# e2e_host_state: what must not change on the host (checksums and names).
e2e_host_state() {
    local f
    for f in /etc/pam.d/* /etc/nsswitch.conf /etc/passwd /etc/group /etc/shadow \
        /etc/gshadow /etc/shells /etc/jellyfin-auth.conf /etc/jellyfin-auth.key \
        /usr/share/pam-configs/* "/usr/lib/$E2E_MULTIARCH/libnss_jellyfin.so.2" \
        "/usr/lib/$E2E_MULTIARCH/security/pam_jellyfin.so" /usr/sbin/jellyfin-auth; do
        if [ -f "$f" ]; then sha256sum "$f"; else echo "absent $f"; fi
    done
    ls -a /home /var/lib/jellyfin-auth /nonexistent 2>&1
}

# e2e_enter ARGS: outer half. Checks that this machine and build can run
# the test, stages `make install`, runs this script again inside fresh
# namespaces and exits with its status. Returns only in the inner half.
e2e_enter() {
    local rc dirs
    if [ -n "${E2E_INNER:-}" ]; then
        JFA_KEEP=1 # the outer half removes $W
        trap e2e_inner_cleanup EXIT
        return 0
    fi
    jfa_require_root
    [ -z "${JFA_ASAN_PRELOAD:-}" ] ||
        jfa_skip "sanitizer build: real daemons cannot load sanitized modules without the runtime"
    command -v unshare >/dev/null || jfa_skip "unshare (util-linux) not installed"
    unshare -m -p -f --mount-proc true 2>/dev/null || jfa_skip "cannot create mount/PID namespaces"
    dirs=$(e2e_mk e2e-print-dirs) || jfa_fail "cannot read the install dirs from the Makefile"
    eval "$dirs"
    # The modules must land where glibc and libpam look for them.
    [ -e "$libdir/libnss_files.so.2" ] && [ -e "$pamdir/pam_unix.so" ] &&
        [ "$sysconfdir" = /etc ] && [ "$localstatedir" = /var ] && [ "$prefix" = /usr ] ||
        jfa_skip "configured for prefix=$prefix libdir=$libdir pamdir=$pamdir sysconfdir=$sysconfdir;" \
            "end-to-end tests need the system layout (see README)"
    jfa_setup
    e2e_host_state >"$W/host.before"
    e2e_mk install DESTDIR="$W/stage" >"$W/install.log" 2>&1 || {
        tail -n 30 "$W/install.log"
        jfa_fail "make install DESTDIR=$W/stage failed"
    }
    # Merged /usr: whatever went to /lib or /sbin belongs under /usr.
    for d in lib sbin bin; do
        if [ -d "$W/stage/$d" ] && [ -L "/$d" ]; then
            mkdir -p "$W/stage/usr/$d" && cp -a "$W/stage/$d/." "$W/stage/usr/$d/" &&
                rm -rf "${W:?}/stage/$d"
        fi
    done
    E2E_INNER=1 W=$W unshare -m -p -f --mount-proc --propagation private --kill-child \
        "$BASH" "$0" "$@"
    rc=$?
    e2e_host_state >"$W/host.after"
    if ! cmp -s "$W/host.before" "$W/host.after"; then
        diff "$W/host.before" "$W/host.after" >&2
        echo "FAIL: the host's configuration changed during the test (this test, or a concurrent one writing outside its scratch dir)" >&2
        rc=1
    fi
    exit "$rc"
}

e2e_inner_cleanup() {
    local p
    for p in $E2E_PIDS; do kill "$p" 2>/dev/null; done
    for p in $E2E_PIDS; do wait "$p" 2>/dev/null; done
    jfa_cleanup
}

# e2e_bg CMD...: start a daemon as a child of this script.
e2e_bg() {
    "$@" &
    E2E_PIDS="$E2E_PIDS $!"
}

# e2e_poll SECONDS CMD...: run CMD every 0.1 s until it succeeds.
e2e_poll() {
    local n=$(($1 * 10))
    shift
    while [ "$n" -gt 0 ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

e2e_free_port() {
    "$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
e2e_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# e2e_logs: the tails that explain a failure.
e2e_logs() {
    local f
    for f in "$W/syslog" "$W/sshd.log" "$W/vsftpd.log" "$W/fake-main.log" "$W/fake-main.err" \
        "$W/sync.log"; do
        [ -s "$f" ] && { echo "----- tail $f"; tail -n 25 "$f"; }
    done
    return 0
}
e2e_fail() {
    e2e_logs >&2
    jfa_fail "$@"
}

# e2e_overlay DIR NAME [ro]: overlay DIR with a private upper layer (or,
# with ro, the staged tree over it read-only). Files mounted over paths
# inside DIR (Docker's /etc/hosts) are copied into the upper layer first,
# since an overlay shows the underlying file system only.
e2e_overlay() {
    local dir=$1 name=$2 mode=${3:-rw} mp up
    up=$W/ns/$name.u
    mkdir -p "$up" "$W/ns/$name.w"
    if [ "$mode" = ro ]; then
        mount -t overlay "e2e-$name" -o "lowerdir=$W/stage$dir:$dir" "$dir"
        return
    fi
    for mp in $(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo); do
        if [ -f "$mp" ]; then
            mkdir -p "$up$(dirname "${mp#"$dir"}")"
            cp -a "$mp" "$up${mp#"$dir"}"
        fi
    done
    mount -t overlay "e2e-$name" -o "lowerdir=$dir,upperdir=$up,workdir=$W/ns/$name.w" "$dir"
}

# e2e_system: make the namespace a system with our packages installed and
# enabled, exactly as an administrator would.
e2e_system() {
    e2e_mounts ro
    e2e_enable
}

# e2e_mounts [ro|rw]: the namespace's file systems. ro: /usr shows the
# staged install over the real /usr; rw: /usr is a writable overlay of the
# real one, for tests that install by themselves (make install, dpkg -i).
e2e_mounts() {
    local mp
    mkdir -p "$W/ns"
    if [ "${1:-ro}" = ro ]; then
        e2e_overlay /usr usr ro || jfa_fail "cannot overlay /usr"
    else
        e2e_overlay /usr usr || jfa_fail "cannot overlay /usr"
    fi
    e2e_overlay /etc etc || jfa_fail "cannot overlay /etc"
    e2e_overlay /var var || jfa_fail "cannot overlay /var"
    mount -t tmpfs -o mode=0755 e2e-run /run || jfa_fail "cannot mount /run"
    mkdir -m 0755 /run/sshd /run/e2e
    mount -t tmpfs -o mode=0755 e2e-home /home || jfa_fail "cannot mount /home"
    # A private /dev/log: the real /dev with an overlay, its submounts put back.
    mkdir -p "$W/ns/dev.old"
    if mount --rbind /dev "$W/ns/dev.old" && mount --make-rprivate "$W/ns/dev.old" &&
        e2e_overlay /dev dev; then
        for mp in $(awk '{ print $5 }' /proc/self/mountinfo | grep "^$W/ns/dev.old/" |
            sed "s|^$W/ns/dev.old||" | sort -u); do
            [ -d "/dev$mp" ] && mount --bind "$W/ns/dev.old$mp" "/dev$mp" 2>/dev/null
        done
        rm -f /dev/log
        e2e_bg "$PYTHON3" "$top_srcdir/tests/e2e-syslog.py" /dev/log "$W/syslog" </dev/null
        e2e_poll 5 test -S /dev/log || echo "note: no private /dev/log; module logs are lost" >&2
    else
        echo "note: cannot overlay /dev; module logs are lost" >&2
    fi
    # A fresh machine: no earlier jellyfin-auth state shows through the overlays.
    rm -rf /etc/jellyfin-auth.conf /etc/jellyfin-auth.key /var/lib/jellyfin-auth /etc/pam.d/e2e
}

# e2e_enable: nsswitch.conf and pam-auth-update, as an administrator would.
e2e_enable() {
    # NSS: the order an administrator is told to use.
    sed -i -E 's/^(passwd|group):.*/\1:         files jellyfin/' /etc/nsswitch.conf
    grep -q '^passwd: *files jellyfin$' /etc/nsswitch.conf || jfa_fail "nsswitch.conf not updated"
    # PAM: the real pam-auth-update with the installed profile.
    [ -f /usr/share/pam-configs/jellyfin ] || jfa_fail "profile not installed"
    DEBIAN_FRONTEND=noninteractive pam-auth-update --enable jellyfin --force \
        >"$W/pam-auth-update.log" 2>&1 || {
        cat "$W/pam-auth-update.log"
        jfa_fail "pam-auth-update --enable jellyfin failed"
    }
    grep -q pam_jellyfin.so /etc/pam.d/common-auth || jfa_fail "common-auth lacks pam_jellyfin"
}

# e2e_fake_data FILE: the sample users (see the top of this file).
e2e_fake_data() {
    json() { "$PYTHON3" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
    {
        printf '{"server": {"name": "Demo Jellyfin", "id": "de30000000000000000000000000000f"},\n'
        printf ' "api_keys": [{"key": "%s", "app": "jellyfin-auth"}],\n "users": [\n' "$E2E_API_KEY"
        printf '  {"name": "alice", "id": "%s", "password": %s, "is_administrator": true},\n' \
            "$E2E_ID_alice" "$(json "$E2E_PW_alice")"
        printf '  {"name": "bob", "id": "%s", "password": %s},\n' "$E2E_ID_bob" "$(json "$E2E_PW_bob")"
        printf '  {"name": "carol", "id": "%s", "password": %s, "is_disabled": true},\n' \
            "$E2E_ID_carol" "$(json "$E2E_PW_carol")"
        printf '  {"name": "dave", "id": "%s", "password": %s},\n' "$E2E_ID_dave" "$(json "$E2E_PW_dave")"
        printf '  {"name": "root", "id": "%s", "password": %s}\n ]}\n' "$E2E_ID_root" \
            "$(json "$E2E_PW_root")"
    } >"$1"
    unset -f json
}

# e2e_write_config URL [CA_FILE] [extra lines...]: /etc/jellyfin-auth.conf
e2e_write_config() {
    local url=$1 ca=${2:-} l
    shift 2 2>/dev/null || shift $#
    {
        echo "# written by the end-to-end test harness"
        echo "url = $url"
        [ -n "$ca" ] && echo "ca_file = $ca"
        echo "timeout = 5"
        for l in "$@"; do echo "$l"; done
    } >/etc/jellyfin-auth.conf
    chmod 0644 /etc/jellyfin-auth.conf
}

# e2e_jellyfin: the fake Jellyfin over HTTPS, config, API key, first sync.
# Sets URL. Local accounts that must win over Jellyfin names are created
# before (e2e_local_user), as on a real machine.
e2e_jellyfin() {
    jfa_make_cert "$W/tls"
    chmod 0755 "$W/tls" && chmod 0644 "$W/tls/cert.pem"
    e2e_fake_data "$W/users.json"
    jfa_start_fake main "$W/users.json" --tls-cert "$W/tls/cert.pem" --tls-key "$W/tls/key.pem"
    URL=$FAKE_URL_main
    e2e_write_config "$URL" "$W/tls/cert.pem"
    (umask 077 && echo "$E2E_API_KEY" >/etc/jellyfin-auth.key)
    e2e_sync
}

e2e_sync() {
    jellyfin-auth sync >"$W/sync.log" 2>&1 || {
        cat "$W/sync.log" >&2
        e2e_fail "jellyfin-auth sync failed"
    }
}

# e2e_local_user NAME PASSWORD: a local account in the namespace's /etc.
e2e_local_user() {
    useradd -m -s /bin/bash "$1" || jfa_fail "useradd $1"
    echo "$1:$2" | chpasswd || jfa_fail "chpasswd $1"
}

# e2e_su_as USER TARGET PASSWORD [NOFILE]: e2e_su with `ulimit -n NOFILE`
# (default 1024) for su alone. Sets OUT and RC.
e2e_su_as() { E2E_SU_NOFILE=${4:-1024} e2e_su "$1" "$2" "$3"; }

# e2e_fake_devices NAME: how many device tokens the fake holds for a user.
e2e_fake_devices() {
    jfa_fake_ctl "$URL" GET /__fake/state | "$PYTHON3" -c '
import json, sys
print(sum(1 for d in json.load(sys.stdin)["devices"] if d["user_name"] == sys.argv[1]))' "$1"
}
e2e_no_devices() { [ "$(e2e_fake_devices "$1")" = 0 ]; }

# e2e_start_sshd [CONFIG LINE...]: the real sshd on 127.0.0.1:SSH_PORT with
# PAM; extra sshd_config lines are appended.
e2e_start_sshd() {
    local l
    mkdir -p "$W/ssh"
    ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_ed25519" || jfa_fail "ssh-keygen"
    chmod 0600 "$W/ssh/host_ed25519"
    SSH_PORT=$(e2e_free_port)
    cat >"$W/ssh/sshd_config" <<EOF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $W/ssh/host_ed25519
PidFile /run/e2e/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication yes
PubkeyAuthentication yes
PermitRootLogin no
UseDNS no
LogLevel VERBOSE
MaxAuthTries 3
Subsystem sftp internal-sftp
EOF
    for l in "$@"; do echo "$l"; done >>"$W/ssh/sshd_config"
    e2e_bg /usr/sbin/sshd -D -f "$W/ssh/sshd_config" -E "$W/sshd.log"
    e2e_poll 30 e2e_port_open "$SSH_PORT" || e2e_fail "sshd did not start on port $SSH_PORT"
}

# e2e_start_vsftpd YES|NO [CONFIG LINE...]: the real vsftpd on
# 127.0.0.1:FTP_PORT, PAM service vsftpd (Debian's /etc/pam.d/vsftpd), local
# users read-only, session_support YES or NO; extra vsftpd.conf lines are
# appended.
e2e_start_vsftpd() {
    local l
    FTP_PORT=$(e2e_free_port)
    mkdir -p -m 0755 /run/vsftpd/empty
    {
        printf '%s\n' listen=YES listen_ipv6=NO listen_address=127.0.0.1 "listen_port=$FTP_PORT" \
            background=NO
        echo "# Required: with the seccomp sandbox, a PAM module that talks HTTPS fails."
        printf '%s\n' seccomp_sandbox=NO delay_failed_login=0 pam_service_name=vsftpd \
            "session_support=$1" anonymous_enable=NO local_enable=YES write_enable=NO \
            secure_chroot_dir=/run/vsftpd/empty "vsftpd_log_file=$W/vsftpd.log" syslog_enable=NO
        shift
        for l in "$@"; do echo "$l"; done
    } >"$W/vsftpd.conf"
    e2e_bg /usr/sbin/vsftpd "$W/vsftpd.conf"
    e2e_poll 30 e2e_port_open "$FTP_PORT" || e2e_fail "vsftpd did not start on port $FTP_PORT"
}

# e2e_ftp USER PASSWORD [PATH]: fetch PATH (default: list the home) with
# curl, the credentials in a private config file (not on the command line),
# from the source address E2E_SRC if set; sets OUT, RC.
e2e_ftp() {
    local cfg=$W/curl.$BASHPID.cfg
    printf 'user = "%s:%s"\n' "$1" "$(printf '%s' "$2" | sed 's/\\/\\\\/g; s/"/\\"/g')" >"$cfg"
    OUT=$(timeout 30 curl -sS --max-time 20 ${E2E_SRC:+--interface "$E2E_SRC"} -K "$cfg" \
        "ftp://127.0.0.1:$FTP_PORT/${3:-}" 2>&1)
    RC=$?
}

# e2e_ssh USER PASSWORD METHOD CMD...: one login with sshpass (from the
# source address E2E_SRC if set); sets OUT, RC. METHOD is password,
# keyboard-interactive or publickey (PASSWORD = key file).
e2e_ssh() {
    local user=$1 pw=$2 method=$3
    shift 3
    local opts=(${E2E_SRC:+-b "$E2E_SRC"} -p "$SSH_PORT" -o StrictHostKeyChecking=no
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 -o NumberOfPasswordPrompts=1
        -o PreferredAuthentications="$method" -o BatchMode=no)
    if [ "$method" = publickey ]; then
        OUT=$(timeout 30 ssh "${opts[@]}" -o BatchMode=yes -o IdentitiesOnly=yes -i "$pw" \
            "$user@127.0.0.1" "$@" 2>&1 </dev/null)
    else
        OUT=$(SSHPASS=$pw timeout 30 sshpass -e ssh "${opts[@]}" -o PubkeyAuthentication=no \
            "$user@127.0.0.1" "$@" 2>&1 </dev/null)
    fi
    RC=$?
}

# e2e_nosecret: no sample password or the API key in any log.
e2e_nosecret() {
    local s f
    for f in "$W/syslog" "$W/sshd.log" "$W/vsftpd.log" "$W/fake-main.log" "$W/sync.log"; do
        [ -f "$f" ] || continue
        for s in "$E2E_PW_alice" "$E2E_PW_bob" "$E2E_PW_carol" "$E2E_PW_dave" "$E2E_API_KEY"; do
            grep -qF -- "$s" "$f" && e2e_fail "a secret leaked into $f"
        done
    done
    return 0
}

# e2e_expect_refusal WHY CMD...: run CMD in the background (refusals each
# cost PAM's failure delay, so they run in parallel); CMD must print what
# went wrong and fail when the refusal did not happen. e2e_check_refusals
# waits for all of them and fails with every message.
E2E_REFUSALS=""
e2e_expect_refusal() {
    local why=$1
    shift
    (
        if msg=$("$@" 2>&1); then
            echo ok >"$W/refusal.$BASHPID"
        else
            printf '%s: %s\n' "$why" "$msg" >"$W/refusal.$BASHPID"
        fi
    ) &
    E2E_REFUSALS="$E2E_REFUSALS $!"
}
e2e_check_refusals() {
    local p bad=""
    for p in $E2E_REFUSALS; do
        wait "$p"
        [ "$(cat "$W/refusal.$p" 2>/dev/null)" = ok ] ||
            bad="$bad
$(cat "$W/refusal.$p" 2>/dev/null || echo "check $p did not finish")"
    done
    E2E_REFUSALS=""
    [ -z "$bad" ] || e2e_fail "not refused as they must be:$bad"
}

# e2e_self_rename NAME PASSWORD NEWNAME: the user logs in to Jellyfin and renames
# itself with its own token, as any Jellyfin user may (on by default).
e2e_self_rename() {
    JFA_PW=$2 "$PYTHON3" - "$URL" "$1" "$3" "$W/tls/cert.pem" <<'PY' ||
import json, os, ssl, sys, urllib.request
url, name, new, ca = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
hdr = 'MediaBrowser Client="e2e", Device="e2e", DeviceId="e2e-rename", Version="1"'
def call(path, body, token=None):
    h = hdr + (', Token="%s"' % token if token else "")
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": h, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
        data = r.read()
        return json.loads(data) if data else None
auth = call("/Users/AuthenticateByName", {"Username": name, "Pw": os.environ["JFA_PW"]})
call("/Users?userId=" + auth["User"]["Id"], {"Name": new}, auth["AccessToken"])
PY
        e2e_fail "$1 could not rename itself to $3"
}

# e2e_fake_user NAME JSON: patch the fake's sample user NAME (Id
# E2E_ID_NAME) with the keys of the JSON object; the fake's upsert changes
# only the keys given.
e2e_fake_user() {
    local id_var=E2E_ID_$1
    jfa_fake_ctl "$URL" POST /__fake/users "$("$PYTHON3" -c '
import json, sys
u = {"name": sys.argv[1], "id": sys.argv[2]}
u.update(json.loads(sys.argv[3]))
print(json.dumps({"upsert": [u]}))' "$1" "${!id_var}" "$2")" >/dev/null ||
        e2e_fail "cannot update $1 in the fake"
}
# e2e_fake_user_get NAME KEY: that key of the fake's user NAME, as JSON.
e2e_fake_user_get() {
    jfa_fake_ctl "$URL" GET /__fake/state | "$PYTHON3" -c '
import json, sys
print(json.dumps([u for u in json.load(sys.stdin)["users"] if u["name"] == sys.argv[1]][0][sys.argv[2]]))' \
        "$1" "$2"
}
# e2e_fake_auth_requests: how many password checks the fake has answered.
e2e_fake_auth_requests() {
    jfa_fake_ctl "$URL" GET /__fake/state |
        "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["auth_requests"])'
}

# e2e_expect_as USER SCRIPT [VAR=VALUE...]: the expect SCRIPT run by USER
# from /, with the umask E2E_UMASK (if set) and the variables (env runs after
# runuser); secrets come in the caller's environment. Sets OUT, RC.
e2e_expect_as() {
    local user=$1 script=$2
    shift 2
    chmod 0644 "$script"
    OUT=$(cd / && { [ -z "${E2E_UMASK:-}" ] || umask "$E2E_UMASK"; } &&
        timeout "${E2E_EXPECT_LIMIT:-60}" runuser -u "$user" -- env "$@" expect -f "$script" 2>&1)
    RC=$?
}

# e2e_su FROM TARGET PASSWORD [VAR=VALUE...]: `su - TARGET` run by the local
# account FROM on a terminal (expect), answering the password prompt; the
# variables are put in su's environment (env runs after runuser, so su
# inherits them), E2E_UMASK (if set) is its umask. The shell prints
# "SU-UID=uid SU-HOME=home". E2E_SU_NOFILE (default 1024) is su's
# `ulimit -n`; E2E_SU_WAIT (default 30) how long expect waits for each of
# su's answers (E2E_EXPECT_LIMIT, default 60, caps the whole run). Sets OUT,
# RC. The password travels in the environment: nothing secret on a command
# line.
e2e_su() {
    local from=$1 target=$2 pw=$3
    shift 3
    [ -f /run/e2e/su.exp ] || cat >/run/e2e/su.exp <<'EXP'
set timeout $env(SU_WAIT)
log_user 1
spawn sh -c "ulimit -n $env(SU_NOFILE) && exec su - $env(SU_TARGET) -c 'echo SU-UID=\$(id -u) SU-HOME=\$HOME'"
expect {
    -re "assword: *$" { send -- "$env(SU_PW)\r" }
    timeout { puts "NO-PROMPT"; exit 2 }
    eof { puts "EOF-BEFORE-PROMPT"; exit 2 }
}
expect {
    timeout { puts "TIMEOUT"; exit 2 }
    eof
}
lassign [wait] pid spawnid oserr status
exit $status
EXP
    SU_NOFILE=${E2E_SU_NOFILE:-1024} SU_TARGET=$target SU_PW=$pw SU_WAIT=${E2E_SU_WAIT:-30} \
        e2e_expect_as "$from" /run/e2e/su.exp "$@"
}

# e2e_passwd USER OLD NEW [VAR=VALUE...]: `passwd` run by USER on a terminal
# (expect), answering its password prompts in turn with OLD, NEW, NEW (a
# fourth prompt fails the run); variables and E2E_UMASK as for e2e_su.
# OUT ends with "PASSWD-PROMPTS=N", the prompts answered. Sets OUT, RC.
e2e_passwd() {
    local user=$1 old=$2 new=$3
    shift 3
    [ -f /run/e2e/passwd.exp ] || cat >/run/e2e/passwd.exp <<'EXP'
set timeout 30
log_user 1
set answers [list $env(PW_OLD) $env(PW_NEW) $env(PW_NEW)]
set i 0
spawn passwd
expect {
    -re "assword: *$" {
        if {$i >= 3} { puts "TOO-MANY-PROMPTS"; exit 2 }
        send -- "[lindex $answers $i]\r"
        incr i
        exp_continue
    }
    timeout { puts "TIMEOUT"; exit 2 }
    eof
}
puts "PASSWD-PROMPTS=$i"
lassign [wait] pid spawnid oserr status
exit $status
EXP
    PW_OLD=$old PW_NEW=$new e2e_expect_as "$user" /run/e2e/passwd.exp "$@"
}

# e2e_smbd [DIR]: a real smbd in the namespace, everything under $W/samba,
# loopback only, tdbsam, share "share" (DIR, default /home/share, with
# movie.txt). Writes $W/smb.conf, sets SMB_PORT. e2e_passdb: `pdbedit -L -w`.
e2e_smbd() {
    local S=$W/samba share=${1:-/home/share}
    SMB_PORT=$(e2e_free_port)
    mkdir -p /run/samba "$S/ncalrpc" "$S/private" "$S/lock" "$S/state" "$S/cache" "$S/pid" "$S/log"
    chmod 0700 "$S/private"
    install -d -m 0755 "$share"
    echo "media file" >"$share/movie.txt"
    chmod 0644 "$share/movie.txt"
    cat >"$W/smb.conf" <<EOF
[global]
   workgroup = E2E
   server role = standalone server
   passdb backend = tdbsam:$S/private/passdb.tdb
   private dir = $S/private
   lock directory = $S/lock
   state directory = $S/state
   cache directory = $S/cache
   pid directory = $S/pid
   ncalrpc dir = $S/ncalrpc
   log file = $S/log/smbd.log
   smb ports = $SMB_PORT
   interfaces = lo
   bind interfaces only = yes
   disable netbios = yes
   obey pam restrictions = no
   unix password sync = no
   map to guest = never
   server min protocol = SMB2
[share]
   path = $share
   read only = yes
   guest ok = no
EOF
    chmod 0644 "$W/smb.conf"
    # its own session: on SIGTERM smbd signals its whole process group
    e2e_bg setsid /usr/sbin/smbd -F --no-process-group -s "$W/smb.conf" </dev/null
    e2e_poll 30 e2e_port_open "$SMB_PORT" || e2e_fail "smbd did not start on port $SMB_PORT"
}
e2e_passdb() { pdbedit -s "$W/smb.conf" -L -w 2>&1; }
# e2e_smb USER PASSWORD: list the share; sets OUT, RC. e2e_smb_ok and
# e2e_smb_no USER PASSWORD WHY: it works / is refused for the password.
e2e_smb() {
    OUT=$(printf 'username = %s\npassword = %s\n' "$1" "$2" >"$W/smbauth" &&
        timeout 30 smbclient "//127.0.0.1/share" -p "$SMB_PORT" -A "$W/smbauth" -c ls 2>&1)
    RC=$?
    rm -f "$W/smbauth"
}
e2e_smb_ok() {
    e2e_smb "$1" "$2"
    [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q movie.txt ||
        e2e_fail "$3: $1 cannot list the share over SMB ($RC): $OUT"
}
e2e_smb_no() {
    e2e_smb "$1" "$2"
    [ "$RC" != 0 ] || e2e_fail "$3: $1 was let in over SMB: $OUT"
    printf '%s' "$OUT" | grep -q 'NT_STATUS_LOGON_FAILURE\|NT_STATUS_ACCOUNT_DISABLED' ||
        e2e_fail "$3: $1 refused for another reason than the password: $OUT"
}
