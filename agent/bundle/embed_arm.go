package bundle

import _ "embed"

// archive is the runtime bundle for this GOARCH, built by
// scripts/bundle/build.sh arm (make bundle-arm).
//
//go:embed assets/runtime-arm.tar.zst
var archive []byte
