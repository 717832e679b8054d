/* pam_jellyfin/pam_common.c: placeholder, to be written */
