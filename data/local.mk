# data/: installed data files.
# pam-configs/jellyfin is the pam-auth-update(8) profile: enable it with
# `pam-auth-update --enable jellyfin` (Debian, Ubuntu). It adds pam_jellyfin
# after pam_unix in common-auth and common-password, as a final refusal in
# common-account (user_unknown, i.e. every non-Jellyfin account, is
# ignored), and to common-session with pam_mkhomedir for first logins.
pamconfigs_DATA = data/pam-configs/jellyfin
EXTRA_DIST += data/pam-configs/jellyfin
