# tests/: make check. Unit tests are cmocka programs; integration tests are
# shell scripts run by $(SHELL) (SH_LOG_COMPILER) with tests/lib.sh. Each
# area owns a fragment.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	PYTHON3='$(PYTHON3)'; VALGRIND='$(VALGRIND)'; \
	export top_srcdir top_builddir PYTHON3 VALGRIND;
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
EXTRA_DIST += tests/lib.sh tests/private-tmp.sh
include $(srcdir)/tests/core.mk
include $(srcdir)/tests/net.mk
include $(srcdir)/tests/nss.mk
include $(srcdir)/tests/sync.mk
include $(srcdir)/tests/pam.mk
include $(srcdir)/tests/fake.mk
include $(srcdir)/tests/e2e.mk
include $(srcdir)/tests/samba.mk
include $(srcdir)/tests/tool.mk
