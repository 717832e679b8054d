# tools/: the jellyfin-auth admin tool, one file per subcommand, plus the
# systemd sync timer and the example configuration.
sbin_PROGRAMS += tools/jellyfin-auth
tools_jellyfin_auth_SOURCES = \
	tools/main.c tools/cmd.h tools/cmd_common.c \
	tools/cmd_setup.c tools/cmd_status.c tools/cmd_sync.c \
	tools/cmd_users.c tools/cmd_names.c tools/cmd_explain.c tools/cmd_reset.c tools/cmd_doctor.c \
	tools/cmd_key.c tools/cmd_samba.c \
	tools/cmd_ledger.c
tools_jellyfin_auth_CPPFLAGS = $(AM_CPPFLAGS) -DJFA_VERSION='"$(PACKAGE_VERSION)"'
tools_jellyfin_auth_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tools_jellyfin_auth_LDADD = lib/libjfatool.la $(PAM_LIBS)

# systemd units: @sbindir@ and @statedir@ substituted at build time
systemdunit_DATA = tools/jellyfin-auth-sync.service tools/jellyfin-auth-sync.timer
EXTRA_DIST += tools/jellyfin-auth-sync.service.in tools/jellyfin-auth-sync.timer
CLEANFILES += tools/jellyfin-auth-sync.service
tools/jellyfin-auth-sync.service: $(srcdir)/tools/jellyfin-auth-sync.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) tools && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@statedir[@]|$(localstatedir)/lib/jellyfin-auth|g' \
	    $(srcdir)/tools/jellyfin-auth-sync.service.in > $@.tmp && mv $@.tmp $@

# example configuration (the real one is written by `jellyfin-auth setup`)
jfaexampledir = $(docdir)
dist_jfaexample_DATA = tools/jellyfin-auth.conf.example

# bash completion (words read from the program's --help at completion
# time), installed as $(bashcompletiondir)/jellyfin-auth
dist_bashcompletion_DATA = tools/completion/jellyfin-auth
