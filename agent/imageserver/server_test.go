package imageserver

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testImage is an image of a test layout and the reference it carries.
type testImage struct {
	ref string
	img v1.Image
}

func randomImages(t *testing.T, refs ...string) []testImage {
	t.Helper()
	var out []testImage
	for _, r := range refs {
		img, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, testImage{r, img})
	}
	return out
}

// layoutTar writes imgs as image-build does: an OCI layout in a tar,
// index.json first, then every blob. ann overrides an entry's annotations.
func layoutTar(t *testing.T, imgs []testImage, ann func(i int, a map[string]string)) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, data []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Format: tar.FormatUSTAR}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	var index v1.IndexManifest
	index.SchemaVersion = 2
	var blobs [][]byte
	for i, ti := range imgs {
		m, _ := ti.img.RawManifest()
		d, _ := ti.img.Digest()
		mt, _ := ti.img.MediaType()
		a := map[string]string{refAnnotation: ti.ref}
		if ann != nil {
			ann(i, a)
		}
		index.Manifests = append(index.Manifests, v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(m)), Annotations: a})
		cfg, _ := ti.img.RawConfigFile()
		blobs = append(blobs, cfg)
		layers, _ := ti.img.Layers()
		for _, l := range layers {
			rc, _ := l.Compressed()
			b, _ := io.ReadAll(rc)
			blobs = append(blobs, b)
		}
		blobs = append(blobs, m)
	}
	ij, _ := json.Marshal(index)
	add("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`))
	add("index.json", ij)
	for _, b := range blobs {
		h, _, _ := v1.SHA256(bytes.NewReader(b))
		add(blobsDir+h.Hex, b)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func startServer(t *testing.T, archive []byte) *Server {
	t.Helper()
	s := newFor(archive, func([]byte) {})
	ctx := context.Background()
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestServesEveryImageOfTheLayout(t *testing.T) {
	imgs := randomImages(t, "kedge.local/coredns:1.15.0", "kedge.local/library/busybox:1.37")
	s := startServer(t, layoutTar(t, imgs, nil))
	if err := s.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(s.Endpoint(), "http://")
	for _, ti := range imgs {
		ref, err := name.ParseReference(host+"/"+strings.TrimPrefix(ti.ref, "kedge.local/"), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pulling %s: %v", ref, err)
		}
		want, _ := ti.img.Digest()
		if d, _ := got.Digest(); d != want {
			t.Errorf("%s: manifest %s, want %s", ref, d, want)
		}
		layers, err := got.Layers()
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := ti.img.Layers()
		for i, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%s layer %d: %v", ref, i, err)
			}
			wrc, _ := orig[i].Compressed()
			wb, _ := io.ReadAll(wrc)
			if !bytes.Equal(b, wb) {
				t.Errorf("%s layer %d: served bytes differ from the archive's", ref, i)
			}
		}
	}
}

func TestRefusesWritesAndUnknownImages(t *testing.T) {
	s := startServer(t, layoutTar(t, randomImages(t, "kedge.local/pause:3.10"), nil))
	for _, method := range []string{http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch} {
		req, _ := http.NewRequest(method, s.Endpoint()+"/v2/pause/manifests/3.10", strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", method, resp.StatusCode)
		}
	}
	for _, path := range []string{"/v2/pause/manifests/9.9", "/v2/other/manifests/3.10", "/v2/pause/blobs/sha256:" + strings.Repeat("0", 64)} {
		resp, err := http.Get(s.Endpoint() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestInitRejectsABrokenLayout(t *testing.T) {
	imgs := randomImages(t, "kedge.local/pause:3.10")
	good := layoutTar(t, imgs, nil)
	noIndex := func() []byte {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		_ = tw.WriteHeader(&tar.Header{Name: "oci-layout", Mode: 0o644, Size: 2})
		_, _ = tw.Write([]byte("{}"))
		_ = tw.Close()
		return buf.Bytes()
	}()
	truncated := good[:len(good)/2]
	for _, tt := range []struct {
		name    string
		archive []byte
		want    string
	}{
		{"no index", noIndex, "no index.json"},
		{"no reference", layoutTar(t, imgs, func(_ int, a map[string]string) { delete(a, refAnnotation) }), "manifests[0]"},
		{"bad reference", layoutTar(t, imgs, func(_ int, a map[string]string) { a[refAnnotation] = "Kedge.local/UPPER" }), refAnnotation},
		{"truncated", truncated, "built-in images"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := newFor(tt.archive, func([]byte) {}).Init(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Init: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestEmptyArchiveServesNothing(t *testing.T) {
	s := startServer(t, nil)
	if s.Endpoint() != "" {
		t.Fatalf("Endpoint() = %q, want \"\"", s.Endpoint())
	}
}
