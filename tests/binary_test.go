//go:build e2e

package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	out, code := runKedge(t, nil, "--version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	mustContain(t, "kedge --version", out, "kedge version", "kubernetes v1.36.3", "go go1.")
}

// TestStaticBinaries checks every built architecture with file(1) and runs
// the arm builds' --version under qemu-user.
func TestStaticBinaries(t *testing.T) {
	cases := map[string]string{
		"KEDGE_BIN":       "x86-64",
		"KEDGE_BIN_ARM64": "ARM aarch64",
		"KEDGE_BIN_ARMV7": "ARM, EABI5",
	}
	for env, arch := range cases {
		bin := os.Getenv(env)
		if bin == "" {
			continue
		}
		out, err := exec.Command("file", "-L", bin).CombinedOutput()
		if err != nil {
			t.Fatalf("file %s: %v", bin, err)
		}
		mustContain(t, "file "+bin, string(out), "statically linked", arch)
	}
	for env, run := range map[string][2]string{
		"KEDGE_BIN_ARM64": {"qemu-aarch64-static", "linux/arm64"},
		"KEDGE_BIN_ARMV7": {"qemu-arm-static", "linux/arm"},
	} {
		bin := os.Getenv(env)
		if bin == "" {
			t.Fatalf("%s is not set; `make test-integration` builds it", env)
		}
		out, err := exec.Command(run[0], bin, "--version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s --version: %v\n%s", run[0], bin, err, out)
		}
		if !strings.Contains(string(out), "kubernetes v1.36.3") || !strings.Contains(string(out), run[1]) {
			t.Fatalf("%s --version: %s", bin, out)
		}
	}
}
