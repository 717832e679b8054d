/* nss_jellyfin/nss_group.c: placeholder, to be written */
