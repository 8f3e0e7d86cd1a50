//go:build !embedimages

package imageserver

// embedded is empty without -tags embedimages: such a kedge (make build
// EMBED_IMAGES=0, the test builds for arm) serves nothing, and its
// kedge.local images come from the images dir.
var embedded []byte
