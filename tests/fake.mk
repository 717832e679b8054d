# tests/fake.mk - the fake Jellyfin server and its self test
TESTS += tests/integration/fake-selftest.sh
EXTRA_DIST += tests/fake-jellyfin/fake_jellyfin.py tests/fake-jellyfin/selftest.py \
	tests/fake-jellyfin/README.md tests/integration/fake-selftest.sh
