package images

import _ "embed"

// builtin is the pause image archive for this GOARCH, built by image-build
// (make images-arm64) and copied beside this file by the Makefile.
//
//go:embed assets/pause-arm64.tar
var builtin []byte
