package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tagged is an image and the one tag it is saved under.
type tagged struct {
	Ref name.Tag
	Img v1.Image
}

// writeArchive saves images as a docker-archive (manifest.json plus config
// and layer blobs), the format `ctr images import` and `docker load` read.
//
// It is tarball.MultiRefWrite's format and file names, taken from
// tarball.ComputeManifest, but written in manifest order: MultiRefWrite
// ranges over a map, so its multi-image archives differ byte for byte from
// run to run, and a reproducible archive is what lets make, caches and the
// binary that embeds it stay stable.
func writeArchive(path string, images []tagged) error {
	return writeFileAtomic(path, func(f *os.File) error {
		w := bufio.NewWriter(f)
		if err := archiveTo(w, images); err != nil {
			return err
		}
		return w.Flush()
	})
}

// writeFileAtomic creates path through a temporary file that fill writes,
// renamed into place only when complete, so make never sees a partial
// archive as up to date.
func writeFileAtomic(path string, fill func(*os.File) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".archive-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := fill(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	// CreateTemp makes the file 0600; the archive is for everyone to read.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func archiveTo(w io.Writer, images []tagged) error {
	refs := make(map[name.Reference]v1.Image, len(images))
	byConfig := map[string]v1.Image{}
	for _, t := range images {
		refs[t.Ref] = t.Img
		cn, err := t.Img.ConfigName()
		if err != nil {
			return err
		}
		byConfig[cn.String()] = t.Img
	}
	m, err := tarball.ComputeManifest(refs)
	if err != nil {
		return err
	}
	for _, d := range m {
		// Tags of one image come from a map; order them too.
		sort.Strings(d.RepoTags)
	}
	tw := tar.NewWriter(w)
	seen := map[string]bool{}
	for _, d := range m {
		if err := writeBlobs(tw, d, byConfig[d.Config], seen); err != nil {
			return err
		}
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeMember(tw, "manifest.json", bytes.NewReader(mj), int64(len(mj))); err != nil {
		return err
	}
	return tw.Close()
}

// writeBlobs writes one image's config and layers under the names the
// manifest gives them, once each: images of an archive may share layers.
func writeBlobs(tw *tar.Writer, d tarball.Descriptor, img v1.Image, seen map[string]bool) error {
	if img == nil {
		return fmt.Errorf("no image for config %s", d.Config)
	}
	if !seen[d.Config] {
		seen[d.Config] = true
		cfg, err := img.RawConfigFile()
		if err != nil {
			return err
		}
		if err := writeMember(tw, d.Config, bytes.NewReader(cfg), int64(len(cfg))); err != nil {
			return err
		}
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != len(d.Layers) {
		return fmt.Errorf("manifest lists %d layers, image has %d", len(d.Layers), len(layers))
	}
	for i, l := range layers {
		if seen[d.Layers[i]] {
			continue
		}
		seen[d.Layers[i]] = true
		if err := writeLayer(tw, d.Layers[i], l); err != nil {
			return err
		}
	}
	return nil
}

func writeLayer(tw *tar.Writer, member string, l v1.Layer) error {
	size, err := l.Size()
	if err != nil {
		return err
	}
	r, err := l.Compressed()
	if err != nil {
		return err
	}
	defer r.Close()
	return writeMember(tw, member, r, size)
}

// writeMember writes a regular file, root-owned at the epoch. USTAR, never
// PAX: kedge's registry finds a blob's data 512 bytes after its header.
func writeMember(tw *tar.Writer, member string, r io.Reader, size int64) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: member, Mode: 0o644, Size: size, ModTime: epoch, Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, r)
	if err == nil && n != size {
		err = fmt.Errorf("%s: wrote %d bytes, want %d", member, n, size)
	}
	return err
}
