# tests/pam.mk
# PAM module tests: integration under pam_wrapper/nss_wrapper with pamtester
check_PROGRAMS += tests/unit/pam_sessions
tests_unit_pam_sessions_SOURCES = tests/unit/pam_sessions.c tests/unit/pam_driver.c \
	tests/unit/pam_driver.h
tests_unit_pam_sessions_LDADD = $(PAM_LIBS)
check_PROGRAMS += tests/unit/pam_qc
tests_unit_pam_qc_SOURCES = tests/unit/pam_qc.c tests/unit/pam_driver.c \
	tests/unit/pam_driver.h
tests_unit_pam_qc_LDADD = $(PAM_LIBS)
check_PROGRAMS += tests/unit/pam_split
tests_unit_pam_split_SOURCES = tests/unit/pam_split.c tests/unit/pam_driver.c \
	tests/unit/pam_driver.h
tests_unit_pam_split_LDADD = $(PAM_LIBS)
TESTS += tests/integration/pam-auth.sh tests/integration/pam-session.sh
EXTRA_DIST += tests/integration/pam-common.sh tests/integration/pam-auth.sh \
	tests/integration/pam-session.sh
TESTS += tests/integration/pam-faults.sh tests/integration/pam-offline.sh \
	tests/integration/pam-throttle.sh tests/integration/pam-valgrind.sh \
	tests/integration/pam-lockout.sh
EXTRA_DIST += tests/integration/pam-faults.sh tests/integration/pam-offline.sh \
	tests/integration/pam-throttle.sh tests/integration/pam-valgrind.sh \
	tests/integration/pam-lockout.sh
TESTS += tests/integration/pam-load.sh tests/integration/pam-unpriv.sh
EXTRA_DIST += tests/integration/pam-load.sh tests/integration/pam-unpriv.sh
# parallel logins: the per-user login lock and atomic throttle updates
TESTS += tests/integration/pam-parallel.sh tests/integration/pam-attempt.sh
EXTRA_DIST += tests/integration/pam-parallel.sh tests/integration/pam-attempt.sh
# the pending record: bound to the login that wrote it; refusals log tokens out
TESTS += tests/integration/pam-pending.sh
EXTRA_DIST += tests/integration/pam-pending.sh
# case_sensitive = no: ALICE logs in as alice; local accounts still win
TESTS += tests/integration/pam-case.sh
EXTRA_DIST += tests/integration/pam-case.sh
# jellyfin-auth explain reaches PAM's verdict; reset; the kinder lockout guard
TESTS += tests/integration/pam-explain.sh tests/integration/pam-reset.sh \
	tests/integration/pam-kinder.sh
EXTRA_DIST += tests/integration/pam-explain.sh tests/integration/pam-reset.sh \
	tests/integration/pam-kinder.sh
# a password the lockout guard refuses unasked counts for the throttle
TESTS += tests/integration/pam-guard-throttle.sh
EXTRA_DIST += tests/integration/pam-guard-throttle.sh
# a PAM_RHOST address counts only as the peer of a connection the process holds
TESTS += tests/integration/pam-rhost.sh
EXTRA_DIST += tests/integration/pam-rhost.sh
# every directory from / to state_dir is root's (PAM, NSS, sync, doctor)
TESTS += tests/integration/pam-safepath.sh
EXTRA_DIST += tests/integration/pam-safepath.sh
if HAVE_CMOCKA
# lib/state.c: throttle timeline with an injected clock, pending records, verifiers
check_PROGRAMS += tests/unit/test_state
TESTS += tests/unit/test_state
tests_unit_test_state_SOURCES = tests/unit/test_state.c
tests_unit_test_state_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_state_LDADD = lib/libjfa.la $(CMOCKA_LIBS)
# lib/loginflow.c: the decisions that need no server, their order and steps
check_PROGRAMS += tests/unit/test_loginflow
TESTS += tests/unit/test_loginflow
tests_unit_test_loginflow_SOURCES = tests/unit/test_loginflow.c
tests_unit_test_loginflow_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_loginflow_LDADD = lib/libjfa.la $(CMOCKA_LIBS)
endif
# Quick Connect logins (pam_quickconnect.c) with a scripted conversation and pamtester
TESTS += tests/integration/pam-quickconnect.sh
EXTRA_DIST += tests/integration/pam-quickconnect.sh
# pam_wrapper's machine-wide /tmp/pam.X clash reproduced; the private /tmp
# that pam_env gives each process as root prevents it
TESTS += tests/integration/pam-private-tmp.sh
EXTRA_DIST += tests/integration/pam-private-tmp.sh
