#!/bin/sh
# nss-getent.sh - libnss_jellyfin.so.2 through glibc's real getent, under
# nss_wrapper (local files + our module), compared with golden output;
# plus the dlopen checks of status/errno (nss_erange) and the shape of the
# shared object (ldd: libc only; nm: only _nss_jellyfin_* exported).
. "$top_srcdir/tests/lib.sh"
jfa_setup

WRAPPER=
for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib; do
    [ -e "$d/libnss_wrapper.so" ] && WRAPPER="$d/libnss_wrapper.so" && break
done
[ -n "$WRAPPER" ] || jfa_skip "libnss_wrapper.so not installed"
[ -e "$JFA_NSS_SO" ] || jfa_fail "module not built: $JFA_NSS_SO"
MKDB="$top_builddir/tests/unit/mkdb"
GOLDEN="$top_srcdir/tests/integration/golden/nss-getent.txt"

# the test database: see tests/unit/mkdb.c for the format. alice has the
# fold flag (0x10: case_sensitive = no), bob does not: ALICE is alice, Bob
# is nobody. alice's record
# lists gid 100500 (biggroup) although biggroup's member list does not name
# her: nss_wrapper's id (which walks member lists) leaves it out, glibc's
# initgroups (which calls our initgroups_dyn) includes it.
# (tests/data/nss-getent-v1.db holds these records in the version 1 format.)
{
    echo "generation 1700000000"
    echo "user alice 100001 100001 Alice%20A,,, /home/alice /bin/bash Alice 0123456789abcdef0123456789abcdef 0x11 100000,100100,100500"
    echo "user bob 100002 100002 - /home/bob /bin/sh Bob%20Smith - 0x6 100000"
    echo "user carol 100003 100003 Carol /home/carol /bin/bash carol - 0 -"
    echo "group alice 100001 alice"
    echo "group bob 100002 -"
    echo "group jellyfin 100000 alice,bob"
    echo "group jfadmin 100100 alice"
    printf 'group biggroup 100500 '
    seq -f 'm%04g' 0 999 | paste -sd, -
} >"$W/spec"
"$MKDB" "$W/spec" "$W/users.db" || jfa_fail "mkdb"
printf 'localuser:x:1000:1000:Local User:/home/localuser:/bin/sh\n' >"$W/passwd"
printf 'localgroup:x:1000:localuser\n' >"$W/group"

# nss_wrapper's module functions are looked up as _nss_<prefix>_*
nw() {
    env LD_PRELOAD="$(jfa_preload "$WRAPPER")" $(jfa_asan_env) NSS_WRAPPER_PASSWD="$W/passwd" NSS_WRAPPER_GROUP="$W/group" \
        NSS_WRAPPER_MODULE_SO_PATH="$JFA_NSS_SO" NSS_WRAPPER_MODULE_FN_PREFIX=jellyfin \
        JELLYFIN_AUTH_DB="${DBFILE:-$W/users.db}" "$@"
}

# run: "$ cmd" header, output, exit status, so golden covers misses too
run() {
    echo "\$ $*"
    nw "$@" 2>&1
    echo "[exit $?]"
}

golden() {
    run getent passwd alice
    run getent passwd 100002
    run getent passwd carol
    run getent passwd localuser
    run getent group jellyfin
    run getent group 100100
    run getent group bob
    run getent group localgroup
    run getent passwd
    run getent group alice bob jellyfin jfadmin
    run id alice
    run id -G bob
    run id -G carol
    run getent passwd nosuchuser
    run getent passwd 4242
    run getent passwd 0
    run getent group nosuchgroup
    run getent group 4242
    run getent passwd '*'
    run getent passwd ''
    run getent passwd 'a:b'
    run getent passwd root
    run getent group root
    run getent passwd ALICE
    run getent passwd Alice
    run getent passwd Bob
    run getent passwd ROOT
    run id -un Alice
}
golden >"$W/out.txt"

if [ -n "${JFA_UPDATE_GOLDEN:-}" ]; then
    cp "$W/out.txt" "$GOLDEN"
fi
diff -u "$GOLDEN" "$W/out.txt" || jfa_fail "getent output differs from $GOLDEN"

# A version 1 database (the format before version 2), as the previous
# release's sync left it: tests/data/nss-getent-v1.db was written by the
# version-1 writer from the spec above (tests/data/README). After the
# package upgrade it must answer exactly as before until the next sync.
cp "$top_srcdir/tests/data/nss-getent-v1.db" "$W/users-v1.db" && chmod 0644 "$W/users-v1.db" ||
    jfa_fail "copy the v1 fixture"
DBFILE="$W/users-v1.db" golden >"$W/out-v1.txt"
diff -u "$GOLDEN" "$W/out-v1.txt" || jfa_fail "a version 1 database answers differently"
JELLYFIN_AUTH_DB="$W/users-v1.db" "$top_builddir/tests/unit/nss_erange" "$JFA_NSS_SO" check ||
    jfa_fail "nss_erange check on the version 1 database"
unset DBFILE

# the 1000-member group is complete through glibc too
n=$(nw getent group biggroup | cut -d: -f4 | tr , '\n' | wc -l)
[ "$n" = 1000 ] || jfa_fail "biggroup has $n members through getent"
# full enumeration contains all of ours and the local entry
n=$(nw getent group | wc -l)
[ "$n" = 6 ] || jfa_fail "getent group listed $n groups, want 6"

