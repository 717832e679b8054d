#!/bin/bash
# fake-selftest.sh - the fake Jellyfin's own test: it must follow
# shared/jellyfin-api.md before the other tests can trust it.
. "$top_srcdir/tests/lib.sh"
exec "$PYTHON3" "$top_srcdir/tests/fake-jellyfin/selftest.py"
