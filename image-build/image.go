package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the only timestamp written anywhere in an image, so that the same
// inputs always give the same digests.
var epoch = time.Unix(0, 0).UTC()

// entry is one path in an image's single layer.
type entry struct {
	Path string // relative to the root, no leading slash
	Type byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	Mode int64  // permission bits, including sticky (01000)
	Data []byte // file contents
	Link string // symlink target
}

func dir(p string, mode int64) entry { return entry{Path: p, Type: tar.TypeDir, Mode: mode} }

func file(p string, mode int64, data []byte) entry {
	return entry{Path: p, Type: tar.TypeReg, Mode: mode, Data: data}
}

func symlink(p, target string) entry {
	return entry{Path: p, Type: tar.TypeSymlink, Mode: 0o777, Link: target}
}

// spec describes an image independently of its architecture.
type spec struct {
	Ref        name.Tag
	Entries    []entry
	Entrypoint []string
	Cmd        []string
	Env        []string
	User       string
	CreatedBy  string // recorded in the history so `ctr`/`crictl inspect` say where it came from
}

// layerTar renders entries as an uncompressed tar. Entries are sorted so a
// parent directory always precedes its children and the byte stream does not
// depend on the order a caller listed them in; owners and times are fixed
// for reproducibility.
func layerTar(entries []entry) ([]byte, error) {
	sorted := append([]entry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, e := range sorted {
		if i > 0 && sorted[i-1].Path == e.Path {
			return nil, fmt.Errorf("duplicate layer entry %q", e.Path)
		}
		if err := writeEntry(tw, e); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeEntry(tw *tar.Writer, e entry) error {
	if e.Path == "" || path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path {
		return fmt.Errorf("layer path %q must be relative and clean", e.Path)
	}
	hdr := &tar.Header{
		Typeflag: e.Type,
		Name:     e.Path,
		Linkname: e.Link,
		Mode:     e.Mode,
		ModTime:  epoch,
		Format:   tar.FormatPAX,
	}
	switch e.Type {
	case tar.TypeDir:
		hdr.Name += "/"
	case tar.TypeReg:
		hdr.Size = int64(len(e.Data))
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("layer entry %q: %w", e.Path, err)
	}
	_, err := tw.Write(e.Data)
	return err
}

// buildImage assembles a one-layer image for target t from scratch. The
// layer stays uncompressed, as in `docker save`, in the image and its
// docker archive; the OCI layout of all images compresses it with zstd.
// The config's diff ID is of the uncompressed tar, so it fits both.
func buildImage(s spec, t target) (v1.Image, error) {
	raw, err := layerTar(s.Entries)
	if err != nil {
		return nil, err
	}
	layer := static.NewLayer(raw, types.DockerUncompressedLayer)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	return mutate.ConfigFile(img, configure(cf.DeepCopy(), s, t))
}

// configure fills in the parts of the config a runtime acts on. The rootfs
// diff IDs are already set by AppendLayers and are kept.
func configure(cf *v1.ConfigFile, s spec, t target) *v1.ConfigFile {
	cf.Architecture = t.Arch
	cf.Variant = t.Variant
	cf.OS = "linux"
	cf.Created = v1.Time{Time: epoch}
	cf.Config = v1.Config{
		Entrypoint: s.Entrypoint,
		Cmd:        s.Cmd,
		Env:        s.Env,
		User:       s.User,
	}
	cf.History = []v1.History{{Created: v1.Time{Time: epoch}, CreatedBy: s.CreatedBy}}
	return cf
}
