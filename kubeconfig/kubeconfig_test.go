package kubeconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	certutil "k8s.io/client-go/util/cert"
)

// testOptions writes real PEM inputs so the round trip compares meaningful
// data rather than placeholders.
func testOptions(t *testing.T, mode os.FileMode) Options {
	t.Helper()
	dir := t.TempDir()
	ca, _, err := certutil.GenerateSelfSignedCertKey("ca", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := certutil.GenerateSelfSignedCertKey("client", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{
		Path:     filepath.Join(dir, "etc", "kedge", "kedge.yaml"),
		Mode:     mode,
		Server:   "https://127.0.0.1:6443",
		CAFile:   filepath.Join(dir, "ca.crt"),
		CertFile: filepath.Join(dir, "client.crt"),
		KeyFile:  filepath.Join(dir, "client.key"),
		User:     "default",
	}
	for path, data := range map[string][]byte{o.CAFile: ca, o.CertFile: cert, o.KeyFile: key} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

func mustWrite(t *testing.T, o Options) {
	t.Helper()
	if err := Write(o); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWriteHonoursMode(t *testing.T) {
	for _, mode := range []os.FileMode{0o600, 0o644} {
		o := testOptions(t, mode)
		mustWrite(t, o)
		if got := stat(t, o.Path).Mode().Perm(); got != mode {
			t.Errorf("mode %o, want %o", got, mode)
		}
		if got := stat(t, filepath.Dir(o.Path)).Mode().Perm(); got != 0o755 {
			t.Errorf("parent dir mode %o, want 755", got)
		}
		entries, err := os.ReadDir(filepath.Dir(o.Path))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("dir holds %d entries, want only the kubeconfig", len(entries))
		}
	}
}

func TestWriteRoundTrip(t *testing.T) {
	o := testOptions(t, 0o600)
	o.User = "admin"
	mustWrite(t, o)

	cfg, err := clientcmd.LoadFromFile(o.Path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "admin" {
		t.Fatalf("current-context %q, want admin", cfg.CurrentContext)
	}
	ctx := cfg.Contexts["admin"]
	if ctx == nil || ctx.Cluster != "default" || ctx.AuthInfo != "admin" {
		t.Fatalf("context admin = %+v", ctx)
	}
	cluster, user := cfg.Clusters["default"], cfg.AuthInfos["admin"]
	if cluster == nil || user == nil {
		t.Fatalf("cluster %v, user %v", cluster, user)
	}
	if cluster.Server != o.Server {
		t.Errorf("server %q, want %q", cluster.Server, o.Server)
	}
	for name, pair := range map[string][2][]byte{
		"CA":   {cluster.CertificateAuthorityData, readFile(t, o.CAFile)},
		"cert": {user.ClientCertificateData, readFile(t, o.CertFile)},
		"key":  {user.ClientKeyData, readFile(t, o.KeyFile)},
	} {
		if !bytes.Equal(pair[0], pair[1]) {
			t.Errorf("%s data differs from input", name)
		}
	}
	if cluster.CertificateAuthority != "" || user.ClientCertificate != "" || user.ClientKey != "" {
		t.Error("kubeconfig refers to files instead of embedding them")
	}
}

func TestWriteSkipsUnchangedContent(t *testing.T) {
	o := testOptions(t, 0o600)
	mustWrite(t, o)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(o.Path, old, old); err != nil {
		t.Fatal(err)
	}

	mustWrite(t, o)
	if got := stat(t, o.Path).ModTime(); !got.Equal(old) {
		t.Errorf("unchanged kubeconfig rewritten: mtime %s", got)
	}

	o.Server = "https://10.0.0.1:6443"
	mustWrite(t, o)
	if got := stat(t, o.Path).ModTime(); got.Equal(old) {
		t.Error("changed kubeconfig not rewritten")
	}
}

func TestWriteFixesModeOfExistingFile(t *testing.T) {
	o := testOptions(t, 0o644)
	mustWrite(t, o)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(o.Path, old, old); err != nil {
		t.Fatal(err)
	}

	o.Mode = 0o600
	mustWrite(t, o)
	fi := stat(t, o.Path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", fi.Mode().Perm())
	}
	if !fi.ModTime().Equal(old) {
		t.Error("mode fix rewrote the content")
	}
}

func TestWriteReplacesForeignFile(t *testing.T) {
	o := testOptions(t, 0o600)
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.Path, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}

	mustWrite(t, o)
	if got := stat(t, o.Path).Mode().Perm(); got != 0o600 {
		t.Errorf("mode %o, want 600", got)
	}
	if _, err := clientcmd.LoadFromFile(o.Path); err != nil {
		t.Errorf("stale file not replaced: %v", err)
	}
}

// The parent is a regular file because tests run as root, where permission
// bits would not stop the write.
func TestWriteErrorNamesPath(t *testing.T) {
	o := testOptions(t, 0o600)
	parent := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	o.Path = filepath.Join(parent, "kedge.yaml")

	err := Write(o)
	if err == nil || !strings.Contains(err.Error(), o.Path) {
		t.Fatalf("Write error = %v, want one naming %s", err, o.Path)
	}
}

func TestWriteMissingInputNamesFile(t *testing.T) {
	o := testOptions(t, 0o600)
	o.KeyFile += ".missing"

	err := Write(o)
	if err == nil || !strings.Contains(err.Error(), o.KeyFile) || !strings.Contains(err.Error(), o.Path) {
		t.Fatalf("Write error = %v, want one naming %s and %s", err, o.KeyFile, o.Path)
	}
	if _, statErr := os.Stat(o.Path); statErr == nil {
		t.Error("kubeconfig written despite missing key")
	}
}

func TestForKubectl(t *testing.T) {
	dir := t.TempDir()
	written := filepath.Join(dir, "kedge.yaml")
	inData := filepath.Join(dir, "data", "server", "cred", "admin.kubeconfig")
	env := map[string]string{"KEDGE_WRITE_KUBECONFIG": written, "KEDGE_DATA_DIR": filepath.Join(dir, "data")}
	getenv := func(k string) string { return env[k] }
	if got := ForKubectl(getenv); got != written {
		t.Fatalf("nothing exists: got %s, want %s", got, written)
	}
	if err := os.MkdirAll(filepath.Dir(inData), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inData, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ForKubectl(getenv); got != inData {
		t.Fatalf("only data-dir copy: got %s, want %s", got, inData)
	}
	if err := os.WriteFile(written, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := ForKubectl(getenv); got != written {
		t.Fatalf("both exist: got %s, want %s", got, written)
	}
}
