#!/bin/bash
# tests/integration/e2e-home-handover.sh - a home that changes hands with
# its login name is not given to the new holder: real sshd and pamtester,
# the installed modules and the stacks pam-auth-update writes, the fake
# Jellyfin over HTTPS. Root only (namespace).
#
# Owns: A. bob writes a ~/.profile that touches a marker (seen running for
# bob himself); bob is deleted, dave renames himself "bob", the name is
# released (the release names the home and its owner) and synced: dave's
# SSH login as bob is refused and the marker never appears for dave's uid,
# the session stage alone (pamtester open_session) refuses too; once the
# administrator moves /home/bob away, dave logs in with a fresh home of
# his own; `doctor` names the home while it is refused. A home writable by others is refused, one writable by the
# user's private group is not. B. a deleted local account's home, with its
# .profile, is refused to the Jellyfin user who takes the name, also after
# a chown of the directory alone (the .profile is still the old uid's).
# The release names what is kept under the name (mail spool, crontab,
# lingering, subuid line) and doctor a mail spool of the old uid; B also
# an old holder's .vimrc left after a chown of the directory alone.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e-lib.sh"
e2e_enter "$@"
e2e_system
# B's local account, deleted later (userdel leaves its home behind)
useradd -m -s /bin/bash lisa || jfa_fail "useradd lisa"
uid_lisa_local=$(id -u lisa)
e2e_jellyfin
e2e_start_sshd

MARKS=/run/marks
mkdir -m 1777 "$MARKS" || e2e_fail "mkdir $MARKS"
# The old holder's choice: a home others may enter (mkhomedir makes 0700;
# the owner may chmod it at any time, also after renaming away) and a
# .profile that runs for whoever logs in with it.
PLANT="chmod 0755 ~ && echo 'touch $MARKS/ran-as-\$(id -u)' >>~/.profile && chmod 0644 ~/.profile"

uid_of() { getent passwd "$1" | cut -d: -f3; }
# login USER PASSWORD: an interactive-style SSH login (a login shell reading
# ~/.profile, no command); sets OUT and RC.
login() { e2e_ssh "$1" "$2" password; }
# refused_login USER PASSWORD WHY
refused_login() {
    login "$1" "$2"
    [ "$RC" != 0 ] || e2e_fail "$3: the login succeeded: $OUT"
}
# logged STRING: the module logged it
logged() { grep -qF -- "$1" "$W/syslog" || e2e_fail "not in the syslog: $1"; }
# pt_session USER: the session stage alone, through the installed common-session
pt_session() { OUT=$(timeout 30 pamtester -v e2e-session "$1" open_session close_session 2>&1); RC=$?; }
cat >/etc/pam.d/e2e-session <<'EOF'
@include common-session
EOF

# --- A. a Jellyfin name released to another Id -----------------------------
uid_bob=$(uid_of bob)
uid_dave=$(uid_of dave)
[ -n "$uid_bob" ] && [ -n "$uid_dave" ] || e2e_fail "bob or dave not synced"
e2e_ssh bob "$E2E_PW_bob" password "$PLANT && echo planted"
[ "$RC" = 0 ] && [[ $OUT == *planted* ]] || e2e_fail "bob cannot write his .profile: $OUT"
login bob "$E2E_PW_bob"
[ -e "$MARKS/ran-as-$uid_bob" ] || e2e_fail "bob's own login did not run his .profile (the test cannot see the attack): $OUT"

jfa_fake_ctl "$URL" POST /__fake/users "{\"delete\": [\"$E2E_ID_bob\"]}" >/dev/null ||
    e2e_fail "cannot delete bob in the fake"
