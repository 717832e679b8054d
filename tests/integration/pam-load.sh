#!/bin/bash
# pam-load.sh - 40 concurrent logins (pamtester processes) against the fake
# Jellyfin while `jellyfin-auth sync` rewrites the database every second:
# every login succeeds, the state stays consistent, and no token is handed
# to the wrong user. Prints the figures (no timed assertion).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
[ -x "$JFA_TOOL" ] || jfa_fail "tools/jellyfin-auth not built"
# pam_wrapper 1.1.4 gives each process one of 62 machine-wide directories
# (/tmp/pam.[0-9a-zA-Z]): without root (no private /tmp from pam_env), more
# concurrent pamtesters than that (with the tests make runs beside this
# one) fail at random with "User not known".
N=40

# --- N Jellyfin users, a real sync with an API key ---
"$PYTHON3" - "$N" "$API_KEY" >"$W/users.json" <<'EOF'
import json, sys
n, key = int(sys.argv[1]), sys.argv[2]
users = [{"name": "load%02d" % i, "id": "%032x" % (0x10ad0000 + i), "password": "pw-load-%02d" % i}
         for i in range(n)]
json.dump({"server": {"name": "Load"}, "api_keys": [{"key": key, "app": "jellyfin-auth"}],
           "users": users}, sys.stdout)
EOF
jfa_make_cert "$W/tls"
jfa_start_fake main "$W/users.json" --tls-cert "$W/tls/cert.pem" --tls-key "$W/tls/key.pem"
URL=$FAKE_URL_main
mkdir -p "$W/state" "$W/services"
chmod 0755 "$W/state"
pam_api_key
write_conf "$URL" "shell = /bin/sh" "offline_max_age = 1h"
write_services ""
: >"$W/passwd"
: >"$W/group"
JELLYFIN_AUTH_CONF="$W/jellyfin-auth.conf" "$JFA_TOOL" sync --quiet || jfa_fail "first sync"

# --- sync every second in the background, for the whole test ---
(
    while [ ! -e "$W/stop" ]; do
        JELLYFIN_AUTH_CONF="$W/jellyfin-auth.conf" "$JFA_TOOL" sync --quiet >>"$W/sync.log" 2>&1 ||
            echo "sync failed" >>"$W/sync.errors"
        echo x >>"$W/sync.count"
        sleep 1
    done
) &
SYNCER=$!
stop_syncer() { touch "$W/stop"; wait "$SYNCER" 2>/dev/null; }

# run_all OPS...: one pamtester per user, all at once; results in $W/r.N
run_all() {
    local i pids=""
    for i in $(seq 0 $((N - 1))); do
        n=$(printf '%02d' "$i")
        printf 'pw-load-%s\n' "$n" | pam_env pamtester -v jellyfin "load$n" "$@" \
            >"$W/r.$n" 2>&1 &
        pids="$pids $!"
    done
    fails=0
    for p in $pids; do wait "$p" || fails=$((fails + 1)); done
}

# --- round 1: authentication only; each pending record holds its own token ---
t0=$(date +%s%N)
run_all authenticate
t1=$(date +%s%N)
[ "$fails" = 0 ] || { stop_syncer; cat "$W"/r.* | grep -v PWRAP | tail -20; jfa_fail "$fails of $N logins failed"; }
jfa_fake_ctl "$URL" GET /__fake/tokens >"$W/tokens.json"
"$PYTHON3" - "$W/tokens.json" "$W/state/private/pending" "$N" <<'EOF' || { stop_syncer; jfa_fail "tokens mixed up"; }
import json, os, sys
tokens = {t["token"]: t["user_id"] for t in json.load(open(sys.argv[1]))}
pending, n = sys.argv[2], int(sys.argv[3])
ok = 0
for name in os.listdir(pending):
    fields = dict(l.split("=", 1) for l in open(os.path.join(pending, name)).read().splitlines()[1:])
    owner = tokens.get(fields["token"])
    if owner != name:
        sys.exit("pending/%s holds a token of %s" % (name, owner))
    ok += 1
if ok != n:
    sys.exit("%d pending records, expected %d" % (ok, n))
EOF

# --- round 2: full sessions; afterwards no token is left on the server ---
t2=$(date +%s%N)
run_all authenticate acct_mgmt open_session close_session
t3=$(date +%s%N)
stop_syncer
[ "$fails" = 0 ] || { cat "$W"/r.* | grep -v PWRAP | tail -20; jfa_fail "$fails of $N sessions failed"; }
left=$(jfa_fake_ctl "$URL" GET /__fake/state | "$PYTHON3" -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))')
[ "$left" = 0 ] || jfa_fail "$left tokens left on the server after $N sessions"
[ ! -s "$W/sync.errors" ] || jfa_fail "a sync failed during the load: $(tail -5 "$W/sync.log")"
"$JFA_TOOL" --help >/dev/null 2>&1
JELLYFIN_AUTH_CONF="$W/jellyfin-auth.conf" "$JFA_TOOL" users >"$W/users.out" 2>&1 ||
    jfa_fail "users after the load"
[ "$(grep -c '^load' "$W/users.out")" = "$N" ] || jfa_fail "database lost users: $(cat "$W/users.out")"
for f in "$W"/state/private/verifiers/*; do
    grep -q '^hash=\$y\$' "$f" || jfa_fail "corrupt verifier $f"
done
echo "load: $N concurrent authentications in $(((t1 - t0) / 1000000)) ms," \
    "$N concurrent sessions in $(((t3 - t2) / 1000000)) ms," \
    "$(wc -l <"$W/sync.count") syncs meanwhile, all succeeded, no token mixed up or left"
exit 0
