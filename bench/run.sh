#!/bin/sh
# bench/run.sh - libnss_jellyfin.so.2 against glibc's nss_files, same
# entries, same binary, same run. Not part of make check.
#
# Usage: bench/run.sh BUILDDIR [SIZES...]   (default sizes: 100 10000 100000)
# For each size N it writes N users jbu0.. (uid/gid 200000+i), N private
# groups and group jbusers (gid 199999, every user a member), as
#   - passwd/group files (appended to copies of this machine's files), and
#   - a users database built with tests/unit/mkdb,
# then runs bench/nss_bench four times:
#   files           nsswitch "files", the generated passwd/group files
#   files+jellyfin  nsswitch "files jellyfin", this machine's own files plus
#                   our database (the recommended production setup)
#   jellyfin        nsswitch "jellyfin" alone (the module by itself)
#   floor           nsswitch "floor": bench/libnss_floor.so.2, which answers
#                   from the key alone (no data, no system call): glibc's
#                   own dispatch cost, the least any module can cost
# As root each run is in a private mount namespace (unshare -m) with
# nsswitch.conf, /etc/passwd and /etc/group bind-mounted, and the module
# found through LD_LIBRARY_PATH: the real glibc paths, nothing outside
# changes. Without root it falls back to nss_wrapper for all three
# (labelled "nss_wrapper": its files backend is not glibc's nss_files).
# As root, also the floor with BENCH_FLOOR_CONST=1 (a constant entry, no
# formatting) for enumeration only: glibc's own cost per entry.
# Rounds: files+jellyfin, and files for lookups, run once per size (their
# ratios are orders of magnitude from any goal); the floor, jellyfin and
# files for enumeration run in BENCH_ROUNDS (default 5) interleaved rounds:
# a round is the floor's and jellyfin's lookups, then the floor's,
# jellyfin's and files' enumeration, each its own process, even rounds in
# the reverse order; same binary; floor and jellyfin draw the same keys
# (the round's seed). Every process is pinned to the same CPU
# (BENCH_CPU, default the last one this shell may use; empty: no pinning)
# when taskset works. jf/floor (jf/files for enumeration) of a case is the
# median over rounds of (jf p50 / floor p50) of the same round, printed
# with its min-max over rounds; p50 columns are medians over rounds.
# Output: raw lines (with their round), then a table of p50 per call in ns
# with the ratios jellyfin / floor and jellyfin / files (< 1: we are
# faster), and the goals of issue 13 (jellyfin within 1.3x of the floor for
# lookups and misses, judged on the median; enumeration at most 0.5x of
# nss_files at 10,000 users and more).
set -u
B=${1:?usage: run.sh BUILDDIR [SIZES...]}
shift
SIZES=${*:-100 10000 100000}
BENCH="$B/bench/nss_bench"
MKDB="$B/tests/unit/mkdb"
LIBS="$B/nss_jellyfin/.libs"
FLOOR="$B/bench/.libs"
[ -x "$BENCH" ] && [ -x "$MKDB" ] && [ -e "$LIBS/libnss_jellyfin.so.2" ] &&
    [ -e "$FLOOR/libnss_floor.so.2" ] ||
    { echo "build first: make bench" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/jfa-bench.XXXXXX") || exit 2
chmod 0755 "$W"
trap 'rm -rf "$W"' EXIT

MODE=namespace
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
    MODE=nss_wrapper
    WRAPPER=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
    [ -e "$WRAPPER" ] || { echo "neither root nor nss_wrapper: cannot benchmark" >&2; exit 2; }
fi
ROUNDS=${BENCH_ROUNDS:-5}
case $ROUNDS in '' | *[!0-9]* | 0) echo "BENCH_ROUNDS must be a positive number" >&2; exit 2 ;; esac
# the CPU every benchmark process is pinned to: BENCH_CPU, or the last one
# in this shell's affinity list
CPU=${BENCH_CPU-$(taskset -cp $$ 2>/dev/null | sed 's/.*: *//; s/.*[,-]//')}
PIN= PINNED="no (taskset missing or refused)"
if [ -n "$CPU" ] && taskset -c "$CPU" true 2>/dev/null; then
    PIN="taskset -c $CPU" PINNED="CPU $CPU"
