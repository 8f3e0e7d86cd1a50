#!/usr/bin/env bash
# deps.sh installs what image-build needs, and only what is missing, so the
# images build on a fresh Debian machine (and in CI) with no manual steps.
#
#   deps.sh cc ARCH          C compiler + static libc for ARCH (pause)
#   deps.sh deb ARCH CACHE   busybox-static .deb for ARCH into CACHE/ARCH/
#
# ARCH is kedge's name: amd64, arm64 or arm (armv7, Debian's armhf).
set -euo pipefail

die() { echo "deps.sh: $*" >&2; exit 2; }

debarch() {
	case "$1" in
	amd64 | arm64) echo "$1" ;;
	arm) echo armhf ;;
	*) die "unknown arch $1 (want amd64, arm64 or arm)" ;;
	esac
}

# apt waits for the dpkg lock instead of failing, because other builds on the
# same machine may be installing packages at the same moment.
apt() {
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -qq -o DPkg::Lock::Timeout=600 "$@"
}

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
	done
}

# retry runs a command up to $1 times with a growing pause: another build on
# this machine may hold the package-list lock, or a mirror be mid-sync.
retry() {
	local tries=$1 n
	shift
	for ((n = 1; n <= tries; n++)); do
		"$@" && return 0
		echo "image-build: attempt $n/$tries failed: $*" >&2
		[ "$n" -lt "$tries" ] && sleep $((n * 5))
	done
	return 1
}

# refresh fetches package lists; a partial failure (one mirror mid-sync) is
# not fatal, since the caller checks for the package it needs afterwards.
refresh() {
	retry 2 apt update || echo "image-build: apt-get update incomplete, continuing" >&2
}

install_missing() {
	local todo
	todo=$(missing "$@")
	[ -z "$todo" ] && return 0
	echo "image-build: installing $todo"
	refresh
	# shellcheck disable=SC2086
	retry 3 apt install -y --no-install-recommends $todo
}

# The static libc (libc6-dev*) is only a Recommends of the cross compilers,
# and -static fails without it.
ensure_cc() {
	case "$1" in
	amd64) install_missing gcc libc6-dev ;;
	arm64) install_missing gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
	arm) install_missing gcc-arm-linux-gnueabihf libc6-dev-armhf-cross ;;
	*) die "unknown arch $1" ;;
	esac
}

# apt only sees a foreign architecture's packages once dpkg knows the
# architecture and the package lists for it have been fetched.
ensure_multiarch() {
	local da=$1
	if [ "$da" != "$(dpkg --print-architecture)" ] &&
		! dpkg --print-foreign-architectures | grep -qx "$da"; then
		echo "image-build: dpkg --add-architecture $da"
		dpkg --add-architecture "$da"
		refresh
	fi
	if ! apt-cache show "busybox-static:$da" >/dev/null 2>&1; then
		refresh
		apt-cache show "busybox-static:$da" >/dev/null || die "busybox-static:$da not in apt lists"
	fi
}

fetch_deb() {
	local arch=$1 cache=$2 da dest tmp
	da=$(debarch "$arch")
	dest="$cache/$arch/busybox-static.deb"
	[ -s "$dest" ] && return 0
	ensure_multiarch "$da"
	mkdir -p "$cache/$arch"
	tmp=$(mktemp -d "$cache/$arch/.download.XXXXXX")
	# Expanded now: $tmp is local and gone when the EXIT trap runs.
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" EXIT
	# Sandbox user root: the _apt user cannot write into our 0700 temp dir.
	(cd "$tmp" && retry 3 apt -o APT::Sandbox::User=root download "busybox-static:$da")
	mv "$tmp"/busybox-static_*.deb "$dest"
	echo "image-build: $dest ($(dpkg-deb -f "$dest" Version))"
}

case "${1:-}" in
cc) [ $# -eq 2 ] || die "usage: $0 cc ARCH"; ensure_cc "$2" ;;
deb) [ $# -eq 3 ] || die "usage: $0 deb ARCH CACHE"; fetch_deb "$2" "$3" ;;
*) die "usage: $0 cc ARCH | deb ARCH CACHE" ;;
esac
