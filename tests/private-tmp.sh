#!/bin/bash
# tests/private-tmp.sh - run one command with a private /tmp (run by
# tests/lib.sh's jfa_private_tmp inside `unshare -m`, never directly).
#
# Owns: the private /tmp of a process under pam_wrapper. pam_wrapper 1.1.4
# copies each process's service files into one of 62 machine-wide
# directories /tmp/pam.[0-9a-zA-Z], picked by an lstat-then-mkdir scan with
# no exclusion: two processes that start together can pick the same one,
# and the later copy (or the first exit, which removes the directory)
# changes the other's configuration. In a private /tmp every such scan is
# the only one. A tmpfs is mounted on /tmp; for each KEEP path below /tmp
# its top-level entry (a scratch dir, a build tree) is bound back from the
# real /tmp, shared as before, so only new names in /tmp are private.
#
# Usage: private-tmp.sh KEEP... -- CMD [ARG...]
# Exit: CMD's status (it is exec'ed: same pid), 99 when a mount fails.
set -u
keep=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    keep+=("$1")
    shift
done
[ $# -ge 2 ] || {
    echo "usage: private-tmp.sh KEEP... -- CMD [ARG...]" >&2
    exit 99
}
shift
# The real /tmp, kept open: the entries to keep are bound from it after the
# tmpfs hides it (mount -c: the kernel follows the descriptor; a
# canonicalized path would name the new, empty /tmp).
exec 3</tmp || exit 99
mount -t tmpfs -o mode=1777,size=256m jfa-private-tmp /tmp || {
    echo "private-tmp.sh: cannot mount a tmpfs on /tmp" >&2
    exit 99
}
for p in "${keep[@]}"; do
    case $p in
    /tmp/?*) ;;
    *) continue ;;
    esac
    e=${p#/tmp/}
    e=${e%%/*}
    [ -n "$e" ] && [ ! -e "/tmp/$e" ] || continue
    if [ -d "/proc/$$/fd/3/$e" ]; then
        mkdir "/tmp/$e"
    elif [ -e "/proc/$$/fd/3/$e" ]; then
        : >"/tmp/$e"
    else
        continue
    fi
    mount -c --bind "/proc/$$/fd/3/$e" "/tmp/$e" || {
        echo "private-tmp.sh: cannot bind /tmp/$e back" >&2
        exit 99
    }
done
exec 3<&-
exec "$@"
