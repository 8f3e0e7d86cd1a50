//go:build e2e

package tests

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestServerRejectsBadInput checks that each kind of bad input stops
// start-up with an error naming what to fix, and destroys nothing.
func TestServerRejectsBadInput(t *testing.T) {
	t.Run("unknown config key", func(t *testing.T) {
		n := newHostServer(t)
		cfg := filepath.Join(n.dir, "config.yaml")
		writeFile(t, cfg, "https-listen-port: 7443\nhttps-port: 7443\n")
		out := n.expectFailure(t, nil)
		mustContain(t, "unknown key", out, cfg+":2", `unknown key "https-port"`, `did you mean "https-listen-port"`)
	})
	t.Run("wrong type in config.yaml.d", func(t *testing.T) {
		n := newHostServer(t)
		// The port must come from the files, since a flag would win.
		n.args = withoutFlag(n.args, "--https-listen-port")
		writeFile(t, filepath.Join(n.dir, "config.yaml"), fmt.Sprintf("https-listen-port: %d\n", n.port))
		dropIn := filepath.Join(n.dir, "config.yaml.d", "10-port.yaml")
		writeFile(t, dropIn, "https-listen-port: lots\n")
		out := n.expectFailure(t, nil)
		mustContain(t, "wrong type", out, dropIn+":1", `"https-listen-port"`, `"lots"`)
	})
	t.Run("malformed YAML", func(t *testing.T) {
		n := newHostServer(t)
		cfg := filepath.Join(n.dir, "config.yaml")
		writeFile(t, cfg, "tls-san:\n  - a\n b: [\n")
		out := n.expectFailure(t, nil)
		mustContain(t, "malformed YAML", out, "parsing "+cfg, "line")
	})
	t.Run("unwritable data dir", func(t *testing.T) {
		n := newHostServer(t)
		blocker := filepath.Join(n.dir, "not-a-dir")
		writeFile(t, blocker, "a file where the data dir should go\n")
		out := n.expectFailure(t, nil, "--data-dir", filepath.Join(blocker, "data"))
		mustContain(t, "unwritable data dir", out, "data dir", "not a directory", "--data-dir")
	})
	t.Run("state.db is not SQLite", func(t *testing.T) {
		n := newHostServer(t)
		db := filepath.Join(n.dir, "data", "server", "db", "state.db")
		content := []byte("precious notes, not a database\n")
		writeFile(t, db, string(content))
		out := n.expectFailure(t, nil)
		mustContain(t, "bad state.db", out, db, "not a SQLite database")
		after, err := os.ReadFile(db)
		if err != nil || !bytes.Equal(after, content) {
			t.Fatalf("state.db was changed or removed: %q, %v", after, err)
		}
	})
	t.Run("unknown upstream flag", func(t *testing.T) {
		n := newHostServer(t)
		out := n.expectFailure(t, nil, "--kube-apiserver-arg", "no-such-flag=1")
		mustContain(t, "unknown upstream flag", out, "no-such-flag", "--kube-apiserver-arg")
	})
	t.Run("unknown packaged component", func(t *testing.T) {
		n := newHostServer(t)
		out := n.expectFailure(t, nil, "--disable", "traefik,dashboard")
		mustContain(t, "unknown --disable name", out, "--disable", `"dashboard"`, "coredns", "servicelb")
	})
	t.Run("env var wrong type", func(t *testing.T) {
		n := newHostServer(t)
		out := n.expectFailure(t, []string{"KEDGE_WRITE_KUBECONFIG_MODE=rw-r--r--"})
		mustContain(t, "env mode", out, "--write-kubeconfig-mode", "rw-r--r--")
	})
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
