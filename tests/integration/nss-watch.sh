#!/bin/sh
# nss-watch.sh - a long-running process (tests/unit/nss_watch: the module
# stays loaded and mapped, as in sshd) sees a replaced database:
#   - after a real `jellyfin-auth sync`, at its very next lookup (a new user
#     appears, a removed one disappears): the writer marks the old file
#     (checked on a hard link to it);
#   - after a replacement by another writer (a copy renamed into place,
#     not marked), within the one-second recheck (polled, bounded);
#   - a database in the layout from before the watch block is checked on
#     every lookup (the first sync after an upgrade is seen at once);
#   - a database marked and replaced is never served again: the next lookup
#     answers from the new file however recently the path was checked; a
#     file marked but still at the path is still served (it is current);
#   - while nothing changes, lookups make no lstat per call (strace counts
#     them when strace works here).
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/sync-lib.sh"
[ -e "$JFA_NSS_SO" ] || jfa_fail "module not built: $JFA_NSS_SO"
DRIVER="$top_builddir/tests/unit/nss_watch"
MKDB="$top_builddir/tests/unit/mkdb"

ID_A=a11ce000000000000000000000000001
ID_B=b0b00000000000000000000000000002
ID_C=ca201000000000000000000000000003
sync_fixture "[$(user_json alice $ID_A), $(user_json bob $ID_B)]"
jf sync >/dev/null 2>"$W/err" || { cat "$W/err" >&2; jfa_fail "first sync failed"; }
[ -f "$DB" ] || jfa_fail "no database after sync"

mkfifo "$W/in" "$W/out" || jfa_fail "mkfifo"
JELLYFIN_AUTH_DB="$DB" "$DRIVER" "$JFA_NSS_SO" <"$W/in" >"$W/out" &
DPID=$!
exec 3>"$W/in" 4<"$W/out"
# ask COMMAND: one answer line (every driver command is bounded)
ask() {
    echo "$*" >&3
    read -r ans <&4 || jfa_fail "driver died on: $*"
    echo "$ans"
}
expect_answer() { # COMMAND EXPECTED WHAT
    a=$(ask "$1")
    [ "$a" = "$2" ] || jfa_fail "$3: '$1' answered '$a', expected '$2'"
}

uid_a=$(uid_of alice)
expect_answer "pw alice" "found alice $uid_a" "initial database"
expect_answer "pw carol" "notfound" "carol before she exists"

# 1. a real sync: carol added, bob removed; the next lookup sees both
fake_users "{\"upsert\": [$(user_json carol $ID_C)], \"delete\": [\"$ID_B\"]}"
ln "$DB" "$W/old.db" || jfa_fail "hard link to the old database"
jf sync >/dev/null 2>"$W/err" || { cat "$W/err" >&2; jfa_fail "second sync failed"; }
# the writer marked the file it replaced (its watch word), not the new one
word() { od -An -tu1 -j196 -N4 "$1" | tr -s ' ' | sed 's/^ //'; }
[ "$(word "$W/old.db")" = "1 0 0 0" ] || jfa_fail "sync did not mark the replaced database: $(word "$W/old.db")"
[ "$(word "$DB")" = "0 0 0 0" ] || jfa_fail "new database born marked: $(word "$DB")"
rm -f "$W/old.db"
uid_c=$(uid_of carol)
[ -n "$uid_c" ] || jfa_fail "carol not in the database after sync"
expect_answer "pw carol" "found carol $uid_c" "new user after sync (next lookup)"
expect_answer "pw bob" "notfound" "removed user after sync (next lookup)"
expect_answer "pw alice" "found alice $uid_a" "user present in both databases"
# a third sync with no change still replaces the file: alice never missing
jf sync >/dev/null 2>"$W/err" || { cat "$W/err" >&2; jfa_fail "third sync failed"; }
expect_answer "pw alice" "found alice $uid_a" "user present in both databases (no-change sync)"

# 2. another writer (mkdb renames a copy into place, marks nothing): seen
# within the recheck interval; polled up to 10 s so a slow machine passes
printf 'user dave 300001 300001 - /home/dave /bin/sh dave - - -\n' >"$W/spec-dave"
"$MKDB" "$W/spec-dave" "$DB" || jfa_fail "mkdb dave"
a=$(ask "wait dave 1")
case $a in "seen after "*) echo "foreign replacement: dave $a" ;; *) jfa_fail "foreign replacement never seen: $a" ;; esac
expect_answer "pw alice" "notfound" "user absent from the foreign database"

# 2b. a database in the layout from before the watch block (it cannot be
# marked): checked by lstat on every lookup, so even a foreign replacement
# of it is seen at the next lookup
printf 'user gus 300004 300004 - /home/gus /bin/sh gus - - -\n' >"$W/spec-gus"
"$MKDB" -1 "$W/spec-gus" "$DB" || jfa_fail "mkdb -1 gus"
a=$(ask "wait gus 1")
case $a in "seen after "*) ;; *) jfa_fail "old-layout database never seen: $a" ;; esac
printf 'user fay 300003 300003 - /home/fay /bin/sh fay - - -\n' >"$W/spec-fay"
"$MKDB" -1 "$W/spec-fay" "$DB" || jfa_fail "mkdb -1 fay"
expect_answer "pw fay" "found fay 300003" "old-layout database replaced: next lookup"
"$MKDB" "$W/spec-dave" "$DB" || jfa_fail "mkdb dave (current layout)"
expect_answer "pw dave" "found dave 300001" "old layout replaced by the current one: next lookup"

# 3. marked, then replaced by a plain rename: the very next lookup answers
# from the new file (the mark, not the clock: the path was just checked)
expect_answer "pw dave" "found dave 300001" "current database"
printf 'user erin 300002 300002 - /home/erin /bin/sh erin - - -\n' >"$W/spec-erin"
"$MKDB" -M "$DB" || jfa_fail "mkdb -M (mark)"
# marked but still at the path: it is the current database, still served
expect_answer "pw dave" "found dave 300001" "marked file still at the path"
"$MKDB" "$W/spec-erin" "$DB" || jfa_fail "mkdb erin"
expect_answer "pw erin" "found erin 300002" "marked then replaced: next lookup"
expect_answer "pw dave" "notfound" "marked and replaced database served"

# 4. no lstat per lookup while nothing changes (the point of the mark)
if command -v strace >/dev/null 2>&1 && strace -f -o /dev/null true 2>/dev/null; then
    exec 3>&- 4<&-
    wait "$DPID" || jfa_fail "driver exit status"
    printf 'pw erin\nloop erin 2000\n' >"$W/cmds"
    # (LeakSanitizer cannot run under ptrace: sanitizer builds skip it here)
    JELLYFIN_AUTH_DB="$DB" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -e trace=lstat,newfstatat,statx,stat,fstat -o "$W/trace" \
        "$DRIVER" "$JFA_NSS_SO" <"$W/cmds" >"$W/loop.out" || jfa_fail "driver under strace"
    grep -qx done "$W/loop.out" || jfa_fail "loop did not finish"
    n=$(grep -c "$DB" "$W/trace")
    echo "stat-family calls naming the database over 2001 lookups: $n"
    # the first lookup opens (lstat + fstat), then one lstat a second at most
    [ "$n" -le 20 ] || jfa_fail "$n stat calls on the database for 2001 lookups"
else
    echo "strace unavailable: system call count not checked"
    exec 3>&- 4<&-
    wait "$DPID" || jfa_fail "driver exit status"
fi
exit 0
