# tests/pam.mk
