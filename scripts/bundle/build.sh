#!/usr/bin/env bash
# build.sh ARCH builds the container runtime kedge embeds (docs/architecture.md,
# decision 3) for ARCH (amd64, arm64 or arm = armv7): containerd, its runc
# shim, ctr, runc with seccomp, crictl and the CNI plugins, all static, from
# the versions pinned in scripts/bundle/go.mod; and Debian bookworm's
# iptables and nft for hosts without their own (decision 9). It packs them
# reproducibly into agent/bundle/assets/runtime-ARCH.tar.zst (bin/<name>,
# netfilter/..., and MANIFEST in sha256sum format) and skips all of it when
# the inputs have not changed.
#
# The binaries are `tool` directives of that go.mod; to move one, e.g.
#   cd scripts/bundle && go get github.com/opencontainers/runc@v1.5.3 && go mod tidy
set -euo pipefail

arch=${1:?usage: build.sh amd64|arm64|arm}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
GO=${GO:-go}

case "$arch" in
amd64) goarm="" cc=gcc triplet=x86_64-linux-gnu ;;
arm64) goarm="" cc=aarch64-linux-gnu-gcc triplet=aarch64-linux-gnu ;;
arm) goarm=7 cc=arm-linux-gnueabihf-gcc triplet=arm-linux-gnueabihf ;;
*) echo "build.sh: unknown arch $arch (want amd64, arm64 or arm)" >&2; exit 2 ;;
esac

out=$root/agent/bundle/assets/runtime-$arch.tar.zst
work=$here/.build/$arch
stamp=$here/.build/$arch.inputs
sysroot=$here/.build/sysroot/$arch # target libseccomp for runc
debdir=$here/.build/debs/$arch      # the netfilter tools' packages

# Debian's iptables and nftables with the packages their programs and
# iptables extensions load (readelf NEEDED, transitively); build_netfilter
# fails when one of them supplies nothing, or a library is missing.
# libc6's own Depends (libgcc-s1) is only dlopened for thread cancellation,
# which these tools never use.
netfilter_debs=(iptables libxtables12 libip4tc2 libip6tc2 libnftnl11 libmnl0
	libnetfilter-conntrack3 libnfnetlink0 nftables libnftables1 libjansson4
	libgmp10 libedit2 libbsd0 libmd0 libtinfo6 libc6)
# The names netfilter.c answers to in netfilter/bin.
netfilter_tools=(iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore
	iptables-nft iptables-nft-save iptables-nft-restore ip6tables-nft ip6tables-nft-save ip6tables-nft-restore
	iptables-legacy iptables-legacy-save iptables-legacy-restore
	ip6tables-legacy ip6tables-legacy-save ip6tables-legacy-restore nft)

# runc only needs libseccomp.a and its headers: unpack the target's
# libseccomp-dev into a private sysroot instead of installing it.
ensure_libseccomp() {
	[ -f "$sysroot/usr/lib/$triplet/libseccomp.a" ] && return 0
	local deb=$here/.build/libseccomp-dev-$arch.deb
	"$root/scripts/deps.sh" deb libseccomp-dev "$arch" "$deb"
	rm -rf "$sysroot"
	mkdir -p "$sysroot"
	dpkg-deb -x "$deb" "$sysroot"
	[ -f "$sysroot/usr/lib/$triplet/libseccomp.a" ] ||
		{ echo "build.sh: libseccomp.a missing from $deb" >&2; exit 1; }
}

# Cached in $debdir: a fresh fetch may bring a newer point release, which
# the inputs hash below then notices.
fetch_netfilter_debs() {
	local p
	for p in "${netfilter_debs[@]}"; do
		"$root/scripts/deps.sh" deb "$p" "$arch" "$debdir/$p.deb"
	done
}

"$root/scripts/deps.sh" cc "$arch"
"$root/scripts/deps.sh" pkgs zstd pkgconf binutils
ensure_libseccomp
fetch_netfilter_debs

# Everything that changes the archive's bytes: a matching stamp means the
# archive on disk is what this build would produce, so keep it.
inputs_hash() {
	{
		cat "$here/go.mod" "$here/go.sum" "$here/build.sh" "$here/netfilter.c"
		"$GO" version
		zstd --version
		"$cc" --version
		cat "$sysroot/usr/lib/$triplet/libseccomp.a" "$("$cc" -print-file-name=libc.a)"
		for p in "${netfilter_debs[@]}"; do cat "$debdir/$p.deb"; done
		echo "$arch"
	} | sha256sum | cut -d' ' -f1
}

