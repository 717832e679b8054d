# tests/nss.mk: tests of the users database and libnss_jellyfin.so.2.
# The helper programs compile lib/dbwrite.c directly (it needs only
# libjfacore), so they do not depend on the sync code in libjfatool.

# mkdb: build a database from a text spec (used by shell tests, PAM tests
# and the benchmark). Format: see the comment at the top of mkdb.c.
check_PROGRAMS += tests/unit/mkdb tests/unit/nss_erange tests/unit/nss_threads \
	tests/unit/nss_watch
tests_unit_mkdb_SOURCES = tests/unit/mkdb.c lib/dbwrite.c
tests_unit_mkdb_CFLAGS = $(AM_CFLAGS)
tests_unit_mkdb_LDADD = lib/libjfacore.la

# nss_erange: dlopens the module and checks status/errno of every case.
tests_unit_nss_erange_SOURCES = tests/unit/nss_erange.c
tests_unit_nss_erange_CFLAGS = $(AM_CFLAGS)

# nss_watch: a long-running process for nss-watch.sh (module kept loaded).
tests_unit_nss_watch_SOURCES = tests/unit/nss_watch.c
tests_unit_nss_watch_CFLAGS = $(AM_CFLAGS)

# nss_threads: lookups from 8 threads while the database is replaced; fork.
tests_unit_nss_threads_SOURCES = tests/unit/nss_threads.c lib/dbwrite.c
tests_unit_nss_threads_CFLAGS = $(AM_CFLAGS) -pthread
tests_unit_nss_threads_LDADD = lib/libjfacore.la
tests_unit_nss_threads_LDFLAGS = -pthread

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_db
TESTS += tests/unit/test_db
tests_unit_test_db_SOURCES = tests/unit/test_db.c lib/dbwrite.c
tests_unit_test_db_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_db_LDADD = lib/libjfacore.la $(CMOCKA_LIBS)
endif

NSS_TESTS = \
	tests/integration/nss-getent.sh \
	tests/integration/nss-errors.sh \
	tests/integration/nss-threads.sh \
	tests/integration/nss-valgrind.sh \
	tests/integration/nss-watch.sh
TESTS += $(NSS_TESTS)
EXTRA_DIST += $(NSS_TESTS) tests/integration/golden/nss-getent.txt \
	tests/fuzz/fuzz_db.c tests/fuzz/corpus/db \
	tests/data/README tests/data/users-v1.spec tests/data/users-v1.db \
	tests/data/users-v1-nowatch.db tests/data/nss-getent-v1.db
