#!/bin/sh
# doc-man: the man pages render without a warning (groff -ww, both the
# terminal and the typesetter device, and man -l at 80 columns), and they
# match the program: every option of every subcommand's --help is in
# jellyfin-auth(8), the password field libnss_jellyfin(8) shows is the one
# the module returns, and pam_jellyfin(8) shows every line of the
# pam-auth-update profile.
. "$top_srcdir/tests/lib.sh"
jfa_setup
command -v groff >/dev/null || jfa_skip "groff not installed"
DOC="$top_srcdir/doc"
[ -x "$JFA_TOOL" ] || jfa_fail "tools/jellyfin-auth not built"

n=0
for page in "$DOC"/*.[58]; do
    n=$((n + 1))
    for dev in ps utf8; do
        groff -t -ww -z -man -T"$dev" "$page" >"$W/groff.err" 2>&1
        [ -s "$W/groff.err" ] && { cat "$W/groff.err" >&2; jfa_fail "groff -T$dev warns on $page"; }
    done
    if command -v man >/dev/null; then
        LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>"$W/man.err" >"$W/man.out"
        [ -s "$W/man.err" ] && { cat "$W/man.err" >&2; jfa_fail "man -l warns on $page"; }
        [ -s "$W/man.out" ] || jfa_fail "man -l renders nothing for $page"
    fi
done
[ "$n" -ge 4 ] || jfa_fail "only $n man pages found in $DOC"

# every subcommand and every option its --help lists is in jellyfin-auth(8)
"$JFA_TOOL" --help >"$W/help" || jfa_fail "--help"
cmds=$(sed -n '/^Commands:/,/^$/p' "$W/help" | awk 'NF > 1 && $1 != "Commands:" { print $1 }')
[ -n "$cmds" ] || jfa_fail "no commands in --help"
# the man source with \- and \(em etc. turned into plain text
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$DOC/jellyfin-auth.8" >"$W/man.txt"
for c in $cmds; do
    grep -q "^\.SS $c\b" "$W/man.txt" || jfa_fail "jellyfin-auth(8) has no section for '$c'"
    "$JFA_TOOL" "$c" --help >"$W/h.$c" || jfa_fail "$c --help"
    for opt in $(grep -o -- '--[a-z][a-z-]*' "$W/h.$c" | sort -u); do
        grep -q -- "$opt\b" "$W/man.txt" || jfa_fail "jellyfin-auth(8) lacks '$c $opt'"
    done
done
for opt in $(grep -o -- '--[a-z][a-z-]*' "$W/help" | sort -u); do
    grep -q -- "$opt\b" "$W/man.txt" || jfa_fail "jellyfin-auth(8) lacks the global '$opt'"
done

# libnss_jellyfin(8): the password field is what the module returns
field=$(sed -n -E 's/.*pw->pw_passwd = put(_n)?\(&p, "([^"]*)".*/\2/p' "$top_srcdir/nss_jellyfin/nss_common.c" | sort -u)
[ -n "$field" ] || jfa_fail "cannot find the passwd field in nss_common.c"
shown=$(grep -E '^[a-z]+:[^:]*:[0-9]+:[0-9]+:' "$DOC/libnss_jellyfin.8" | cut -d: -f2 | sort -u)
[ "$shown" = "$field" ] || jfa_fail "libnss_jellyfin(8) shows password field '$shown', the module returns '$field'"

# pam_jellyfin(8) shows every line of the pam-auth-update profile
"$PYTHON3" - "$top_srcdir/data/pam-configs/jellyfin" "$DOC/pam_jellyfin.8" <<'PY' || exit 1
import re, sys
profile, page = open(sys.argv[1]).read(), open(sys.argv[2]).read().replace("\\-", "-")
section, missing = None, []
for line in profile.splitlines():
    m = re.match(r"^(Auth|Account|Session|Password)(-Initial)?:\s*$", line)
    if m:
        section = None if m.group(2) else m.group(1).lower()
        continue
    if not line.startswith("\t"):
        section = None if line and not line.startswith(("\t", " ")) else section
        continue
    if section is None:
        continue
    words = line.split()
    want = " ".join([section] + words)
    # a [success=end ...] in the profile becomes a jump in a hand-written stack
    if "success=end" in want:
        want = re.sub(r"\[success=end default=ignore\]", r"[success=1 default=ignore]", want)
    if not any(" ".join(l.split()) == want for l in page.splitlines()):
        missing.append(want)
if missing:
    print("pam_jellyfin(8) lacks the profile's lines:", *missing, sep="\n  ", file=sys.stderr)
    print("FAIL: pam_jellyfin(8) and data/pam-configs/jellyfin disagree", file=sys.stderr)
    sys.exit(1)
PY
exit 0