fi
echo "# mode: $MODE   kernel: $(uname -r)   glibc: $(ldd --version | head -1)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
echo "# rounds (floor, jellyfin, files enumeration): $ROUNDS   pinned: $PINNED"

cp /etc/passwd "$W/sys.passwd"
cp /etc/group "$W/sys.group"
printf 'passwd: files\ngroup: files\n' >"$W/ns-files.conf"
printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$W/ns-files+jellyfin.conf"
printf 'passwd: jellyfin\ngroup: jellyfin\n' >"$W/ns-jellyfin.conf"
printf 'passwd: floor\ngroup: floor\n' >"$W/ns-floor.conf"

bench_one() { # LABEL N PASSWD GROUP
    label=$1 n=$2 pw=$3 gr=$4
    if [ "$MODE" = namespace ]; then
        $PIN unshare -m --propagation private sh -c '
            mount --bind "$1" /etc/nsswitch.conf && mount --bind "$2" /etc/passwd &&
            mount --bind "$3" /etc/group || exit 99
            exec env LD_LIBRARY_PATH="$4" JELLYFIN_AUTH_DB="$5" BENCH_FLOOR_N="$8" "$6" "$7" "$8"' \
            sh "$W/ns-${label%-const}.conf" "$pw" "$gr" "$LIBS:$FLOOR" "$W/users.db" "$BENCH" "$label" "$n"
    else
        case $label in
        files) mod= prefix= ;;
        floor) mod="$FLOOR/libnss_floor.so.2" prefix=floor ;;
        *) mod="$LIBS/libnss_jellyfin.so.2" prefix=jellyfin ;;
        esac
        case $label in jellyfin | floor) : >"$W/empty.passwd"; : >"$W/empty.group"; pw="$W/empty.passwd"; gr="$W/empty.group" ;; esac
        $PIN env LD_PRELOAD="$WRAPPER" NSS_WRAPPER_PASSWD="$pw" NSS_WRAPPER_GROUP="$gr" \
            ${mod:+NSS_WRAPPER_MODULE_SO_PATH="$mod"} ${mod:+NSS_WRAPPER_MODULE_FN_PREFIX=$prefix} \
            JELLYFIN_AUTH_DB="$W/users.db" BENCH_FLOOR_N="$n" "$BENCH" "nss_wrapper-$label" "$n" |
            sed "s/^nss_wrapper-$label /$label /"
    fi
}

LOOKUPS=
for c in getpwnam getpwuid getgrnam getgrgid initgroups; do LOOKUPS="$LOOKUPS $c-hit $c-miss"; done

# LABEL ROUND N PASSWD GROUP [CASES]: raw lines with the round appended.
# The keys' seed is the round's (floor and jellyfin of a round draw the same
# keys; each round other keys), a different one for files+jellyfin: no
# process repeats the previous one's keys in the same order, which within
# one process makes a hit at 100,000 users 100 ns cheaper (the previous
# pass's slots and entries still cached).
bench_round() {
    out=$(if [ -n "${6-}" ]; then BENCH_CASES=$6 && export BENCH_CASES; fi
        BENCH_SEED=$((1000 + $2)) && [ "$1" != files+jellyfin ] || BENCH_SEED=1
        export BENCH_SEED
        bench_one "$1" "$3" "$4" "$5") || echo "# $1 run (round $2, N=$3) failed" >&2
    if [ -n "$out" ]; then printf '%s\n' "$out" | sed "s/\$/ $2/" >>"$W/raw"; fi
}

