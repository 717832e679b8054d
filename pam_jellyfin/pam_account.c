/* pam_jellyfin/pam_account.c: placeholder, to be written */
