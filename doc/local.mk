# doc/: man pages
dist_man_MANS += doc/pam_jellyfin.8
EXTRA_DIST += doc/design.md
dist_man_MANS += doc/jellyfin-auth.conf.5
dist_man_MANS += doc/libnss_jellyfin.8
dist_man_MANS += doc/jellyfin-auth.8
