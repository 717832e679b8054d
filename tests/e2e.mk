# tests/e2e.mk - end-to-end tests: the installed modules under real
# daemons (sshd, vsftpd, su, pamtester) in a private mount namespace
# (tests/e2e-lib.sh), the staged install, and the demo. All but
# e2e-install.sh need root and skip (77) without it.
E2E_TESTS = \
	tests/integration/e2e-install.sh \
	tests/integration/install-unwire.sh \
	tests/integration/e2e-pamtester.sh \
	tests/integration/e2e-ssh.sh \
	tests/integration/e2e-ssh-parallel.sh \
	tests/integration/e2e-ssh-quickconnect.sh \
	tests/integration/e2e-names.sh \
	tests/integration/e2e-home-handover.sh \
	tests/integration/e2e-identity.sh \
	tests/integration/e2e-su.sh \
	tests/integration/e2e-env.sh \
	tests/integration/e2e-offline-caller.sh \
	tests/integration/e2e-caller-attempt.sh \
	tests/integration/e2e-caller-account.sh \
	tests/integration/e2e-qc-caller.sh \
	tests/integration/e2e-lockhold.sh \
	tests/integration/e2e-ftp.sh \
	tests/integration/e2e-rhost.sh \
	tests/integration/e2e-pending.sh \
	tests/integration/e2e-kinder.sh \
	tests/integration/e2e-smb.sh \
	tests/integration/e2e-samba-sync.sh \
	tests/integration/e2e-sync-unit.sh \
	tests/integration/e2e-uninstall.sh \
	tests/integration/e2e-deb.sh \
	tests/integration/e2e-demo.sh
TESTS += $(E2E_TESTS)
# e2e-rhost.sh: a service that puts the peer's reverse-DNS name in PAM_RHOST
check_PROGRAMS += tests/integration/rdns_service
tests_integration_rdns_service_SOURCES = tests/integration/rdns_service.c
tests_integration_rdns_service_LDADD = $(PAM_LIBS)
EXTRA_DIST += $(E2E_TESTS) tests/e2e-lib.sh tests/e2e-lifecycle.sh tests/e2e-syslog.py demo/run.sh

# Used by the tests to learn where `make install` puts things.
e2e-print-dirs:
	@echo "prefix='$(prefix)' libdir='$(libdir)' pamdir='$(pamdir)' sbindir='$(sbindir)'"
	@echo "sysconfdir='$(sysconfdir)' localstatedir='$(localstatedir)' mandir='$(mandir)'"
	@echo "docdir='$(docdir)' pamconfigsdir='$(pamconfigsdir)' systemdunitdir='$(systemdunitdir)'"
.PHONY: e2e-print-dirs
