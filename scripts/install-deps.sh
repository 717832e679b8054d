#!/bin/bash
# scripts/install-deps.sh - install what building, testing and the demo need
# on Debian 12 (as root, with apt-get). Does nothing when all is present.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config libpam0g-dev libcurl4-openssl-dev
libjson-c-dev libssl-dev libcrypt-dev libcmocka-dev libpamtest0-dev pamtester libpam-wrapper
libnss-wrapper libuid-wrapper openssh-server openssh-client sshpass vsftpd python3 valgrind
openssl curl clang libclang-rt-14-dev expect util-linux iproute2 procps ca-certificates
samba samba-common-bin smbclient debhelper dpkg-dev fakeroot lintian sudo"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packaged daemons (sshd, vsftpd) from starting.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
