#!/bin/bash
# tests/fuzz/run.sh OUTDIR SECONDS - build every libFuzzer target with clang
# (fuzzer + ASan + UBSan) and run each for SECONDS on a copy of its seed
# corpus. Exit 0 if every target built and ran without a finding.
# Run longer by hand, e.g.: bash tests/fuzz/run.sh /tmp/fz 3600
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: run.sh OUTDIR SECONDS}
SECS=${2:-30}
CC=${FUZZ_CC:-clang}
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found" >&2; exit 1; }
mkdir -p "$OUT"
CFLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE
 -DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DPACKAGE_VERSION=\"fuzz\" -DJFA_VERSION=\"fuzz\"
 -I$SRC/lib -I$SRC/tests/unit"

# target: sources (relative to the tree) and libraries
targets() {
    cat <<'LIST'
fuzz_config|lib/jfaconf.c lib/log.c lib/fileutil.c lib/util.c|-lcurl
fuzz_db|lib/db.c lib/dbwrite.c lib/util.c|
fuzz_json|lib/jfjson.c lib/log.c lib/util.c|-ljson-c
fuzz_authheader|tests/unit/jf_getparts.c lib/authheader.c lib/util.c|-lcrypto
fuzz_ledger|lib/ledger.c lib/namemap.c lib/fileutil.c lib/log.c lib/jfjson.c lib/util.c|-lcrypto -ljson-c
fuzz_namemap|lib/namemap.c lib/util.c|
fuzz_samba|lib/samba.c lib/fileutil.c lib/log.c lib/jfjson.c lib/util.c|-lcrypto -ljson-c
LIST
}

status=0
while IFS='|' read -r name srcs libs; do
    [ -f "$SRC/tests/fuzz/$name.c" ] || continue
    files=""
    for s in $srcs; do files="$files $SRC/$s"; done
    # shellcheck disable=SC2086
    if ! $CC $CFLAGS "$SRC/tests/fuzz/$name.c" $files $libs -o "$OUT/$name" 2>"$OUT/$name.build"; then
        echo "fuzz: $name: build failed"
        cat "$OUT/$name.build"
        status=1
        continue
    fi
    rm -rf "$OUT/$name.corpus" && mkdir -p "$OUT/$name.corpus"
    cp "$SRC/tests/fuzz/corpus/${name#fuzz_}/"* "$OUT/$name.corpus/" 2>/dev/null
    if (cd "$OUT" && "./$name" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$name.corpus" >"$name.log" 2>&1); then
        echo "fuzz: $name: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$OUT/$name.log" |
            grep -o '[0-9]*$') runs in ${SECS}s, no finding"
    else
        echo "fuzz: $name: FINDING"
        tail -n 40 "$OUT/$name.log"
        status=1
    fi
done < <(targets)
exit $status
