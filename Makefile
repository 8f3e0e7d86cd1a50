# kedge build, test and benchmark entry points. See README.md.
SHELL := /bin/bash

GO ?= go
BIN := bin
K8S_VERSION := $(shell awk '$$1=="k8s.io/kubernetes" {print $$2; exit}' go.mod)
K8S_MINOR := $(word 2,$(subst ., ,$(K8S_VERSION)))
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

TAGS := netgo,osusergo,static_build,sqlite_omit_load_extension
K8S_X := $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(K8S_VERSION)-kedge -X $(p).gitMajor=1 -X $(p).gitMinor=$(K8S_MINOR) \
	-X $(p).gitCommit=$(COMMIT) -X $(p).gitTreeState=clean -X $(p).buildDate=$(BUILD_DATE))
EXTLDFLAGS := -static

# The build settings of each arch, by the name the runtime bundle and the
# images use for it (arm is armv7): Go's GOARCH and GOARM, the C compiler
# (Debian's cross compilers, from deps-cross) and extra external linker
# flags.
GOARCH_amd64 := amd64
GOARCH_arm64 := arm64
GOARCH_arm := arm
GOARM_arm := 7
CC_amd64 := gcc
CC_arm64 := aarch64-linux-gnu-gcc
CC_arm := arm-linux-gnueabihf-gcc
# GNU ld drops the Thumb bit from glibc's R_ARM_IRELATIVE entries in a
# binary this large, and the static armv7 binary then dies in memchr_ifunc
# before main; gold links it correctly.
EXTLDFLAGS_arm := -fuse-ld=gold

# ldflags ARCH
ldflags = -s -w -extldflags '$(strip $(EXTLDFLAGS) $(EXTLDFLAGS_$(1)))' \
	-X github.com/kedge-io/kedge/version.Version=$(VERSION) \
	-X github.com/kedge-io/kedge/version.GitCommit=$(COMMIT) $(K8S_X)

# gobuild ARCH OUT builds kedge for ARCH (amd64, arm64 or arm) into OUT,
# with the TAGS in effect for the target.
define gobuild
	CGO_ENABLED=1 GOOS=linux GOARCH=$(GOARCH_$(1)) GOARM=$(GOARM_$(1)) CC=$(CC_$(1)) \
		$(GO) build -trimpath -tags $(TAGS) -ldflags "$(call ldflags,$(1))" -o $(2) ./cmd/kedge
endef

include scripts/bundle/bundle.mk
include image-build/images.mk

# The pause image is built into every kedge (agent/images go:embeds it), so
# a node can start pods with nothing but the binary.
PAUSE_ASSETS := agent/images/assets
$(PAUSE_ASSETS)/pause-%.tar: $(IMAGES_OUT)/%/pause.tar
	@mkdir -p $(@D)
	cp $< $@

# EMBED_IMAGES=1 (the default) also builds every system image into
# bin/kedge (-tags embedimages; agent/imageserver go:embeds the OCI layout
# it serves as kedge.local), so one file starts a complete cluster
# offline; EMBED_IMAGES=0 builds without them, and skips compiling the
# packaged components. The arm test builds never embed them.
EMBED_IMAGES ?= 1
EMBED_TAGS := $(TAGS),embedimages
SERVED_ASSETS := agent/imageserver/assets
$(SERVED_ASSETS)/kedge-images-%.tar: $(IMAGES_ALL)/kedge-images-%.tar
	@mkdir -p $(@D)
	cp $< $@
# Copied assets are inputs of go builds, not intermediates make may delete.
.PRECIOUS: $(PAUSE_ASSETS)/pause-%.tar $(SERVED_ASSETS)/kedge-images-%.tar

.PHONY: all build build-arm64 build-armv7 deps deps-cross test test-unit test-integration bench fmt vet clean release

all: build

build: $(BIN)/kedge

ifeq ($(EMBED_IMAGES),1)
$(BIN)/kedge: TAGS := $(EMBED_TAGS)
$(BIN)/kedge: $(SERVED_ASSETS)/kedge-images-amd64.tar
endif
$(BIN)/kedge: bundle-amd64 $(PAUSE_ASSETS)/pause-amd64.tar FORCE
	$(call gobuild,amd64,$@)

build-arm64: deps-cross bundle-arm64 $(PAUSE_ASSETS)/pause-arm64.tar
	$(call gobuild,arm64,$(BIN)/kedge-arm64)
	file $(BIN)/kedge-arm64

build-armv7: deps-cross bundle-arm $(PAUSE_ASSETS)/pause-arm.tar
	$(call gobuild,arm,$(BIN)/kedge-armv7)
	file $(BIN)/kedge-armv7

# release builds the three kedge binaries into dist/release, each with its
# arch's system images inside (zstd -19: the smallest file, minutes more per
# arch), after image-build verify has checked that every image (and every
# ELF file in it) of the archives they embed is for that arch; SHA256SUMS
# lists them.
RELEASE := dist/release
RELEASE_BINS := $(RELEASE)/kedge-amd64 $(RELEASE)/kedge-arm64 $(RELEASE)/kedge-armv7

release: $(RELEASE_BINS)
	cd $(RELEASE) && sha256sum $(notdir $(RELEASE_BINS)) >SHA256SUMS
	file $(RELEASE_BINS)

