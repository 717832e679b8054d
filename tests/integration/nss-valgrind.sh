#!/bin/sh
# nss-valgrind.sh - the database unit tests, the dlopen status checks and
# the thread test under valgrind memcheck: any invalid read, use of
# uninitialised memory or leak fails the test. Skips without valgrind.
. "$top_srcdir/tests/lib.sh"
[ -n "${VALGRIND:-}" ] || jfa_skip "valgrind not found"
[ -n "${JFA_ASAN_PRELOAD:-}" ] && jfa_skip "sanitizer build: valgrind does not mix with ASan"
jfa_setup
VG="$VALGRIND --quiet --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite --keep-debuginfo=yes"
U="$top_builddir/tests/unit"

if [ -x "$U/test_db" ]; then
    $VG "$U/test_db" >"$W/test_db.log" 2>&1 || { cat "$W/test_db.log"; jfa_fail "test_db under valgrind"; }
fi

{
    echo "user alice 100001 100001 Alice%20A,,, /home/alice /bin/bash Alice - 0x1 100000,100100,100500"
    echo "user bob 100002 100002 - /home/bob /bin/sh Bob - 0 100000"
    echo "user carol 100003 100003 Carol /home/carol /bin/bash carol - 0 -"
    echo "group alice 100001 alice"
    echo "group bob 100002 -"
    echo "group jellyfin 100000 alice,bob"
    echo "group jfadmin 100100 alice"
    printf 'group biggroup 100500 '
    seq -f 'm%04g' 0 999 | paste -sd, -
} >"$W/spec"
$VG "$U/mkdb" "$W/spec" "$W/users.db" || jfa_fail "mkdb under valgrind"
JELLYFIN_AUTH_DB="$W/users.db" $VG "$U/nss_erange" "$JFA_NSS_SO" check ||
    jfa_fail "nss_erange check under valgrind"
JELLYFIN_AUTH_DB="$W/missing.db" $VG "$U/nss_erange" "$JFA_NSS_SO" unavail ENOENT ||
    jfa_fail "nss_erange unavail under valgrind"
$VG "$U/nss_threads" "$JFA_NSS_SO" "$W" || jfa_fail "nss_threads under valgrind"
exit 0
