# nss_jellyfin/: libnss_jellyfin.so.2. Links libc only; exports only
# _nss_jellyfin_* (nss_jellyfin.map).
lib_LTLIBRARIES += nss_jellyfin/libnss_jellyfin.la
nss_jellyfin_libnss_jellyfin_la_SOURCES = \
	nss_jellyfin/nss_common.c nss_jellyfin/nss_common.h \
	nss_jellyfin/nss_passwd.c \
	nss_jellyfin/nss_group.c \
	nss_jellyfin/nss_initgroups.c
nss_jellyfin_libnss_jellyfin_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
nss_jellyfin_libnss_jellyfin_la_LDFLAGS = -module -shared -no-undefined -version-info 2:0:0 \
	-Wl,--version-script=$(srcdir)/nss_jellyfin/nss_jellyfin.map -Wl,-z,relro -Wl,-z,now
nss_jellyfin_libnss_jellyfin_la_LIBADD = lib/libjfacore.la
EXTRA_DIST += nss_jellyfin/nss_jellyfin.map
# glibc loads libnss_jellyfin.so.2 only; drop the unversioned dev files.
install-exec-hook: nss-install-hook
nss-install-hook:
	rm -f $(DESTDIR)$(libdir)/libnss_jellyfin.la $(DESTDIR)$(libdir)/libnss_jellyfin.so
	rm -f $(DESTDIR)$(pamexecdir)/pam_jellyfin.la
uninstall-hook: nss-uninstall-hook
nss-uninstall-hook:
	rm -f $(DESTDIR)$(libdir)/libnss_jellyfin.so.2 $(DESTDIR)$(libdir)/libnss_jellyfin.so.2.0.0
	rm -f $(DESTDIR)$(pamexecdir)/pam_jellyfin.so
