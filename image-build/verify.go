package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"debug/elf"
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

// maxConfig bounds what is read as an image config; configs are a few KiB.
const maxConfig = 1 << 20

// elfFile is what verify learns from one executable or library in a layer.
type elfFile struct {
	Path    string
	Machine elf.Machine
	Class   elf.Class
	GoArch  string // empty for a non-Go binary
	GoArm   string
}

// archiveContents is a docker archive read in one pass: manifest.json comes
// last, so configs and layer findings are kept by member name until then.
type archiveContents struct {
	manifest tarball.Manifest
	configs  map[string][]byte
	layers   map[string][]elfFile
}

// verifyArchive checks that every image of the docker archive at path (.tar
// or .tar.zst) is for t, by its config (os, architecture, variant) and by
// every ELF file in its layers, so that neither a mislabelled config nor a
// binary compiled for the wrong machine reaches a node. It returns the refs
// it checked.
func verifyArchive(path string, t target) ([]string, error) {
	c, err := readArchive(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.manifest) == 0 {
		return nil, fmt.Errorf("%s: no images", path)
	}
	var refs, problems []string
	for _, d := range c.manifest {
		ref := strings.Join(d.RepoTags, ",")
		for _, p := range c.checkImage(d, t) {
			problems = append(problems, ref+": "+p)
		}
		refs = append(refs, ref)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: not all linux/%s:\n  %s", path, platformOf(t), strings.Join(problems, "\n  "))
	}
	return refs, nil
}

func platformOf(t target) string {
	if t.Variant != "" {
		return t.Arch + "/" + t.Variant
	}
	return t.Arch
}

func (c *archiveContents) checkImage(d tarball.Descriptor, t target) []string {
	raw, ok := c.configs[d.Config]
	if !ok {
		return []string{"config " + d.Config + " missing"}
	}
	var cf v1.ConfigFile
	if err := json.Unmarshal(raw, &cf); err != nil {
		return []string{fmt.Sprintf("config %s: %v", d.Config, err)}
	}
	var problems []string
	if cf.OS != "linux" || cf.Architecture != t.Arch || cf.Variant != t.Variant {
		problems = append(problems, fmt.Sprintf("config says %s/%s/%s", cf.OS, cf.Architecture, cf.Variant))
	}
	elves := 0
	for _, l := range d.Layers {
		files, ok := c.layers[l]
		if !ok {
			problems = append(problems, "layer "+l+" missing")
		}
		for _, f := range files {
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

func readArchive(path string) (*archiveContents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".zst") {
		d, err := zstd.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		r = d
	}
	c := &archiveContents{configs: map[string][]byte{}, layers: map[string][]elfFile{}}
	tr := tar.NewReader(r)
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
		if err := c.add(h, tr); err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// add sorts one archive member: the manifest, a config (JSON), or a layer.
func (c *archiveContents) add(h *tar.Header, r io.Reader) error {
	br := bufio.NewReader(r)
	head, _ := br.Peek(1)
	switch {
	case h.Name == "manifest.json":
		return json.NewDecoder(br).Decode(&c.manifest)
	case h.Size <= maxConfig && bytes.Equal(head, []byte("{")):
		b, err := io.ReadAll(br)
		c.configs[h.Name] = b
		return err
	}
	files, err := layerELFs(br)
	c.layers[h.Name] = files
	return err
}

// layerELFs lists the ELF files of a layer, gzip-compressed or not.
func layerELFs(r *bufio.Reader) ([]elfFile, error) {
	var lr io.Reader = r
	if magic, _ := r.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, err
		}
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
