//go:build !embedimages

package images

// embedded is empty without -tags embedimages: such a kedge (make build
// EMBED_IMAGES=0, the test builds for arm) imports the pause image and the
// images dir only.
var embedded []byte
