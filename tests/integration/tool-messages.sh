#!/bin/sh
# tool-messages: the admin tool's messages say what is wrong and where:
# options after operands, command-line values named as options (never as
# a line of a configuration file), "must run as root" first, status
# reporting the NSS and PAM wiring (never "all is well" without it),
# status/users --json (valid JSON, stable keys, left-out users with their
# reasons), and setup's next steps from the real state.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"

ID_A=a11ce000000000000000000000000001
ID_D=dae00000000000000000000000000002
ID_BOSS=b0550000000000000000000000000003
sync_fixture "[$(user_json alice $ID_A '"password": "alice pw"'),
 $(user_json daemon $ID_D),
 $(user_json Boss $ID_BOSS '"password": "boss pw", "is_administrator": true')]"
jf sync --quiet || jfa_fail "sync"
json_ok() { "$PYTHON3" -m json.tool >/dev/null; }
# jget JSON EXPR: a Python expression on the parsed JSON (as j)
jget() { printf '%s' "$1" | "$PYTHON3" -c "import json,sys; j=json.load(sys.stdin); print($2)"; }

# --- options before or after operands, for every command ---------------------
# the login check is `login` here; issue 11 turns it into `explain`
lcmd=login
jf --help | grep -q '^  explain ' && lcmd=explain
out=$(printf 'alice pw\n' | jf $lcmd alice --password-stdin 2>&1)
rc=$?
[ "$rc" != 2 ] || { echo "$out" >&2; jfa_fail "$lcmd alice --password-stdin: usage error"; }
expect_in "$out" "alice" "$lcmd with the option after the user"
out=$(printf 'alice pw\n' | jf $lcmd --debug alice --password-stdin 2>&1)
[ $? != 2 ] || { echo "$out" >&2; jfa_fail "$lcmd --debug alice --password-stdin: usage error"; }
jf names list --config "$CONF" >/dev/null || jfa_fail "names list --config"
jf sync --dry-run --config "$CONF" --quiet >/dev/null || jfa_fail "sync options in any order"
jf users --config "$CONF" >/dev/null || jfa_fail "users --config after the command"
for c in $(jf --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
    jf "$c" --debug --help >/dev/null || jfa_fail "$c --debug --help"
done
# "--" still ends the options: what follows is an operand
jf sync -- --quiet >"$W/out" 2>&1
[ $? = 2 ] || jfa_fail "sync -- --quiet: not a usage error"
expect_in "$(cat "$W/out")" "unexpected argument '--quiet'" "-- ends the options"
jf sync extra --quiet >/dev/null 2>&1
[ $? = 2 ] || jfa_fail "sync with an operand after it is not a usage error"

# --- command-line values named as command-line values --------------------------
export JELLYFIN_AUTH_CONF="$W/absent/jellyfin-auth.conf"
for args in "--url ftp://x|--url: invalid url \"ftp://x\"" \
    "--url $FAKE --ca-file ca.pem|--ca-file: invalid value \"ca.pem\" (must be an absolute path)" \
    "--url $FAKE --ca-file $W/nope.pem|--ca-file: .*nope.pem" \
    "--url $FAKE --state-dir state|--state-dir: invalid value \"state\"" \
    "--url $FAKE --key-file k|--key-file: invalid value \"k\""; do
    a=${args%%|*}
    want=${args#*|}
    # shellcheck disable=SC2086
    jf setup $a --user x --password-stdin </dev/null >"$W/out" 2>&1
    rc=$?
    [ "$rc" = 2 ] || { cat "$W/out" >&2; jfa_fail "setup $a: exit $rc, expected 2"; }
    expect_in "$(cat "$W/out")" "^jellyfin-auth setup: $want" "setup $a: option not named"
    expect_not_in "$(cat "$W/out")" "\.conf:[0-9]" "setup $a: blamed on a config file line"
done
[ -e "$W/absent" ] && jfa_fail "setup with a bad option wrote something"
export JELLYFIN_AUTH_CONF="$CONF"

# --- status: NSS and PAM wiring --------------------------------------------------
mkdir -p "$W/pam.d"
export JELLYFIN_AUTH_NSSWITCH="$W/ns" JELLYFIN_AUTH_PAM_DIR="$W/pam.d"
printf 'passwd: files\ngroup: files\n' >"$W/ns"
out=$(jf status) && jfa_fail "status ok with neither NSS nor PAM wired"
expect_in "$out" "^nss:      FAIL (.*jellyfin missing on passwd and group; run 'jellyfin-auth setup --enable')" "status: nss"
expect_in "$out" "^pam:      FAIL (no file in $W/pam.d uses pam_jellyfin.so" "status: pam"
expect_not_in "$out" "all is well" "all is well without NSS and PAM"
printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$W/ns"
printf 'auth [success=1 default=ignore] pam_jellyfin.so\n' >"$W/pam.d/common-auth"
printf 'account required pam_unix.so\n' >"$W/pam.d/common-account"
printf 'session optional pam_jellyfin.so\n' >"$W/pam.d/common-session"
out=$(jf status) && jfa_fail "status ok without pam_jellyfin in common-account"
expect_in "$out" "^nss:      ok" "status: nss wired"
expect_in "$out" "^pam:      FAIL ($W/pam.d/common-account without pam_jellyfin.so" "status: account"
expect_not_in "$out" "all is well" "all is well without the account stage"
json=$(jf status --json) && jfa_fail "status --json ok without the account stage"
printf '%s' "$json" | json_ok || { echo "$json" >&2; jfa_fail "status --json is not JSON"; }
[ "$(jget "$json" 'j["ok"], j["pam"]["ok"], j["pam"]["common"]["common-account"], j["nss"]["ok"]')" = \
    "False False False True" ] || { echo "$json" >&2; jfa_fail "status --json: pam keys"; }
printf 'account [default=bad success=ok user_unknown=ignore] pam_jellyfin.so\n' >"$W/pam.d/common-account"
out=$(jf status) || { echo "$out" >&2; jfa_fail "status not ok when wired"; }
expect_in "$out" "^pam:      ok, $W/pam.d uses pam_jellyfin.so (common-auth, common-account, common-session)" "status: pam ok"
expect_in "$out" "^status:   all is well" "status: all is well"
json=$(jf --debug status --json 2>/dev/null) || jfa_fail "status --json not ok when wired"
printf '%s' "$json" | json_ok || { echo "$json" >&2; jfa_fail "status --json is not JSON"; }
# the documented keys, with their types
[ "$(jget "$json" 'sorted(j.keys())')" = \
    "['api_key', 'config', 'database', 'nss', 'ok', 'omitted', 'pam', 'server']" ] ||
    { echo "$json" >&2; jfa_fail "status --json: top-level keys"; }
[ "$(jget "$json" 'j["ok"], j["server"]["id"], j["api_key"]["users"], j["database"]["users"], j["omitted"]["count"], j["nss"]["passwd"]')" = \
    "True 5e2e2000000000000000000000000001 3 2 1 True" ] ||
    { echo "$json" >&2; jfa_fail "status --json: values"; }
expect_not_in "$json" "$SYNC_KEY" "status --json printed the key"

# --- users --json: mapped users and the users left out, with reasons -------------
json=$(jf users --json) || jfa_fail "users --json"
printf '%s' "$json" | json_ok || { echo "$json" >&2; jfa_fail "users --json is not JSON"; }
[ "$(jget "$json" 'sorted(u["login"] for u in j["users"]), j["count"]')" = "['alice', 'boss'] 2" ] ||
    { echo "$json" >&2; jfa_fail "users --json: users"; }
[ "$(jget "$json" '[(u["jellyfin_name"], u["jellyfin_id"], u["admin"], u["disabled"]) for u in j["users"] if u["login"] == "boss"][0]')" = \
    "('Boss', '$ID_BOSS', True, False)" ] || { echo "$json" >&2; jfa_fail "users --json: fields"; }
[ "$(jget "$json" '[(u["jellyfin_name"], u["jellyfin_id"]) for u in j["left_out"]]')" = "[('daemon', '$ID_D')]" ] ||
    { echo "$json" >&2; jfa_fail "users --json: left out"; }
reason=$(jget "$json" 'j["left_out"][0]["reason"]')
expect_in "$(jf users)" "\"daemon\" (Id $ID_D): $reason" "users --json: the reason differs from the table's"
[ "$(jget "$json" 'j["report_matches_database"]')" = True ] || jfa_fail "users --json: report"
jf users --json extra >/dev/null 2>&1
[ $? = 2 ] || jfa_fail "users --json extra: not a usage error"

# a name from a hostile server with terminal controls (C1 CSI, DEL, a bidi
# override): users --json escapes them as \uXXXX (the same JSON value), so
# printing it to a terminal never emits the raw bytes
ID_E=e0100000000000000000000000000004
fake_users '{"upsert": [{"id": "'$ID_E'", "name": "ev\u009b2J\u007fil\u202e", "password": "x"}]}'
jf sync --quiet
json=$(jf users --json) || jfa_fail "users --json with a hostile name"
printf '%s' "$json" | json_ok || { echo "$json" >&2; jfa_fail "users --json (hostile name) is not JSON"; }
[ "$(jget "$json" 'ascii([u["jellyfin_name"] for u in j["left_out"] if u["jellyfin_id"] == "'$ID_E'"][0])')" = \
    "'ev\\x9b2J\\x7fil\\u202e'" ] || { echo "$json" >&2; jfa_fail "users --json: hostile name changed"; }
printf '%s' "$json" | LC_ALL=C grep -q "$(printf '\302\233\\|\177\\|\342\200\256')" &&
    jfa_fail "users --json printed raw terminal controls"
expect_in "$json" 'ev\\u009b2J\\u007fil\\u202e' "users --json: controls not escaped"
fake_users '{"delete": ["'$ID_E'"]}'
jf sync --quiet || jfa_fail "sync after the hostile name"

# --- setup's next steps from the real state ---------------------------------------
KEY2="$W/etc/setup.key"
setup() {
    printf 'boss pw\n' | jf --config "$W/etc/setup.conf" setup --url "$FAKE" --user Boss \
        --key-file "$KEY2" --state-dir "$W/state" --password-stdin "$@"
}
mkdir -p "$W/systemd"
export JELLYFIN_AUTH_SYSTEMD_DIR="$W/systemd"
# NSS and PAM wired (above), the timer not enabled: only the timer is left
out=$(setup 2>&1) || { echo "$out" >&2; jfa_fail "setup"; }
expect_in "$out" "^Next steps:" "setup: next steps"
expect_in "$out" "systemctl enable --now jellyfin-auth-sync.timer" "setup: timer step"
expect_not_in "$out" "files jellyfin" "setup: nsswitch step printed though done"
expect_not_in "$out" "pam-auth-update --enable" "setup: PAM step printed though done"
# everything in place: no next steps
mkdir -p "$W/systemd/timers.target.wants"
ln -s /dev/null "$W/systemd/timers.target.wants/jellyfin-auth-sync.timer"
# (later runs keep the configuration and the working key)
setup_again() { jf --config "$W/etc/setup.conf" setup </dev/null; }
out=$(setup_again 2>&1) || { echo "$out" >&2; jfa_fail "setup, all done"; }
expect_not_in "$out" "Next steps" "setup: next steps printed though all is done"
expect_in "$out" "NSS, PAM and the sync timer are in place" "setup: all done"
# nothing wired: each step
printf 'passwd: files\ngroup: files\n' >"$W/ns"
rm -f "$W/pam.d/"* "$W/systemd/timers.target.wants/jellyfin-auth-sync.timer"
out=$(setup_again 2>&1) || { echo "$out" >&2; jfa_fail "setup, nothing wired"; }
for step in "add 'jellyfin' to $W/ns" "pam-auth-update --enable jellyfin" \
    "session_err=die default=ignore] pam_jellyfin.so" \
    "systemctl enable --now"; do
    expect_in "$out" "$step" "setup: step '$step' missing"
done

# --- must run as root, said first --------------------------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
    # a root-owned installation others can read, as in /etc and /var/lib
    chmod 0711 "$W"
    chmod 0755 "$W/etc" "$W/state"
    nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$JFA_TOOL" "$@"; }
    out=$(nobody sync 2>&1) && jfa_fail "sync as nobody succeeded"
    expect_in "$out" "^jellyfin-auth sync: must run as root (cannot read $W/etc/jellyfin-auth.key" "sync: root"
    out=$(nobody names list 2>&1) && jfa_fail "names list as nobody succeeded"
    expect_in "$out" "^jellyfin-auth names: must run as root" "names: root"
    # set and unset write the ledger: the same first line (they used to go on
    # to the sync lock and name lookups)
    for a in "set 0123456789abcdef0123456789abcdef someone" "unset 0123456789abcdef0123456789abcdef"; do
        out=$(nobody names $a 2>&1) && jfa_fail "names $a as nobody succeeded"
        expect_in "$out" "^jellyfin-auth names: must run as root" "names ${a%% *}: root"
    done
    # ledger export reads the ledger, import writes it: root's, said first
    out=$(nobody ledger export 2>&1) && jfa_fail "ledger export as nobody succeeded"
    expect_in "$out" "^jellyfin-auth ledger: must run as root" "ledger export: root"
    before=$(grep -c 'AuthenticateByName\|/Auth/Keys' "$W/fake-main.log")
    out=$(printf 'pw\n' | nobody --config "$W/etc/new.conf" setup --url "$FAKE" --user Boss \
        --password-stdin 2>&1) && jfa_fail "setup as nobody succeeded"
    expect_in "$out" "^jellyfin-auth setup: must run as root (cannot create files in $W/etc" "setup: root"
    expect_not_in "$out" "force" "setup as nobody: advice to use --force"
    [ -e "$W/etc/new.conf" ] && jfa_fail "setup as nobody wrote a config"
    [ "$(grep -c 'AuthenticateByName\|/Auth/Keys' "$W/fake-main.log")" = "$before" ] ||
        jfa_fail "setup as nobody logged in to the server before saying it needs root"
    out=$(nobody setup --enable 2>&1) && jfa_fail "setup --enable as nobody succeeded"
    expect_in "$out" "must run as root (cannot write $W/ns" "setup --enable: root"
    # what a user may do stays open: users
    nobody users >/dev/null || jfa_fail "users as nobody"
    out=$(nobody status 2>&1)
    expect_in "$out" "^api key:  FAIL (.*run as root)" "status as nobody: key hint"
else
    echo "not root: the must-run-as-root checks are skipped"
fi
exit 0
