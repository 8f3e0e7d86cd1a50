package images

import _ "embed"

// builtin is the pause image archive for this GOARCH, built by image-build
// (make images-arm) and copied beside this file by the Makefile.
//
//go:embed assets/pause-arm.tar
var builtin []byte
