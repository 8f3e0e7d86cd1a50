package datadir

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestClaimIsExclusiveUntilReleased(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "server")
	l, err := Claim(dir)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := os.ReadFile(filepath.Join(dir, "kedge.pid"))
	if strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("pid file %q", pid)
	}
	_, err = Claim(dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another kedge process (pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second claim: %v", err)
	}
	l.Release()
	l2, err := Claim(dir)
	if err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	l2.Release()
}

func TestClaimNamesAnUnwritableDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Claim(filepath.Join(file, "server")); err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("got %v", err)
	}
}
