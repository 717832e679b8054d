# tests/fake.mk
