# tests/net.mk - tests of the network side: lib/http.c, lib/authheader.c,
# lib/jfjson.c, lib/jellyfin.c. test_http and test_jellyfin run a small
# Python server of their own (tests/unit/net_server.py), never the fake.
# Fuzz targets (tests/fuzz/fuzz_json.c, tests/fuzz/fuzz_authheader.c) are
# built by CI with clang -fsanitize=fuzzer, not by make check.
EXTRA_DIST += tests/unit/net_server.py tests/unit/net_testutil.h tests/unit/jf_getparts.h \
	tests/fuzz/fuzz_json.c tests/fuzz/fuzz_authheader.c tests/fuzz/corpus/json \
	tests/fuzz/corpus/authheader

NET_TEST_CFLAGS = $(TEST_CFLAGS) $(CRYPTO_CFLAGS) -DJFA_VERSION='"$(PACKAGE_VERSION)"' \
	-DJFA_TOP_SRCDIR='"$(abs_top_srcdir)"' -I$(top_srcdir)/tests/unit
NET_TEST_LIBS = lib/libjfa.la $(CMOCKA_LIBS) $(CURL_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS)

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_authheader tests/unit/test_jfjson tests/unit/test_http \
	tests/unit/test_jellyfin
TESTS += tests/unit/test_authheader tests/unit/test_jfjson tests/unit/test_http \
	tests/unit/test_jellyfin

tests_unit_test_authheader_SOURCES = tests/unit/test_authheader.c tests/unit/jf_getparts.c \
	tests/unit/jf_getparts.h
tests_unit_test_authheader_CFLAGS = $(NET_TEST_CFLAGS)
tests_unit_test_authheader_LDADD = $(NET_TEST_LIBS)

tests_unit_test_jfjson_SOURCES = tests/unit/test_jfjson.c
tests_unit_test_jfjson_CFLAGS = $(NET_TEST_CFLAGS)
tests_unit_test_jfjson_LDADD = $(NET_TEST_LIBS)

tests_unit_test_http_SOURCES = tests/unit/test_http.c tests/unit/net_testutil.c \
	tests/unit/net_testutil.h
tests_unit_test_http_CFLAGS = $(NET_TEST_CFLAGS)
tests_unit_test_http_LDADD = $(NET_TEST_LIBS)

tests_unit_test_jellyfin_SOURCES = tests/unit/test_jellyfin.c tests/unit/net_testutil.c \
	tests/unit/net_testutil.h
tests_unit_test_jellyfin_CFLAGS = $(NET_TEST_CFLAGS)
tests_unit_test_jellyfin_LDADD = $(NET_TEST_LIBS)
endif

# integration: lib/jellyfin.c against the fake Jellyfin
check_PROGRAMS += tests/integration/net_client
tests_integration_net_client_SOURCES = tests/integration/net_client.c
tests_integration_net_client_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
tests_integration_net_client_LDADD = lib/libjfa.la $(CURL_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS)
TESTS += tests/integration/net-fake.sh tests/integration/net-quickconnect.sh
EXTRA_DIST += tests/integration/net-fake.sh tests/unit/jfjson_ref.h \
	tests/integration/net-quickconnect.sh
