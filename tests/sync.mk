# tests/sync.mk
