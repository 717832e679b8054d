# tests/core.mk - unit tests of the core library (util, log, config, fileutil, homecheck).
# The fuzz target tests/fuzz/fuzz_config.c is built by CI with clang, not here.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_util tests/unit/test_log tests/unit/test_config tests/unit/test_fileutil \
	tests/unit/test_homecheck
TESTS += tests/unit/test_util tests/unit/test_log tests/unit/test_config tests/unit/test_fileutil \
	tests/unit/test_homecheck

tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_util_LDADD = lib/libjfacore.la $(CMOCKA_LIBS)

tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_log_LDADD = lib/libjfa.la $(CMOCKA_LIBS)

tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_LDADD = lib/libjfa.la $(CMOCKA_LIBS)

# lib/rhost.c: PAM_RHOST confirmed against the process's connected sockets
check_PROGRAMS += tests/unit/test_rhost
TESTS += tests/unit/test_rhost
tests_unit_test_rhost_SOURCES = tests/unit/test_rhost.c
tests_unit_test_rhost_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_rhost_LDADD = lib/libjfa.la $(CMOCKA_LIBS)

tests_unit_test_fileutil_SOURCES = tests/unit/test_fileutil.c
tests_unit_test_fileutil_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_fileutil_LDADD = lib/libjfa.la $(CMOCKA_LIBS)

tests_unit_test_homecheck_SOURCES = tests/unit/test_homecheck.c
tests_unit_test_homecheck_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_homecheck_LDADD = lib/libjfa.la $(CMOCKA_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz_config.c tests/fuzz/corpus/config
