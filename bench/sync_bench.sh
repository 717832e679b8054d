#!/bin/sh
# bench/sync_bench.sh [N]: CPU cost of `jellyfin-auth sync` for N users
# (default 10000) against the fake Jellyfin. Prints the tool's user+sys CPU
# time (target: < 1 s) for the first sync (every UID allocated) and for a
# steady-state sync (no change). Run from the build directory:
#   top_srcdir=/path/to/src sh /path/to/src/bench/sync_bench.sh 10000
set -u
N=${1:-10000}
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$PWD}"
export top_srcdir top_builddir
. "$top_srcdir/tests/lib.sh"
jfa_setup
[ -x "$JFA_TOOL" ] || { echo "build tools/jellyfin-auth first ($JFA_TOOL)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null 2>&1 || { echo "needs /usr/bin/time" >&2; exit 1; }

KEY=5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e
"$PYTHON3" - "$N" "$KEY" >"$W/data.json" <<'EOF'
import hashlib, json, sys
n, key = int(sys.argv[1]), sys.argv[2]
users = []
for i in range(n):
    uid = hashlib.md5(b"bench%d" % i).hexdigest()
    name = ("User %05d" % i) if i % 10 else ("J\u00f6rg-%05d" % i)
    users.append({"name": name, "id": uid, "password": "pw%d" % i,
                  "is_administrator": i % 100 == 0, "is_hidden": i % 3 == 0,
                  "is_disabled": i % 50 == 0})
json.dump({"server": {"name": "Bench"}, "api_keys": [{"key": key, "app": "bench"}],
           "users": users}, sys.stdout)
EOF
jfa_start_fake bench "$W/data.json"
mkdir -p "$W/etc"
printf '%s\n' "$KEY" >"$W/etc/key"
chmod 0600 "$W/etc/key"
cat >"$W/etc/conf" <<EOF
url = $FAKE_URL_bench
api_key_file = $W/etc/key
state_dir = $W/state
timeout = 60
shell = /bin/sh
EOF
chmod 0644 "$W/etc/conf"
export JELLYFIN_AUTH_CONF="$W/etc/conf"

bytes=$(curl -s -H "Authorization: MediaBrowser Client=\"b\", Device=\"b\", DeviceId=\"b\", Version=\"1\", Token=\"$KEY\"" \
    "$FAKE_URL_bench/Users" | wc -c)
echo "GET /Users body for $N users: $bytes bytes"

run() {
    /usr/bin/time -f "%U %S %e" -o "$W/time" "$JFA_TOOL" sync --quiet 2>"$W/err"
    rc=$?
    if [ $rc != 0 ]; then
        echo "$1: sync failed (exit $rc):" >&2
        cat "$W/err" >&2
        return 1
    fi
    read -r u s e <"$W/time"
    cpu=$(echo "$u $s" | awk '{ printf "%.2f", $1 + $2 }')
    echo "$1: $N users: user ${u}s + sys ${s}s = ${cpu}s CPU (wall ${e}s, includes the fake server)"
}
run "first sync (all new)" || exit 1
run "steady state (no change)" || exit 1
echo "users.db: $(stat -c %s "$W/state/users.db") bytes, ledger: $(stat -c %s "$W/state/private/ledger") bytes"
