package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// ociTestImages are busybox and pause for arm (the platform with a
// variant), then pause again under another tag, which shares every blob.
func ociTestImages(t *testing.T) []tagged {
	t.Helper()
	b, err := busyboxSpec([]byte("busybox"), nil, "1.35.0")
	if err != nil {
		t.Fatal(err)
	}
	var all []tagged
	for _, s := range []spec{b, testPauseSpec([]byte("pause"))} {
		img, err := buildImage(s, targets["arm"])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tagged{s.Ref, img})
	}
	return append(all, tagged{mustTag("kedge.local/pause:again"), all[1].Img})
}

func writeTestLayout(t *testing.T, images []tagged) string {
	t.Helper()
	needZstd(t)
	path := filepath.Join(t.TempDir(), "kedge-images-arm.tar")
	if err := writeOCIArchive(path, images, 3); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOCIArchiveIsDeterministic(t *testing.T) {
	images := ociTestImages(t)
	a, err := os.ReadFile(writeTestLayout(t, images))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(writeTestLayout(t, images))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two writes of the same images differ")
	}
}

// Members: oci-layout, index.json, then per image its config, layers and
// manifest, each blob once, all with fixed USTAR headers.
func TestOCIArchiveMembers(t *testing.T) {
	path := writeTestLayout(t, ociTestImages(t))
	members := readTar(t, path)
	index, blobs := layoutOf(t, members)
	want := []string{"oci-layout", "index.json"}
	for _, d := range index.Manifests[:2] { // the third shares the second's blobs
		m := manifestOf(t, blobs, d)
		want = append(want, blobPath(m.Config.Digest))
		for _, l := range m.Layers {
			want = append(want, blobPath(l.Digest))
		}
		want = append(want, blobPath(d.Digest))
	}
	var names []string
	for _, m := range members {
		h := m.Hdr
		names = append(names, h.Name)
		if h.Typeflag != tar.TypeReg || h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
			!h.ModTime.Equal(epoch) || len(h.PAXRecords) != 0 {
			t.Errorf("%s: header %+v", h.Name, h)
		}
	}
	if !slices.Equal(names, want) {
		t.Errorf("members = %q\nwant %q", names, want)
	}
	if string(members[0].Data) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %s", members[0].Data)
	}
	checkUSTAR(t, path, members)
}

// checkUSTAR walks the file as kedge's registry does, by USTAR headers
// alone, and finds every member's data 512 bytes after its header.
func checkUSTAR(t *testing.T, path string, members []tarMember) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for _, m := range members {
		hdr := raw[off : off+512]
		name := string(bytes.TrimRight(hdr[0:100], "\x00"))
		size, err := strconv.ParseInt(strings.TrimRight(string(hdr[124:136]), "\x00 "), 8, 64)
		if err != nil || name != m.Hdr.Name || string(hdr[257:265]) != "ustar\x0000" {
			t.Fatalf("at %d: name %q, size %v, magic %q: not a plain USTAR header of %s", off, name, err, hdr[257:265], m.Hdr.Name)
		}
		if data := raw[off+512 : off+512+int(size)]; !bytes.Equal(data, m.Data) {
			t.Fatalf("%s: data not found 512 bytes after its header", name)
		}
		off += 512 + int(size+511)/512*512
	}
}

// The index names every image by its full reference and platform; each
// manifest lists the config unchanged and zstd layers that decompress to
// the image's own, with digests of the bytes written.
func TestOCIArchiveBlobs(t *testing.T) {
	images := ociTestImages(t)
	index, blobs := layoutOf(t, readTar(t, writeTestLayout(t, images)))
	for h, data := range blobs {
		if got, _, _ := v1.SHA256(bytes.NewReader(data)); got != h {
			t.Errorf("blob %s has digest %s", h, got)
		}
	}
	if index.SchemaVersion != 2 || index.MediaType != types.OCIImageIndex || len(index.Manifests) != len(images) {
		t.Fatalf("index = %+v", index)
	}
	for i, d := range index.Manifests {
		ref := images[i].Ref.String()
		if got := d.Annotations[refNameAnnotation]; got != ref {
			t.Errorf("manifests[%d] is named %q, want %q", i, got, ref)
		}
		if d.MediaType != types.OCIManifestSchema1 || d.Platform == nil || d.Platform.String() != "linux/arm/v7" {
			t.Errorf("%s: descriptor %+v, platform %v", ref, d, d.Platform)
		}
		checkDescribed(t, ref, blobs, d)
		checkOCIImage(t, ref, blobs, manifestOf(t, blobs, d), images[i].Img)
	}
}

func checkOCIImage(t *testing.T, ref string, blobs map[v1.Hash][]byte, m v1.Manifest, img v1.Image) {
	t.Helper()
	if m.SchemaVersion != 2 || m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("%s: manifest %+v", ref, m)
	}
	checkDescribed(t, ref, blobs, m.Config)
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blobs[m.Config.Digest], raw) {
		t.Errorf("%s: config changed", ref)
	}
	diffIDs := mustConfig(t, img).RootFS.DiffIDs
	layers, err := img.Layers()
	if err != nil || len(layers) != len(m.Layers) || len(diffIDs) != len(m.Layers) {
		t.Fatalf("%s: %d layers, image has %d (%v), config %d", ref, len(m.Layers), len(layers), err, len(diffIDs))
	}
	for i, d := range m.Layers {
		if d.MediaType != types.OCILayerZStd {
			t.Errorf("%s: layer %d is %s", ref, i, d.MediaType)
		}
		checkDescribed(t, ref, blobs, d)
		got := unzstdBytes(t, blobs[d.Digest])
		if h, _, _ := v1.SHA256(bytes.NewReader(got)); h != diffIDs[i] {
			t.Errorf("%s: layer %d decompresses to %s, diff ID %s", ref, i, h, diffIDs[i])
		}
		rc, err := layers[i].Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		want, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: layer %d does not decompress to the image's (%v)", ref, i, err)
		}
	}
}

// checkDescribed fails unless blobs hold d's blob at d's size.
func checkDescribed(t *testing.T, ref string, blobs map[v1.Hash][]byte, d v1.Descriptor) {
	t.Helper()
	if b, ok := blobs[d.Digest]; !ok || int64(len(b)) != d.Size {
		t.Errorf("%s: blob %s: present %v, %d bytes, descriptor says %d", ref, d.Digest, ok, len(b), d.Size)
	}
}

func unzstdBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := d.DecodeAll(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestWriteOCIArchiveLeavesNoPartialFile(t *testing.T) {
	dir := t.TempDir()
	if err := writeOCIArchive(filepath.Join(dir, "x.tar"), nil, 3); err == nil {
		t.Fatal("empty image set: no error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("failed write left %d files behind", len(entries))
	}
}
