#!/bin/sh
# nss-errors.sh - libnss_jellyfin.so.2 with a missing, empty, truncated,
# garbage, corrupted or untrusted (group/other-writable, symlink, FIFO,
# directory, foreign owner) database: every lookup fails cleanly (UNAVAIL
# with the right errno through dlopen; "not found" through getent, local
# users unaffected) and quickly, and nothing crashes; records named root
# are never answered. Also: the database path is read once per process, at
# the first lookup.
. "$top_srcdir/tests/lib.sh"
jfa_setup

WRAPPER=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$d/libnss_wrapper.so" ] && WRAPPER="$d/libnss_wrapper.so" && break
done
[ -e "$JFA_NSS_SO" ] || jfa_fail "module not built: $JFA_NSS_SO"
MKDB="$top_builddir/tests/unit/mkdb"
ERANGE="$top_builddir/tests/unit/nss_erange"

cat >"$W/spec" <<'EOS'
user alice 100001 100001 Alice /home/alice /bin/bash Alice - 0 100000
user bob 100002 100002 Bob /home/bob /bin/sh Bob - 0 100000
group jellyfin 100000 alice,bob
EOS
"$MKDB" "$W/spec" "$W/good.db" || jfa_fail "mkdb"
printf 'localuser:x:1000:1000:Local User:/home/localuser:/bin/sh\n' >"$W/passwd"
printf 'localgroup:x:1000:localuser\n' >"$W/group"

# expect DB ERRNO: dlopen checks, then getent through nss_wrapper
expect() {
    db=$1 err=$2
    JELLYFIN_AUTH_DB="$db" "$ERANGE" "$JFA_NSS_SO" unavail "$err" ||
        jfa_fail "$db: not UNAVAIL/$err"
    [ -n "$WRAPPER" ] || return 0
    for q in "passwd alice" "passwd 100001" "group jellyfin" "group 100000" passwd group; do
        # shellcheck disable=SC2086
        out=$(nwrap "$db" getent $q)
        rc=$?
        case "$q" in
        passwd) [ "$rc" = 0 ] && [ "$out" = "localuser:x:1000:1000:Local User:/home/localuser:/bin/sh" ] ||
            jfa_fail "$db: getent passwd gave rc $rc: $out" ;;
        group) [ "$rc" = 0 ] && [ "$out" = "localgroup:x:1000:localuser" ] ||
            jfa_fail "$db: getent group gave rc $rc: $out" ;;
        *) [ "$rc" = 2 ] || jfa_fail "$db: getent $q gave rc $rc" ;;
        esac
    done
    out=$(nwrap "$db" getent passwd localuser) || jfa_fail "$db: local user lost"
}

nwrap() {
    db=$1
    shift
    env LD_PRELOAD="$(jfa_preload "$WRAPPER")" $(jfa_asan_env) NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group" \
        NSS_WRAPPER_MODULE_SO_PATH="$JFA_NSS_SO" NSS_WRAPPER_MODULE_FN_PREFIX=jellyfin \
        JELLYFIN_AUTH_DB="$db" "$@"
}

size=$(wc -c <"$W/good.db")

expect "$W/missing.db" ENOENT
: >"$W/empty.db"
chmod 0644 "$W/empty.db"
expect "$W/empty.db" EINVAL
head -c 100 "$W/good.db" >"$W/short.db"
expect "$W/short.db" EINVAL
head -c $((size - 8)) "$W/good.db" >"$W/trunc.db"
expect "$W/trunc.db" EINVAL
head -c "$size" /dev/urandom >"$W/garbage.db"
expect "$W/garbage.db" EINVAL
{ printf 'XXXXXXXX'; tail -c +9 "$W/good.db"; } >"$W/magic.db"
expect "$W/magic.db" EINVAL

