# tests/samba.mk - samba_sync (issue 9): unit tests of lib/samba.c (pdbedit
# parser, the "already current" record, the helper runner, set_password
# against a fake smbpasswd). The end-to-end test with a real smbd is
# tests/integration/e2e-samba-sync.sh (tests/e2e.mk); the fuzz target
# tests/fuzz/fuzz_samba.c is built by CI with clang (tests/fuzz/run.sh).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_samba
TESTS += tests/unit/test_samba
tests_unit_test_samba_SOURCES = tests/unit/test_samba.c
tests_unit_test_samba_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_samba_LDADD = lib/libjfatool.la $(CMOCKA_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz_samba.c tests/fuzz/corpus/samba
# the PAM side with a shim for smbpasswd (root; under valgrind when present)
TESTS += tests/integration/pam-samba.sh
EXTRA_DIST += tests/integration/pam-samba.sh
