#!/bin/bash
# tests/all.sh - run every test of jellyfin-auth (the README's test command).
#
# Installs the Debian packages it needs (as root), builds with -Werror,
# runs make check (unit, integration, and as root the end-to-end tests in a
# private namespace), make distcheck, an ASan+UBSan build of the suite, and
# each libFuzzer target for a short fixed budget. Ends with one line:
# "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 99
SRC=$PWD
OUT=${JFA_BUILD_DIR:-$SRC/_build}
FUZZ_SECONDS=${JFA_FUZZ_SECONDS:-30}
pass=0 fail=0 skip=0
failed_logs=""

bash scripts/install-deps.sh || exit 1

step() { printf '\n=== %s\n' "$*"; }

# count_suite DIR: add the counts of an automake test-suite.log
count_suite() {
    local log=$1/test-suite.log p f s e x
    [ -f "$log" ] || { fail=$((fail + 1)); return; }
    p=$(sed -n 's/^# PASS: *//p' "$log" | head -1)
    f=$(sed -n 's/^# FAIL: *//p' "$log" | head -1)
    s=$(sed -n 's/^# SKIP: *//p' "$log" | head -1)
    e=$(sed -n 's/^# ERROR: *//p' "$log" | head -1)
    x=$(sed -n 's/^# XPASS: *//p' "$log" | head -1)
    pass=$((pass + ${p:-0}))
    fail=$((fail + ${f:-0} + ${e:-0} + ${x:-0}))
    skip=$((skip + ${s:-0}))
    if [ "${f:-0}" != 0 ] || [ "${e:-0}" != 0 ]; then
        failed_logs="$failed_logs $log"
        # automake hides test output in per-test logs: show the failures.
        grep -l -E '^:test-result: (FAIL|ERROR)' "$1"/tests/*/*.trs 2>/dev/null |
            while read -r trs; do
                echo "----- ${trs%.trs}.log"
                tail -n 60 "${trs%.trs}.log"
            done
    fi
}

configure_args="--enable-werror --prefix=/usr --sysconfdir=/etc --localstatedir=/var
 --libdir=/usr/lib/x86_64-linux-gnu --with-pamdir=/usr/lib/x86_64-linux-gnu/security"

# Two tests at a time only where each process under pam_wrapper gets a
# private /tmp (root, mount namespaces: tests/private-tmp.sh). pam_wrapper
# 1.1.4 copies each process's service files into one of 62 machine-wide
# /tmp/pam.X directories and, on a clash, goes on with the directory of
# another running test (its module, config and fake server); without the
# private /tmp, one test at a time.
check_jobs=1
if [ "$(id -u)" = 0 ] && unshare -m --propagation private "$BASH" tests/private-tmp.sh -- true 2>/dev/null; then
    check_jobs=2
fi

step "autoreconf"
mkdir -p m4 && autoreconf -fi >/dev/null || exit 1

step "build and make check (gcc, -Werror)"
rm -rf "$OUT" && mkdir -p "$OUT/gcc"
(
    cd "$OUT/gcc" &&
        # shellcheck disable=SC2086
        "$SRC/configure" $configure_args >configure.log &&
        make -j2 >make.log 2>&1 || { tail -n 50 make.log; exit 1; }
    make -j"$check_jobs" check >check.log 2>&1
    grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):' check.log
) || { echo "build failed"; fail=$((fail + 1)); }
count_suite "$OUT/gcc"

step "ASan + UBSan build of the suite (gcc)"
mkdir -p "$OUT/asan"
(
    cd "$OUT/asan" &&
        # shellcheck disable=SC2086
        "$SRC/configure" $configure_args \
            CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
            LDFLAGS="-fsanitize=address,undefined -Wl,-z,nodelete" >configure.log &&
        make -j2 >make.log 2>&1 || { tail -n 50 make.log; exit 1; }
    # Programs we do not build (pamtester, getent) load our sanitized
    # modules: tests/lib.sh's jfa_preload puts the runtimes first for them.
    JFA_ASAN_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make -j"$check_jobs" check >check.log 2>&1
    grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):' check.log
) || { echo "sanitizer build failed"; fail=$((fail + 1)); }
count_suite "$OUT/asan"

step "libFuzzer targets, ${FUZZ_SECONDS}s each"
if [ -x "$SRC/tests/fuzz/run.sh" ]; then
    if bash "$SRC/tests/fuzz/run.sh" "$OUT/fuzz" "$FUZZ_SECONDS"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
    fi
fi

step "make distcheck"
(
    cd "$OUT/gcc" &&
        make distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror" >distcheck.log 2>&1
) && pass=$((pass + 1)) || {
    tail -n 40 "$OUT/gcc/distcheck.log"
    fail=$((fail + 1))
}

step "summary"
[ -n "$failed_logs" ] && echo "failed suites:$failed_logs"
echo "skipped: $skip"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
