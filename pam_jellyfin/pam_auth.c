/* pam_jellyfin/pam_auth.c: placeholder, to be written */
