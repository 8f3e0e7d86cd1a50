package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestCombinedArchiveHoldsEveryImage(t *testing.T) {
	p := testPauseSpec([]byte("pause"))
	b, err := busyboxSpec([]byte("busybox"), nil, "1.35.0")
	if err != nil {
		t.Fatal(err)
	}
	var all []tagged
	for _, s := range []spec{b, p} {
		img, err := buildImage(s, targets["arm"])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tagged{s.Ref, img})
	}
	path := filepath.Join(t.TempDir(), "kedge-images-arm.tar")
	if err := writeArchive(path, all); err != nil {
		t.Fatal(err)
	}
	for _, want := range all {
		// The image ID: a reader rebuilds the manifest of a docker archive
		// (ggcr's gzips uncompressed layers), so only the config survives.
		got := readBack(t, path, want.Ref)
		if mustID(t, got) != mustID(t, want.Img) {
			t.Errorf("%s: config changed through the archive", want.Ref)
		}
	}
	m := archiveManifest(t, path)
	var tags []string
	for _, d := range m {
		tags = append(tags, d.RepoTags...)
	}
	if !slices.Equal(tags, []string{"kedge.local/busybox:1.35.0", "kedge.local/pause:3.10"}) {
		t.Errorf("RepoTags = %q", tags)
	}
	for _, tag := range tags {
		if strings.HasSuffix(tag, ":latest") {
			t.Errorf("%s: images are never tagged latest", tag)
		}
	}
}

// The archive is a docker-archive: blobs plus manifest.json, written with
// fixed metadata, each blob once.
func TestArchiveMembers(t *testing.T) {
	s := testPauseSpec([]byte("pause"))
	img, err := buildImage(s, targets["amd64"])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.tar")
	// The same image under one tag twice must not duplicate its blobs.
	if err := writeArchive(path, []tagged{{s.Ref, img}, {s.Ref, img}}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(epoch) || h.Uid != 0 {
			t.Errorf("%s: mtime %v uid %d", h.Name, h.ModTime, h.Uid)
		}
		names = append(names, h.Name)
	}
	if len(names) != 3 || names[2] != "manifest.json" || !strings.HasPrefix(names[0], "sha256:") || !strings.HasSuffix(names[1], ".tar") {
		t.Errorf("members = %q, want config, layer, manifest.json", names)
	}
}

func TestWriteArchiveLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.tar")
	if err := writeArchive(path, nil); err == nil {
		t.Fatal("empty image set: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed write left %d files behind", len(entries))
	}
}

func archiveManifest(t *testing.T, path string) tarball.Manifest {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("manifest.json not found: %v", err)
		}
		if h.Name == "manifest.json" {
			var m tarball.Manifest
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
}
