# pam_jellyfin/: the PAM module. Exports only pam_sm_* (pam_jellyfin.map).
# "exec" in the name: installed with install-exec, before install-exec-hook
# removes the .la files
pamexecdir = $(pamdir)
pamexec_LTLIBRARIES = pam_jellyfin/pam_jellyfin.la
pam_jellyfin_pam_jellyfin_la_SOURCES = \
	pam_jellyfin/pam_common.c pam_jellyfin/pam_common.h \
	pam_jellyfin/pam_auth.c \
	pam_jellyfin/pam_quickconnect.c pam_jellyfin/pam_quickconnect.h \
	pam_jellyfin/pam_lockout.c pam_jellyfin/pam_lockout.h \
	pam_jellyfin/pam_account.c \
	pam_jellyfin/pam_session.c \
	pam_jellyfin/pam_password.c \
	pam_jellyfin/pam_samba.c pam_jellyfin/pam_samba.h \
	pam_jellyfin/pam_trigger.c
pam_jellyfin_pam_jellyfin_la_CPPFLAGS = $(AM_CPPFLAGS) -DJFA_TOOL_PATH='"$(sbindir)/jellyfin-auth"'
pam_jellyfin_pam_jellyfin_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS)
pam_jellyfin_pam_jellyfin_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-Wl,--version-script=$(srcdir)/pam_jellyfin/pam_jellyfin.map -Wl,-z,relro -Wl,-z,now
pam_jellyfin_pam_jellyfin_la_LIBADD = lib/libjfa.la $(PAM_LIBS)
EXTRA_DIST += pam_jellyfin/pam_jellyfin.map
