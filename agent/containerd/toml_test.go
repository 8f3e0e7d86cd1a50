package containerd

import (
	"strings"
	"testing"
)

func TestCheckTOML(t *testing.T) {
	if err := CheckTOML("ok.toml", []byte("a = 1\n[b]\n  c = \"d\"\n")); err != nil {
		t.Fatalf("valid TOML rejected: %v", err)
	}
	err := CheckTOML("bad.toml", []byte("a = 1\n[b\nc = 2\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "bad.toml:2:") {
		t.Fatalf("got %v, want an error at bad.toml:2", err)
	}
}
