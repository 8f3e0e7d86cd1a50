package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/zstd"
)

// maxConfig bounds what is read whole as JSON: configs, manifests and the
// index are a few KiB.
const maxConfig = 1 << 20

// elfFile is what verify learns from one executable or library in a layer.
type elfFile struct {
	Path    string
	Machine elf.Machine
	Class   elf.Class
	GoArch  string // empty for a non-Go binary
	GoArm   string
}

// member is what verify keeps of one archive member, read once.
type member struct {
	digest v1.Hash // of its bytes
	size   int64
	json   []byte    // a small JSON document: a manifest, index or config
	elves  []elfFile // otherwise a layer's ELF files
	err    error     // why the layer could not be read
}

// archiveContents is an archive read in one pass, by member name: a docker
// archive's manifest.json and an OCI layout's manifests come after the
// blobs they list, so every member is kept until the end.
type archiveContents map[string]*member

// archivedImage is one image of an archive: its reference and the members
// holding its config and layers.
type archivedImage struct {
	ref      string
	platform *v1.Platform // what an OCI index says; nil for a docker archive
	config   string
	layers   []string
	problems []string // found while locating the members; nothing else is checked then
}

// verifyArchive checks that every image of the archive at path (a docker
// archive, or the tar of an OCI image layout) is for t, by its config (os,
// architecture, variant) and by every ELF file in its layers, so that
// neither a mislabelled config nor a binary compiled for the wrong machine
// reaches a node. In an OCI layout it also checks each image is named and
// its blobs are the ones its descriptors give. It returns the refs it
// checked.
func verifyArchive(path string, t target) ([]string, error) {
	c, err := readArchive(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	imgs, err := c.images()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("%s: no images", path)
	}
	var refs, problems []string
	for _, img := range imgs {
		for _, p := range c.checkImage(img, t) {
			problems = append(problems, img.ref+": "+p)
		}
		refs = append(refs, img.ref)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: not all linux/%s:\n  %s", path, platformOf(t), strings.Join(problems, "\n  "))
	}
	return refs, nil
}

// images lists the archive's images, from index.json in an OCI layout,
// else from a docker archive's manifest.json.
func (c archiveContents) images() ([]archivedImage, error) {
	if c["oci-layout"] != nil || c["index.json"] != nil {
		return c.ociImages()
	}
	mf := c["manifest.json"]
	if mf == nil || mf.json == nil {
		return nil, errors.New("neither an OCI layout (oci-layout, index.json) nor a docker archive (manifest.json)")
	}
	var m tarball.Manifest
	if err := json.Unmarshal(mf.json, &m); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	var imgs []archivedImage
	for _, d := range m {
		imgs = append(imgs, archivedImage{ref: strings.Join(d.RepoTags, ","), config: d.Config, layers: d.Layers})
	}
	return imgs, nil
}

func (c archiveContents) ociImages() ([]archivedImage, error) {
	layout, ix := c["oci-layout"], c["index.json"]
	if layout == nil || ix == nil || ix.json == nil {
		return nil, errors.New("an OCI layout needs both oci-layout and index.json")
	}
	if !bytes.Equal(layout.json, ociLayout) {
		return nil, fmt.Errorf("oci-layout is %q, want %s", layout.json, ociLayout)
	}
	var index v1.IndexManifest
	if err := json.Unmarshal(ix.json, &index); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	var imgs []archivedImage
	for i, d := range index.Manifests {
		imgs = append(imgs, c.ociImage(i, d))
	}
	return imgs, nil
}

// ociImage follows the i-th entry of index.json to its manifest, config
// and layers.
func (c archiveContents) ociImage(i int, d v1.Descriptor) archivedImage {
	img := archivedImage{ref: d.Annotations[refNameAnnotation], platform: d.Platform}
	if img.ref == "" {
		// kedge's registry could not serve it under any name.
		img.ref = fmt.Sprintf("index.json manifests[%d] %s", i, d.Digest)
		img.problems = append(img.problems, "no "+refNameAnnotation+" annotation")
	}
	if d.Platform == nil {
		img.problems = append(img.problems, "no platform in index.json")
	}
	mf, p := c.blob("manifest", d)
	if p != "" {
		img.problems = append(img.problems, p)
		return img
	}
	var m v1.Manifest
	if err := json.Unmarshal(mf.json, &m); err != nil {
		img.problems = append(img.problems, fmt.Sprintf("manifest %s: %v", d.Digest, err))
		return img
	}
	img.config = blobPath(m.Config.Digest)
	if _, p := c.blob("config", m.Config); p != "" {
		img.problems = append(img.problems, p)
	}
	for _, l := range m.Layers {
		img.layers = append(img.layers, blobPath(l.Digest))
		if _, p := c.blob("layer", l); p != "" {
			img.problems = append(img.problems, p)
		}
	}
	return img
}

