# image-build/images.mk: kedge's system images as docker archives and an
# OCI image layout.
# Include it from the top-level Makefile (`include image-build/images.mk`);
# paths are relative to the directory make runs in, the repo root.
#
#   make images-amd64 | images-arm64 | images-arm | images   build archives
#   make images-test                                        vet + unit tests
#   make images-clean                                       remove outputs
#
# Each images-ARCH writes the docker archive dist/images/ARCH/NAME.tar for
# every image (pause, busybox, coredns, traefik, local-path-provisioner,
# metrics-server) and dist/kedge-images-ARCH.tar, an uncompressed tar of
# an OCI image layout with all of them in zstd layers: the archive kedge
# embeds and serves from its in-process registry.
# programs/build.sh compiles the Go programs; both it and the image tool
# keep a stamp of their inputs, so an unchanged rebuild takes seconds.
# The images' references come from IMAGES_LIST, the list kedge embeds.

# Keep the includer's default goal: this file's first rule must not become it.
IMAGES_SAVED_GOAL := $(.DEFAULT_GOAL)

IMAGES_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
IMAGES_OUT ?= dist/images
IMAGES_ALL ?= dist
IMAGES_CACHE ?= dist/cache/image-build
IMAGES_TOOL := $(IMAGES_CACHE)/image-build
IMAGES_LIST ?= manifests/images.txt
IMAGES_SRC := $(filter-out %_test.go,$(wildcard $(IMAGES_DIR)/*.go)) $(IMAGES_DIR)/go.mod $(IMAGES_DIR)/go.sum $(IMAGES_DIR)/pause/pause.c
IMAGES_PROGRAMS := coredns traefik local-path-provisioner metrics-server
IMAGES_PROGRAM_INPUTS := $(IMAGES_DIR)/programs/build.sh \
	$(foreach p,$(IMAGES_PROGRAMS),$(IMAGES_DIR)/programs/$(p)/go.mod $(IMAGES_DIR)/programs/$(p)/go.sum)
# zstd level of the layers of the archive of all images: 12 compresses an
# arch in some 20 seconds, 19 (make release) takes minutes for 12% less.
IMAGES_ZSTD_LEVEL ?= 12
GO ?= go

.PHONY: images images-amd64 images-arm64 images-arm images-test images-clean images-force

images: images-amd64 images-arm64 images-arm

images-amd64: $(IMAGES_ALL)/kedge-images-amd64.tar
images-arm64: $(IMAGES_ALL)/kedge-images-arm64.tar
images-arm: $(IMAGES_ALL)/kedge-images-arm.tar

# The tool is its own module; -C keeps its dependencies out of kedge's go.mod.
$(IMAGES_TOOL): $(IMAGES_SRC)
	@mkdir -p $(@D)
	$(GO) build -C $(IMAGES_DIR) -trimpath -buildvcs=false -o $(abspath $@) .

# scripts/deps.sh downloads the .deb with a private apt state (no dpkg
# multiarch); the file only appears once the download is complete.
# Precious: make would otherwise delete it as an intermediate of the chain.
.PRECIOUS: $(IMAGES_CACHE)/%/busybox-static.deb
$(IMAGES_CACHE)/%/busybox-static.deb:
	scripts/deps.sh deb busybox-static $* $@

# One build.sh run compiles every program of an arch that changed.
.PRECIOUS: $(foreach p,$(IMAGES_PROGRAMS),$(IMAGES_CACHE)/%/programs/$(p))
$(foreach p,$(IMAGES_PROGRAMS),$(IMAGES_CACHE)/%/programs/$(p)): $(IMAGES_PROGRAM_INPUTS)
	GO=$(GO) $(IMAGES_DIR)/programs/build.sh $* $(IMAGES_CACHE)/$*/programs

# Every archive is an end product, never an intermediate make may delete.
.PRECIOUS: $(IMAGES_ALL)/kedge-images-%.tar $(foreach n,pause busybox $(IMAGES_PROGRAMS),$(IMAGES_OUT)/%/$(n).tar)

# pause and busybox alone, for the builds that embed no other image (the
# arm test builds, EMBED_IMAGES=0): they must not wait for the programs.
# A multi-target pattern rule is one recipe in GNU make; the compiler check
# is cheap and runs only when something needs rebuilding.
$(IMAGES_OUT)/%/pause.tar $(IMAGES_OUT)/%/busybox.tar: $(IMAGES_TOOL) $(IMAGES_LIST) $(IMAGES_CACHE)/%/busybox-static.deb
	@scripts/deps.sh cc $*
	$(IMAGES_TOOL) --arch $* --images pause,busybox --image-list $(IMAGES_LIST) --out $(IMAGES_OUT) --all-dir "" --cache $(IMAGES_CACHE)

# Every image of an arch and the archive of them all. The tool always runs
# and its stamp decides, since the zstd level is an input make cannot see;
# an unchanged run takes a second or two. It rewrites pause.tar and
# busybox.tar with the same bytes; depending on them keeps the two runs
# from sharing the cache at once. ca-certificates is Architecture: all:
# one .deb, fetched like the others, serves every arch.
$(IMAGES_ALL)/kedge-images-%.tar $(foreach n,$(IMAGES_PROGRAMS),$(IMAGES_OUT)/%/$(n).tar): \
		$(IMAGES_TOOL) $(IMAGES_OUT)/%/pause.tar $(IMAGES_OUT)/%/busybox.tar $(IMAGES_CACHE)/ca-certificates.deb \
		$(foreach p,$(IMAGES_PROGRAMS),$(IMAGES_CACHE)/%/programs/$(p)) images-force
	@scripts/deps.sh pkgs zstd
	$(IMAGES_TOOL) --arch $* --image-list $(IMAGES_LIST) --out $(IMAGES_OUT) --all-dir $(IMAGES_ALL) --cache $(IMAGES_CACHE) \
		--zstd-level $(IMAGES_ZSTD_LEVEL) --download=false

.PRECIOUS: $(IMAGES_CACHE)/ca-certificates.deb
$(IMAGES_CACHE)/ca-certificates.deb:
	scripts/deps.sh deb ca-certificates amd64 $@

images-force:

images-test:
	cd $(IMAGES_DIR) && $(GO) vet ./... && $(GO) test -count=1 ./...

# kedge-images-*.tar.zst: the former archive of all images, a compressed
# docker archive.
images-clean:
	rm -rf $(IMAGES_OUT) $(IMAGES_CACHE) $(IMAGES_ALL)/kedge-images-*.tar $(IMAGES_ALL)/kedge-images-*.tar.zst

.DEFAULT_GOAL := $(IMAGES_SAVED_GOAL)