want=$(inputs_hash)
if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
	echo "bundle $arch: up to date ($out)"
	touch "$out" # so make's mtime check agrees and stops asking
	exit 0
fi

cd "$here"
version() { "$GO" list -m -f '{{.Version}}' "$1"; }
containerd_v=$(version github.com/containerd/containerd/v2)
runc_v=$(version github.com/opencontainers/runc)
crictl_v=$(version sigs.k8s.io/cri-tools)
cni_v=$(version github.com/containernetworking/plugins)

export GOOS=linux GOARCH=${arch} GOARM=$goarm GOWORK=off
rm -rf "$work"
mkdir -p "$work/bin"

# gobuild CGO TAGS LDFLAGS PKG... builds into $work/bin, named after each
# package's last path element. For byte-identical output on every checkout:
# no VCS stamping (it would embed kedge's own git state) and no Go build ID
# (it hashes the cgo flags, which hold this checkout's sysroot path).
gobuild() {
	local cgo=$1 tags=$2 ldflags=$3
	shift 3
	CGO_ENABLED=$cgo "$GO" build -trimpath -buildvcs=false -tags "$tags" \
		-ldflags "-s -w -buildid= $ldflags" -o "$work/bin/" "$@"
}

start=$SECONDS
ctd=github.com/containerd/containerd/v2
# containerd's own static release tags; btrfs needs cgo and devmapper/zfs
# drive host tools kedge does not ship, so they are left out as k3s does.
ctd_tags="urfave_cli_no_docs no_btrfs no_devmapper no_zfs osusergo netgo static_build"
ctd_ld="-X $ctd/version.Version=$containerd_v -X $ctd/version.Package=$ctd"
echo "bundle $arch: containerd $containerd_v"
gobuild 0 "$ctd_tags" "$ctd_ld" $ctd/cmd/containerd $ctd/cmd/ctr
gobuild 0 "$ctd_tags no_grpc" "$ctd_ld" $ctd/cmd/containerd-shim-runc-v2

echo "bundle $arch: runc $runc_v (cgo, seccomp)"
extld="-static"
# GNU ld drops the Thumb bit from glibc's IRELATIVE relocs in large static
# armv7 binaries (they then crash before main); gold links them correctly.
[ "$arch" = arm ] && extld="-static -fuse-ld=gold"
# Upstream also builds with tag libpathrs, a Rust library Debian does not
# package; without it runc uses its pure-Go fallback for safe path handling.
# CGO_* repeat what pkg-config prints: go's build cache keys on them but not
# on PKG_CONFIG_*, so without them a cached compile could keep stale paths.
CC=$cc PKG_CONFIG_LIBDIR=$sysroot/usr/lib/$triplet/pkgconfig PKG_CONFIG_SYSROOT_DIR=$sysroot \
	CGO_CFLAGS="-O2 -g -I$sysroot/usr/include" CGO_LDFLAGS="-O2 -g -L$sysroot/usr/lib/$triplet" \
	gobuild 1 "seccomp urfave_cli_no_docs netgo osusergo" \
	"-X main.version=${runc_v#v} -extldflags '$extld'" github.com/opencontainers/runc

echo "bundle $arch: crictl $crictl_v"
gobuild 0 "" "-X sigs.k8s.io/cri-tools/pkg/version.Version=${crictl_v#v}" sigs.k8s.io/cri-tools/cmd/crictl

echo "bundle $arch: CNI plugins $cni_v"
cni=github.com/containernetworking/plugins
gobuild 0 "" "-X $cni/pkg/utils/buildversion.BuildVersion=$cni_v" \
	$cni/plugins/main/bridge $cni/plugins/ipam/host-local $cni/plugins/main/loopback \
	$cni/plugins/meta/portmap $cni/plugins/meta/bandwidth
echo "bundle $arch: compiled in $((SECONDS - start))s"

# needed FILE lists the shared libraries FILE names in its dynamic section.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; }

