#!/bin/sh
# tool-tls: a certificate failure is named with its reason and what to do,
# never "server unavailable": a name mismatch lists the names the
# certificate holds, an untrusted issuer points at ca_file / --ca-file, an
# expired certificate says so (status, sync and setup).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
jfa_make_cert "$W/other" "DNS:other.example,DNS:www.other.example"
jfa_make_cert "$W/good"
jfa_make_expired_cert "$W/old"
USERS="[$(user_json alice $ID_A)]"

# name mismatch: the chain is trusted (ca_file is the certificate itself)
sync_fixture "$USERS" --tls-cert "$W/other/cert.pem" --tls-key "$W/other/key.pem"
case "$FAKE" in https://localhost:*) ;; *) jfa_fail "fake not on https://localhost ($FAKE)" ;; esac
write_conf "ca_file = $W/other/cert.pem"
out=$(jf status 2>&1) && jfa_fail "status ok with a mismatched certificate"
expect_in "$out" "^server:   FAIL (TLS certificate verification failed: .*host name mismatch: the server's certificate is for DNS:other.example, DNS:www.other.example" \
    "name mismatch: the names the certificate has"
expect_not_in "$out" "unavailable" "a TLS failure reported as unavailable"
out=$(jf sync 2>&1) && jfa_fail "sync ok with a mismatched certificate"
expect_in "$out" "DNS:other.example, DNS:www.other.example" "sync: names the certificate has"

# untrusted issuer: no ca_file, a self-signed certificate
write_conf
out=$(jf status 2>&1) && jfa_fail "status ok with an untrusted certificate"
expect_in "$out" "^server:   FAIL (TLS .*untrusted issuer: set ca_file (setup: --ca-file)" \
    "untrusted issuer: what to do"
# setup names the option to pass
rm -f "$CONF"
out=$(printf 'pw\n' | jf setup --url "$FAKE" --user x --password-stdin \
    --key-file "$W/etc/new.key" --state-dir "$W/state2" 2>&1) && jfa_fail "setup ok, untrusted"
expect_in "$out" "untrusted issuer: set ca_file (setup: --ca-file)" "setup: --ca-file hint"
kill $JFA_FAKE_PIDS 2>/dev/null
wait $JFA_FAKE_PIDS 2>/dev/null
JFA_FAKE_PIDS=

# expired
sync_fixture "$USERS" --tls-cert "$W/old/cert.pem" --tls-key "$W/old/key.pem"
write_conf "ca_file = $W/old/cert.pem"
out=$(jf status 2>&1) && jfa_fail "status ok with an expired certificate"
expect_in "$out" "^server:   FAIL (TLS .*certificate has expired" "expired certificate"

# and a good certificate works, so the failures above are the certificates'
kill $JFA_FAKE_PIDS 2>/dev/null
wait $JFA_FAKE_PIDS 2>/dev/null
JFA_FAKE_PIDS=
sync_fixture "$USERS" --tls-cert "$W/good/cert.pem" --tls-key "$W/good/key.pem"
write_conf "ca_file = $W/good/cert.pem"
out=$(jf status 2>&1)
expect_in "$out" "^server:   ok" "good certificate refused"
exit 0
