//go:build e2e

package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// k8sVersion is the k8s.io/kubernetes version go.mod requires, the one the
// Makefile stamps the binaries with (K8S_VERSION), read from the same line.
func k8sVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatalf("the Kubernetes version comes from go.mod: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "k8s.io/kubernetes" && strings.HasPrefix(f[1], "v") {
			return f[1]
		}
	}
	t.Fatal("../go.mod has no k8s.io/kubernetes requirement to take the Kubernetes version from")
	return ""
}

func TestVersion(t *testing.T) {
	k8s := k8sVersion(t)
	out, code := runKedge(t, nil, "--version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	mustContain(t, "kedge --version", out, "kedge version", "kubernetes "+k8s, "go go1.")
}

// TestStaticBinaries checks every built architecture with file(1) and runs
// the arm builds' --version under qemu-user.
func TestStaticBinaries(t *testing.T) {
	k8s := k8sVersion(t)
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
		if !strings.Contains(string(out), "kubernetes "+k8s) || !strings.Contains(string(out), run[1]) {
			t.Fatalf("%s --version: %s, want kubernetes %s and %s", bin, out, k8s, run[1])
		}
	}
}
