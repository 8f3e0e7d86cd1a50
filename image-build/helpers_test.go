package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// layerFile is one tar entry of an image layer, as a runtime would see it.
type layerFile struct {
	Hdr  *tar.Header
	Data []byte
}

// readBack loads ref from a docker archive the way a consumer would, so
// tests check what was written rather than what was built in memory.
func readBack(t *testing.T, path string, ref name.Tag) v1.Image {
	t.Helper()
	img, err := tarball.ImageFromPath(path, &ref)
	if err != nil {
		t.Fatalf("read %s from %s: %v", ref, path, err)
	}
	return img
}

func mustConfig(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// layerFiles returns the entries of the image's only layer by path.
func layerFiles(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer, got %d (%v)", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]layerFile{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Clean(hdr.Name)] = layerFile{Hdr: hdr, Data: data}
	}
}

// fakeDeb packs a busybox-static-shaped .deb whose "busybox" is a shell
// script, so the deb path can be tested offline without Debian's package.
func fakeDeb(t *testing.T, version, busybox string) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	root := t.TempDir()
	write := func(p string, mode os.FileMode, data string) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("DEBIAN/control", 0o644, "Package: busybox-static\nVersion: "+version+
		"\nArchitecture: amd64\nMaintainer: test <t@example.invalid>\nDescription: test\n")
	write("bin/busybox", 0o755, busybox)
	write("usr/share/doc/busybox-static/copyright", 0o644, "GPL-2\n")
	deb := filepath.Join(t.TempDir(), "busybox-static.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v\n%s", err, out)
	}
	return deb
}

// fakeBusybox prints the given applet list for --list, like the real one.
func fakeBusybox(applets []string) string {
	var b bytes.Buffer
	b.WriteString("#!/bin/sh\ncat <<'EOF'\n")
	for _, a := range applets {
		b.WriteString(a + "\n")
	}
	b.WriteString("EOF\n")
	return b.String()
}
