/* pam_jellyfin/pam_password.c: placeholder, to be written */
