package manifests

import (
	"strings"
	"testing"
)

// images.txt names every image image-build builds, and only those; its
// tags are what the embedded archives hold, never a moving :latest.
func TestImageList(t *testing.T) {
	names := []string{"pause", "busybox", "coredns", "traefik", "local-path-provisioner", "metrics-server"}
	if len(imageRefs) != len(names) {
		t.Errorf("images.txt lists %d images, want %d: %v", len(imageRefs), len(names), imageRefs)
	}
	for _, n := range names {
		ref := Image(n)
		repo, tag, ok := strings.Cut(ref, ":")
		if !ok || repo != "kedge.local/"+n || tag == "" || tag == "latest" {
			t.Errorf("%s: reference %q, want kedge.local/%s:<version>", n, ref, n)
		}
	}
	im := DefaultImages()
	for field, ref := range map[string]string{"CoreDNS": im.CoreDNS, "Traefik": im.Traefik,
		"LocalPath": im.LocalPath, "MetricsServer": im.MetricsServer, "Busybox": im.Busybox} {
		if ref == "" {
			t.Errorf("DefaultImages().%s is empty", field)
		}
	}
}

func TestParseImageListRejects(t *testing.T) {
	for name, list := range map[string]string{
		"one field":    "pause\n",
		"three":        "pause kedge.local/pause:3.10 extra\n",
		"listed twice": "pause a:1\n# comment\npause b:2\n",
	} {
		if _, err := parseImageList(list); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	refs, err := parseImageList("# c\n\n  pause   kedge.local/pause:3.10  \n")
	if err != nil || len(refs) != 1 || refs["pause"] != "kedge.local/pause:3.10" {
		t.Errorf("refs = %v, %v", refs, err)
	}
}
