package server

import (
	"os"
	"strings"
	"testing"

	"github.com/kedge-io/kedge/token"
)

func TestEnsureTokensKeepsTheSecretAcrossStarts(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	ca := []byte("ca bundle")
	first, err := ensureTokens(cfg, cfg.layout(), ca)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(cfg.layout().TokenFile())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := token.Parse(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if tok.User != "server" || tok.Secret != first.server || tok.VerifyCA(ca) != nil {
		t.Fatalf("token file %q does not carry the server secret and CA hash", data)
	}
	if fi, _ := os.Stat(cfg.layout().TokenFile()); fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v", fi.Mode())
	}
	second, err := ensureTokens(cfg, cfg.layout(), ca)
	if err != nil || second.server != first.server {
		t.Fatalf("restart changed the secret: %v", err)
	}
}

func TestEnsureTokensFromFlags(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Token, cfg.AgentToken = "mysecret", "agentsecret"
	s, err := ensureTokens(cfg, cfg.layout(), []byte("ca"))
	if err != nil {
		t.Fatal(err)
	}
	if s.server != "mysecret" || s.agent != "agentsecret" {
		t.Fatalf("secrets %+v", s)
	}
	data, _ := os.ReadFile(cfg.layout().AgentTokenFile())
	if !strings.Contains(string(data), "::node:agentsecret") {
		t.Fatalf("agent token file %q", data)
	}
	cfg.AgentToken = ""
	if _, err := ensureTokens(cfg, cfg.layout(), []byte("ca")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.layout().AgentTokenFile()); !os.IsNotExist(err) {
		t.Fatalf("agent-token file left behind after --agent-token was dropped: %v", err)
	}
}

func TestEnsureTokensRejectsBadValues(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Token = "abcdef.0123456789abcdef"
	if _, err := ensureTokens(cfg, cfg.layout(), []byte("ca")); err == nil || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("bootstrap token as server token: %v", err)
	}
	cfg.Token = ""
	if err := os.MkdirAll(cfg.layout().ServerDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.layout().TokenFile(), []byte("K10zz::server:x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ensureTokens(cfg, cfg.layout(), []byte("ca")); err == nil || !strings.Contains(err.Error(), cfg.layout().TokenFile()) {
		t.Fatalf("damaged token file: %v", err)
	}
}
