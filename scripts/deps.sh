#!/usr/bin/env bash
# Installs what kedge's build, images and tests need from Debian, only when
# missing, so `make test` works on a fresh machine. Every other script asks
# this one instead of calling apt itself.
#
#   deps.sh base                 tools for the tests and the benchmark
#   deps.sh cross                both cross compilers (arm64, armv7)
#   deps.sh cc ARCH              C compiler + static libc for ARCH
#   deps.sh pkgs PKG...          any packages
#   deps.sh deb PKG ARCH DEST    download PKG for ARCH as a .deb to DEST
#
# ARCH is kedge's name: amd64, arm64 or arm (armv7, Debian's armhf).
set -euo pipefail

die() { echo "deps.sh: $*" >&2; exit 2; }

sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo

# Other builds on the same machine may hold the dpkg lock: wait, don't fail.
apt_get() { DEBIAN_FRONTEND=noninteractive $sudo apt-get -qq -o DPkg::Lock::Timeout=600 "$@"; }

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
	done
}

install() {
	local todo
	todo=$(missing "$@")
	[ -z "$todo" ] && return 0
	# One word per package, on one line.
	# shellcheck disable=SC2086
	echo "deps.sh: installing" $todo
	# A mirror mid-sync fails an index now and then; the install below
	# still fails clearly if a package cannot be had.
	apt_get update || echo "deps.sh: apt-get update had errors, trying the install anyway" >&2
	# An install interrupted earlier leaves packages half configured and
	# blocks every later one: repair once and retry.
	# shellcheck disable=SC2086
	apt_get install -y --no-install-recommends $todo ||
		{ apt_get -f install -y && apt_get install -y --no-install-recommends $todo; }
}

debarch() {
	case "$1" in
	amd64 | arm64) echo "$1" ;;
	arm) echo armhf ;;
	*) die "unknown arch $1 (want amd64, arm64 or arm)" ;;
	esac
}

# The static libc (libc6-dev*) is only a Recommends of the cross compilers,
# and -static fails without it; armv7 links with gold (binutils).
cc_packages() {
	case "$1" in
	amd64) echo gcc libc6-dev ;;
	arm64) echo gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
	arm) echo gcc-arm-linux-gnueabihf libc6-dev-armhf-cross binutils-arm-linux-gnueabihf ;;
	*) die "unknown arch $1 (want amd64, arm64 or arm)" ;;
	esac
}

# fetch_deb downloads a foreign-arch package without dpkg multiarch: a
# foreign dpkg architecture makes every later `apt-get update` on the
# machine fetch its indexes too, and fail whenever the mirror has one of
# them mid-sync. A private apt state dir with the system's sources avoids
# that and leaves the system untouched.
fetch_deb() {
	local pkg=$1 da dest=$3 state
	da=$(debarch "$2")
	[ -s "$dest" ] && return 0
	state=$(mktemp -d)
	# Expanded now: $state is local and gone when the EXIT trap runs.
	# shellcheck disable=SC2064
	trap "rm -rf '$state'" EXIT
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$(dirname "$dest")"
	# Root may write the download dir; apt's _apt sandbox user may not.
	local opts=(-o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
		-o APT::Architectures::="$da" -o APT::Sandbox::User=root)
	echo "deps.sh: fetching $pkg:$da"
	apt-get -qq "${opts[@]}" update || echo "deps.sh: apt-get update had errors, trying the download anyway" >&2
	(cd "$state" && apt-get -qq "${opts[@]}" download "$pkg:$da")
	# Architecture: all packages (ca-certificates) are named _all.deb.
	mv "$state"/"${pkg}"_*_{"$da",all}.deb "$dest" 2>/dev/null || mv "$state"/"${pkg}"_*.deb "$dest"
}

# cc_packages prints several package names, split into words on purpose.
# shellcheck disable=SC2046
case "${1:-}" in
base) install file zstd qemu-user-static iproute2 iputils-ping procps iptables curl sqlite3 shellcheck dash busybox-static systemd-container ;;
cross) install $(cc_packages arm64) $(cc_packages arm) ;;
cc) [ $# -eq 2 ] || die "usage: $0 cc ARCH"; install $(cc_packages "$2") ;;
pkgs) shift; install "$@" ;;
deb) [ $# -eq 4 ] || die "usage: $0 deb PKG ARCH DEST"; fetch_deb "$2" "$3" "$4" ;;
*) die "usage: $0 base | cross | cc ARCH | pkgs PKG... | deb PKG ARCH DEST" ;;
esac
