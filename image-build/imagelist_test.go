package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// writeList writes an image list that is kedge's with the lines of
// replace swapped in by name.
func writeList(t *testing.T, replace map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(testImageListPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, line := range lines {
		if f := strings.Fields(line); len(f) > 0 {
			if r, ok := replace[f[0]]; ok {
				lines[i] = r
			}
		}
	}
	path := filepath.Join(t.TempDir(), "images.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// kedge's list names every image this program builds, with a version tag.
func TestImageListCoversEveryImage(t *testing.T) {
	for _, n := range imageNames() {
		ref, ok := testImages[n]
		if !ok {
			t.Errorf("%s: not listed", n)
			continue
		}
		if ref.RepositoryStr() != n || ref.RegistryStr() != "kedge.local" || ref.TagStr() == "latest" {
			t.Errorf("%s: listed as %s", n, ref)
		}
	}
}

func TestReadImageListRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		replace map[string]string
		want    string
	}{
		"missing image": {map[string]string{"traefik": ""}, "does not list image traefik"},
		"unknown image": {map[string]string{"traefik": "traefik kedge.local/traefik:3.6.12\nkube kedge.local/kube:1"}, `unknown image "kube"`},
		"listed twice":  {map[string]string{"traefik": "traefik kedge.local/traefik:3.6.12\ntraefik kedge.local/traefik:3.6.13"}, "listed twice"},
		"no tag":        {map[string]string{"traefik": "traefik kedge.local/traefik"}, "images.txt:"},
		"three fields":  {map[string]string{"traefik": "traefik kedge.local/traefik:3.6.12 x"}, "want NAME REFERENCE"},
		"bad reference": {map[string]string{"traefik": "traefik kedge.local/Traefik:3.6.12"}, "images.txt:"},
	} {
		if _, err := readImageList(writeList(t, tc.replace)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	if _, err := readImageList(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing list accepted")
	}
	if _, err := readImageList(""); err == nil {
		t.Error("no list accepted")
	}
}

// A program built at another version than the list names is an error,
// also when the archives on disk are current: the list is an input.
func TestRunFailsWhenTheListDisagrees(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the fake program is run as an amd64 host program")
	}
	progs := t.TempDir()
	fakeProgram(t, progs, "local-path-provisioner", testImages["local-path-provisioner"].TagStr())
	o := options{arches: "amd64", images: "local-path-provisioner", out: t.TempDir(), cache: t.TempDir(),
		programs: progs, smoke: true, zstdLevel: 3, imageList: testImageListPath}
	if err := run(context.Background(), o, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	o.imageList = writeList(t, map[string]string{
		"local-path-provisioner": "local-path-provisioner kedge.local/local-path-provisioner:0.0.31"})
	err := run(context.Background(), o, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "lists kedge.local/local-path-provisioner:0.0.31") {
		t.Errorf("err = %v, want the listed version named", err)
	}
}
