package preflight

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// healthy is a node every check passes on: cgroup v2 with all
// controllers, the kernel config in /boot, iptables-nft 1.8.9 and nft.
func healthy(t *testing.T) System {
	return System{
		ProcDir:       "testdata/proc/healthy",
		SysDir:        "testdata/sys/v2",
		BootDir:       "testdata/boot/healthy",
		KernelRelease: "6.1.0-kedge",
		DataDir:       filepath.Join(t.TempDir(), "var/lib/kedge"),
		LookPath:      lookPath("iptables", "nft"),
		Output: versions(map[string]string{
			"/usr/sbin/iptables": "iptables v1.8.9 (nf_tables)\n",
			"/usr/sbin/nft":      "nftables v1.0.6 (Lester Gooch #5)\n",
		}),
		Bind:     func(string, int) error { return nil },
		HasDType: func(string) (bool, error) { return true, nil },
	}
}

// lookPath finds the named tools in /usr/sbin and nothing else.
func lookPath(tools ...string) func(string) (string, error) {
	return func(file string) (string, error) {
		for _, t := range tools {
			if t == file {
				return "/usr/sbin/" + file, nil
			}
		}
		return "", exec.ErrNotFound
	}
}

// versions answers `path --version` from out.
func versions(out map[string]string) func(string, ...string) (string, error) {
	return func(path string, args ...string) (string, error) {
		if v, found := out[path]; found && len(args) == 1 && args[0] == "--version" {
			return v, nil
		}
		return "", errors.New("unexpected command " + path + " " + strings.Join(args, " "))
	}
}

func run(t *testing.T, s System) (string, error) {
	t.Helper()
	var b strings.Builder
	err := Run(&b, s)
	t.Logf("report:\n%s", b.String())
	return b.String(), err
}

func wantLine(t *testing.T, out, line string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if l == line {
			return
		}
	}
	t.Errorf("want the line %q in the report", line)
}

func TestHealthyNode(t *testing.T) {
	out, err := run(t, healthy(t))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "  ok    ") {
			t.Errorf("not ok: %q", line)
		}
	}
	wantLine(t, out, "Kernel config: testdata/boot/healthy/config-6.1.0-kedge")
	wantLine(t, out, "Namespaces")
	wantLine(t, out, "  ok    CONFIG_NAMESPACES")
	wantLine(t, out, "  ok    CONFIG_VXLAN (module)")
	wantLine(t, out, "  ok    CONFIG_NF_TABLES (module)")
	wantLine(t, out, "Cgroups (v2)")
	wantLine(t, out, "  ok    memory")
	wantLine(t, out, "  ok    iptables v1.8.9 (nf_tables)")
	wantLine(t, out, "  ok    nftables v1.0.6 (Lester Gooch #5)")
	wantLine(t, out, "  ok    default route: via eth0")
	wantLine(t, out, "  ok    6443/tcp (kube-apiserver): free")
	wantLine(t, out, "0 checks failed, 0 warnings")
}

func TestSummaryCountsFailuresAndWarnings(t *testing.T) {
	s := healthy(t)
	s.ProcDir = "testdata/proc/unsettled" // swap, ip_forward 0, no default route: 3 warnings
	s.Bind = func(_ string, port int) error {
		if port == 6443 {
			return syscall.EADDRINUSE // the failure
		}
		return errors.New("permission denied") // 2 ports untested: warnings
	}
	s.HasDType = func(string) (bool, error) { return false, nil } // the 6th warning
	out, err := run(t, s)
	if err == nil || err.Error() != "1 check failed" {
		t.Errorf("Run: %v, want 1 check failed", err)
	}
	wantLine(t, out, "1 check failed, 6 warnings")
}
