#!/bin/bash
# tests/integration/e2e-identity.sh - names as an administrator meets them,
# through the installed modules, real sshd and the fake Jellyfin over HTTPS.
# Root only (namespace).
#
# Owns: A. case folding: `ssh Alice@` logs in as alice (NSS answers
# getpwnam("Alice") with alice's entry, PAM sets PAM_USER to "alice"); with
# case_sensitive = yes it is refused. B. the Admin rule: a Jellyfin
# administrator named Admin logs in as jf-admin after a sync, no manual step.
# C. new users without waiting: with sync_on_login = no, a user created in
# Jellyfin is refused and nothing starts; with the default, the first
# (refused) SSH attempt of a user created in Jellyfin starts a background
# sync, the user appears in NSS, and the next SSH login succeeds; the
# elapsed time is printed (a measurement, not an assertion); a second
# unknown user within the interval starts no second sync.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
e2e_system
e2e_jellyfin
e2e_start_sshd

fake_add() { # fake_add NAME ID PASSWORD [, "key": value...]
    jfa_fake_ctl "$URL" POST /__fake/users \
        "{\"upsert\": [{\"name\": \"$1\", \"id\": \"$2\", \"password\": \"$3\", \"is_hidden\": true${4:-}}]}" \
        >/dev/null || e2e_fail "cannot add $1 to the fake"
}
whoami_ssh() { # whoami_ssh USER PASSWORD: OUT = `id -un` of an SSH login
    e2e_ssh "$1" "$2" password 'echo "user=$(id -un)"'
}
started_lines() { grep -c "unknown user '$1': started" "$W/syslog" 2>/dev/null; }
STAMP=/var/lib/jellyfin-auth/private/sync-trigger

# --- A. ssh Alice@ is alice ---------------------------------------------------------
whoami_ssh Alice "$E2E_PW_alice"
[ "$RC" = 0 ] || e2e_fail "ssh Alice@ refused: $OUT"
case "$OUT" in *user=alice*) ;; *) e2e_fail "ssh Alice@ is not alice: $OUT" ;; esac
[ "$(getent passwd Alice | cut -d: -f1)" = alice ] || e2e_fail "getent passwd Alice is not alice"
grep -q "'Alice' is Jellyfin user 'alice'" "$W/syslog" || e2e_fail "PAM did not fold Alice"
e2e_write_config "$URL" "$W/tls/cert.pem" "case_sensitive = yes"
e2e_sync
whoami_ssh Alice "$E2E_PW_alice"
[ "$RC" != 0 ] || e2e_fail "case_sensitive = yes: ssh Alice@ still logs in: $OUT"
getent passwd Alice >/dev/null && e2e_fail "case_sensitive = yes: NSS still answers Alice"
whoami_ssh alice "$E2E_PW_alice"
[ "$RC" = 0 ] || e2e_fail "case_sensitive = yes: alice refused: $OUT"

# --- B. Admin logs in as jf-admin -------------------------------------------------------
fake_add Admin ad000000000000000000000000000001 admin-pw-9 ', "is_administrator": true'
e2e_sync
grep -q 'added    jf-admin .*"admin" is reserved' "$W/sync.log" || e2e_fail "sync did not say why jf-admin"
whoami_ssh jf-admin admin-pw-9
case "$RC:$OUT" in 0:*user=jf-admin*) ;; *) e2e_fail "Admin cannot log in as jf-admin: $OUT" ;; esac

# --- C. new users without waiting ----------------------------------------------------------
# (the refused "Alice" of part A started a sync: forget its stamp, as if
# the interval had passed)
rm -f "$STAMP"
# switch off: nothing starts
e2e_write_config "$URL" "$W/tls/cert.pem" "sync_on_login = no"
fake_add Fay fa000000000000000000000000000006 fay-pw-6
whoami_ssh fay fay-pw-6
[ "$RC" != 0 ] || e2e_fail "fay logged in before any sync"
[ "$(started_lines fay)" = 0 ] || e2e_fail "sync_on_login = no started a sync"
[ -e "$STAMP" ] && e2e_fail "sync_on_login = no wrote $STAMP"
getent passwd fay >/dev/null && e2e_fail "fay resolved without a sync"

# the default: the first attempt starts the sync, the next login works
e2e_write_config "$URL" "$W/tls/cert.pem"
fake_add Erin e0000000000000000000000000000005 erin-pw-5
t0=$(date +%s.%N)
whoami_ssh erin erin-pw-5
[ "$RC" != 0 ] || e2e_fail "erin logged in at the first attempt (sshd knew her already?)"
[ "$(started_lines erin)" = 1 ] || e2e_fail "the first attempt of erin started no sync"
[ -f "$STAMP" ] || e2e_fail "no trigger stamp $STAMP"
# the mechanism: the background sync adds her (bounded wait, 30 s)
e2e_poll 30 getent passwd erin || e2e_fail "the started sync did not add erin"
t1=$(date +%s.%N)
whoami_ssh erin erin-pw-5
[ "$RC" = 0 ] || e2e_fail "erin refused after the sync: $OUT"
case "$OUT" in *user=erin*) ;; *) e2e_fail "erin's login is not erin: $OUT" ;; esac
echo "measured: user created -> first SSH attempt -> in NSS: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s (fay, added by the same sync: $(getent passwd fay >/dev/null && echo yes || echo no))"

# at most one sync per interval: a second unknown user right after starts none
stamp_before=$(stat -c %Y.%y "$STAMP")
fake_add Gus 90000000000000000000000000000007 gus-pw-7
whoami_ssh gus gus-pw-7
[ "$RC" != 0 ] || e2e_fail "gus logged in without a sync"
[ "$(started_lines gus)" = 0 ] || e2e_fail "a second sync started within the interval"
[ "$(stat -c %Y.%y "$STAMP")" = "$stamp_before" ] || e2e_fail "the stamp moved within the interval"
e2e_nosecret
exit 0
