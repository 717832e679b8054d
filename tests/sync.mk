# tests/sync.mk - tests of the name mapping, the ledger, `jellyfin-auth sync`
# and the other admin tool commands (against the fake Jellyfin).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_namemap tests/unit/test_ledger tests/unit/test_syncplan
TESTS += tests/unit/test_namemap tests/unit/test_ledger tests/unit/test_syncplan

tests_unit_test_namemap_SOURCES = tests/unit/test_namemap.c
tests_unit_test_namemap_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_namemap_LDADD = lib/libjfatool.la $(CMOCKA_LIBS)

tests_unit_test_ledger_SOURCES = tests/unit/test_ledger.c
tests_unit_test_ledger_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_ledger_LDADD = lib/libjfatool.la $(CMOCKA_LIBS)

tests_unit_test_syncplan_SOURCES = tests/unit/test_syncplan.c
tests_unit_test_syncplan_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_syncplan_LDADD = lib/libjfatool.la $(CMOCKA_LIBS)
endif

SYNC_TESTS = \
	tests/integration/sync-basic.sh \
	tests/integration/sync-stability.sh \
	tests/integration/sync-collisions.sh \
	tests/integration/sync-names.sh \
	tests/integration/sync-nochange.sh \
	tests/integration/sync-fleet.sh \
	tests/integration/sync-force.sh \
	tests/integration/sync-faults.sh \
	tests/integration/sync-kill.sh \
	tests/integration/sync-setup.sh \
	tests/integration/sync-status.sh \
	tests/integration/sync-quickconnect.sh
TESTS += $(SYNC_TESTS)
# setup compares nsswitch.conf before replacing it (a race driven by a shim)
check_LTLIBRARIES += tests/unit/edit_race.la
tests_unit_edit_race_la_SOURCES = tests/unit/edit_race.c
tests_unit_edit_race_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
TESTS += tests/integration/setup-race.sh
EXTRA_DIST += tests/integration/setup-race.sh
EXTRA_DIST += $(SYNC_TESTS) tests/integration/sync-lib.sh \
	tests/fuzz/fuzz_namemap.c tests/fuzz/fuzz_ledger.c \
	tests/fuzz/corpus/namemap tests/fuzz/corpus/ledger bench/sync_bench.sh
