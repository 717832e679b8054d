# tools/: the jellyfin-auth admin tool, one file per subcommand.
sbin_PROGRAMS += tools/jellyfin-auth
tools_jellyfin_auth_SOURCES = \
	tools/main.c tools/cmd.h tools/cmd_common.c \
	tools/cmd_setup.c tools/cmd_status.c tools/cmd_sync.c \
	tools/cmd_users.c tools/cmd_login.c tools/cmd_doctor.c
tools_jellyfin_auth_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tools_jellyfin_auth_LDADD = lib/libjfatool.la $(PAM_LIBS)