e2e_sync
e2e_self_rename dave "$E2E_PW_dave" bob
e2e_sync
# what other programs keep under the name bob, not under bob's uid
mkdir -p /var/spool/cron/crontabs /var/lib/systemd/linger || e2e_fail "mkdir spool dirs"
echo "From bob" >/var/mail/bob && chown "$uid_bob" /var/mail/bob &&
    echo "* * * * * true" >/var/spool/cron/crontabs/bob &&
    chown "$uid_bob" /var/spool/cron/crontabs/bob && : >/var/lib/systemd/linger/bob &&
    echo "bob:165536:65536" >>/etc/subuid || e2e_fail "cannot plant bob's name files"
OUT=$(jellyfin-auth names release bob) || e2e_fail "names release bob: $OUT"
[[ $OUT == *"The home /home/bob exists, owned by uid $uid_bob."* ]] &&
    [[ $OUT == *"refused logins and"*"mv /home/bob /home/bob.old"* ]] ||
    e2e_fail "the release does not name the home and its owner: $OUT"
for want in "/var/mail/bob (mail spool) exists, owned by uid $uid_bob" \
    "/var/spool/cron/crontabs/bob (crontab) exists, owned by uid $uid_bob" \
    "/var/lib/systemd/linger/bob (lingering) is kept under the name bob" \
    "/etc/subuid (subordinate uids) is kept under the name bob"; do
    [[ $OUT == *"$want"* ]] || e2e_fail "the release does not say: $want: $OUT"
done
e2e_sync
[ "$(uid_of bob)" = "$uid_dave" ] || e2e_fail "bob is uid $(uid_of bob), not dave's $uid_dave"

login bob "$E2E_PW_dave"
[ -e "$MARKS/ran-as-$uid_dave" ] && e2e_fail "bob's .profile ran as dave (uid $uid_dave)"
[ "$RC" != 0 ] || e2e_fail "dave as bob with bob's old home: the login succeeded: $OUT"
logged "login refused for 'bob': /home/bob is owned by uid $uid_bob, not by the user (uid $uid_dave)"
logged "mv /home/bob /home/bob.old"
pt_session bob
[ "$RC" != 0 ] || e2e_fail "the session stage opened a session in bob's old home: $OUT"
logged "session refused for 'bob': /home/bob is owned by uid $uid_bob"
[ "$(stat -c %u /home/bob)" = "$uid_bob" ] || e2e_fail "the refused logins changed /home/bob"
OUT=$(jellyfin-auth doctor 2>&1)
printf '%s\n' "$OUT" | grep -q "^WARN  home       bob: /home/bob is owned by uid $uid_bob, not by the user (uid $uid_dave); its logins are refused until it is moved away" ||
    e2e_fail "doctor does not name bob's home: $OUT"
printf '%s\n' "$OUT" | grep -qF "bob: /var/mail/bob (mail spool) is owned by uid $uid_bob, not by the user (uid $uid_dave)" ||
    e2e_fail "doctor does not name bob's old mail spool: $OUT"
rm -f /var/mail/bob /var/spool/cron/crontabs/bob /var/lib/systemd/linger/bob

# the administrator moves it away: a fresh home, dave's, without the plant
mv /home/bob /home/bob.old
e2e_ssh bob "$E2E_PW_dave" password 'echo "uid=$(id -u)"'
[ "$RC" = 0 ] && [[ $OUT == *"uid=$uid_dave"* ]] || e2e_fail "dave as bob after the move: $OUT"
[ "$(stat -c %u:%a /home/bob)" = "$uid_dave:700" ] || e2e_fail "new home: $(stat -c %u:%a /home/bob)"
login bob "$E2E_PW_dave"
[ "$RC" = 0 ] || e2e_fail "dave's login shell as bob: $OUT"
[ -e "$MARKS/ran-as-$uid_dave" ] && e2e_fail "bob's .profile ran as dave (uid $uid_dave)"
OUT=$(jellyfin-auth doctor 2>&1)
printf '%s\n' "$OUT" | grep -q "^OK    homes      [0-9]* existing homes belong to their users" ||
    e2e_fail "doctor after the move: $OUT"
