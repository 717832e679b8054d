#!/bin/bash
# pam-private-tmp.sh - the harness gives each process under pam_wrapper a
# private /tmp (tests/private-tmp.sh), so two PAM test processes that start
# together cannot load each other's service files. Root only (mount
# namespaces), needs strace.
#
# Owns: the reproduction of pam_wrapper 1.1.4's shared directory. It picks
# /tmp/pam.X by lstat from a letter given by the pid, then mkdir (an EEXIST
# is logged and ignored). Here every /tmp/pam.X but pam.Z exists, as if
# taken by other processes, so both processes below pick pam.Z. Process A
# (pamtester, service "clash" from $W/a: pam_exec of a hook, then pam_deny)
# is held by strace between its lstat of /tmp/pam.Z (absent) and its mkdir;
# process B (tests/unit/pam_sessions, service "clash" from $W/b:
# pam_permit) starts meanwhile, takes pam.Z, logs in once, and logs in a
# second time once A is inside its own stack. Control, both in one /tmp
# (private to this test, shared by A and B as the machine's /tmp is shared
# by parallel tests): pam_wrapper goes on with B's directory for A, A's copy
# replaces B's service file, and B's second login runs A's stack (its hook
# logs B's user; B's login is refused). Then each through jfa_private_tmp,
# as pam_env runs every PAM test process, with the same filling of its own
# /tmp: B logs in twice, A's hook runs for A only.
. "$top_srcdir/tests/lib.sh"
jfa_setup
. "$top_srcdir/tests/integration/pam-common.sh"
command -v strace >/dev/null || jfa_skip "strace not installed"
[ "$JFA_PRIVATE_TMP" = yes ] || jfa_skip "needs root and mount namespaces (private /tmp)"
SESSIONS="$top_builddir/tests/unit/pam_sessions"
PT_PRELOAD=$(jfa_preload "$PAM_WRAPPER_SO")
PT_ASAN_ENV=$(jfa_asan_env)
[ -x "$SESSIONS" ] || jfa_fail "tests/unit/pam_sessions not built"

mkdir -p "$W/a" "$W/b"
printf '%s\n' "# process A's service" "auth required pam_exec.so quiet /bin/sh $W/a-hook.sh" \
    "auth required pam_deny.so" "account required pam_deny.so" "session required pam_deny.so" \
    >"$W/a/clash"
printf '%s\n' "# process B's service" "auth required pam_permit.so" \
    "account required pam_permit.so" "session required pam_permit.so" >"$W/b/clash"
# A's hook logs whose login runs it; in A's own login it waits (bounded)
# until B is done, so that A and its directory live while B logs in again.
printf '%s\n' 'echo "$PAM_USER" >>"$1/a-hook.log"' \
    'if mkdir "$1/a-first" 2>/dev/null; then' \
    '    : >"$1/a-inside"' \
    '    n=0' \
    '    while [ ! -e "$1/b-done" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done' \
    'fi' >"$W/a-hook.sh"
sed -i "s|/a-hook.sh\$|/a-hook.sh $W|" "$W/a/clash"
# B's hook: after B's first login, wait (bounded) until A is in its stack.
printf '%s\n' '[ "$2" = opened1 ] || exit 0' 'n=0' \
    'while [ ! -e "$1/a-inside" ]; do' \
    '    [ $n -lt 600 ] || { echo "A never reached its stack" >&2; exit 1; }' \
    '    sleep 0.1' \
    '    n=$((n + 1))' \
    'done' >"$W/b-hook.sh"

# prefill.sh CMD...: every /tmp/pam.X but pam.Z taken (no pid file: kept)
printf '%s\n' 'for c in 0 1 2 3 4 5 6 7 8 9 {A..Y} {a..z}; do mkdir -p "/tmp/pam.$c"; done' \
    'exec "$@"' >"$W/prefill.sh"

# race: A, held by strace at its mkdir, then B; each run by the words in
# the array PFX (maybe none). Sets B_RC; A's hook log is $W/a-hook.log.
race() {
    local a n=0
    rm -rf "$W/a-hook.log" "$W/a-first" "$W/a-inside" "$W/b-done" "$W/a.strace"
    "${PFX[@]}" strace -qq -o "$W/a.strace" -e trace=mkdir,newfstatat,lstat \
        -e inject=mkdir:delay_enter=3000000 \
        env LD_PRELOAD="$PT_PRELOAD" $PT_ASAN_ENV PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/a" \
        pamtester clash usera authenticate </dev/null >"$W/a.out" 2>&1 &
    a=$!
    # A has found /tmp/pam.Z absent and now waits in mkdir
    until grep -q '"/tmp/pam.Z".*ENOENT' "$W/a.strace" 2>/dev/null; do
        [ $n -lt 300 ] || {
            kill "$a"
            echo "A never scanned /tmp/pam.Z: $(cat "$W/a.out")" >&2
            return 1
        }
        sleep 0.1
        n=$((n + 1))
    done
    "${PFX[@]}" env LD_PRELOAD="$PT_PRELOAD" $PT_ASAN_ENV PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/b" \
        "$SESSIONS" clash userb pw "env -u LD_PRELOAD /bin/sh $W/b-hook.sh $W" >"$W/b.out" 2>&1
    B_RC=$?
    : >"$W/b-done"
    wait "$a"
    return 0
}

# isolated: A and B each ran their own stack (B logged in twice, A's hook
# ran for A only); else prints what went wrong and fails.
isolated() {
    if [ "$B_RC" != 0 ]; then
        echo "B's logins failed ($B_RC): $(cat "$W/b.out")"
        return 1
    fi
    [ "$(cat "$W/a-hook.log")" = usera ] || {
        echo "A's hook ran for: $(tr '\n' ' ' <"$W/a-hook.log")"
        return 1
    }
}

# --- control: A and B in one fresh /tmp, as without the harness's fix ---
export W SESSIONS PT_PRELOAD PT_ASAN_ENV
jfa_private_tmp_argv
"${JFA_PRIVATE_TMP_ARGV[@]}" "$BASH" "$W/prefill.sh" "$BASH" -c "$(declare -f race)"'
PFX=()
race || exit 3
echo "B_RC=$B_RC"' >"$W/control.out" 2>&1 || jfa_fail "control run failed: $(cat "$W/control.out")"
B_RC=$(sed -n 's/^B_RC=//p' "$W/control.out")
if why=$(isolated); then
    jfa_skip "pam_wrapper gave A and B their own directories in one /tmp: nothing to prove"
fi
echo "control (one /tmp): not isolated, as expected: $why"

# --- the harness: each process with its own /tmp, filled the same way ---
PFX=("${JFA_PRIVATE_TMP_ARGV[@]}" "$BASH" "$W/prefill.sh")
race || jfa_fail "the race did not run"
grep -q 'mkdir("/tmp/pam.Z", .*(DELAYED)' "$W/a.strace" ||
    jfa_fail "A was not held at its mkdir of /tmp/pam.Z: $(cat "$W/a.strace")"
why=$(isolated) || jfa_fail "with a private /tmp each: $why"
echo "PASS: processes under pam_wrapper with private /tmp do not share service files"
exit 0
