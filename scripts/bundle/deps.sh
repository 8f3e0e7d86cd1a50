#!/usr/bin/env bash
# deps.sh ARCH SYSROOT installs what build.sh needs for one target arch, only
# when missing: the (cross) C compiler, zstd and pkg-config as Debian
# packages, and the target's libseccomp-dev unpacked into SYSROOT.
#
# libseccomp does not go through dpkg multiarch on purpose: a foreign dpkg
# architecture makes every later `apt-get update` on the machine fetch that
# architecture's indexes too, and fail (exit 100) whenever the mirror has one
# of them mid-sync, which breaks every other script that updates apt. runc
# only needs libseccomp.a and its headers, so the .deb is downloaded with a
# private apt state directory and unpacked, leaving the system untouched.
set -euo pipefail

arch=${1:?usage: deps.sh amd64|arm64|arm SYSROOT}
sysroot=${2:?usage: deps.sh amd64|arm64|arm SYSROOT}

case "$arch" in
amd64) dpkg_arch=amd64 triplet=x86_64-linux-gnu want=(gcc libc6-dev) ;;
arm64) dpkg_arch=arm64 triplet=aarch64-linux-gnu want=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
arm) dpkg_arch=armhf triplet=arm-linux-gnueabihf want=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross binutils-arm-linux-gnueabihf) ;;
*) echo "deps.sh: unknown arch $arch" >&2; exit 2 ;;
esac
want+=(zstd pkgconf)

sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo

# Other builds on the same machine may hold the dpkg lock; wait, don't fail.
apt_get() { DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 "$@"; }

install_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "deps.sh: installing ${missing[*]}"
	apt_get update -qq || echo "deps.sh: apt-get update had errors, trying the install anyway" >&2
	# An install interrupted earlier leaves packages half configured and
	# blocks every later install: repair once and retry.
	apt_get install -y -qq --no-install-recommends "${missing[@]}" ||
		{ apt_get -f install -y -qq && apt_get install -y -qq --no-install-recommends "${missing[@]}"; }
}

fetch_libseccomp() {
	[ -f "$sysroot/usr/lib/$triplet/libseccomp.a" ] && return 0
	state=$(mktemp -d)
	trap 'rm -rf "$state"' EXIT
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
	# Own lists and cache, the system's sources; root may write the download
	# dir, the _apt sandbox user may not.
	local opts=(-o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
		-o APT::Architectures::="$dpkg_arch" -o APT::Sandbox::User=root)
	echo "deps.sh: fetching libseccomp-dev:$dpkg_arch into $sysroot"
	# A mirror mid-sync fails an index now and then; the download below
	# still fails clearly if the package cannot be had.
	apt-get "${opts[@]}" update -qq || echo "deps.sh: apt-get update had errors, trying the download anyway" >&2
	(cd "$state" && apt-get "${opts[@]}" download -qq "libseccomp-dev:$dpkg_arch")
	rm -rf "$sysroot"
	mkdir -p "$sysroot"
	dpkg-deb -x "$state"/libseccomp-dev_*_"$dpkg_arch".deb "$sysroot"
	[ -f "$sysroot/usr/lib/$triplet/libseccomp.a" ] ||
		{ echo "deps.sh: libseccomp.a missing from libseccomp-dev:$dpkg_arch" >&2; exit 1; }
}

install_packages "${want[@]}"
fetch_libseccomp
