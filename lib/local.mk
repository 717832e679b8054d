# lib/: internal code shared by the modules and the tool.
#  libjfacore: libc only (the NSS module links nothing else)
#  libjfa:     network, JSON, config, files, state (PAM module and tool)
#  libjfatool: sync-only code (admin tool and its tests)
noinst_LTLIBRARIES += lib/libjfacore.la lib/libjfa.la lib/libjfatool.la

lib_libjfacore_la_SOURCES = lib/db.c lib/db.h lib/db_format.h lib/util.c lib/util.h \
	lib/safepath.c lib/safepath.h
lib_libjfacore_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

lib_libjfa_la_SOURCES = \
	lib/log.c lib/log.h \
	lib/jfaconf.c lib/jfaconf.h \
	lib/fileutil.c lib/fileutil.h \
	lib/http.c lib/http.h \
	lib/authheader.c lib/authheader.h \
	lib/jfjson.c lib/jfjson.h \
	lib/jellyfin.c lib/jellyfin.h \
	lib/state.c lib/state.h \
	lib/apikey.c lib/apikey.h \
	lib/lockout.c lib/lockout.h \
	lib/samba.c lib/samba.h \
	lib/hostaccts.c lib/hostaccts.h \
	lib/loginflow.c lib/loginflow.h \
	lib/rhost.c lib/rhost.h \
	lib/quickconnect.c lib/quickconnect.h \
	lib/homecheck.c lib/homecheck.h
lib_libjfa_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(CURL_CFLAGS) $(JSONC_CFLAGS) \
	$(CRYPTO_CFLAGS) $(LIBCRYPT_CFLAGS)
lib_libjfa_la_LIBADD = lib/libjfacore.la $(CURL_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) $(LIBCRYPT_LIBS)

lib_libjfatool_la_SOURCES = \
	lib/dbwrite.c lib/dbwrite.h \
	lib/namemap.c lib/namemap.h \
	lib/ledger.c lib/ledger.h \
	lib/sync.c lib/sync.h \
	lib/syncplan.c \
	lib/syncreport.c \
	lib/samba_sync.c
lib_libjfatool_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CRYPTO_CFLAGS)
lib_libjfatool_la_LIBADD = lib/libjfa.la
# net: the version for User-Agent and the Authorization header's Version=
# (autoconf writes no config header, so PACKAGE_VERSION is passed here)
lib_libjfa_la_CPPFLAGS = $(AM_CPPFLAGS) -DJFA_VERSION='"$(PACKAGE_VERSION)"' \
	-DJFA_CA_BUNDLE='"$(cabundle)"'
