package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// refNameAnnotation carries an image's full reference in index.json: the
// name kedge's registry serves the image under.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// ociLayout is the oci-layout member, the marker of an OCI image layout.
var ociLayout = []byte(`{"imageLayoutVersion":"1.0.0"}`)

// zstdArgs compress one layer at level (1-19). No --long: on this
// machine's amd64 images (six layers, 373 MB) at level 12, --long=26 made
// the layers 87,718,248 bytes instead of 88,157,848 (0.5% less; 0.7% at
// level 19), not worth a 64 MiB window in every node's decoder while it
// pulls. zstd gives the same bytes for any thread count.
func zstdArgs(level int) []string {
	return []string{"-" + strconv.Itoa(level), "-T0", "-q", "-c"}
}

// blob is one file of the layout, under blobs/sha256/.
type blob struct {
	v1.Descriptor
	data []byte
}

func newBlob(mt types.MediaType, data []byte) (blob, error) {
	h, n, err := v1.SHA256(bytes.NewReader(data))
	return blob{Descriptor: v1.Descriptor{MediaType: mt, Size: n, Digest: h}, data: data}, err
}

func jsonBlob(mt types.MediaType, v any) (blob, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return blob{}, err
	}
	return newBlob(mt, data)
}

// writeOCIArchive saves images as a tar of an OCI image layout, the archive
// kedge embeds and serves from a read-only registry straight out of its
// bytes. Hence no compression around it but zstd in each layer, which the
// registry hands out as they are, and only USTAR headers, so a blob's data
// starts 512 bytes after its header. Members come in a fixed order with
// fixed metadata: the same images give the same bytes.
func writeOCIArchive(path string, images []tagged, level int) error {
	return writeFileAtomic(path, func(f *os.File) error {
		index, blobs, err := ociBlobs(images, level)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		if err := writeLayout(w, index, blobs); err != nil {
			return err
		}
		return w.Flush()
	})
}

// ociBlobs returns the index of images and their blobs in the order they
// are written: per image its config, layers and manifest.
func ociBlobs(images []tagged, level int) (v1.IndexManifest, []blob, error) {
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if len(images) == 0 {
		return index, nil, errors.New("no images")
	}
	var blobs []blob
	for _, t := range images {
		d, bs, err := ociImage(t.Img, level)
		if err != nil {
			return index, nil, fmt.Errorf("%s: %w", t.Ref, err)
		}
		d.Annotations = map[string]string{refNameAnnotation: t.Ref.String()}
		index.Manifests = append(index.Manifests, d)
		blobs = append(blobs, bs...)
	}
	return index, blobs, nil
}

// ociImage returns the manifest descriptor of img for the index and its
// blobs. The config is kept byte for byte: its diff IDs are digests of the
// uncompressed layers, so they hold for the zstd ones too, and the image
// ID stays the one of img's docker archive.
func ociImage(img v1.Image, level int) (v1.Descriptor, []blob, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	config, err := newBlob(types.OCIConfigJSON, raw)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: config.Descriptor, Layers: []v1.Descriptor{}}
	blobs := []blob{config}
	for i, l := range layers {
		b, err := zstdLayer(l, level)
		if err != nil {
			return v1.Descriptor{}, nil, fmt.Errorf("layer %d: %w", i, err)
		}
		m.Layers = append(m.Layers, b.Descriptor)
		blobs = append(blobs, b)
	}
	mb, err := jsonBlob(types.OCIManifestSchema1, m)
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	d := mb.Descriptor
	d.Platform = cf.Platform()
	return d, append(blobs, mb), nil
}

// zstdLayer compresses l's uncompressed tar with the zstd command, which
// compresses better than Go's encoders reach.
func zstdLayer(l v1.Layer, level int) (blob, error) {
	rc, err := l.Uncompressed()
	if err != nil {
		return blob{}, err
	}
	defer rc.Close()
	var out, stderr bytes.Buffer
	cmd := exec.Command("zstd", zstdArgs(level)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = rc, &out, &stderr
	if err := cmd.Run(); err != nil {
		return blob{}, fmt.Errorf("zstd: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return newBlob(types.OCILayerZStd, out.Bytes())
}

// writeLayout writes the layout's tar: oci-layout, index.json, then each
// blob once, since images may share blobs.
func writeLayout(w io.Writer, index v1.IndexManifest, blobs []blob) error {
	ij, err := json.Marshal(index)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := writeBytes(tw, "oci-layout", ociLayout); err != nil {
		return err
	}
	if err := writeBytes(tw, "index.json", ij); err != nil {
		return err
	}
	seen := map[v1.Hash]bool{}
	for _, b := range blobs {
		if seen[b.Digest] {
			continue
		}
		seen[b.Digest] = true
		if err := writeBytes(tw, blobPath(b.Digest), b.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

func writeBytes(tw *tar.Writer, member string, data []byte) error {
	return writeMember(tw, member, bytes.NewReader(data), int64(len(data)))
}
