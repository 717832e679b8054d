/* nss_jellyfin/nss_passwd.c: placeholder, to be written */
