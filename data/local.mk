# data/: pam-auth-update profile and other installed data files
