package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// imageList is the reference of every image by name, read from the list
// kedge embeds (manifests/images.txt), the one place the tags are written.
// pause is tagged from it; every other image's tag follows the version
// built, and buildArch fails when that is not the one listed.
type imageList map[string]name.Tag

// readImageList reads "NAME REFERENCE" lines (blank lines and # comments
// skipped). It must list every image this program builds, and no other.
func readImageList(path string) (imageList, error) {
	if path == "" {
		return nil, fmt.Errorf("no --image-list (kedge's manifests/images.txt)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("image list: %w", err)
	}
	l := imageList{}
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		at := fmt.Sprintf("%s:%d", path, i+1)
		if len(f) != 2 {
			return nil, fmt.Errorf("%s: want NAME REFERENCE, got %q", at, line)
		}
		if !slices.Contains(imageNames(), f[0]) {
			return nil, fmt.Errorf("%s: unknown image %q (want %s)", at, f[0], strings.Join(imageNames(), ", "))
		}
		if _, dup := l[f[0]]; dup {
			return nil, fmt.Errorf("%s: %s is listed twice", at, f[0])
		}
		// Strict: a reference without a tag (:latest) is an error.
		ref, err := name.NewTag(f[1], name.StrictValidation)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", at, err)
		}
		l[f[0]] = ref
	}
	for _, n := range imageNames() {
		if _, ok := l[n]; !ok {
			return nil, fmt.Errorf("%s does not list image %s", path, n)
		}
	}
	return l, nil
}

// check fails unless the image built as n is the one the list names.
func (l imageList) check(path, n string, built name.Tag) error {
	if want := l[n]; built.Name() != want.Name() {
		return fmt.Errorf("built %s, but %s lists %s: move the version and the list together", built, path, want)
	}
	return nil
}
