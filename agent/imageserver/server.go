package imageserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/residency"
)

// Server is the node's built-in registry. It implements
// component.Component.
type Server struct {
	archive []byte
	release func([]byte) // gives pages of archive back to the kernel
	handler http.Handler
	srv     *http.Server
	addr    string

	mu      sync.Mutex
	serving error // why Serve returned; nil while it runs
}

// New serves the images built into this kedge; none if it was built
// without them.
func New() *Server { return newFor(embedded, residency.Release) }

// newFor serves the OCI layout tar in archive; an empty one serves
// nothing. release is only safe on the executable's own pages, which the
// kernel reads back from the file: on heap memory it would zero them.
func newFor(archive []byte, release func([]byte)) *Server {
	return &Server{archive: archive, release: release}
}

// Name implements component.Component.
func (s *Server) Name() string { return "image-server" }

// Init indexes the archive and loads its manifests, so an archive that
// does not parse stops the node before anything runs.
func (s *Server) Init(context.Context) error {
	if len(s.archive) == 0 {
		klog.Infof("this kedge has no built-in images: kedge.local images come from the images dir")
		return nil
	}
	// Parsing touches a header page per blob; give them back after.
	defer s.release(s.archive)
	l, err := parseLayout(s.archive)
	if err != nil {
		return fmt.Errorf("built-in images: %w", err)
	}
	reg := registry.New(registry.WithBlobHandler(blobs{data: l.blobs, release: s.release}), registry.Logger(log.New(io.Discard, "", 0)))
	for _, img := range l.images {
		if err := putManifest(reg, img); err != nil {
			return fmt.Errorf("built-in images: %s: %w", img.ref, err)
		}
	}
	s.handler = readOnly(reg)
	return nil
}

// putManifest stores img's manifest under its tag, in-process: the
// registry's own PUT is how it learns manifests, and it is closed to
// everyone else.
func putManifest(reg http.Handler, img image) error {
	req := httptest.NewRequest(http.MethodPut, "/v2/"+img.ref.RepositoryStr()+"/manifests/"+img.ref.TagStr(), bytes.NewReader(img.manifest))
	req.Header.Set("Content-Type", img.mediaType)
	rec := httptest.NewRecorder()
	reg.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		return fmt.Errorf("storing manifest: %d %s", rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	}
	return nil
}

// readOnly lets only reads through: the images are part of the binary.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "kedge's built-in registry is read-only", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Start serves on a free loopback port: only this node's containerd
// reaches it, and no request for its images leaves the node.
func (s *Server) Start(context.Context) error {
	if s.handler == nil {
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("built-in registry: %w", err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ErrorLog: log.New(io.Discard, "", 0)}
	go func() {
		err := s.srv.Serve(ln)
		s.mu.Lock()
		s.serving = err
		s.mu.Unlock()
	}()
	klog.Infof("built-in images served at http://%s as kedge.local", s.addr)
	return nil
}

// Endpoint is the URL containerd pulls kedge.local images from, or ""
// when nothing is served.
func (s *Server) Endpoint() string {
	if s.addr == "" {
		return ""
	}
	return "http://" + s.addr
}

// Ready implements component.Component.
func (s *Server) Ready(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving != nil {
		return fmt.Errorf("built-in registry stopped: %w", s.serving)
	}
	return nil
}

// Stop implements component.Component.
func (s *Server) Stop(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	err := s.srv.Shutdown(ctx)
	s.srv, s.addr = nil, ""
	return err
}

// blobs serves the layout's blobs by digest from any repository: they are
// all kedge's, and containerd checks each digest it receives.
type blobs struct {
	data    map[v1.Hash][]byte
	release func([]byte)
}

// Stat implements registry.BlobStatHandler.
func (b blobs) Stat(_ context.Context, _ string, h v1.Hash) (int64, error) {
	data, ok := b.data[h]
	if !ok {
		return 0, registry.ErrNotFound
	}
	return int64(len(data)), nil
}

// Get implements registry.BlobHandler.
func (b blobs) Get(_ context.Context, _ string, h v1.Hash) (io.ReadCloser, error) {
	data, ok := b.data[h]
	if !ok {
		return nil, registry.ErrNotFound
	}
	klog.V(2).Infof("built-in registry: serving %s (%d bytes)", h, len(data))
	return &blobReader{Reader: bytes.NewReader(data), data: data, release: b.release}, nil
}

// blobReader gives a served blob's pages back once it was read: the node
// keeps the unpacked image, not the archive.
type blobReader struct {
	*bytes.Reader
	data    []byte
	release func([]byte)
}

func (r *blobReader) Close() error {
	r.release(r.data)
	return nil
}
