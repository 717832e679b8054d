# data/: installed data files.
# pam-configs/jellyfin is the pam-auth-update(8) profile: enable it with
# `pam-auth-update --enable jellyfin` (Debian, Ubuntu). It adds pam_jellyfin
# after pam_unix in common-auth and common-password, as a final refusal in
# common-account (user_unknown, i.e. every non-Jellyfin account, is
# ignored), and to common-session, where it also creates the home of a
# Jellyfin user at the first session (never pam_mkhomedir: that would
# create a directory for every account, `nobody`'s /nonexistent too).
pamconfigs_DATA = data/pam-configs/jellyfin
EXTRA_DIST += data/pam-configs/jellyfin

# `make uninstall` never leaves PAM or NSS pointing at a removed module: on
# the live system (no DESTDIR), data/unwire.sh runs before the modules and
# the profile go (pam-auth-update --remove jellyfin, jellyfin out of
# nsswitch.conf) and stops the uninstall if a hand-edited PAM file still
# names pam_jellyfin.so.
EXTRA_DIST += data/unwire.sh
jfa-unwire:
	@if test -z "$(DESTDIR)"; then $(SHELL) $(srcdir)/data/unwire.sh; fi
uninstall-pamexecLTLIBRARIES uninstall-libLTLIBRARIES uninstall-pamconfigsDATA: jfa-unwire
.PHONY: jfa-unwire

# An upgrade with `make install` over an enabled profile: let pam-auth-update
# rewrite the stacks from the new profile (the Debian package's postinst
# does the same), e.g. to drop pam_mkhomedir that older profiles added.
install-data-hook: jfa-rewire
jfa-rewire:
	@if test -z "$(DESTDIR)" && test -x /usr/sbin/pam-auth-update && \
	    grep -qs 'pam_jellyfin\.so' /etc/pam.d/common-auth; then \
	    DEBIAN_FRONTEND=noninteractive /usr/sbin/pam-auth-update --package; fi
.PHONY: jfa-rewire

# debian/: the Debian packages (dpkg-buildpackage -us -uc -b; see
# doc/design.md "Packages"), built from the dist tree by
# tests/integration/e2e-deb.sh.
EXTRA_DIST += debian/changelog debian/control debian/copyright debian/rules \
	debian/source/format debian/jellyfin-auth.install debian/jellyfin-auth.postrm debian/jellyfin-auth.prerm \
	debian/libpam-jellyfin.install debian/libpam-jellyfin.postinst \
	debian/libpam-jellyfin.prerm debian/libnss-jellyfin.install \
	debian/libnss-jellyfin.prerm debian/libnss-jellyfin.postrm
