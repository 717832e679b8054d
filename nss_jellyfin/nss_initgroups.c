/* nss_jellyfin/nss_initgroups.c: placeholder, to be written */
