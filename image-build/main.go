package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// options are the command-line settings; see usage.
type options struct {
	arches     string
	out        string
	cache      string
	allDir     string
	images     string
	imageList  string
	refs       imageList // read from imageList by run
	pauseBin   string
	busyboxDeb string
	cc         string
	programs   string
	caDeb      string
	zstdLevel  int
	download   bool
	smoke      bool
}

const usageText = `image-build builds kedge's system images as docker-archive tarballs and one
OCI image layout tar, offline, from a C source compiled here, Debian
packages and the Go programs that programs/build.sh compiles.

Usage:
  image-build [flags]
  image-build verify --arch A ARCHIVE...   check every image is for A, by config and ELF headers,
                                           and an OCI layout's blobs against their descriptors
  from the repo root, where the default paths point:
    go build -C image-build -o "$PWD/dist/cache/image-build/image-build" . &&
      image-build/programs/build.sh amd64 dist/cache/image-build/amd64/programs &&
      dist/cache/image-build/image-build --arch amd64

Writes, for each --arch A:
  OUT/A/NAME.tar                       docker archive of one image each (pause, busybox, coredns, ...)
  ALL-DIR/kedge-images-A.tar           OCI image layout of all images of A, zstd layers
                                       (kedge embeds it and serves it as a registry)
tagged as IMAGE-LIST (kedge's manifests/images.txt) says; an image built at
another version than listed is an error.

Flags:
`

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("image-build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.arches, "arch", "amd64", "comma-separated architectures: "+strings.Join(targetNames(), ", ")+", or all")
	fs.StringVar(&o.out, "out", "dist/images", "output directory for the archives")
	fs.StringVar(&o.cache, "cache", "dist/cache/image-build", "work directory: downloaded .debs, extracted packages, compiled pause")
	fs.StringVar(&o.allDir, "all-dir", "dist", "output directory for the archive of all images; empty: none")
	fs.StringVar(&o.images, "images", strings.Join(imageNames(), ","), "comma-separated images to build")
	fs.StringVar(&o.imageList, "image-list", "manifests/images.txt", "the images' references, one \"NAME REFERENCE\" a line: the list kedge embeds")
	fs.StringVar(&o.pauseBin, "pause-bin", "", "use this pause binary instead of compiling pause.c (one --arch only)")
	fs.StringVar(&o.busyboxDeb, "busybox-deb", "", "use this busybox-static .deb instead of CACHE/ARCH/busybox-static.deb (one --arch only)")
	fs.StringVar(&o.cc, "cc", "", "C compiler for pause (one --arch only; default per arch: gcc, aarch64-linux-gnu-gcc, arm-linux-gnueabihf-gcc)")
	fs.StringVar(&o.programs, "programs", "", "directory of the Go programs and their .version files (one --arch only; default CACHE/ARCH/programs)")
	fs.StringVar(&o.caDeb, "ca-deb", "", "use this ca-certificates .deb instead of CACHE/ca-certificates.deb")
	fs.IntVar(&o.zstdLevel, "zstd-level", 12, "zstd level of the layers in the archive of all images: 12 takes seconds, 19 minutes for 12% less")
	fs.BoolVar(&o.download, "download", true, "run apt-get download when a .deb is not cached")
	fs.BoolVar(&o.smoke, "smoke", true, "run the built binaries (natively or with qemu-*-static) to check they start")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return o, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if len(os.Args) > 1 && os.Args[1] == "verify" {
		err = runVerify(os.Args[2:], os.Stdout, os.Stderr)
	} else {
		var o options
		o, err = parseFlags(os.Args[1:], os.Stderr)
		if err == nil {
			err = run(ctx, o, os.Stdout, os.Stderr)
		}
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image-build:", err)
		os.Exit(1)
	}
}

// runVerify is the verify command: every archive named (docker archive or
// OCI layout tar) must hold only images for --arch.
func runVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image-build verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "", "the architecture every image must be for: "+strings.Join(targetNames(), ", "))
	if err := fs.Parse(args); err != nil {
		return err
	}
	t, ok := targets[*arch]
	if !ok || fs.NArg() == 0 {
		return fmt.Errorf("usage: image-build verify --arch %s ARCHIVE [ARCHIVE]", strings.Join(targetNames(), "|"))
	}
	for _, path := range fs.Args() {
		refs, err := verifyArchive(path, t)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: linux/%s: %s\n", path, platformOf(t), strings.Join(refs, " "))
	}
	return nil
}
