package datastore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/k3s-io/kine/pkg/endpoint"
)

// sqliteParams keep kine's defaults (WAL, synchronous=NORMAL) and make the
// connection fail instead of creating a database where none is wanted.
const sqliteParams = "_journal_mode=WAL&_busy_timeout=30000&_synchronous=NORMAL&_txlock=immediate&_stmt_cache_size=20&cache=shared"

// sqliteMagic is the header every SQLite 3 database file starts with.
var sqliteMagic = []byte("SQLite format 3\x00")

// maxSocketPath is the longest unix socket path Linux accepts (sun_path).
const maxSocketPath = 107

// Config selects the backend.
type Config struct {
	// Dir holds state.db and kine.sock (<data-dir>/server/db).
	Dir string
	// Endpoint is --datastore-endpoint; empty means SQLite in Dir.
	Endpoint string
}

// Datastore is the kine component.
type Datastore struct {
	cfg    Config
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a datastore that serves cfg once started.
func New(cfg Config) *Datastore {
	return &Datastore{cfg: cfg}
}

// Name implements component.Component.
func (d *Datastore) Name() string { return "datastore" }

// DBPath is where the embedded SQLite database lives.
func (d *Datastore) DBPath() string { return filepath.Join(d.cfg.Dir, "state.db") }

// SocketPath is the unix socket kine listens on.
func (d *Datastore) SocketPath() string { return filepath.Join(d.cfg.Dir, "kine.sock") }

// Endpoints are the etcd endpoints the apiserver should use. An etcd
// endpoint is handed to the apiserver as it is; anything else is served by
// kine on the unix socket.
func (d *Datastore) Endpoints() []string {
	scheme, _, _ := strings.Cut(d.cfg.Endpoint, "://")
	switch scheme {
	case "http", "https", "unix", "unixs":
		return strings.Split(d.cfg.Endpoint, ",")
	}
	return []string{"unix://" + d.SocketPath()}
}

// Start opens the backend and serves it on the unix socket.
func (d *Datastore) Start(ctx context.Context) error {
	if err := os.MkdirAll(d.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("creating datastore dir: %w", err)
	}
	if len(d.SocketPath()) > maxSocketPath {
		return fmt.Errorf("datastore socket path %s is longer than %d bytes; use a shorter --data-dir", d.SocketPath(), maxSocketPath)
	}
	backend := d.cfg.Endpoint
	if backend == "" {
		if err := checkSQLiteFile(d.DBPath()); err != nil {
			return err
		}
		// SQLite would create the file world-readable; it holds secrets.
		f, err := os.OpenFile(d.DBPath(), os.O_CREATE|os.O_RDONLY, 0o600)
		if err != nil {
			return fmt.Errorf("creating datastore %s: %w", d.DBPath(), err)
		}
		f.Close()
		backend = "sqlite://" + d.DBPath() + "?" + sqliteParams
	}
	kctx, cancel := context.WithCancel(context.Background())
	_, err := endpoint.Listen(kctx, endpoint.Config{
		Listener:            "unix://" + d.SocketPath(),
		Endpoint:            backend,
		WaitGroup:           &d.wg,
		NotifyInterval:      5 * time.Second,
		EmulatedETCDVersion: "3.6.11",
		CompactTimeout:      5 * time.Second,
		CompactMinRetain:    1000,
		CompactBatchSize:    1000,
		PollBatchSize:       500,
		PollInterval:        time.Second,
	})
	if err != nil {
		cancel()
		d.wg.Wait()
		return fmt.Errorf("starting kine on %s: %w", describe(d.cfg.Endpoint), err)
	}
	d.cancel = cancel
	return d.Ready(ctx)
}

// Ready checks that the socket accepts connections when kine serves one.
func (d *Datastore) Ready(ctx context.Context) error {
	if d.cancel == nil || d.Endpoints()[0] != "unix://"+d.SocketPath() {
		return nil
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", d.SocketPath())
	if err != nil {
		return fmt.Errorf("kine socket: %w", err)
	}
	return conn.Close()
}

// Stop ends kine and waits until the database is closed, so the SQLite WAL is
// checkpointed and nothing is lost on a clean shutdown.
func (d *Datastore) Stop(ctx context.Context) error {
	if d.cancel == nil {
		return nil
	}
	d.cancel()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the database to close: %w", ctx.Err())
	}
}

// checkSQLiteFile refuses to open a file that exists but is not SQLite, so
// kine never turns somebody's file into a fresh empty database.
func checkSQLiteFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening datastore %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if n == 0 && (err == io.EOF) {
		return nil // an empty file is what SQLite creates before the first write
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading datastore %s: %w", path, err)
	}
	if !bytes.Equal(head[:n], sqliteMagic) {
		return fmt.Errorf("datastore %s is not a SQLite database; kedge left it untouched: restore it from a snapshot, or move it away to start an empty cluster", path)
	}
	return nil
}

// describe names the backend without credentials a DSN may carry.
func describe(endpoint string) string {
	if endpoint == "" {
		return "embedded SQLite"
	}
	scheme, _, _ := strings.Cut(endpoint, "://")
	return scheme + " endpoint from --datastore-endpoint"
}
