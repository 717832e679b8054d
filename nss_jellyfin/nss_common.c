/* nss_jellyfin/nss_common.c: placeholder, to be written */