// blob finds the member d describes and checks it is what d says: a
// registry serving it as it is must hand out what its clients verify.
// It returns a problem or "".
func (c archiveContents) blob(kind string, d v1.Descriptor) (*member, string) {
	m := c[blobPath(d.Digest)]
	switch {
	case d.Digest.Algorithm != "sha256":
		return nil, fmt.Sprintf("%s %s: not sha256", kind, d.Digest)
	case m == nil:
		return nil, fmt.Sprintf("%s %s missing", kind, d.Digest)
	case m.digest != d.Digest:
		return nil, fmt.Sprintf("%s %s: content has digest %s", kind, d.Digest, m.digest)
	case m.size != d.Size:
		return nil, fmt.Sprintf("%s %s: %d bytes, descriptor says %d", kind, d.Digest, m.size, d.Size)
	case kind != "layer" && m.json == nil:
		return nil, fmt.Sprintf("%s %s: not JSON", kind, d.Digest)
	}
	return m, ""
}

func platformOf(t target) string {
	if t.Variant != "" {
		return t.Arch + "/" + t.Variant
	}
	return t.Arch
}

func (c archiveContents) checkImage(img archivedImage, t target) []string {
	if len(img.problems) > 0 {
		return img.problems
	}
	cfg := c[img.config]
	if cfg == nil || cfg.json == nil {
		return []string{"config " + img.config + " missing"}
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(cfg.json, &cf); err != nil {
		return []string{fmt.Sprintf("config %s: %v", img.config, err)}
	}
	var problems []string
	if cf.OS != "linux" || cf.Architecture != t.Arch || cf.Variant != t.Variant {
		problems = append(problems, fmt.Sprintf("config says %s/%s/%s", cf.OS, cf.Architecture, cf.Variant))
	}
	if p := img.platform; p != nil && (p.OS != "linux" || p.Architecture != t.Arch || p.Variant != t.Variant) {
		problems = append(problems, fmt.Sprintf("index.json says %s/%s/%s", p.OS, p.Architecture, p.Variant))
	}
	elves := 0
	for _, l := range img.layers {
		m := c[l]
		switch {
		case m == nil:
			problems = append(problems, "layer "+l+" missing")
			continue
		case m.err != nil:
			problems = append(problems, fmt.Sprintf("layer %s: %v", l, m.err))
		}
		for _, f := range m.elves {
			elves++
			if p := checkELF(f, t); p != "" {
				problems = append(problems, p)
			}
		}
	}
	// An image with no executable would make the check above say nothing.
	if elves == 0 {
		problems = append(problems, "no ELF file in its layers")
	}
	return problems
}

func checkELF(f elfFile, t target) string {
	if f.Machine != t.Machine || f.Class != t.Class {
		return fmt.Sprintf("/%s is %s %s", f.Path, f.Class, f.Machine)
	}
	if f.GoArch != "" && f.GoArch != t.Arch {
		return fmt.Sprintf("/%s was built with GOARCH=%s", f.Path, f.GoArch)
	}
	if t.Variant == "v7" && f.GoArch != "" && !strings.HasPrefix(f.GoArm, "7") {
		return fmt.Sprintf("/%s was built with GOARM=%s, want 7", f.Path, f.GoArm)
	}
	return ""
}

func readArchive(path string) (archiveContents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := archiveContents{}
	tr := tar.NewReader(bufio.NewReader(f))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		m, err := readMember(h, tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		c[h.Name] = m
	}
}

// readMember hashes one member and keeps it whole if it is a small JSON
// document (a manifest, index or config), else lists its ELF files as a
// layer's. A layer that cannot be read is the image's problem, not the
// archive's: the other images are still checked.
func readMember(h *tar.Header, r io.Reader) (*member, error) {
	sum := sha256.New()
	br := bufio.NewReader(io.TeeReader(r, sum))
	m := &member{size: h.Size}
	var err error
	if head, _ := br.Peek(1); h.Size <= maxConfig && (h.Name == "manifest.json" || bytes.Equal(head, []byte("{"))) {
		m.json, err = io.ReadAll(br)
	} else {
		m.elves, m.err = layerELFs(br)
	}
	// Read what the layer's reader left (tar padding, a frame's checksum):
	// the digest is of the whole member.
	if err == nil {
		_, err = io.Copy(io.Discard, br)
	}
	m.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum.Sum(nil))}
	return m, err
}

// zstdMagic begins every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// layerELFs lists the ELF files of a layer: uncompressed, gzip or zstd.
func layerELFs(r *bufio.Reader) ([]elfFile, error) {
	var lr io.Reader = r
	magic, _ := r.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
		lr = z
	case bytes.Equal(magic, zstdMagic):
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		defer z.Close()
		lr = z
	}
	var files []elfFile
	tr := tar.NewReader(lr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		br := bufio.NewReader(tr)
		if magic, _ := br.Peek(4); !bytes.Equal(magic, []byte(elf.ELFMAG)) {
			continue
		}
		f, err := readELF(h.Name, br)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
}

// readELF reads the whole file: the Go build info sits at no fixed offset.
func readELF(path string, r io.Reader) (elfFile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return elfFile{}, err
	}
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return elfFile{}, fmt.Errorf("%s: %w", path, err)
	}
	f := elfFile{Path: strings.TrimPrefix(path, "./"), Machine: ef.Machine, Class: ef.Class}
	if bi, err := buildinfo.Read(bytes.NewReader(data)); err == nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "GOARCH":
				f.GoArch = s.Value
			case "GOARM":
				f.GoArm = s.Value
			}
		}
	}
	return f, nil
}
