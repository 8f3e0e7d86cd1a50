//go:build e2e

package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerRejectsBadInput checks that each kind of bad input stops
// start-up with an error naming what to fix, and destroys nothing.
func TestServerRejectsBadInput(t *testing.T) {
	t.Run("unknown config key", func(t *testing.T) {
		n := newNode(t)
		cfg := filepath.Join(n.dir, "config.yaml")
		writeFile(t, cfg, "https-listen-port: 7443\nhttps-port: 7443\n")
		out := expectFailure(t, n.args)
		mustContain(t, "unknown key", out, cfg+":2", `unknown key "https-port"`, `did you mean "https-listen-port"`)
	})
	t.Run("wrong type in config.yaml.d", func(t *testing.T) {
		n := newNode(t)
		// The port must come from the files, since a flag would win.
		args := withoutFlag(n.args, "--https-listen-port")
		writeFile(t, filepath.Join(n.dir, "config.yaml"), fmt.Sprintf("https-listen-port: %d\n", n.port))
		dropIn := filepath.Join(n.dir, "config.yaml.d", "10-port.yaml")
		writeFile(t, dropIn, "https-listen-port: lots\n")
		out := expectFailure(t, args)
		mustContain(t, "wrong type", out, dropIn+":1", `"https-listen-port"`, `"lots"`)
	})
	t.Run("malformed YAML", func(t *testing.T) {
		n := newNode(t)
		cfg := filepath.Join(n.dir, "config.yaml")
		writeFile(t, cfg, "tls-san:\n  - a\n b: [\n")
		out := expectFailure(t, n.args)
		mustContain(t, "malformed YAML", out, "parsing "+cfg, "line")
	})
	t.Run("unwritable data dir", func(t *testing.T) {
		n := newNode(t)
		blocker := filepath.Join(n.dir, "not-a-dir")
		writeFile(t, blocker, "a file where the data dir should go\n")
		out := expectFailure(t, append(n.args, "--data-dir", filepath.Join(blocker, "data")))
		mustContain(t, "unwritable data dir", out, "data dir", "not a directory", "--data-dir")
	})
	t.Run("state.db is not SQLite", func(t *testing.T) {
		n := newNode(t)
		db := filepath.Join(n.dir, "data", "server", "db", "state.db")
		content := []byte("precious notes, not a database\n")
		writeFile(t, db, string(content))
		out := expectFailure(t, n.args)
		mustContain(t, "bad state.db", out, db, "not a SQLite database")
		after, err := os.ReadFile(db)
		if err != nil || !bytes.Equal(after, content) {
			t.Fatalf("state.db was changed or removed: %q, %v", after, err)
		}
	})
	t.Run("unknown upstream flag", func(t *testing.T) {
		n := newNode(t)
		out := expectFailure(t, append(n.args, "--kube-apiserver-arg", "no-such-flag=1"))
		mustContain(t, "unknown upstream flag", out, "no-such-flag", "--kube-apiserver-arg")
	})
	t.Run("unknown packaged component", func(t *testing.T) {
		n := newNode(t)
		out := expectFailure(t, append(n.args, "--disable", "traefik,dashboard"))
		mustContain(t, "unknown --disable name", out, "--disable", `"dashboard"`, "coredns", "servicelb")
	})
	t.Run("env var wrong type", func(t *testing.T) {
		n := newNode(t)
		out, code := runKedge(t, []string{"KEDGE_WRITE_KUBECONFIG_MODE=rw-r--r--"}, n.args...)
		if code == 0 {
			t.Fatalf("exited 0:\n%s", out)
		}
		mustContain(t, "env mode", out, "--write-kubeconfig-mode", "rw-r--r--")
	})
}

func expectFailure(t *testing.T, args []string) string {
	t.Helper()
	out, code := runKedge(t, nil, args...)
	if code == 0 {
		t.Fatalf("kedge %s exited 0:\n%s", strings.Join(args, " "), out)
	}
	return out
}

// withoutFlag drops "--name value" from args.
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if args[i] == name {
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
