//go:build embedimages

package images

import _ "embed"

// embedded is every system image for this GOARCH as one zstd docker
// archive, built by image-build (make images-arm64) and copied beside this
// file by the Makefile.
//
//go:embed assets/kedge-images-arm64.tar.zst
var embedded []byte