for n in $SIZES; do
    awk -v n="$n" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "jbu%d:x:%d:%d:Bench User %d:/home/jbu%d:/bin/bash\n", i, 200000+i, 200000+i, i, i
    }' >"$W/gen.passwd"
    awk -v n="$n" 'BEGIN {
        for (i = 0; i < n; i++) printf "jbu%d:x:%d:\n", i, 200000+i
        printf "jbusers:x:199999:"
        for (i = 0; i < n; i++) printf "%sjbu%d", (i ? "," : ""), i
        printf "\n"
    }' >"$W/gen.group"
    cat "$W/sys.passwd" "$W/gen.passwd" >"$W/files.passwd"
    cat "$W/sys.group" "$W/gen.group" >"$W/files.group"
    awk -v n="$n" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "user jbu%d %d %d Bench%%20User%%20%d /home/jbu%d /bin/bash jbu%d - 0 199999\n", i, 200000+i, 200000+i, i, i, i
        for (i = 0; i < n; i++) printf "group jbu%d %d -\n", i, 200000+i
        printf "group jbusers 199999 "
        for (i = 0; i < n; i++) printf "%sjbu%d", (i ? "," : ""), i
        printf "\n"
    }' >"$W/spec"
    "$MKDB" "$W/spec" "$W/users.db" || exit 1
    # BENCH_KEEP_DB=DIR: keep each size's database as DIR/users-N.db (for bench/nss_ab)
    if [ -n "${BENCH_KEEP_DB-}" ]; then cp "$W/users.db" "$BENCH_KEEP_DB/users-$n.db" || exit 1; fi
    echo "# N=$n: passwd file $(wc -c <"$W/files.passwd") bytes, group file $(wc -c <"$W/files.group") bytes, users.db $(wc -c <"$W/users.db") bytes"
    # files (lookups) and files+jellyfin: once; their ratios are orders of
    # magnitude from any goal
    bench_round files 1 "$n" "$W/files.passwd" "$W/files.group" "$LOOKUPS"
    bench_round files+jellyfin 1 "$n" "$W/sys.passwd" "$W/sys.group"
    # a round: lookups of the floor and jellyfin (each process about 0.3 s,
    # so the pair is close in time), then enumeration of the floor,
    # jellyfin and nss_files (its goal is against nss_files); even rounds
    # in the reverse order
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        order="floor:l jellyfin:l floor:e jellyfin:e files:e"
        if [ $((r % 2)) = 0 ]; then order="jellyfin:l floor:l files:e jellyfin:e floor:e"; fi
        for l in $order; do
            if [ "${l#*:}" = l ]; then cases=$LOOKUPS; else cases=enum-passwd; fi
            if [ "${l%:*}" = files ]; then pw="$W/files.passwd" gr="$W/files.group"; else pw="$W/sys.passwd" gr="$W/sys.group"; fi
            bench_round "${l%:*}" "$r" "$n" "$pw" "$gr" "$cases"
        done
        r=$((r + 1))
    done
    # the floor handing out one constant entry: glibc's own cost per
    # enumerated entry (only its enum-passwd line is used)
    if [ "$MODE" = namespace ]; then
        BENCH_FLOOR_CONST=1 bench_one floor-const "$n" "$W/sys.passwd" "$W/sys.group" |
            grep ' enum-passwd ' | sed 's/$/ 1/' >>"$W/raw" || echo "# floor-const run failed" >&2
    fi
done

