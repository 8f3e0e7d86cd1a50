#!/usr/bin/env bash
# build.sh ARCH DIR [NAME...] compiles the Go programs of kedge's packaged
# components (docs/architecture.md, decision 5) for ARCH (amd64, arm64 or arm = armv7):
# static, reproducible, from the versions pinned in programs/NAME/go.mod.
# Each becomes DIR/NAME, with DIR/NAME.version holding the upstream version
# the image is tagged with; a program whose inputs did not change is kept.
#
# Every program has its own tools module, because their k8s.io/* versions
# differ and one build graph would move some of them off what upstream
# tested. To move one, e.g.
#   cd image-build/programs/coredns && go get -tool github.com/coredns/coredns@v1.15.1 && go mod tidy
set -euo pipefail

arch=${1:?usage: build.sh amd64|arm64|arm DIR [NAME...]}
dir=${2:?usage: build.sh amd64|arm64|arm DIR [NAME...]}
shift 2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd) # the builds run in the tools modules' directories
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-go}

case "$arch" in
amd64 | arm64) goarch=$arch goarm="" ;;
arm) goarch=arm goarm=7 ;;
*) echo "build.sh: unknown arch $arch (want amd64, arm64 or arm)" >&2; exit 2 ;;
esac

# main package and version ldflags of each program. $v is the module
# version (v1.2.3) and $t its commit time, so a rebuild stamps the same
# date; none of them records the builder's clock or checkout.
main_of() {
	case "$1" in
	coredns) echo github.com/coredns/coredns ;;
	traefik) echo github.com/traefik/traefik/v3/cmd/traefik ;;
	local-path-provisioner) echo github.com/rancher/local-path-provisioner ;;
	metrics-server) echo sigs.k8s.io/metrics-server/cmd/metrics-server ;;
	*) echo "build.sh: unknown program $1" >&2; exit 2 ;;
	esac
}
ldflags_of() {
	local v=$2 t=$3
	case "$1" in
	coredns) echo "-X github.com/coredns/coredns/coremain.gitTag=$v" ;;
	# Upstream's traefik releases print the version without its v.
	traefik) echo "-X github.com/traefik/traefik/v3/pkg/version.Version=${v#v} -X github.com/traefik/traefik/v3/pkg/version.BuildDate=$t" ;;
	local-path-provisioner) echo "-X main.VERSION=$v" ;;
	metrics-server) echo "-X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.buildDate=$t" ;;
	esac
}

# The module a program's version comes from: its main package's module.
module_of() { (cd "$here/$1" && GOWORK=off "$GO" list -f '{{.Module.Path}}' "$(main_of "$1")"); }

inputs_hash() {
	{
		cat "$here/$1/go.mod" "$here/$1/go.sum" "$here/build.sh"
		"$GO" version
		echo "$arch"
	} | sha256sum | cut -d' ' -f1
}

build_one() {
	local name=$1 out=$dir/$1 stamp=$dir/$1.inputs want mod v t start
	want=$(inputs_hash "$name")
	if [ -f "$out" ] && [ -f "$out.version" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
		echo "programs $arch: $name up to date"
		touch "$out" "$out.version" # so make's mtime check agrees
		return 0
	fi
	mod=$(module_of "$name")
	v=$(cd "$here/$name" && GOWORK=off "$GO" list -m -f '{{.Version}}' "$mod")
	t=$(cd "$here/$name" && GOWORK=off "$GO" list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$mod")
	echo "programs $arch: $name $v"
	start=$SECONDS
	# No VCS stamp (it would record kedge's own git state) and no build ID,
	# so the same inputs give the same bytes on every checkout.
	(cd "$here/$name" && GOWORK=off CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
		"$GO" build -trimpath -buildvcs=false -ldflags "-s -w -buildid= $(ldflags_of "$name" "$v" "$t")" \
		-o "$out.tmp" "$(main_of "$name")")
	mv -f "$out.tmp" "$out"
	echo "${v#v}" >"$out.version"
	# The licence goes into the image beside the binary.
	local lic
	lic=$(find "$(cd "$here/$name" && GOWORK=off "$GO" list -m -f '{{.Dir}}' "$mod")" -maxdepth 1 -name 'LICENSE*' | sort | head -n1)
	rm -f "$out.license" # a copy from the module cache is read-only
	[ -z "$lic" ] || install -m 0644 "$lic" "$out.license"
	echo "$want" >"$stamp"
	echo "programs $arch: $name $(stat -c %s "$out") bytes in $((SECONDS - start))s"
}

[ $# -eq 0 ] && set -- coredns traefik local-path-provisioner metrics-server
for name in "$@"; do
	build_one "$name"
done
