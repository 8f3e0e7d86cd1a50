# image-build/images.mk: kedge's system images as docker archives.
# Include it from the top-level Makefile (`include image-build/images.mk`);
# paths are relative to the directory make runs in, the repo root.
#
#   make images-amd64 | images-arm64 | images-arm | images   build archives
#   make images-test                                        vet + unit tests
#   make images-clean                                       remove outputs
#
# Each images-ARCH writes dist/images/ARCH/{pause,busybox}.tar and
# dist/images/kedge-images-ARCH.tar, rebuilding only when the tool's sources,
# pause.c or the cached busybox-static .deb changed.

# Keep the includer's default goal: this file's first rule must not become it.
IMAGES_SAVED_GOAL := $(.DEFAULT_GOAL)

IMAGES_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
IMAGES_OUT ?= dist/images
IMAGES_CACHE ?= dist/cache/image-build
IMAGES_TOOL := $(IMAGES_CACHE)/image-build
IMAGES_SRC := $(filter-out %_test.go,$(wildcard $(IMAGES_DIR)/*.go)) $(IMAGES_DIR)/go.mod $(IMAGES_DIR)/go.sum $(IMAGES_DIR)/pause/pause.c
GO ?= go

.PHONY: images images-amd64 images-arm64 images-arm images-test images-clean

images: images-amd64 images-arm64 images-arm

images-amd64: $(IMAGES_OUT)/kedge-images-amd64.tar
images-arm64: $(IMAGES_OUT)/kedge-images-arm64.tar
images-arm: $(IMAGES_OUT)/kedge-images-arm.tar

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

# One run writes all three archives of an arch (a multi-target pattern rule
# is one recipe in GNU make). The compiler check is cheap and runs only when
# something needs rebuilding.
$(IMAGES_OUT)/kedge-images-%.tar $(IMAGES_OUT)/%/pause.tar $(IMAGES_OUT)/%/busybox.tar: \
		$(IMAGES_TOOL) $(IMAGES_CACHE)/%/busybox-static.deb
	@scripts/deps.sh cc $*
	$(IMAGES_TOOL) --arch $* --out $(IMAGES_OUT) --cache $(IMAGES_CACHE) --download=false

images-test:
	cd $(IMAGES_DIR) && $(GO) vet ./... && $(GO) test -count=1 ./...

images-clean:
	rm -rf $(IMAGES_OUT) $(IMAGES_CACHE)

.DEFAULT_GOAL := $(IMAGES_SAVED_GOAL)
