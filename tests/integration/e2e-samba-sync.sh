#!/bin/bash
# tests/integration/e2e-samba-sync.sh - samba_sync = yes: SMB logins with
# the Jellyfin password (issue 9), against a real smbd and smbclient in the
# namespace, real sshd, expect-driven passwd, and `jellyfin-auth sync`.
# Root only (namespace); skips without Samba or smbclient.
#
# Owns: an SSH login enrolls the Jellyfin password in Samba (right password
# lists the share, wrong one refused); a password changed in Jellyfin, or
# with passwd, replaces it (old one refused); sync disables and re-enables
# the Samba entry with the Jellyfin account, and disables the entry of a
# name its user no longer holds (renamed away, left out of the database); samba_sync = no and offline
# logins leave the passdb alone; a login with a password Samba already has
# runs nothing; an SMB-only user (nologin shell) enrolls by an SSH attempt;
# a Samba failure in sync is reported but the database is written; a
# released name takes its entry with it, and the name of its holder as of
# the last sync is not released; a hanging or missing helper neither fails nor stalls the
# login (one log line); the helper never sees the password in its argv or
# environment; `users` and `doctor` report on Samba; nothing is published
# into a passdb without a lockout policy (SMB guesses never reach PAM);
# removing the package disables the Jellyfin users' entries (not a local
# account's), an upgrade does not, and the purge removes them.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
for t in smbd smbclient smbpasswd pdbedit testparm expect; do
    command -v "$t" >/dev/null || jfa_skip "$t not installed (samba, smbclient, expect)"
done
e2e_system
e2e_jellyfin

e2e_smbd

# The shim stands in for smbpasswd: it records its argv and environment,
# then runs the real one, or fails, or hangs, as $W/shim.mode says.
mkdir -m 0755 "$W/bin"
cat >"$W/bin/smbpasswd" <<EOF
#!/bin/sh
{ printf 'ARGV'; for a in "\$@"; do printf ' [%s]' "\$a"; done; echo; env; echo END; } >>"$W/shim.log"
case "\$(cat "$W/shim.mode" 2>/dev/null)" in
hang) sleep 600 ;;
fail) echo "shim: simulated failure" >&2; exit 3 ;;
esac
exec /usr/bin/smbpasswd "\$@"
EOF
chmod 0755 "$W/bin/smbpasswd"
: >"$W/shim.log"
runs() { grep -c '^ARGV' "$W/shim.log"; }

