//go:build embedimages

package imageserver

import _ "embed"

// embedded is every system image for this GOARCH as an uncompressed tar of
// an OCI layout with zstd layers, built by image-build (make images-arm64)
// and copied beside this file by the Makefile.
//
//go:embed assets/kedge-images-arm64.tar
var embedded []byte