# a name file of the old holder is its own finding: the homes still read OK
echo "From bob" >/var/mail/bob && chown "$uid_bob" /var/mail/bob || e2e_fail "plant bob's mail"
OUT=$(jellyfin-auth doctor 2>&1)
printf '%s\n' "$OUT" | grep -qF "bob: /var/mail/bob (mail spool) is owned by uid $uid_bob" &&
    printf '%s\n' "$OUT" | grep -q "^OK    homes      [0-9]* existing homes belong to their users" ||
    e2e_fail "doctor with only an old mail spool left: $OUT"
rm -f /var/mail/bob

# writable by others: refused; by the user's own private group: accepted
chmod 0777 /home/bob
refused_login bob "$E2E_PW_dave" "a world-writable home"
logged "login refused for 'bob': /home/bob is writable by others (mode 0777"
chmod 0770 /home/bob
login bob "$E2E_PW_dave"
[ "$RC" = 0 ] || e2e_fail "a home writable by the user's private group is refused: $OUT"
chmod 0700 /home/bob
chmod 0666 /home/bob/.profile
refused_login bob "$E2E_PW_dave" "a world-writable .profile"
logged "/home/bob/.profile is writable by others (mode 0666"
chmod 0644 /home/bob/.profile

# --- B. a deleted local account's home ---------------------------------------
su -s /bin/sh -c "$PLANT" lisa || e2e_fail "lisa cannot write her .profile"
userdel lisa || e2e_fail "userdel lisa"
[ -d /home/lisa ] || e2e_fail "userdel removed /home/lisa"
ID_lisa=115a0000000000000000000000000007
PW_lisa=lisa-jellyfin-pw
jfa_fake_ctl "$URL" POST /__fake/users \
    "{\"upsert\": [{\"name\": \"lisa\", \"id\": \"$ID_lisa\", \"password\": \"$PW_lisa\"}]}" \
    >/dev/null || e2e_fail "cannot add lisa to the fake"
e2e_sync
uid_lisa=$(uid_of lisa)
[ -n "$uid_lisa" ] && [ "$uid_lisa" != "$uid_lisa_local" ] || e2e_fail "lisa: uid '$uid_lisa'"
refused_login lisa "$PW_lisa" "Jellyfin lisa with the deleted local lisa's home"
logged "login refused for 'lisa': /home/lisa is owned by uid $uid_lisa_local"
# the directory alone chowned: the old .profile is still the old uid's
chown "$uid_lisa" /home/lisa
refused_login lisa "$PW_lisa" "Jellyfin lisa after a chown of the directory alone"
logged "login refused for 'lisa': /home/lisa/.profile is owned by uid $uid_lisa_local"
[ -e "$MARKS/ran-as-$uid_lisa" ] && e2e_fail "the local lisa's .profile ran as Jellyfin lisa"
# the old holder's files but one, a .vimrc (vim runs its commands), gone:
# still not the new holder's home (before, only the shells' startup files
# were judged and this login succeeded)
echo "silent !touch $MARKS/vim-ran" >/home/lisa/.vimrc && chown "$uid_lisa_local" /home/lisa/.vimrc ||
    e2e_fail "cannot leave lisa's .vimrc"
find /home/lisa -mindepth 1 -maxdepth 1 ! -name .vimrc -exec rm -rf {} + ||
    e2e_fail "cannot empty /home/lisa"
refused_login lisa "$PW_lisa" "Jellyfin lisa with the local lisa's .vimrc"
logged "login refused for 'lisa': /home/lisa/.vimrc is owned by uid $uid_lisa_local"
rm -f /home/lisa/.vimrc
login lisa "$PW_lisa"
[ "$RC" = 0 ] || e2e_fail "Jellyfin lisa in her emptied home: $OUT"

e2e_nosecret
echo "PASS: a home that changed hands is not given to the new holder"
exit 0
