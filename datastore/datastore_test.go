package datastore

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestSQLiteSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	d := New(Config{Dir: dir})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	put(ctx, t, d, "/registry/test/a", "hello")
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d.DBPath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state.db: %v, mode %v; want 0600", err, fi.Mode())
	}

	d = New(Config{Dir: dir})
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(ctx)
	if got := get(ctx, t, d, "/registry/test/a"); got != "hello" {
		t.Fatalf("after restart got %q, want hello", got)
	}
}

func TestRefusesNonSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "state.db")
	content := []byte("definitely not sqlite")
	if err := os.WriteFile(db, content, 0o600); err != nil {
		t.Fatal(err)
	}
	err := New(Config{Dir: dir}).Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), db) || !strings.Contains(err.Error(), "not a SQLite database") {
		t.Fatalf("got %v, want error naming %s", err, db)
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(after, content) {
		t.Fatalf("state.db was modified: %q", after)
	}
}

func TestEtcdEndpointPassesThrough(t *testing.T) {
	d := New(Config{Dir: t.TempDir(), Endpoint: "https://10.0.0.1:2379,https://10.0.0.2:2379"})
	got := strings.Join(d.Endpoints(), " ")
	if got != "https://10.0.0.1:2379 https://10.0.0.2:2379" {
		t.Fatalf("got %q", got)
	}
	d = New(Config{Dir: "/x", Endpoint: "postgres://u:p@db/kine"})
	if got := d.Endpoints(); len(got) != 1 || got[0] != "unix:///x/kine.sock" {
		t.Fatalf("postgres should be served by kine on the socket, got %v", got)
	}
}

func client(t *testing.T, d *Datastore) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: d.Endpoints(), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func put(ctx context.Context, t *testing.T, d *Datastore, key, value string) {
	t.Helper()
	if _, err := client(t, d).Put(ctx, key, value); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func get(ctx context.Context, t *testing.T, d *Datastore, key string) string {
	t.Helper()
	resp, err := client(t, d).Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("get %s: %d values", key, len(resp.Kvs))
	}
	return string(resp.Kvs[0].Value)
}

func TestNewDatabaseUsesSmallPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := createSQLite(path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int
	var mode string
	if err := db.QueryRow("PRAGMA page_size").Scan(&size); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if size != sqlitePageSize || mode != "wal" {
		t.Fatalf("page_size %d journal_mode %s", size, mode)
	}
}