$(RELEASE_BINS): TAGS := $(EMBED_TAGS)
$(RELEASE_BINS): IMAGES_ZSTD_LEVEL := 19
$(RELEASE)/kedge-amd64: bundle-amd64 images-verify-amd64 FORCE
	$(call gobuild,amd64,$@)
$(RELEASE)/kedge-arm64: deps-cross bundle-arm64 images-verify-arm64 FORCE
	$(call gobuild,arm64,$@)
$(RELEASE)/kedge-armv7: deps-cross bundle-arm images-verify-arm FORCE
	$(call gobuild,arm,$@)

# images-verify-ARCH checks the archives a kedge for ARCH embeds, as copied
# beside agent/images and agent/imageserver. Never a file: it runs each
# time it is asked for.
images-verify-%: $(IMAGES_TOOL) $(PAUSE_ASSETS)/pause-%.tar $(SERVED_ASSETS)/kedge-images-%.tar
	$(IMAGES_TOOL) verify --arch $* $(filter-out $(IMAGES_TOOL),$^)

# deps installs the Debian packages the build and tests need when missing.
deps:
	@scripts/deps.sh base

deps-cross:
	@scripts/deps.sh cross

fmt:
	@out=$$(gofmt -l $$(find . -name '*.go' -not -path './bin/*' -not -path './dist/*' -not -path './scripts/bundle/.build/*')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every shell script is checked with Debian's shellcheck; install.sh is
# POSIX sh and must also parse under dash and busybox ash, the /bin/sh of
# Debian and Alpine.
BASH_SCRIPTS := scripts/deps.sh scripts/bench.sh scripts/bundle/build.sh image-build/programs/build.sh .ci/run

# go vet/test need the embedded archives of the host arch to exist.
# staticcheck is a tool of go.mod (go tool); the same binary then checks
# image-build, a module of its own.
vet: bundle-amd64 $(PAUSE_ASSETS)/pause-amd64.tar
	$(GO) vet -tags $(TAGS) ./...
	$(GO) tool staticcheck -tags $(TAGS) ./...
	$(GO) tool staticcheck -tags $(TAGS),e2e ./tests/...
	staticcheck=$$($(GO) tool -n staticcheck) && cd $(IMAGES_DIR) && $$staticcheck ./...
	shellcheck $(BASH_SCRIPTS)
	shellcheck -s sh scripts/install.sh
	dash -n scripts/install.sh
	busybox ash -n scripts/install.sh

# agent/images' tests read dist/images/amd64/pause.tar; the packaged
# components' images wait for the builds that embed them.
test-unit: bundle-amd64 $(PAUSE_ASSETS)/pause-amd64.tar images-test
	$(GO) test -tags $(TAGS) ./...

# The registry the pull tests run is Debian's docker-registry (the CNCF
# distribution registry), unpacked from its .deb: installing the package
# would start it as a service on the machine.
REGISTRY_BIN := dist/cache/registry/usr/bin/docker-registry
$(REGISTRY_BIN):
	scripts/deps.sh deb docker-registry amd64 dist/cache/registry/docker-registry.deb
	dpkg-deb -x dist/cache/registry/docker-registry.deb dist/cache/registry
	touch $@

test-integration: build build-arm64 build-armv7 images-amd64 $(REGISTRY_BIN)
	KEDGE_BIN=$(CURDIR)/$(BIN)/kedge KEDGE_IMAGES_DIR=$(CURDIR)/$(IMAGES_OUT)/amd64 KEDGE_BIN_ARM64=$(CURDIR)/$(BIN)/kedge-arm64 \
		KEDGE_BIN_ARMV7=$(CURDIR)/$(BIN)/kedge-armv7 KEDGE_REGISTRY_BIN=$(CURDIR)/$(REGISTRY_BIN) \
		$(GO) test -tags $(TAGS),e2e -count=1 -timeout 45m -v ./tests/...

test: deps fmt vet test-unit test-integration

# bench prints five tables: the server alone (scripts/bench.sh), one node
# with the agent (TestAgentBenchmark), a server with a joined agent
# (TestClusterBenchmark), both with the packaged pods off, a server with
# its packaged components (TestPackagedBenchmark; wrk drives the ingress),
# and a 50 MiB pull from the site's registry (TestRegistryBenchmark).
# The last four need root and run nodes in test network namespaces with no
# route out, busybox from images-amd64. IDLE_MINUTES (5) and RSS_AFTER
# (60 s) tune them; the go test timeout grows with them.
bench: deps build images-amd64 $(REGISTRY_BIN)
	@scripts/deps.sh pkgs wrk
	KEDGE_BIN=$(CURDIR)/$(BIN)/kedge scripts/bench.sh
	KEDGE_BENCH=1 KEDGE_BIN=$(CURDIR)/$(BIN)/kedge KEDGE_IMAGES_DIR=$(CURDIR)/$(IMAGES_OUT)/amd64 \
		KEDGE_DIST_DIR=$(CURDIR)/$(IMAGES_ALL) KEDGE_REGISTRY_BIN=$(CURDIR)/$(REGISTRY_BIN) \
		$(GO) test -tags $(TAGS),e2e -run '^Test(Agent|Cluster|Packaged|Registry)Benchmark$$' -count=1 -v \
		-timeout $$(( $${IDLE_MINUTES:-5} + 3 * $${RSS_AFTER:-60} / 30 + 40 ))m ./tests/

clean:
	rm -rf $(BIN)

FORCE:
