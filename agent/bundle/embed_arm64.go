package bundle

import _ "embed"

// archive is the runtime bundle for this GOARCH, built by
// scripts/bundle/build.sh arm64 (make bundle-arm64).
//
//go:embed assets/runtime-arm64.tar.zst
var archive []byte
