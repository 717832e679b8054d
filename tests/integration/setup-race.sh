#!/bin/sh
# setup-race.sh - `jellyfin-auth setup --enable/--disable` compares
# nsswitch.conf before it replaces it: an edit another program made after
# setup read the file (a package's postinst, an administrator's editor) is
# not lost under setup's replacement. The race is driven deterministically
# by an LD_PRELOAD shim (tests/unit/edit_race.c) that appends a line to the
# file when setup creates the replacement's temporary file, between the
# read and the rename. Setup then reads the file again and redoes its edit;
# if the file keeps changing, it gives up with a clear error and writes
# nothing. The old code renamed its copy over the other edit.
. "$top_srcdir/tests/lib.sh"
jfa_setup
[ "$(id -u)" = 0 ] || jfa_skip "setup --enable/--disable needs root"
SHIM="$top_builddir/tests/unit/.libs/edit_race.so"
[ -f "$SHIM" ] || jfa_fail "tests/unit/edit_race.so not built"
NS="$W/nsswitch.conf"
export JELLYFIN_AUTH_NSSWITCH="$NS" JELLYFIN_AUTH_PAM_AUTH_UPDATE="$W/none"
export JELLYFIN_AUTH_CONF="$W/none.conf"
cat >"$NS" <<'EOF2'
passwd:         files jellyfin
group:          files jellyfin
shadow:         files
hosts:          files dns
EOF2
chmod 0644 "$NS"
# raced TIMES CMD...: CMD, with another program appending a line to
# nsswitch.conf the first TIMES times setup is about to replace it
raced() {
    times=$1
    shift
    env LD_PRELOAD="$(jfa_preload "$SHIM")" EDIT_RACE_PATH="$NS" EDIT_RACE_TIMES="$times" \
        EDIT_RACE_LINE="netgroup:       nis # added meanwhile" "$@"
}

# --- one edit in between: setup reads again, both edits are kept ---
raced 1 "$JFA_TOOL" setup --disable >"$W/out" 2>&1 ||
    jfa_fail "--disable with one edit in between: $(cat "$W/out")"
grep -q 'added meanwhile' "$NS" || { cat "$NS" >&2; jfa_fail "the other program's edit was lost"; }
grep -q jellyfin "$NS" && { cat "$NS" >&2; jfa_fail "--disable did not remove jellyfin"; }
grep -q 'changed by another program while being edited: reading it again' "$W/out" ||
    jfa_fail "setup did not say why it read the file again: $(cat "$W/out")"
[ "$(grep -c 'added meanwhile' "$NS")" = 1 ] || jfa_fail "the other edit is there more than once"
[ "$(stat -c %a "$NS")" = 644 ] || jfa_fail "mode not kept"

# --- a file that keeps changing: a clear error, nothing of setup's written ---
printf 'passwd: files jellyfin\ngroup: files jellyfin\n' >"$NS"
raced 10 "$JFA_TOOL" setup --disable >"$W/out" 2>&1 &&
    jfa_fail "--disable succeeded on a file that kept changing"
grep -q 'changed by another program each of 3 times it was edited: nothing written' "$W/out" ||
    jfa_fail "no clear error for a file that kept changing: $(cat "$W/out")"
[ "$(grep -c 'jellyfin' "$NS")" = 2 ] || { cat "$NS" >&2; jfa_fail "setup wrote its edit anyway"; }
[ "$(grep -c 'added meanwhile' "$NS")" = 3 ] || { cat "$NS" >&2; jfa_fail "the other program's 3 edits are not all there"; }

# --- without a race: unchanged behaviour ---
"$JFA_TOOL" setup --disable >"$W/out" 2>&1 || jfa_fail "--disable: $(cat "$W/out")"
grep -q jellyfin "$NS" && jfa_fail "--disable did not remove jellyfin"
exit 0
