/* nss_jellyfin/nss_common.h: placeholder, to be written */
