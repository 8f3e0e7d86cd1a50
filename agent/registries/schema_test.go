package registries

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed CA certificate and its key into dir.
func writeCA(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")
	write(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})))
	return certFile, keyFile
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadGood(t *testing.T) {
	dir := t.TempDir()
	ca, key := writeCA(t, dir)
	path := filepath.Join(dir, "registries.yaml")
	write(t, path, `mirrors:
  docker.io:
    endpoint: ["https://m.lan:5000", "http://10.0.0.5:5000/"]
  r.example:
    endpoint: ["http://10.0.0.5:5000"]
    rewrite:
      "^team/(.*)$": "mirrors/team/$1"
  "*":
    endpoint: ["https://m.lan:5000"]
configs:
  "m.lan:5000":
    auth: {username: u, password: p}
    tls: {ca_file: `+ca+`, cert_file: `+ca+`, key_file: `+key+`, insecure_skip_verify: true}
  "10.0.0.5:5000":
    auth: {auth: dTpw}
`)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Mirrors["docker.io"].Endpoints; len(got) != 2 || got[1].String() != "http://10.0.0.5:5000" {
		t.Errorf("docker.io endpoints %v", got)
	}
	if got := cfg.Mirrors["r.example"].Rewrite("team/app"); got != "mirrors/team/app" {
		t.Errorf("rewrite: %q", got)
	}
	if got := cfg.Mirrors["r.example"].Rewrite("other/app"); got != "other/app" {
		t.Errorf("no rewrite expected: %q", got)
	}
	if tls := cfg.Configs["m.lan:5000"].TLS; tls == nil || tls.CAFile != ca || !tls.InsecureSkipVerify {
		t.Errorf("tls %+v", tls)
	}
}

func TestLoadMissingOrEmptyFile(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.yaml")
	write(t, empty, "# nothing yet\n")
	for _, path := range []string{filepath.Join(dir, "absent.yaml"), empty} {
		cfg, err := Load(path)
		if err != nil || len(cfg.Mirrors)+len(cfg.Configs) != 0 {
			t.Errorf("%s: %v %+v, want an empty config", path, err, cfg)
		}
	}
}

func TestLoadErrorsNameFileLineAndKey(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, content string
		wants         []string
	}{
		{"syntax", "mirrors:\n  docker.io: [\n", []string{":2:", "did not find"}},
		{"unknown top key", "mirror:\n  docker.io: {}\n", []string{":1: mirror: unknown key", "mirrors, configs"}},
		{"unknown mirror key", "mirrors:\n  docker.io:\n    endpont: [\"https://m\"]\n", []string{":3:", `mirrors."docker.io".endpont`, "endpoint, rewrite"}},
		{"configs indented under mirrors", "mirrors:\n  docker.io:\n    endpoint: [\"https://m\"]\n  configs:\n    m:\n      tls: {}\n", []string{":4:", "indentation"}},
		{"endpoint not a list", "mirrors:\n  docker.io:\n    endpoint: https://m\n", []string{":3:", "want a list"}},
		{"endpoint leading space", "mirrors:\n  docker.io:\n    endpoint: [\" https://m\"]\n", []string{":3:", "endpoint[0]", "whitespace"}},
		{"endpoint no scheme", "mirrors:\n  docker.io:\n    endpoint: [\"m.lan:5000\"]\n", []string{":3:", `has no scheme; write "https://m.lan:5000"`}},
		{"registry with scheme", "mirrors:\n  https://docker.io:\n    endpoint: []\n", []string{":2:", "write docker.io"}},
		{"builtin mirrored", "mirrors:\n  kedge.local:\n    endpoint: [\"https://m\"]\n", []string{":2:", "built-in registry"}},
		{"bad regex", "mirrors:\n  r:\n    endpoint: [\"https://m\"]\n    rewrite:\n      \"^a/(.*$\": \"b/$1\"\n", []string{":5:", "rewrite", `"^a/(.*$"`}},
		{"missing ca", "configs:\n  m:\n    tls:\n      ca_file: /nonexistent/ca.pem\n", []string{":4:", `configs."m".tls.ca_file`, "no such file"}},
		{"ca not PEM", "configs:\n  m:\n    tls:\n      ca_file: " + filepath.Join(dir, "junk") + "\n", []string{":4:", "no PEM certificate"}},
		{"relative ca", "configs:\n  m:\n    tls:\n      ca_file: ca.pem\n", []string{":4:", "is a relative path; write an absolute one"}},
		{"cert without key", "configs:\n  m:\n    tls:\n      cert_file: /x.pem\n", []string{":4:", "needs its key; add configs.\"m\".tls.key_file"}},
		{"skip verify not bool", "configs:\n  m:\n    tls:\n      insecure_skip_verify: yes please\n", []string{":4:", "want true or false"}},
		{"user without password", "configs:\n  m:\n    auth:\n      username: u\n", []string{":4:", "has no password"}},
		{"auth not base64", "configs:\n  m:\n    auth:\n      auth: \"!!\"\n", []string{":4:", "base64"}},
		{"tab indent", "mirrors:\n\tdocker.io: {}\n", []string{":2:", "tab"}},
		{"second document", "mirrors: {}\n---\nconfigs: {}\n", []string{":2:", "second YAML document"}},
		{"duplicate key", "mirrors:\n  docker.io: {}\n  docker.io: {}\n", []string{":3:", "defined twice (first at line 2)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			write(t, filepath.Join(dir, "junk"), "not a certificate")
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
			write(t, path, tt.content)
			_, err := Load(path)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range append([]string{path + ":"}, tt.wants...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
