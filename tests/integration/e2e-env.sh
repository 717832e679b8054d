#!/bin/bash
# tests/integration/e2e-env.sh - the environment of a setuid program is the
# caller's, and it must not steer the module. An unprivileged local user
# (lowly) runs the real `su - alice` and alice runs the real `passwd`, with
# umask 000 and one hostile variable at a time: SSLKEYLOGFILE naming a
# root-only path, the proxy variables pointing at a recording proxy,
# NO_PROXY, OPENSSL_CONF (a config that would break every handshake),
# CURL_SSL_BACKEND, KRB5_TRACE, and CURL_CA_BUNDLE / SSL_CERT_FILE /
# SSL_CERT_DIR pointing at a CA the configuration does not trust. Root only
# (namespace: /etc is an overlay, the host is untouched).
#
# Owns: each login and password change behaves exactly as without the
# variable; no file is created or changed in /etc; the proxy sees no
# connection; the files the module creates during su are root:root.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
command -v expect >/dev/null || jfa_skip "expect not installed"
e2e_system
e2e_local_user lowly lowly-pw
e2e_jellyfin
e2e_write_config "$URL" "$W/tls/cert.pem" "offline_max_age = 1h" "lockout_guard = yes"

# A recording proxy: counts the connections it accepts, answers nothing.
cat >/run/e2e/proxy.py <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".port", "w") as f:
    f.write(str(s.getsockname()[1]))
n = 0
while True:
    c, _ = s.accept()
    n += 1
    with open(sys.argv[1], "w") as f:
        f.write(str(n))
    c.close()
EOF
echo 0 >"$W/proxy.count"
e2e_bg "$PYTHON3" /run/e2e/proxy.py "$W/proxy.count"
e2e_poll 10 test -s "$W/proxy.count.port" || e2e_fail "the recording proxy did not start"
PROXY="http://127.0.0.1:$(cat "$W/proxy.count.port")"

# An OpenSSL config that, if loaded, makes every handshake with curl's
# TLS 1.2 minimum impossible, and names a module that does not exist.
cat >/run/e2e/evil-openssl.cnf <<'EOF'
openssl_conf = evil
[evil]
ssl_conf = evil_ssl
[evil_ssl]
system_default = evil_sys
[evil_sys]
MaxProtocol = TLSv1
EOF
chmod 0644 /run/e2e/evil-openssl.cnf

# The attacker's CA: the fake's own certificate, trusted through the
# environment only (the config below has no ca_file, and the system store
# does not know it).
mkdir -p /run/e2e/evil-ca
cp "$W/tls/cert.pem" /run/e2e/evil-ca/fake.pem
openssl rehash /run/e2e/evil-ca >/dev/null 2>&1 || c_rehash /run/e2e/evil-ca >/dev/null 2>&1 || true
chmod -R a+rX /run/e2e/evil-ca

# su and passwd (e2e_su, e2e_passwd) from unprivileged accounts with umask
# 000, the hostile variables in their environment.
E2E_UMASK=000

BAD="/etc/jfa-keylog /etc/jfa-krb5trace /etc/ld.so.preload"
uid=$(getent passwd alice | cut -d: -f3) || e2e_fail "NSS does not know alice"
PW=$E2E_PW_alice
n=0

# etc_state: every name under /etc with its size, mtime, mode and owner.
etc_state() { find /etc -printf '%p %s %T@ %m %u:%g\n' 2>/dev/null | sort; }

# check_clean WHAT: nothing created in /etc, no proxy connection, private
# state root:root.
check_clean() {
    local f bad
    for f in $BAD; do
        [ ! -e "$f" ] || e2e_fail "$1: $f was created ($(stat -c '%U:%G %a' "$f"))"
    done
    bad=$(etc_state | diff "$W/etc.before" - | head -5)
    [ -z "$bad" ] || e2e_fail "$1: changed in /etc: $bad"
    [ "$(cat "$W/proxy.count")" = 0 ] || e2e_fail "$1: the proxy saw $(cat "$W/proxy.count") connection(s)"
    bad=$(find /var/lib/jellyfin-auth/private \( ! -user root -o ! -group root \) -printf '%p %u:%g\n' | head -5)
    [ -z "$bad" ] || e2e_fail "$1: files created during su are not root:root: $bad"
}

