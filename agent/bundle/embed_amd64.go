package bundle

import _ "embed"

// archive is the runtime bundle for this GOARCH, built by
// scripts/bundle/build.sh amd64 (make bundle-amd64).
//
//go:embed assets/runtime-amd64.tar.zst
var archive []byte
