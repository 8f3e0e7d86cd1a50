package preflight

import (
	"compress/gzip"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var parsed = kernelConfig{
	"CONFIG_CC_VERSION_TEXT": "gcc (Debian 12.2.0-14) 12.2.0",
	"CONFIG_NAMESPACES":      "y",
	"CONFIG_VXLAN":           "m",
	"CONFIG_USER_NS":         "n",
	"CONFIG_IP_SET":          "n",
	"CONFIG_NR_CPUS":         "64",
	"CONFIG_VETH":            "y",
}

func TestParseKernelConfig(t *testing.T) {
	kc, err := readKernelConfig("testdata/kernel/parse.config")
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(kc, parsed) {
		t.Errorf("got %v, want %v", kc, parsed)
	}
}

func TestReadGzippedKernelConfig(t *testing.T) {
	plain, err := os.ReadFile("testdata/kernel/parse.config")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.gz")
	writeGzip(t, path, plain)
	kc, err := readKernelConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(kc, parsed) {
		t.Errorf("got %v, want %v", kc, parsed)
	}
}

func writeGzip(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// /proc/config.gz describes the running kernel for sure, so it wins over
// /boot.
func TestProcConfigPreferred(t *testing.T) {
	s := healthy(t)
	s.ProcDir = t.TempDir()
	writeGzip(t, filepath.Join(s.ProcDir, "config.gz"), []byte("CONFIG_NAMESPACES=y\n"))
	kc, g := s.loadKernelConfig()
	if want := "Kernel config: " + filepath.Join(s.ProcDir, "config.gz"); g.name != want || kc["CONFIG_NAMESPACES"] != "y" {
		t.Errorf("got %q %v, want %q", g.name, kc, want)
	}
}

func TestMissingKernelConfig(t *testing.T) {
	s := healthy(t)
	s.BootDir = "testdata/boot/pi-bookworm"
	out, err := run(t, s)
	if err != nil {
		t.Errorf("Run: %v; a missing config only warns", err)
	}
	wantLine(t, out, "Kernel config: not found")
	wantLine(t, out, "  warn  tried testdata/proc/healthy/config.gz, testdata/boot/pi-bookworm/config-6.1.0-kedge;"+
		" set KERNEL_CONFIG or --kernel-config to the kernel's config file — the kernel options are not checked")
	if strings.Contains(out, "CONFIG_") {
		t.Error("kernel options reported without a kernel config")
	}
	wantLine(t, out, "Cgroups (v2)")
	wantLine(t, out, "0 checks failed, 1 warning")
}

func TestNamedKernelConfigMissing(t *testing.T) {
	s := healthy(t)
	s.KernelConfig = "testdata/kernel/nonexistent"
	out, err := run(t, s)
	if err == nil {
		t.Error("Run succeeded without the kernel config the user named")
	}
	wantLine(t, out, "Kernel config: testdata/kernel/nonexistent")
	wantLine(t, out, "  fail  open testdata/kernel/nonexistent: no such file or directory; the kernel options are not checked")
}

func TestMissingOption(t *testing.T) {
	kc := kernelConfig{"CONFIG_USER_NS": "n"}
	for _, tc := range []struct {
		opt  option
		want result
	}{
		{namespaceOptions[0], result{fail, "CONFIG_NAMESPACES: not set — containers run in namespaces"}},
		{namespaceOptions[5], result{warn, "CONFIG_USER_NS: not set — only pods with hostUsers: false need it"}},
		{netfilterOptions[2], result{fail, "CONFIG_IP_NF_IPTABLES or CONFIG_NF_TABLES: not set — kube-proxy and flannel program iptables or nftables"}},
	} {
		if got := kc.check(tc.opt); got != tc.want {
			t.Errorf("got %v, want %v", got, tc.want)
		}
	}
}
