#!/usr/bin/env bash
# Installs the Debian packages kedge's build and tests need, only when they
# are missing, so a fresh machine (and CI) can run `make test`.
set -euo pipefail

want_base=(file zstd qemu-user-static iproute2 iputils-ping procps iptables curl sqlite3)
want_cross=(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross)

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
	echo "installing: $todo"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $todo
}

case "${1:-base}" in
base) install "${want_base[@]}" ;;
cross) install "${want_cross[@]}" ;;
*) echo "usage: $0 base|cross" >&2; exit 2 ;;
esac