# copy_libs X LIB FILE... copies into LIB, under its soname, every library
# FILE... need, directly or through another, from the packages unpacked in
# X/<package>, and marks those packages used. The loader is not copied
# here: it is sbin/ld.so.
copy_libs() {
	local x=$1 lib=$2 f so src pkg
	shift 2
	local todo=("$@")
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for so in $(needed "$f"); do
			case $so in ld-linux*) continue ;; esac
			[ -e "$lib/$so" ] && continue
			src=$(find "$x" -path "*/$triplet/$so" | LC_ALL=C sort | head -n 1)
			[ -n "$src" ] || { echo "build.sh: $f needs $so, which no package in netfilter_debs has" >&2; exit 1; }
			pkg=${src#"$x"/}
			used[${pkg%%/*}]=1
			cp -L "$src" "$lib/$so"
			todo+=("$lib/$so")
		done
	done
}

# build_netfilter NF lays out Debian's iptables and nft under NF for
# netfilter.c: the programs and glibc's loader in sbin/, the libraries in
# lib/, the iptables extensions in xtables/, the wrapper under every tool
# name in bin/, and each package's copyright in share/doc/<package>/.
build_netfilter() {
	local nf=$1 x=$here/.build/debs/$arch.unpacked p loader
	declare -A used=([iptables]=1 [nftables]=1 [libc6]=1)
	rm -rf "$x"
	for p in "${netfilter_debs[@]}"; do
		mkdir -p "$x/$p"
		dpkg-deb -x "$debdir/$p.deb" "$x/$p"
	done
	mkdir -p "$nf"/{bin,sbin,lib,xtables}
	cp "$x"/iptables/usr/sbin/{xtables-nft-multi,xtables-legacy-multi} "$x"/nftables/usr/sbin/nft "$nf/sbin/"
	loader=("$x"/libc6/lib/"$triplet"/ld-linux-*.so.*)
	[ ${#loader[@]} -eq 1 ] || { echo "build.sh: want one glibc loader in libc6, found ${loader[*]}" >&2; exit 1; }
	cp -L "${loader[0]}" "$nf/sbin/ld.so"
	# Dereferenced: a few extensions are symlinks to others (SNAT to NAT).
	cp -L "$x/iptables/usr/lib/$triplet/xtables/"*.so "$nf/xtables/"
	copy_libs "$x" "$nf/lib" "$nf"/sbin/{xtables-nft-multi,xtables-legacy-multi,nft} "$nf"/xtables/*.so
	for p in "${netfilter_debs[@]}"; do
		[ -n "${used[$p]:-}" ] || { echo "build.sh: nothing needs $p; drop it from netfilter_debs" >&2; exit 1; }
		mkdir -p "$nf/share/doc/$p"
		cp "$x/$p/usr/share/doc/$p/copyright" "$nf/share/doc/$p/"
	done
	# Static, so it runs before any library is found; $extld as for runc.
	# shellcheck disable=SC2086
	"$cc" $extld -Os -s -Wall -Wextra -Werror -o "$nf/bin/${netfilter_tools[0]}" "$here/netfilter.c"
	for p in "${netfilter_tools[@]:1}"; do
		ln "$nf/bin/${netfilter_tools[0]}" "$nf/bin/$p"
	done
	rm -rf "$x"
}

echo "bundle $arch: iptables $(dpkg-deb -f "$debdir/iptables.deb" Version), nftables $(dpkg-deb -f "$debdir/nftables.deb" Version) (Debian)"
build_netfilter "$work/netfilter"

# Reproducible tar: fixed order, times, owners and modes, so the archive hash
# (which names the unpack dir on nodes) changes only when a binary does. zstd
# output does not depend on the thread count. A 64 MiB window lets zstd reuse
# the Go runtime and libraries the binaries share: ~30% smaller than the
# default 8 MiB window, for 64 MiB of decoder memory while a node unpacks.
# Modes follow agent/bundle's rule (programs are what bin/ and sbin/ hold);
# the wrapper's hard links stay links, stored once.
(
	cd "$work"
	find bin netfilter -type d -exec chmod 0755 {} +
	find bin netfilter -type f -exec chmod 0644 {} +
	find bin netfilter -type f \( -path '*/bin/*' -o -path '*/sbin/*' -o -path 'bin/*' \) -exec chmod 0755 {} +
	find bin netfilter -type f | LC_ALL=C sort | xargs sha256sum >MANIFEST
	chmod 0644 MANIFEST
)
mkdir -p "$(dirname "$out")"
LC_ALL=C tar -C "$work" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
	--format=gnu -cf - MANIFEST bin netfilter |
	zstd -19 --long=26 -T0 -q -f -o "$out.tmp"
mv -f "$out.tmp" "$out"
echo "$want" >"$stamp"
echo "bundle $arch: $out $(stat -c %s "$out") bytes in $((SECONDS - start))s"
