//go:build e2e

package tests

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfig runs `kedge check-config` on this machine and holds its
// lines against what the test reads from the machine itself.
func TestCheckConfig(t *testing.T) {
	dataDir := t.TempDir()
	// KERNEL_CONFIG= keeps a setting of the caller's from choosing the file.
	out, code := runKedge(t, []string{"KEDGE_DATA_DIR=" + filepath.Join(dataDir, "kedge"), "KERNEL_CONFIG="}, "check-config")
	want := func(status string, parts ...string) {
		t.Helper()
		line := lineWith(out, parts...)
		if line == "" {
			t.Errorf("no line with %q in:\n%s", parts, out)
		} else if got := strings.Fields(line)[0]; got != status {
			t.Errorf("want %s, got %q", status, line)
		}
	}

	fails, warns := strings.Count(out, "\n  fail  "), strings.Count(out, "\n  warn  ")
	if (code != 0) != (fails > 0) {
		t.Errorf("exit %d with %d fail lines:\n%s", code, fails, out)
	}
	mustContain(t, "summary", out, fmt.Sprintf("\n%d check", fails), fmt.Sprintf(" failed, %d warning", warns))

	path, config := machineKernelConfig(t)
	if path == "" {
		mustContain(t, "kernel config", out, "Kernel config: not found")
	} else {
		mustContain(t, "kernel config", out, "Kernel config: "+path+"\n")
		for _, name := range []string{"CONFIG_NAMESPACES", "CONFIG_NET_NS", "CONFIG_SECCOMP_FILTER", "CONFIG_BRIDGE_NETFILTER",
			"CONFIG_VXLAN", "CONFIG_OVERLAY_FS", "CONFIG_NETFILTER_XT_MATCH_COMMENT"} {
			switch kernelOption(config, name) {
			case "y":
				mustContain(t, name, out, "\n  ok    "+name+"\n")
			case "m":
				mustContain(t, name, out, "\n  ok    "+name+" (module)\n")
			default:
				want("fail", name+": not set")
			}
		}
	}

	v2, enabled := machineCgroups(t)
	heading := "\nCgroups (v1)\n"
	if v2 {
		heading = "\nCgroups (v2)\n"
	}
	mustContain(t, "cgroups", out, heading)
	for _, c := range []string{"cpu", "cpuset", "memory", "pids"} {
		if enabled[c] {
			mustContain(t, "cgroup "+c, out, "\n  ok    "+c+"\n")
		} else {
			want("fail", "  "+c+": controller not enabled")
		}
	}

	if _, err := exec.LookPath("iptables"); err == nil {
		version, err := exec.Command("iptables", "--version").Output()
		if err != nil {
			t.Fatalf("iptables --version: %v", err)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(version)), "\n")
		if lineWith(out, "  "+first) == "" {
			t.Errorf("want the line of %q in:\n%s", first, out)
		}
	} else if lineWith(out, "iptables", "on PATH") == "" {
		t.Errorf("iptables is not on PATH, and the report does not say so:\n%s", out)
	}

	if forward := strings.TrimSpace(readFile(t, "/proc/sys/net/ipv4/ip_forward")); forward == "1" {
		want("ok", "ip_forward: 1")
	} else {
		want("warn", "ip_forward: "+forward)
	}
	if swaps := strings.Split(strings.TrimSpace(readFile(t, "/proc/swaps")), "\n"); len(swaps) > 1 {
		want("warn", "swap: on")
	} else {
		want("ok", "swap: off")
	}
	if hasDefaultRoute(t) {
		want("ok", "default route: via ")
	} else {
		want("warn", "default route: none", "--node-ip")
	}
	want("ok", "d_type: supported by the filesystem of "+dataDir)
	mustContain(t, "ports", out, "6443/tcp (kube-apiserver): ", "10250/tcp (kubelet): ", "8472/udp (flannel vxlan): ")
}

// machineKernelConfig finds the running kernel's config the way kedge
// should: /proc/config.gz, else /boot/config-<release>. It returns "", ""
// when neither exists.
func machineKernelConfig(t *testing.T) (string, string) {
	t.Helper()
	if f, err := os.Open("/proc/config.gz"); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return "/proc/config.gz", string(data)
	}
	path := "/boot/config-" + strings.TrimSpace(readFile(t, "/proc/sys/kernel/osrelease"))
	if data, err := os.ReadFile(path); err == nil {
		return path, string(data)
	}
	return "", ""
}

// kernelOption is name's value in config: y, m, or "" when not set.
func kernelOption(config, name string) string {
	for _, line := range strings.Split(config, "\n") {
		if v, found := strings.CutPrefix(line, name+"="); found {
			return v
		}
	}
	return ""
}

// machineCgroups reads the cgroup version and the enabled controllers:
// the unified hierarchy's cgroup.controllers, else /proc/cgroups.
func machineCgroups(t *testing.T) (bool, map[string]bool) {
	t.Helper()
	enabled := map[string]bool{}
	if data, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		for _, c := range strings.Fields(string(data)) {
			enabled[c] = true
		}
		return true, enabled
	}
	for _, line := range strings.Split(readFile(t, "/proc/cgroups"), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[3] == "1" {
			enabled[f[0]] = true
		}
	}
	return false, enabled
}

// hasDefaultRoute reads /proc/net/route: "Iface Destination Gateway Flags
// RefCnt Use Metric Mask ...", destination and mask 0.
func hasDefaultRoute(t *testing.T) bool {
	t.Helper()
	for _, line := range strings.Split(readFile(t, "/proc/net/route"), "\n") {
		if f := strings.Fields(line); len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return true
		}
	}
	return false
}
