package manifests

import (
	_ "embed"
	"fmt"
	"strings"
)

// Images are the image references the templates use.
type Images struct {
	CoreDNS       string
	Traefik       string
	LocalPath     string
	MetricsServer string
	// Busybox runs local-path's helper pods that create and remove
	// volume directories.
	Busybox string
}

// imageList is the one list of the system images' references, which
// image-build also reads to tag the images it builds.
//
//go:embed images.txt
var imageList string

// imageRefs is imageList by image name. A malformed list fails every test
// of this package, so it never reaches a binary.
var imageRefs = func() map[string]string {
	refs, err := parseImageList(imageList)
	if err != nil {
		panic("manifests/images.txt: " + err.Error())
	}
	return refs
}()

// Image returns the reference of the system image called name in
// images.txt ("pause", "busybox", "coredns", ...), or "" if none is.
func Image(name string) string { return imageRefs[name] }

// DefaultImages are the references of the system images kedge embeds, as
// images.txt lists them.
func DefaultImages() Images {
	return Images{
		CoreDNS:       Image("coredns"),
		Traefik:       Image("traefik"),
		LocalPath:     Image("local-path-provisioner"),
		MetricsServer: Image("metrics-server"),
		Busybox:       Image("busybox"),
	}
}

// parseImageList reads "NAME REFERENCE" lines; blank lines and lines
// starting with # are skipped.
func parseImageList(s string) (map[string]string, error) {
	refs := map[string]string{}
	for i, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want NAME REFERENCE, got %q", i+1, line)
		}
		if _, dup := refs[f[0]]; dup {
			return nil, fmt.Errorf("line %d: %s is listed twice", i+1, f[0])
		}
		refs[f[0]] = f[1]
	}
	return refs, nil
}
