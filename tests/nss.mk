# tests/nss.mk
