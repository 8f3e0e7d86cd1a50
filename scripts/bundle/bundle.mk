# Runtime bundle (docs/architecture.md, decisions 3 and 9): containerd, its runc
# shim, ctr, runc, crictl and the CNI plugins, built per arch from the versions
# pinned in scripts/bundle/go.mod, and Debian's iptables and nft with the
# wrapper netfilter.c, packed for agent/bundle to go:embed. Include this from
# the top-level Makefile; paths are relative to the repository root.
#
# build.sh also keeps a content stamp of its inputs, so after a fresh clone
# (where mtimes say nothing) an up-to-date archive is only touched, not rebuilt.
# The stamp covers the .debs it fetched into scripts/bundle/.build/debs.

BUNDLE_ASSETS := agent/bundle/assets
BUNDLE_INPUTS := scripts/bundle/go.mod scripts/bundle/go.sum scripts/bundle/build.sh scripts/bundle/netfilter.c

.PHONY: bundle-amd64 bundle-arm64 bundle-arm bundle-clean

bundle-amd64: $(BUNDLE_ASSETS)/runtime-amd64.tar.zst
bundle-arm64: $(BUNDLE_ASSETS)/runtime-arm64.tar.zst
bundle-arm: $(BUNDLE_ASSETS)/runtime-arm.tar.zst

$(BUNDLE_ASSETS)/runtime-%.tar.zst: $(BUNDLE_INPUTS)
	scripts/bundle/build.sh $*

bundle-clean:
	rm -rf $(BUNDLE_ASSETS) scripts/bundle/.build
