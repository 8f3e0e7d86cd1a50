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
	images     string
	pauseBin   string
	busyboxDeb string
	cc         string
	download   bool
	smoke      bool
}

const usageText = `image-build builds kedge's system images as docker-archive tarballs, offline,
from a C source compiled here and Debian packages.

Usage:
  image-build [flags]
  from the repo root, where the default paths point:
    go build -C image-build -o "$PWD/dist/cache/image-build/image-build" . &&
      dist/cache/image-build/image-build --arch all
  or: go -C image-build run . --arch amd64 --out "$PWD/dist/images" --cache "$PWD/dist/cache/image-build"

Writes, for each --arch A:
  OUT/A/pause.tar, OUT/A/busybox.tar   one image each
  OUT/kedge-images-A.tar               all images of A (for the agent to import)

Flags:
`

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("image-build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.arches, "arch", "amd64", "comma-separated architectures: "+strings.Join(targetNames(), ", ")+", or all")
	fs.StringVar(&o.out, "out", "dist/images", "output directory for the archives")
	fs.StringVar(&o.cache, "cache", "dist/cache/image-build", "work directory: downloaded .debs, extracted packages, compiled pause")
	fs.StringVar(&o.images, "images", "pause,busybox", "comma-separated images to build")
	fs.StringVar(&o.pauseBin, "pause-bin", "", "use this pause binary instead of compiling pause.c (one --arch only)")
	fs.StringVar(&o.busyboxDeb, "busybox-deb", "", "use this busybox-static .deb instead of CACHE/ARCH/busybox-static.deb (one --arch only)")
	fs.StringVar(&o.cc, "cc", "", "C compiler for pause (one --arch only; default per arch: gcc, aarch64-linux-gnu-gcc, arm-linux-gnueabihf-gcc)")
	fs.BoolVar(&o.download, "download", true, "run apt-get download when the .deb is not cached")
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
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err == nil {
		err = run(ctx, o, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "image-build:", err)
		os.Exit(1)
	}
}
