/* pam_jellyfin/pam_common.h: placeholder, to be written */