# status and errno of every case, through dlopen (as glibc calls us)
JELLYFIN_AUTH_DB="$W/users.db" "$top_builddir/tests/unit/nss_erange" "$JFA_NSS_SO" check ||
    jfa_fail "nss_erange check"

# shape of the shared object
ldd "$JFA_NSS_SO" >"$W/ldd.txt" || jfa_fail "ldd"
# (a sanitizer build links its runtimes on purpose: those are allowed there)
allowed='linux-vdso\.so\.1|libc\.so\.6|/lib64/ld-linux-x86-64\.so\.2|/lib/ld-linux[^ ]*'
[ -n "${JFA_ASAN_PRELOAD:-}" ] && allowed="$allowed|libasan\.so[.0-9]*|libubsan\.so[.0-9]*|libm\.so\.6|libgcc_s\.so\.1|libstdc\+\+\.so\.6"
if grep -v -E "^[[:space:]]*($allowed)[[:space:]]" "$W/ldd.txt"; then
    jfa_fail "module links more than libc (above)"
fi
nm -D --defined-only "$JFA_NSS_SO" | awk '{print $3}' | grep -v '^_nss_jellyfin_' | grep . &&
    jfa_fail "module exports symbols other than _nss_jellyfin_* (above)"
for f in getpwnam_r getpwuid_r setpwent getpwent_r endpwent getgrnam_r getgrgid_r setgrent \
    getgrent_r endgrent initgroups_dyn; do
    nm -D --defined-only "$JFA_NSS_SO" | grep -q " T _nss_jellyfin_$f\$" || jfa_fail "missing $f"
done

# the real glibc path (no wrapper) in a private mount namespace: our
# nsswitch.conf bind-mounted, the module found through LD_LIBRARY_PATH.
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
    printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$W/nsswitch.conf"
    cat >"$W/sys.sh" <<EOS
mount --bind "$W/nsswitch.conf" /etc/nsswitch.conf || exit 99
export LD_LIBRARY_PATH="$top_builddir/nss_jellyfin/.libs" JELLYFIN_AUTH_DB="$W/users.db"
[ -n "${JFA_ASAN_PRELOAD:-}" ] && export LD_PRELOAD="$(jfa_preload)" $(jfa_asan_env)
getent passwd alice 100002
getent group jellyfin 100100
getent initgroups alice bob carol
id alice
getent passwd root | cut -d: -f1,3
getent passwd nosuchuser || echo "exit \$?"
EOS
    unshare -m --propagation private sh "$W/sys.sh" >"$W/sys.txt" 2>&1 ||
        { cat "$W/sys.txt"; jfa_fail "system-level getent"; }
    cat >"$W/sys.want" <<'EOS'
alice:*:100001:100001:Alice A,,,:/home/alice:/bin/bash
bob:*:100002:100002::/home/bob:/bin/sh
jellyfin:*:100000:alice,bob
jfadmin:*:100100:alice
alice                 100001 100000 100100 100500
bob                   100002 100000
carol                 100003
uid=100001(alice) gid=100001(alice) groups=100001(alice),100000(jellyfin),100100(jfadmin),100500(biggroup)
root:0
exit 2
EOS
    diff -u "$W/sys.want" "$W/sys.txt" || jfa_fail "system-level getent output differs"

    # the compiled-in path (no JELLYFIN_AUTH_DB) must be owned by root: a
    # tmpfs over its parent's parent, inside the namespace only
    DEFDB=$(strings "$JFA_NSS_SO" | grep '/jellyfin-auth/users\.db$' | head -1)
    VARLIB=$(dirname "$(dirname "$DEFDB")")
    if [ -n "$DEFDB" ] && [ -d "$VARLIB" ]; then
        cat >"$W/def.sh" <<EOS
mount --bind "$W/nsswitch.conf" /etc/nsswitch.conf || exit 99
mount -t tmpfs -o mode=0755 tmpfs "$VARLIB" || exit 99
mkdir -p "$(dirname "$DEFDB")" && cp "$W/users.db" "$DEFDB" || exit 99
export LD_LIBRARY_PATH="$top_builddir/nss_jellyfin/.libs"
[ -n "${JFA_ASAN_PRELOAD:-}" ] && export LD_PRELOAD="$(jfa_preload)" $(jfa_asan_env)
unset JELLYFIN_AUTH_DB
getent passwd alice | cut -d: -f1
chown 65534 "$DEFDB"
getent passwd alice || echo "foreign owner: exit \$?"
chown 0 "$DEFDB"; chmod 0664 "$DEFDB"
getent passwd alice || echo "group-writable: exit \$?"
chmod 0644 "$DEFDB"
getent passwd alice | cut -d: -f1
EOS
        unshare -m --propagation private sh "$W/def.sh" >"$W/def.txt" 2>&1 ||
            { cat "$W/def.txt"; jfa_fail "default-path test"; }
        printf 'alice\nforeign owner: exit 2\ngroup-writable: exit 2\nalice\n' >"$W/def.want"
        diff -u "$W/def.want" "$W/def.txt" || jfa_fail "default path trust rules"
    else
        echo "default-path part skipped ($VARLIB missing)"
    fi
else
    echo "system-level part skipped (needs root and unshare)"
fi
exit 0
