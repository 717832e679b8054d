#!/bin/sh
# tool-completion: the bash completion script is installed where
# bash-completion looks (DATADIR/bash-completion/completions/jellyfin-auth),
# registers itself for jellyfin-auth, and completes subcommands, options
# (also options added later: they are read from --help), actions and option
# values.
. "$top_srcdir/tests/lib.sh"
jfa_setup
command -v bash >/dev/null || jfa_skip "bash not installed"
[ -x "$JFA_TOOL" ] || jfa_fail "tools/jellyfin-auth not built"

# make install puts it where bash-completion loads it on demand
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" install-dist_bashcompletionDATA DESTDIR="$W/stage" >"$W/make.out" 2>&1 ||
    { cat "$W/make.out" >&2; jfa_fail "installing the completion failed"; }
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
script=$(find "$W/stage" -path '*/bash-completion/completions/jellyfin-auth' -type f)
[ -n "$script" ] || { find "$W/stage" >&2; jfa_fail "no bash-completion/completions/jellyfin-auth installed"; }
case "$script" in
"$W/stage$prefix/"*) ;;
*) jfa_fail "completion installed outside the prefix: $script" ;;
esac
cmp -s "$script" "$top_srcdir/tools/completion/jellyfin-auth" || jfa_fail "installed script differs"

mkdir -p "$W/bin" "$W/dir.d"
ln -s "$JFA_TOOL" "$W/bin/jellyfin-auth"
: >"$W/dir.d/ca.pem"
cat >"$W/t.bash" <<EOS
set -u
source "$script"
PATH="$W/bin:\$PATH"
complete -p jellyfin-auth
t() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMPREPLY=(); _jellyfin_auth; echo "\$*=> \${COMPREPLY[*]:-}"; }
t jellyfin-auth st
t jellyfin-auth ''
t jellyfin-auth --config /x us
t jellyfin-auth sync --d
t jellyfin-auth status --j
t jellyfin-auth users --j
t jellyfin-auth names ''
t jellyfin-auth names list --
t jellyfin-auth samba ''
t jellyfin-auth setup --ca-file $W/dir.d/c
t jellyfin-auth setup --state-dir $W/dir
t jellyfin-auth login ro
t jellyfin-auth --c
EOS
bash "$W/t.bash" >"$W/out" 2>&1 || { cat "$W/out" >&2; jfa_fail "the completion script failed"; }
out=$(cat "$W/out")
# shellcheck disable=SC2016
for want in '^complete -F _jellyfin_auth jellyfin-auth$' \
    '^jellyfin-auth st=> status$' \
    '^jellyfin-auth => setup key status sync users names ledger explain login reset doctor samba$' \
    '^jellyfin-auth --config /x us=> users$' \
    '^jellyfin-auth sync --d=> --debug --dry-run$' \
    '^jellyfin-auth status --j=> --json$' \
    '^jellyfin-auth users --j=> --json$' \
    '^jellyfin-auth names => list release' \
    '^jellyfin-auth samba => disable-all$' \
    "^jellyfin-auth names list --=> .*--config" \
    "^jellyfin-auth setup --ca-file $W/dir.d/c=> $W/dir.d/ca.pem$" \
    "^jellyfin-auth setup --state-dir $W/dir=> $W/dir.d$" \
    '^jellyfin-auth login ro=> .*root' \
    '^jellyfin-auth --c=> --config$'; do
    printf '%s\n' "$out" | grep -q -- "$want" || { printf '%s\n' "$out" >&2; jfa_fail "completion: $want"; }
done
exit 0
