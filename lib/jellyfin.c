/* lib/jellyfin.c: placeholder, to be written */