cp "$W/good.db" "$W/gw.db"
chmod 0664 "$W/gw.db"
expect "$W/gw.db" EPERM
cp "$W/good.db" "$W/ow.db"
chmod 0646 "$W/ow.db"
expect "$W/ow.db" EPERM
ln -s "$W/good.db" "$W/link.db"
expect "$W/link.db" EPERM
mkfifo "$W/fifo.db"
expect "$W/fifo.db" EPERM
mkdir "$W/dir.db"
expect "$W/dir.db" EPERM
if [ "$(id -u)" = 0 ]; then
    cp "$W/good.db" "$W/foreign.db"
    chown 65534:65534 "$W/foreign.db"
    expect "$W/foreign.db" EPERM
fi

# a repaired database is picked up by the next lookup (failures are not
# sticky): replaced by rename, mode fixed in place, file created later
cp "$W/good.db" "$W/fix1.db"
chmod 0664 "$W/fix1.db"
JELLYFIN_AUTH_DB="$W/fix1.db" "$ERANGE" "$JFA_NSS_SO" recover "chmod 0644 '$W/fix1.db'" ||
    jfa_fail "in-place chmod not picked up"
head -c 100 "$W/good.db" >"$W/fix2.db"
JELLYFIN_AUTH_DB="$W/fix2.db" "$ERANGE" "$JFA_NSS_SO" recover \
    "cp '$W/good.db' '$W/fix2.tmp' && mv '$W/fix2.tmp' '$W/fix2.db'" ||
    jfa_fail "replacement of a broken db not picked up"
JELLYFIN_AUTH_DB="$W/fix3.db" "$ERANGE" "$JFA_NSS_SO" recover "cp '$W/good.db' '$W/fix3.db'" ||
    jfa_fail "a db created after the first lookup not picked up"

# JELLYFIN_AUTH_DB is read once per process, at the first lookup (not at
# dlopen): a change after it is not followed, in the process or a child
JELLYFIN_AUTH_DB="$W/missing.db" "$ERANGE" "$JFA_NSS_SO" envonce "$W/good.db" ||
    jfa_fail "the database path is not read once, at the first lookup"

# a hostile database holding records named root (hash slots moved, fold
# flags set) answers for none of them, whatever the entry point; a record
# renamed the same way to rooz is found (the renaming is not vacuous).
# Written without cell tables (-N): the renaming edits entries and slots
# only, and the refusal does not depend on the table that found a record
printf '%s\n' 'user roox 100007 100007 R /home/roox /bin/sh Roox - 0x10 -' \
    'user rooy 100008 100008 R /home/rooy /bin/sh Rooy - 0x10 -' \
    'group roox 100007 -' 'group rooy 100008 -' | "$MKDB" -2 -N - "$W/rootname.db" ||
    jfa_fail "mkdb rootname"
JELLYFIN_AUTH_DB="$W/rootname.db" "$ERANGE" "$JFA_NSS_SO" rootname ||
    jfa_fail "a record named root is answered"

# the good file itself works (the checks above are not vacuous)
[ -z "$WRAPPER" ] || [ "$(nwrap "$W/good.db" getent passwd alice)" = \
    "alice:*:100001:100001:Alice:/home/alice:/bin/bash" ] || jfa_fail "good db does not answer"

# corrupted bodies (header intact, checksum wrong): lookups answer or fail,
# never crash. 20 copies, each with 16 random bytes written at a different
# offset after the header (the fixed-seed unit test covers many more).
if [ -n "$WRAPPER" ]; then
    i=0
    while [ $i -lt 20 ]; do
        cp "$W/good.db" "$W/bad.db"
        off=$((192 + (i * 37) % (size - 208)))
        head -c 16 /dev/urandom >"$W/junk"
        dd if="$W/junk" of="$W/bad.db" bs=1 seek="$off" conv=notrunc 2>/dev/null
        for q in "passwd alice" "passwd 100002" "group jellyfin" "group 100000" passwd group; do
            # shellcheck disable=SC2086
            nwrap "$W/bad.db" getent $q >/dev/null 2>&1
            rc=$?
            [ $rc -lt 3 ] || jfa_fail "getent $q crashed (rc $rc) on corrupted db at offset $off"
        done
        i=$((i + 1))
    done
fi
exit 0
