#!/bin/sh
# Install the Debian packages that building, testing and the demo need,
# non-interactively, and only those missing.  Used by `make deps`; targets
# that need more (fuzz, valgrind, bench) name their extra packages as
# arguments: sh tests/deps.sh clang libclang-rt-14-dev
# `sh tests/deps.sh firmware` adds what `make firmware` and `make
# check-firmware` need: the Cortex-M cross compiler and its C library,
# QEMU's ARM system emulator and dpkg-dev (dpkg-source, for mbedTLS's
# Debian source package).
set -eu

if [ "${1:-}" = firmware ]; then
	shift
	set -- gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm \
	    dpkg-dev "$@"
fi

PKGS="build-essential pkg-config libssl-dev openssl libserialport-dev
libusb-1.0-0-dev libsqlite3-dev sqlite3 libinih-dev libncurses-dev
libcmocka-dev umockdev libumockdev-dev mosquitto libmosquitto-dev
libcurl4-openssl-dev libjansson-dev tmux golang-cfssl
libp11-kit-dev softhsm2 opensc clang-format postgresql libpq-dev ser2net
swtpm swtpm-tools libtss2-dev libtss2-tcti-swtpm0 $*"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: not root and no sudo; run as root: apt-get install$missing" >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