# one VAR=VALUE: su with the right and a wrong password, then passwd.
one() {
    local what=$1 newpw
    etc_state >"$W/etc.before"
    e2e_su lowly alice "$PW" "$what"
    [ "$RC" = 0 ] && grep -q "SU-UID=$uid" <<<"$OUT" ||
        e2e_fail "$what: su to alice with the right password failed ($RC): $OUT"
    e2e_su lowly alice "not her password" "$what"
    if [ "$RC" = 0 ] || grep -q "SU-UID=[0-9]" <<<"$OUT" || ! grep -q "Authentication failure" <<<"$OUT"; then
        e2e_fail "$what: su to alice with a wrong password was not refused: $OUT"
    fi
    n=$((n + 1))
    newpw="alice-env-pw-$n"
    e2e_passwd alice "$PW" "$newpw" "$what"
    [ "$RC" = 0 ] || e2e_fail "$what: passwd as alice failed ($RC): $OUT"
    PW=$newpw
    check_clean "$what"
}

# the reference run, without a hostile variable
one "NOTHING_SET=1"
for v in "SSLKEYLOGFILE=/etc/jfa-keylog" \
    "http_proxy=$PROXY" "https_proxy=$PROXY" "HTTPS_PROXY=$PROXY" "ALL_PROXY=$PROXY" \
    "all_proxy=$PROXY" "NO_PROXY=nothing.example" "OPENSSL_CONF=/run/e2e/evil-openssl.cnf" \
    "CURL_SSL_BACKEND=gnutls" "KRB5_TRACE=/etc/jfa-krb5trace" "CURL_CA_BUNDLE=/etc/jfa-keylog" \
    "SSL_CERT_FILE=/etc/jfa-keylog"; do
    one "$v"
done
# all of them at once
etc_state >"$W/etc.before"
e2e_su lowly alice "$PW" SSLKEYLOGFILE=/etc/jfa-keylog https_proxy="$PROXY" HTTPS_PROXY="$PROXY" \
    ALL_PROXY="$PROXY" NO_PROXY=nothing.example OPENSSL_CONF=/run/e2e/evil-openssl.cnf \
    KRB5_TRACE=/etc/jfa-krb5trace
[ "$RC" = 0 ] && grep -q "SU-UID=$uid" <<<"$OUT" || e2e_fail "all variables: su failed ($RC): $OUT"
check_clean "all variables at once"

# --- a CA named by the environment is never trusted ---
# Without ca_file the module trusts the system bundle only, which does not
# know the fake's certificate: su is refused (and, a certificate failure
# being no outage, not offline). The variables must not change that.
e2e_write_config "$URL" "" "offline_max_age = 1h" "lockout_guard = yes"
for v in "NOTHING_SET=1" "CURL_CA_BUNDLE=/run/e2e/evil-ca/fake.pem" \
    "SSL_CERT_FILE=/run/e2e/evil-ca/fake.pem" "SSL_CERT_DIR=/run/e2e/evil-ca"; do
    e2e_su lowly alice "$PW" "$v"
    if [ "$RC" = 0 ] || grep -q "SU-UID=[0-9]" <<<"$OUT"; then
        e2e_fail "$v: su succeeded although the server's CA is trusted only through the environment: $OUT"
    fi
done
grep -q "TLS" "$W/syslog" || e2e_fail "the TLS refusal is not in the log"
e2e_write_config "$URL" "$W/tls/cert.pem" "offline_max_age = 1h" "lockout_guard = yes"

e2e_nosecret
echo "PASS: the caller's environment does not steer the module in su and passwd"
exit 0