echo "# raw: label N case p50_ns p99_ns mean_ns calls round"
cat "$W/raw"
echo
awk '
{
    k = $2 " " $3
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    # per label and case: the list of p50 (and p99) over rounds, by round
    p50[$1, k, $8] = $4; p99[$1, k, $8] = $5
    if (!(($1, k) in nr)) nr[$1, k] = 0
    nr[$1, k]++
    rounds[$1, k, nr[$1, k]] = $8
}
function ratio(a, b) { return (a && b) ? a / b : 0 }
# median of v[1..n] (sorts v)
function median(v, n,    i, j, x) {
    for (i = 2; i <= n; i++) {
        x = v[i]
        for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
        v[j + 1] = x
    }
    if (n == 0) return 0
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
# median over rounds of the p50 (what = 50) or p99 of LABEL in case K
function med(label, k, what,    i, n, v, r) {
    n = 0
    for (i = 1; i <= nr[label, k]; i++) {
        r = rounds[label, k, i]
        v[++n] = what == 50 ? p50[label, k, r] : p99[label, k, r]
    }
    return median(v, n)
}
# jf/DEN (floor or files) of case K: per round where both ran, jf p50 /
# DEN p50; sets rlo, rhi, rn (min, max, rounds) and returns the median
function jfratio(k, den,    i, n, v, r) {
    n = 0; rlo = 0; rhi = 0
    for (i = 1; i <= nr["jellyfin", k]; i++) {
        r = rounds["jellyfin", k, i]
        if (!((den, k, r) in p50)) continue
        if (!p50[den, k, r]) continue
        v[++n] = p50["jellyfin", k, r] / p50[den, k, r]
        if (n == 1 || v[n] < rlo) rlo = v[n]
        if (n == 1 || v[n] > rhi) rhi = v[n]
    }
    rn = n
    return median(v, n)
}
END {
    printf "%-7s %-16s %10s %10s %10s %10s %10s %8s %11s %8s %8s\n", "N", "case",
        "files", "f+jf", "jf", "jf p99", "floor", "jf/floor", "(min-max)", "jf/files", "f+jf/f"
    for (i = 1; i <= nk; i++) {
        split(order[i], a, " ")
        k = order[i]
        jf = med("jellyfin", k, 50); fl = med("floor", k, 50)
        f = med("files", k, 50); fjf = med("files+jellyfin", k, 50)
        r = jfratio(k, "floor")
        spread = sprintf("(%.2f-%.2f)", rlo, rhi)
        rf = a[2] == "enum-passwd" ? jfratio(k, "files") : ratio(jf, f)
        printf "%-7s %-16s %10d %10d %10d %10d %10d %8.2f %11s %8.3f %8.3f\n", a[1], a[2],
            f, fjf, jf, med("jellyfin", k, 99), fl, r, spread, rf, ratio(fjf, f)
    }
    print ""
    print "# goals (issue 13): lookups and misses jf/floor <= 1.3, enum jf/files <= 0.5 at"
    print "# N >= 10000; each the median over rounds of the ratio of p50 within a round"
    print "# (min-max over rounds in brackets)"
    met = 0; missed = 0
    for (i = 1; i <= nk; i++) {
        split(order[i], a, " ")
        k = order[i]
        if (a[2] ~ /^get(pw|gr)(nam|uid|gid)-(hit|miss)$/) {
            r = jfratio(k, "floor"); lim = 1.3; what = "jf/floor"
        } else if (a[2] == "enum-passwd" && a[1] >= 10000) {
            r = jfratio(k, "files"); lim = 0.5; what = "jf/files"
        } else
            continue
        ok = r > 0 && r <= lim
        if (ok) met++; else missed++
        printf "%-7s %-16s %-8s %6.2f %s %.1f  %-6s (%.2f-%.2f, %d rounds)\n", a[1], a[2], what, r,
            ok ? "<=" : "> ", lim, ok ? "met" : "MISSED", rlo, rhi, rn
    }
    printf "# %d goals met, %d missed\n", met, missed
    print ""
    print "# enum-passwd per entry (ns): glibc alone (floor handing out a constant entry), floor, jf, files"
    for (i = 1; i <= nk; i++) {
        split(order[i], a, " ")
        k = order[i]
        c = med("floor-const", k, 50)
        if (a[2] != "enum-passwd" || !c)
            continue
        printf "%-7s %8.1f %8.1f %8.1f %8.1f\n", a[1], c / a[1],
            med("floor", k, 50) / a[1], med("jellyfin", k, 50) / a[1], med("files", k, 50) / a[1]
    }
}' "$W/raw"
