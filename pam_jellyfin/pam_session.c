/* pam_jellyfin/pam_session.c: placeholder, to be written */
