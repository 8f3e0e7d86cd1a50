package images

import _ "embed"

// builtin is the pause image archive for this GOARCH, built by image-build
// (make images-amd64) and copied beside this file by the Makefile.
//
//go:embed assets/pause-amd64.tar
var builtin []byte
