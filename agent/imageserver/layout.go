package imageserver

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// refAnnotation names an image of the layout; image-build sets it to the
// full reference, e.g. kedge.local/coredns:1.15.0.
const refAnnotation = "org.opencontainers.image.ref.name"

// blobsDir is where an OCI layout keeps its sha256 blobs.
const blobsDir = "blobs/sha256/"

// layout is an OCI image layout inside an uncompressed tar held in memory:
// each blob is a slice of the tar's bytes, so serving one reads it in
// place and nothing is decompressed or copied first.
type layout struct {
	blobs  map[v1.Hash][]byte
	images []image
}

// image is one tagged manifest of the layout.
type image struct {
	ref       name.Tag
	mediaType string
	manifest  []byte
}

// parseLayout indexes the tar in data: its index.json and blobs.
func parseLayout(data []byte) (*layout, error) {
	l := &layout{blobs: map[v1.Hash][]byte{}}
	var index []byte
	r := bytes.NewReader(data)
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		// tar reads headers block by block and seeks past data, so the
		// entry's data starts where the reader stands now.
		off := r.Size() - int64(r.Len())
		if off+h.Size > int64(len(data)) {
			return nil, fmt.Errorf("%s: truncated archive", h.Name)
		}
		content := data[off : off+h.Size : off+h.Size]
		switch {
		case h.Name == "index.json":
			index = content
		case strings.HasPrefix(h.Name, blobsDir):
			d, err := v1.NewHash("sha256:" + strings.TrimPrefix(h.Name, blobsDir))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", h.Name, err)
			}
			l.blobs[d] = content
		}
	}
	if index == nil {
		return nil, errors.New("no index.json: not an OCI layout")
	}
	if err := l.addImages(index); err != nil {
		return nil, fmt.Errorf("index.json: %w", err)
	}
	return l, nil
}

// addImages reads the layout's index: every manifest it lists must be in
// the archive and carry its reference.
func (l *layout) addImages(index []byte) error {
	var im v1.IndexManifest
	if err := json.Unmarshal(index, &im); err != nil {
		return err
	}
	for i, d := range im.Manifests {
		ref, err := name.NewTag(d.Annotations[refAnnotation], name.StrictValidation)
		if err != nil {
			return fmt.Errorf("manifests[%d] (%s): annotation %s: %w", i, d.Digest, refAnnotation, err)
		}
		m, ok := l.blobs[d.Digest]
		if !ok || int64(len(m)) != d.Size {
			return fmt.Errorf("%s: manifest %s missing or not %d bytes", ref, d.Digest, d.Size)
		}
		l.images = append(l.images, image{ref: ref, mediaType: string(d.MediaType), manifest: m})
	}
	return nil
}