conf() { # conf yes|no [extra lines]
    local sync=$1
    shift
    e2e_write_config "$URL" "$W/tls/cert.pem" "samba_sync = $sync" "samba_conf = $W/smb.conf" \
        "samba_smbpasswd = $W/bin/smbpasswd" "samba_timeout = 3s" "$@"
}
ssh_ok() {
    e2e_ssh "$1" "$2" password echo LOGGED-IN
    [ "$RC" = 0 ] && printf '%s' "$OUT" | grep -q LOGGED-IN ||
        e2e_fail "$3: $1 cannot log in over SSH ($RC): $OUT"
}
set_pw() { # set_pw USER-ID PASSWORD: in Jellyfin
    local j
    j=$("$PYTHON3" -c 'import json,sys; print(json.dumps({"upsert": [{"id": sys.argv[1], "password": sys.argv[2]}]}))' "$1" "$2")
    jfa_fake_ctl "$URL" POST /__fake/users "$j" || e2e_fail "cannot change a password in the fake"
}
set_disabled() { # set_disabled USER-ID true|false
    jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [{\"id\": \"$1\", \"is_disabled\": $2}]}" ||
        e2e_fail "cannot change is_disabled in the fake"
}
logged() { grep -q -- "$1" "$W/syslog"; }

e2e_start_sshd

# 1. samba_sync = no (the default): a login leaves Samba alone.
conf no
ssh_ok alice "$E2E_PW_alice" "samba_sync = no"
[ -z "$(e2e_passdb)" ] || e2e_fail "samba_sync = no wrote to the passdb: $(e2e_passdb)"
[ "$(runs)" = 0 ] || e2e_fail "samba_sync = no ran smbpasswd"
e2e_smb_no alice "$E2E_PW_alice" "before enrollment"

# 1b. samba_sync = yes, but Samba's account policy "bad lockout attempt" is
# 0 (Samba's default: never lock out). SMB logins never reach PAM, so
# neither our throttle nor Jellyfin's lockout sees them: a published
# password could be guessed over SMB without limit (seen: 30 wrong
# passwords in under a second, then the right one let in). The login
# publishes nothing and says why; doctor fails on it.
conf yes
lockout() { pdbedit -s "$W/smb.conf" -P "bad lockout attempt" -C "$1" >/dev/null 2>&1 ||
    e2e_fail "cannot set Samba's bad lockout attempt to $1"; }
lockout 0
ssh_ok alice "$E2E_PW_alice" "login with no Samba lockout policy"
e2e_smb_no alice "$E2E_PW_alice" "no lockout policy: the password was published"
e2e_passdb | grep -q '^alice:' && e2e_fail "no lockout policy: alice got a passdb entry: $(e2e_passdb)"
logged "Samba password of 'alice' not updated: Samba's account policy \"bad lockout attempt\" is 0" ||
    e2e_fail "no log line naming the missing lockout policy"
OUT=$(jellyfin-auth doctor 2>&1) && e2e_fail "doctor accepts a passdb without lockout: $OUT"
printf '%s' "$OUT" | grep -q '^FAIL  *samba .*"bad lockout attempt" is 0' ||
    e2e_fail "doctor does not name the lockout policy: $OUT"
# high enough for the wrong passwords the steps below try
lockout 50

# 2. samba_sync = yes: one SSH login enrolls alice; her Jellyfin password
# works over SMB, a wrong one does not.
ssh_ok alice "$E2E_PW_alice" "enrollment"
e2e_passdb | grep -q "^alice:$(id -u alice):" || e2e_fail "alice has no passdb entry: $(e2e_passdb)"
e2e_smb_ok alice "$E2E_PW_alice" "after the SSH login"
e2e_smb_no alice "wrong password" "wrong password"
logged "Samba password of 'alice' set from Jellyfin" || e2e_fail "no log line for the Samba update"
# The helper saw neither the password in its argv nor in its environment,
# and got the fixed environment, not sshd's.
grep -qF -- "$E2E_PW_alice" "$W/shim.log" && e2e_fail "the password reached the helper's argv or env"
grep -q '^ARGV \[-c\] \['"$W"'/smb.conf\] \[-s\] \[-a\] \[--\] \[alice\]$' "$W/shim.log" ||
    e2e_fail "unexpected smbpasswd command line: $(grep ARGV "$W/shim.log")"
grep -q '^PATH=/usr/sbin:/usr/bin:/sbin:/bin$' "$W/shim.log" || e2e_fail "helper PATH not the fixed one"
grep -q '^SSH_\|^PAM_\|^JELLYFIN_\|^HOME=' "$W/shim.log" && e2e_fail "the helper inherited the caller's environment"

# 3. The same password again: the record says Samba has it, nothing runs.
n=$(runs)
ssh_ok alice "$E2E_PW_alice" "second login"
[ "$(runs)" = "$n" ] || e2e_fail "a login with the current password ran smbpasswd again"

# 4. The password changes in Jellyfin: the next SSH login moves Samba.
NEW1='alice new: "pw" 2'
set_pw "$E2E_ID_alice" "$NEW1"
ssh_ok alice "$NEW1" "login with the new Jellyfin password"
e2e_smb_ok alice "$NEW1" "new Jellyfin password"
e2e_smb_no alice "$E2E_PW_alice" "old password after a change in Jellyfin"

# 5. passwd as alice (chauthtok through /etc/pam.d/passwd): the new password
# goes to Samba too.
NEW2='alice-passwd-3'
e2e_passwd alice "$NEW1" "$NEW2"
[ "$RC" = 0 ] && grep -q "PASSWD-PROMPTS=3" <<<"$OUT" || e2e_fail "passwd as alice failed: $OUT"
e2e_smb_ok alice "$NEW2" "password changed with passwd"
e2e_smb_no alice "$NEW1" "old password after passwd"
grep -qF -- "$NEW2" "$W/shim.log" && e2e_fail "the new password reached the helper's argv or env"

# 6. Disabled in Jellyfin: sync disables the Samba entry; re-enabled: back.
set_disabled "$E2E_ID_alice" true
OUT=$(jellyfin-auth sync 2>&1) || e2e_fail "sync failed: $OUT"
printf '%s' "$OUT" | grep -q 'samba: disabled alice (disabled in Jellyfin)' ||
    e2e_fail "sync did not report disabling alice in Samba: $OUT"
e2e_passdb | grep -q '^alice:.*\[DU' || e2e_fail "alice's Samba entry is not disabled: $(e2e_passdb)"
e2e_smb_no alice "$NEW2" "disabled in Jellyfin"
OUT=$(jellyfin-auth users 2>&1) || e2e_fail "users failed: $OUT"
printf '%s\n' "$OUT" | grep -q '^alice .*disabled *$' || e2e_fail "users does not show alice's Samba entry disabled: $OUT"
set_disabled "$E2E_ID_alice" false
OUT=$(jellyfin-auth sync 2>&1) || e2e_fail "sync failed: $OUT"
printf '%s' "$OUT" | grep -q 'samba: enabled  alice (enabled in Jellyfin)' ||
    e2e_fail "sync did not report enabling alice in Samba: $OUT"
e2e_smb_ok alice "$NEW2" "re-enabled in Jellyfin"
OUT=$(jellyfin-auth sync 2>&1) || e2e_fail "sync failed: $OUT"
printf '%s' "$OUT" | grep -q 'samba:' && e2e_fail "a sync without changes changed Samba: $OUT"
OUT=$(jellyfin-auth users 2>&1)
printf '%s\n' "$OUT" | grep -q '^alice .*enabled *$' || e2e_fail "users does not show alice's Samba entry: $OUT"
printf '%s\n' "$OUT" | grep -q '^bob .* - *$' || e2e_fail "users shows a Samba entry for bob: $OUT"

# 7. Offline login (Jellyfin answers 503): the passdb does not change.
before=$(e2e_passdb)
n=$(runs)
jfa_fake_ctl "$URL" POST /__fake/fault '{"mode": "503"}'
ssh_ok alice "$NEW2" "offline login"
jfa_fake_ctl "$URL" POST /__fake/fault '{"mode": "none"}'
logged "offline login for 'alice'" || e2e_fail "the login was not an offline one"
[ "$(e2e_passdb)" = "$before" ] || e2e_fail "an offline login changed the passdb"
[ "$(runs)" = "$n" ] || e2e_fail "an offline login ran smbpasswd"

# 8. A hanging helper: the login succeeds, the log names the timeout.
NEW3='alice-hang-4'
set_pw "$E2E_ID_alice" "$NEW3"
echo hang >"$W/shim.mode"
ssh_ok alice "$NEW3" "helper hangs"
logged "Samba password of 'alice' not updated: smbpasswd -a timed out after 3 s" ||
    e2e_fail "no log line naming the helper's timeout"
e2e_smb_no alice "$NEW3" "the update timed out"
# A failing helper: exit status and its message in the log.
echo fail >"$W/shim.mode"
ssh_ok alice "$NEW3" "helper fails"
logged "not updated: smbpasswd -a: exit status 3: shim: simulated failure" ||
    e2e_fail "no log line naming the helper's failure"
# A missing helper.
rm -f "$W/shim.mode"
mv "$W/bin/smbpasswd" "$W/bin/smbpasswd.off"
ssh_ok alice "$NEW3" "helper missing"
logged "not updated: $W/bin/smbpasswd: No such file or directory" ||
    e2e_fail "no log line naming the missing helper"
# Back in place: the failed attempts left no record claiming the update.
mv "$W/bin/smbpasswd.off" "$W/bin/smbpasswd"
ssh_ok alice "$NEW3" "helper back"
e2e_smb_ok alice "$NEW3" "after the helper came back"

# 9. Deleted in Jellyfin: sync disables the entry of the user NSS forgot.
jfa_fake_ctl "$URL" POST /__fake/users "{\"delete\": [\"$E2E_ID_alice\"]}"
OUT=$(jellyfin-auth sync 2>&1) || e2e_fail "sync after the deletion failed: $OUT"
printf '%s' "$OUT" | grep -q 'samba: disabled alice (deleted in Jellyfin)' ||
    e2e_fail "sync did not disable the deleted alice in Samba: $OUT"
e2e_passdb | grep -q '^alice:.*\[DU' || e2e_fail "deleted alice's Samba entry is not disabled: $(e2e_passdb)"

# 10. SMB-only users: with a nologin shell, an SSH login attempt is refused
# by the shell, but sshd authenticated through PAM first: bob is enrolled.
echo /usr/sbin/nologin >>/etc/shells
conf yes "shell = /usr/sbin/nologin"
e2e_sync
[ "$(getent passwd bob | cut -d: -f7)" = /usr/sbin/nologin ] || e2e_fail "bob's shell is not nologin"
e2e_ssh bob "$E2E_PW_bob" password echo LOGGED-IN
printf '%s' "$OUT" | grep -q LOGGED-IN && e2e_fail "bob got a shell with nologin: $OUT"
e2e_smb_ok bob "$E2E_PW_bob" "SMB-only user enrolled by an SSH attempt"
OUT=$(jellyfin-auth users 2>&1)
printf '%s\n' "$OUT" | grep -q '^bob .*enabled *$' || e2e_fail "users does not show bob's Samba entry: $OUT"

# 11. Samba broken during sync: reported (exit 1), the database still written.
conf yes "shell = /usr/sbin/nologin" "samba_pdbedit = /nonexistent/pdbedit"
set_disabled "$E2E_ID_bob" true
OUT=$(jellyfin-auth sync 2>&1) && e2e_fail "sync with a missing pdbedit succeeded: $OUT"
printf '%s' "$OUT" | grep -q 'samba: cannot list the Samba passdb: /nonexistent/pdbedit: No such file.*(the users database was written)' ||
    e2e_fail "sync did not report the Samba failure: $OUT"
printf '%s' "$OUT" | grep -q '^disabled bob' || e2e_fail "the users database was not updated: $OUT"
jellyfin-auth users 2>&1 | grep -q '^bob .* yes ' || e2e_fail "bob not disabled in the database after the sync"
set_disabled "$E2E_ID_bob" false
conf yes "shell = /usr/sbin/nologin"
e2e_sync

# 11b. A name its Jellyfin user no longer holds has its entry disabled at
# the next sync; a released name takes its Samba entry with it. bob renames himself
# (the name stays claimed by his Id, the entry "bob" keeps his password);
# the admin releases "bob" and a new Jellyfin user takes it: the old
# holder's password must not open the new bob's account over SMB.
e2e_fake_user bob '{"name": "robert"}'
OUT=$(jellyfin-auth sync 2>&1) || e2e_fail "sync after bob's rename failed: $OUT"
getent passwd robert >/dev/null || e2e_fail "bob's rename to robert did not reach NSS"
# the sync disables the entry of the name bob's Id no longer holds: until
# the release it held his password for whoever gets the name next (a local
# account created later, which the sync would never touch)
printf '%s' "$OUT" | grep -q 'samba: disabled bob (its Jellyfin user has another name now)' ||
    e2e_fail "sync did not disable the entry of bob's old name: $OUT"
e2e_passdb | grep -q '^bob:.*\[DU' || e2e_fail "the entry of bob's old name is not disabled: $(e2e_passdb)"
REL=$(jellyfin-auth names release bob 2>&1) || e2e_fail "names release bob failed: $REL"
jfa_fake_ctl "$URL" POST /__fake/users \
    '{"upsert": [{"name": "bob", "id": "b0b20000000000000000000000000b0b", "password": "the-new-bob"}]}' >/dev/null ||
    e2e_fail "cannot add the new bob"
e2e_sync
getent passwd bob >/dev/null || e2e_fail "the new bob did not get the released name"
e2e_smb_no bob "$E2E_PW_bob" "the old holder's password for the released name bob"
printf '%s' "$REL" | grep -q "removed the Samba entry of bob (it held the password of Jellyfin user Id" ||
    e2e_fail "names release did not say it removed bob's Samba entry: $REL"
e2e_passdb | grep -q '^bob:' && e2e_fail "the released name bob kept a Samba entry: $(e2e_passdb)"
# the new bob's own first login enrolls him (nologin shell: PAM ran first)
e2e_ssh bob the-new-bob password echo LOGGED-IN
e2e_smb_ok bob the-new-bob "the new bob after his first login"

# 11c. The login name of its holder as of the last sync is not released.
# The new bob renames himself to "bobby" and the admin releases "bob"
# before the next sync: the ledger still said "active", so the release kept
# the passdb entry (it removed renamed-away and deleted claims' only), and
# the sync gave "bob" to a third user, whom the new bob's password then
# opened over SMB. Now the release is refused until a sync has seen the
# rename; then it removes the entry.
NEWBOB=b0b20000000000000000000000000b0b
jfa_fake_ctl "$URL" POST /__fake/users "{\"upsert\": [{\"id\": \"$NEWBOB\", \"name\": \"bobby\"}]}" \
    >/dev/null || e2e_fail "cannot rename the new bob"
REL=$(jellyfin-auth names release bob 2>&1) &&
    e2e_fail "released bob, the login name of its holder as of the last sync: $REL"
printf '%s' "$REL" | grep -q "name bob not released: it is the login name of Jellyfin user Id $NEWBOB as of the last sync" ||
    e2e_fail "no refusal naming the holder: $REL"
jfa_fake_ctl "$URL" POST /__fake/users \
    '{"upsert": [{"name": "bob", "id": "b0b30000000000000000000000000b0b", "password": "the-third-bob"}]}' >/dev/null ||
    e2e_fail "cannot add the third bob"
e2e_sync
getent passwd bob >/dev/null && e2e_fail "bob passed to a third Id in the sync after its holder's rename"
e2e_smb bob the-new-bob
[ "$RC" != 0 ] || e2e_fail "the renamed holder's password opened bob over SMB: $OUT"
REL=$(jellyfin-auth names release bob 2>&1) || e2e_fail "names release bob once renamed away: $REL"
printf '%s' "$REL" | grep -q "removed the Samba entry of bob (it held the password of Jellyfin user Id $NEWBOB)" ||
    e2e_fail "names release did not remove the renamed holder's Samba entry: $REL"
e2e_sync
getent passwd bob >/dev/null || e2e_fail "the third bob did not get the released name"
e2e_smb_no bob the-new-bob "the previous holder's password for the name bob"

# 11d. What the policy buys: wrong SMB passwords lock the entry out, and
# the right one is refused then too.
e2e_ssh bob the-third-bob password echo LOGGED-IN
e2e_smb_ok bob the-third-bob "the third bob after his first login"
lockout 3
for i in 1 2 3; do e2e_smb_no bob "wrong-$i" "guess $i"; done
e2e_smb bob the-third-bob
[ "$RC" != 0 ] && printf '%s' "$OUT" | grep -q NT_STATUS_ACCOUNT_LOCKED_OUT ||
    e2e_fail "3 wrong SMB passwords with bad lockout attempt = 3 did not lock bob out: $OUT"
lockout 50

# 11e. Left out of the database (dave renames himself to a name the
# database cannot hold): the entry of his name is disabled; back in, enabled.
e2e_ssh dave "$E2E_PW_dave" password echo LOGGED-IN
e2e_passdb | grep -q '^dave:.*\[U' || e2e_fail "dave was not enrolled: $(e2e_passdb)"
e2e_fake_user dave '{"name": "dave\n"}'
OUT=$(jellyfin-auth sync 2>&1)
getent passwd dave >/dev/null && e2e_fail "dave was not left out: $OUT"
printf '%s' "$OUT" | grep -q 'samba: disabled dave (left out of the users database)' ||
    e2e_fail "sync did not disable the entry of dave, left out: $OUT"
e2e_passdb | grep -q '^dave:.*\[DU' || e2e_fail "dave's entry is not disabled: $(e2e_passdb)"
e2e_fake_user dave '{"name": "dave"}'
OUT=$(jellyfin-auth sync 2>&1) || e2e_fail "sync with dave back failed: $OUT"
printf '%s' "$OUT" | grep -q 'samba: enabled  dave (enabled in Jellyfin)' ||
    e2e_fail "sync did not enable dave's entry again: $OUT"
e2e_smb_ok dave "$E2E_PW_dave" "dave back in the database"

# 12. doctor checks the Samba wiring.
OUT=$(jellyfin-auth doctor 2>&1); echo "$OUT"
printf '%s' "$OUT" | grep -q '^OK  *samba ' || e2e_fail "doctor has no Samba check: $OUT"
printf '%s' "$OUT" | grep -q '^OK  *samba .*locked out after 50 wrong SMB passwords' ||
    e2e_fail "doctor does not report the lockout policy: $OUT"
sed -i 's/unix password sync = no/unix password sync = yes/' "$W/smb.conf"
OUT=$(jellyfin-auth doctor 2>&1) && e2e_fail "doctor accepts unix password sync = yes: $OUT"
printf '%s' "$OUT" | grep -q '^FAIL  *samba .*unix password sync' ||
    e2e_fail "doctor does not name unix password sync: $OUT"

e2e_nosecret
for s in "$NEW1" "$NEW2" "$NEW3"; do
    grep -qF -- "$s" "$W/syslog" && e2e_fail "a password leaked into the syslog"
done

# 13. The package goes (the Debian maintainer scripts as shipped; dpkg runs
# them in e2e-deb.sh). Before, nothing touched the passdb: dave's entry
# stayed enabled with his Jellyfin password after the removal (no module,
# no sync timer left to disable it when Jellyfin does), and after the purge
# every entry stayed, for a local account created later under the name.
sed -i 's/unix password sync = yes/unix password sync = no/' "$W/smb.conf"
e2e_local_user lena lena-pw
printf 'lena-smb\nlena-smb\n' | smbpasswd -c "$W/smb.conf" -a -s lena >/dev/null 2>&1 ||
    e2e_fail "smbpasswd -a lena (a local account)"
e2e_smb_ok dave "$E2E_PW_dave" "before the removal"
OUT=$(sh "$top_srcdir/debian/jellyfin-auth.prerm" upgrade 2>&1) || e2e_fail "prerm upgrade: $OUT"
e2e_smb_ok dave "$E2E_PW_dave" "after prerm upgrade (nothing changes on an upgrade)"
OUT=$(sh "$top_srcdir/debian/jellyfin-auth.prerm" remove 2>&1) || e2e_fail "prerm remove: $OUT"
printf '%s' "$OUT" | grep -q 'samba: disabled dave (jellyfin-auth is removed)' ||
    e2e_fail "prerm remove did not say it disabled dave's Samba entry: $OUT"
e2e_smb_no dave "$E2E_PW_dave" "after the package's removal"
e2e_smb_ok lena lena-smb "a local account's entry after the package's removal"
LIST=/var/lib/jellyfin-auth/private/samba-entries
[ "$(stat -c %a:%u "$LIST" 2>&1)" = 600:0 ] || e2e_fail "$LIST is not root's, 0600: $(ls -l "$LIST" 2>&1)"
for n in alice dave; do
    grep -qx "$n" "$LIST" || e2e_fail "$LIST lacks $n: $(cat "$LIST")"
done
grep -qx lena "$LIST" && e2e_fail "$LIST names the local account lena"
# a reinstall: the sync enables the entry of an enabled user again
OUT=$(jellyfin-auth sync 2>&1) || e2e_fail "sync after a reinstall: $OUT"
e2e_smb_ok dave "$E2E_PW_dave" "after a reinstall's sync"
OUT=$(sh "$top_srcdir/debian/jellyfin-auth.prerm" remove 2>&1) || e2e_fail "prerm remove again: $OUT"
e2e_smb_no dave "$E2E_PW_dave" "after the second removal"
OUT=$(sh "$top_srcdir/debian/jellyfin-auth.postrm" purge 2>&1) || e2e_fail "postrm purge: $OUT"
for n in alice dave; do
    e2e_passdb | grep -q "^$n:" && e2e_fail "the purge left the Samba entry of $n: $(e2e_passdb)"
done
e2e_passdb | grep -q '^lena:' || e2e_fail "the purge removed the local account lena's Samba entry"
e2e_smb_ok lena lena-smb "a local account's entry after the purge"

echo "PASS: Samba follows the Jellyfin password, account state and sync"
exit 0
