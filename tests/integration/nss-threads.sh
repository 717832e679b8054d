#!/bin/sh
# nss-threads.sh - libnss_jellyfin.so.2 under concurrency: 8 lookup threads
# and an enumerating thread while the database is replaced 100 times, no
# torn reads, fork while lookups run (see tests/unit/nss_threads.c).
. "$top_srcdir/tests/lib.sh"
jfa_setup
[ -e "$JFA_NSS_SO" ] || jfa_fail "module not built: $JFA_NSS_SO"
"$top_builddir/tests/unit/nss_threads" "$JFA_NSS_SO" "$W" || jfa_fail "nss_threads"
exit 0
