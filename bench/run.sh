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
# Output: raw lines, then a table of p50 per call in ns with the ratios
# jellyfin / floor and jellyfin / files (< 1: we are faster), and the goals
# of issue 13 (jellyfin within 1.3x of the floor for lookups and misses;
# enumeration at most 0.5x of nss_files at 10,000 users and more).
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
echo "# mode: $MODE   kernel: $(uname -r)   glibc: $(ldd --version | head -1)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"

cp /etc/passwd "$W/sys.passwd"
cp /etc/group "$W/sys.group"
printf 'passwd: files\ngroup: files\n' >"$W/ns-files.conf"
printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$W/ns-files+jellyfin.conf"
printf 'passwd: jellyfin\ngroup: jellyfin\n' >"$W/ns-jellyfin.conf"
printf 'passwd: floor\ngroup: floor\n' >"$W/ns-floor.conf"

bench_one() { # LABEL N PASSWD GROUP
    label=$1 n=$2 pw=$3 gr=$4
    if [ "$MODE" = namespace ]; then
        unshare -m --propagation private sh -c '
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
        env LD_PRELOAD="$WRAPPER" NSS_WRAPPER_PASSWD="$pw" NSS_WRAPPER_GROUP="$gr" \
            ${mod:+NSS_WRAPPER_MODULE_SO_PATH="$mod"} ${mod:+NSS_WRAPPER_MODULE_FN_PREFIX=$prefix} \
            JELLYFIN_AUTH_DB="$W/users.db" BENCH_FLOOR_N="$n" "$BENCH" "nss_wrapper-$label" "$n" |
            sed "s/^nss_wrapper-$label /$label /"
    fi
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
    echo "# N=$n: passwd file $(wc -c <"$W/files.passwd") bytes, group file $(wc -c <"$W/files.group") bytes, users.db $(wc -c <"$W/users.db") bytes"
    bench_one files "$n" "$W/files.passwd" "$W/files.group" >>"$W/raw" || echo "# files run failed" >&2
    bench_one files+jellyfin "$n" "$W/sys.passwd" "$W/sys.group" >>"$W/raw" || echo "# files+jellyfin run failed" >&2
    bench_one jellyfin "$n" "$W/sys.passwd" "$W/sys.group" >>"$W/raw" || echo "# jellyfin run failed" >&2
    bench_one floor "$n" "$W/sys.passwd" "$W/sys.group" >>"$W/raw" || echo "# floor run failed" >&2
    # the floor handing out one constant entry: glibc's own cost per
    # enumerated entry (only its enum-passwd line is used)
    if [ "$MODE" = namespace ]; then
        BENCH_FLOOR_CONST=1 bench_one floor-const "$n" "$W/sys.passwd" "$W/sys.group" |
            grep ' enum-passwd ' >>"$W/raw" || echo "# floor-const run failed" >&2
    fi
done

echo "# raw: label N case p50_ns p99_ns mean_ns calls"
cat "$W/raw"
echo
awk '
{ k = $2 " " $3; p50[$1, k] = $4; p99[$1, k] = $5; if (!(k in seen)) { seen[k] = 1; order[++nk] = k } }
function ratio(a, b) { return (a && b) ? a / b : 0 }
END {
    printf "%-7s %-16s %10s %10s %10s %10s %10s %8s %8s %8s\n", "N", "case",
        "files", "f+jf", "jf", "jf p99", "floor", "jf/floor", "jf/files", "f+jf/f"
    for (i = 1; i <= nk; i++) {
        split(order[i], a, " ")
        k = order[i]
        printf "%-7s %-16s %10s %10s %10s %10s %10s %8.2f %8.3f %8.3f\n", a[1], a[2],
            p50["files", k], p50["files+jellyfin", k], p50["jellyfin", k], p99["jellyfin", k],
            p50["floor", k], ratio(p50["jellyfin", k], p50["floor", k]),
            ratio(p50["jellyfin", k], p50["files", k]), ratio(p50["files+jellyfin", k], p50["files", k])
    }
    print ""
    print "# goals (issue 13), p50: lookups and misses jf/floor <= 1.3; enum jf/files <= 0.5 at N >= 10000"
    met = 0; missed = 0
    for (i = 1; i <= nk; i++) {
        split(order[i], a, " ")
        k = order[i]
        if (a[2] ~ /^get(pw|gr)(nam|uid|gid)-(hit|miss)$/) {
            r = ratio(p50["jellyfin", k], p50["floor", k]); lim = 1.3; what = "jf/floor"
        } else if (a[2] == "enum-passwd" && a[1] >= 10000) {
            r = ratio(p50["jellyfin", k], p50["files", k]); lim = 0.5; what = "jf/files"
        } else
            continue
        ok = r > 0 && r <= lim
        if (ok) met++; else missed++
        printf "%-7s %-16s %-8s %6.2f %s %.1f  %s\n", a[1], a[2], what, r, ok ? "<=" : "> ", lim, ok ? "met" : "MISSED"
    }
    printf "# %d goals met, %d missed\n", met, missed
    print ""
    print "# enum-passwd per entry (ns): glibc alone (floor handing out a constant entry), floor, jf, files"
    for (i = 1; i <= nk; i++) {
        split(order[i], a, " ")
        k = order[i]
        if (a[2] != "enum-passwd" || !p50["floor-const", k])
            continue
        printf "%-7s %8.1f %8.1f %8.1f %8.1f\n", a[1], p50["floor-const", k] / a[1],
            p50["floor", k] / a[1], p50["jellyfin", k] / a[1], p50["files", k] / a[1]
    }
}' "$W/raw"
