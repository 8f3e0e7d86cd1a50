package datastore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/k3s-io/kine/pkg/drivers"
	"github.com/k3s-io/kine/pkg/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/kedge-io/kedge/component"

	// The backends --datastore-endpoint accepts. kine's endpoint package
	// would also link NATS, t4 and an etcd server into the binary.
	_ "github.com/k3s-io/kine/pkg/drivers/mysql"
	_ "github.com/k3s-io/kine/pkg/drivers/pgsql"
	_ "github.com/k3s-io/kine/pkg/drivers/sqlite"
)

// sqliteParams are kine's defaults: WAL with synchronous=NORMAL, so a commit
// is one WAL append rather than a full sync of the database file.
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
	grpc   *grpc.Server
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

// passThrough reports whether the endpoint is an etcd the apiserver talks to
// directly, with no kine in between.
func (d *Datastore) passThrough() bool {
	scheme, _, _ := strings.Cut(d.cfg.Endpoint, "://")
	switch scheme {
	case "http", "https", "unix", "unixs":
		return true
	}
	return false
}

// Endpoints are the etcd endpoints the apiserver should use.
func (d *Datastore) Endpoints() []string {
	if d.passThrough() {
		return strings.Split(d.cfg.Endpoint, ",")
	}
	return []string{"unix://" + d.SocketPath()}
}

// Start opens the backend and serves the etcd API on the unix socket.
func (d *Datastore) Start(ctx context.Context) error {
	if d.passThrough() {
		return nil
	}
	endpoint, err := d.prepare()
	if err != nil {
		return err
	}
	bctx, cancel := context.WithCancel(context.Background())
	_, backend, err := drivers.New(bctx, &d.wg, &drivers.Config{
		Endpoint:         endpoint,
		CompactTimeout:   5 * time.Second,
		CompactMinRetain: 1000,
		CompactBatchSize: 1000,
		PollBatchSize:    500,
		PollInterval:     time.Second,
	})
	if err == nil {
		err = backend.Start(bctx)
	}
	if err != nil {
		cancel()
		d.wg.Wait()
		return fmt.Errorf("opening %s: %w", describe(d.cfg.Endpoint), err)
	}
	d.cancel = cancel
	if err := d.serve(server.New(backend, "unix", 5*time.Second, "3.6.11")); err != nil {
		return errors.Join(err, d.Stop(ctx))
	}
	return d.Ready(ctx)
}

// prepare checks the directory and database file and returns kine's DSN.
func (d *Datastore) prepare() (string, error) {
	if err := os.MkdirAll(d.cfg.Dir, 0o700); err != nil {
		return "", fmt.Errorf("creating datastore dir: %w", err)
	}
	if len(d.SocketPath()) > maxSocketPath {
		return "", fmt.Errorf("datastore socket path %s is longer than %d bytes; use a shorter --data-dir", d.SocketPath(), maxSocketPath)
	}
	if d.cfg.Endpoint != "" {
		return d.cfg.Endpoint, nil
	}
	if err := checkSQLiteFile(d.DBPath()); err != nil {
		return "", err
	}
	// SQLite would create the file world-readable; it holds secrets.
	f, err := os.OpenFile(d.DBPath(), os.O_CREATE|os.O_RDONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("creating datastore %s: %w", d.DBPath(), err)
	}
	fi, err := f.Stat()
	f.Close()
	if err == nil && fi.Size() == 0 {
		err = createSQLite(d.DBPath())
	}
	if err != nil {
		return "", fmt.Errorf("creating datastore %s: %w", d.DBPath(), err)
	}
	return "sqlite://" + d.DBPath() + "?" + sqliteParams, nil
}

// sqlitePageSize is smaller than SQLite's 4 KiB default because every
// kine write appends whole pages of six B-trees to the WAL: a node lease
// renewal (every 10 s per node) costs about 42 KB at 4 KiB and 15 KB at
// 1 KiB, the difference an SD card lives with.
const sqlitePageSize = 1024

// createSQLite fixes the page size of a new, empty database; it can only
// be chosen before the first table exists.
func createSQLite(path string) error {
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(fmt.Sprintf("PRAGMA page_size=%d; PRAGMA journal_mode=WAL;", sqlitePageSize))
	return err
}

// serve exposes the backend over gRPC on the socket, sized like etcd so the
// apiserver's large lists and writes fit.
func (d *Datastore) serve(bridge *server.KVServerBridge) error {
	d.grpc = grpc.NewServer(
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 2 * time.Hour, Timeout: 20 * time.Second}),
		grpc.MaxRecvMsgSize(2*1024*1024),
		grpc.MaxSendMsgSize(1<<31-1),
	)
	bridge.Register(d.grpc)
	// The data dir lock guarantees no other kedge owns this socket.
	if err := os.Remove(d.SocketPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	l, err := net.Listen("unix", d.SocketPath())
	if err != nil {
		return fmt.Errorf("listening on %s: %w", d.SocketPath(), err)
	}
	if err := os.Chmod(d.SocketPath(), 0o600); err != nil {
		l.Close()
		return fmt.Errorf("securing %s: %w", d.SocketPath(), err)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		_ = d.grpc.Serve(l)
	}()
	return nil
}

// Ready checks that the socket accepts connections.
func (d *Datastore) Ready(ctx context.Context) error {
	if d.cancel == nil {
		return nil
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", d.SocketPath())
	if err != nil {
		return fmt.Errorf("kine socket: %w", err)
	}
	return conn.Close()
}

// Stop ends the gRPC server, then the backend, and waits until the database
// is closed, so the SQLite WAL is checkpointed and nothing is lost.
func (d *Datastore) Stop(ctx context.Context) error {
	if d.cancel == nil {
		return nil
	}
	if d.grpc != nil {
		stopped := make(chan struct{})
		go func() { d.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(2 * time.Second):
			d.grpc.Stop()
		}
	}
	d.cancel()
	return component.WaitGroup(ctx, &d.wg, "the database to close")
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
	if n == 0 && err == io.EOF {
		return nil // an empty file is what SQLite creates before the first write
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("reading datastore %s: %w", path, err)
	}
	if !bytes.Equal(head[:n], sqliteMagic) {
		return fmt.Errorf("datastore %s is not a SQLite database; kedge left it untouched: restore it from a backup, or move it away to start an empty cluster", path)
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
