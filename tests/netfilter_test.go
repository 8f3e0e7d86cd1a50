//go:build e2e

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// hostNetfilterGlobs match the host's packet-filter programs, which
// hideHostNetfilter takes away from a node.
var hostNetfilterGlobs = []string{"iptables*", "ip6tables*", "xtables-*", "arptables*", "ebtables*", "nft"}

// TestBundledNetfilter runs a server on a host whose iptables, ip6tables
// and nft are gone (a fresh minimal Debian): the node must use the runtime
// bundle's, say so, pick the backend the host's existing rules use, put
// kube-proxy's and flannel's rules there and serve a NodePort.
func TestBundledNetfilter(t *testing.T) {
	for _, tt := range []struct {
		name  string
		flags []string
		// seedLegacy adds a legacy rule before kedge starts, as a host
		// with another legacy iptables user has.
		seedLegacy bool
		// line is what one line of the log says, besides the bundle's path.
		line  []string
		rules func(t *testing.T, a *node)
	}{
		{
			name:  "nft",
			line:  []string{"using kedge's bundled iptables v1.8.9 (nf_tables) from ", "(backend: no legacy tables on the host)"},
			rules: func(t *testing.T, a *node) { rulesOnlyIn(t, a, "iptables-nft-save", "iptables-legacy-save") },
		},
		{
			name:       "legacy",
			seedLegacy: true,
			line:       []string{"using kedge's bundled iptables v1.8.9 (legacy) from ", "(backend: rules on the host: 1 legacy, 0 nf_tables)"},
			rules:      func(t *testing.T, a *node) { rulesOnlyIn(t, a, "iptables-legacy-save", "iptables-nft-save") },
		},
		{
			name:  "nftables",
			flags: []string{"--kube-proxy-mode", "nftables"},
			line:  []string{"using kedge's bundled nftables v1.0.6 ", ": the host has no nft"},
			rules: func(t *testing.T, a *node) {
				mustContain(t, "nft list tables", a.net.Run(t, bundledTool(t, a, "nft"), "list", "tables"), "table ip kube-proxy")
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newNetnsServer(t, tt.flags...)
			a.addImage(t, "busybox.tar")
			hideHostNetfilter(t, a)
			if tt.seedLegacy {
				// TEST-NET-1: matches nothing the test sends.
				a.net.Run(t, "iptables-legacy", "-A", "INPUT", "-s", "192.0.2.1", "-j", "DROP")
			}
			started := time.Now()
			a.startReady(t)
			line := append(tt.line, filepath.Join(a.dataDir, "data")+"/", "/netfilter/bin")
			if lineWith(a.runLog(), line...) == "" {
				t.Fatalf("no log line with all of %q:\n%s", line, tail(a.runLog(), 60))
			}

			s := &webScenario{a: a, c: a.client(t)}
			s.nodeReady(t, started)
			s.deploymentRuns(t)
			s.expectNodePort(t)
			tt.rules(t, a)
		})
	}
}

// TestBundledNetfilterRejectsBadMode checks that a KEDGE_IPTABLES_MODE
// the bundled iptables does not know stops the start while the parts
// prepare, before containerd or anything else runs.
func TestBundledNetfilterRejectsBadMode(t *testing.T) {
	a := newNetnsServer(t)
	out := a.expectFailure(t, []string{"KEDGE_IPTABLES_MODE=nf_tables"})
	mustContain(t, "KEDGE_IPTABLES_MODE=nf_tables", out, `preparing netfilter: KEDGE_IPTABLES_MODE="nf_tables": want nft or legacy`)
	if _, err := os.Stat(filepath.Join(a.runDir, "containerd")); err == nil {
		t.Fatalf("containerd's run dir exists: it was prepared before the bad mode stopped the start:\n%s", tail(out, 40))
	}
}

// rulesOnlyIn checks, with the host's tools, that kube-proxy's and
// flannel's rules in node a are in the backend save prints and that none
// of kube-proxy's, flannel's or the CNI plugins' are in the one other
// prints.
func rulesOnlyIn(t *testing.T, a *node, save, other string) {
	t.Helper()
	mustContain(t, save, a.net.Run(t, save, "-t", "nat"), "-A KUBE-NODEPORTS", "-A FLANNEL-POSTRTG")
	out := a.net.Run(t, other)
	for _, prefix := range []string{"KUBE-", "FLANNEL-", "CNI-"} {
		if strings.Contains(out, prefix) {
			t.Fatalf("%s shows %s rules, which belong in %s only:\n%s", other, prefix, save, out)
		}
	}
}

// hideHostNetfilter takes the host's packet-filter programs away from node
// a's mount namespace, where kedge runs: an empty, non-executable file is
// bind-mounted over every program their names on PATH resolve to. The
// mounts stay in that namespace and go with it.
func hideHostNetfilter(t *testing.T, a *node) {
	t.Helper()
	a.prepareMountNS(t)
	var programs []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		for _, glob := range hostNetfilterGlobs {
			matches, _ := filepath.Glob(filepath.Join(dir, glob))
			for _, m := range matches {
				if p, err := filepath.EvalSymlinks(m); err == nil && !slices.Contains(programs, p) {
					programs = append(programs, p)
				}
			}
		}
	}
	empty := filepath.Join(t.TempDir(), "empty")
	writeFile(t, empty, "")
	a.inMountNS(t, "sh", append([]string{"-c", `for p; do mount --bind "$0" "$p"; done`, empty}, programs...)...)
	out := a.inMountNS(t, "sh", "-c", `for c in iptables ip6tables iptables-save iptables-restore iptables-legacy nft; do
		"$c" --version >/dev/null 2>&1 && echo "$c still runs"; done; true`)
	if out != "" {
		t.Fatalf("host tools still visible in %s's mount namespace:\n%s", a.name, out)
	}
	t.Logf("hid %d host programs from %s: %v", len(programs), a.name, programs)
}

// inMountNS runs a command in the node's mount namespace, which kedge sees,
// and returns its output.
func (n *node) inMountNS(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd, err := n.net.Spawn(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := runWithTimeout(cmd, time.Minute)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// bundledTool is the path of a program in node a's unpacked netfilter/bin.
func bundledTool(t *testing.T, a *node, name string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(a.dataDir, "data", "*", "netfilter", "bin", name))
	if len(matches) != 1 {
		t.Fatalf("want one %s in %s/data/*/netfilter/bin, found %v", name, a.dataDir, matches)
	}
	return matches[0]
}

// TestBundledNetfilterUnderQEMU checks the arm bundles' iptables and nft
// under qemu-user, unpacked from the archives the arm kedge builds embed:
// the wrapper is a static program of that architecture, Debian's glibc
// loader resolves every library the programs and extensions need from the
// bundle, and the programs run. Two limits of this host shape it. It has
// no binfmt_misc entry for arm (and a test must not add one host-wide), so
// the kernel cannot exec an arm loader: the wrapper's own exec fails, and
// the test runs the loader under qemu with the arguments the wrapper
// passes. And qemu-user refuses NETLINK_NETFILTER sockets, which the
// nf_tables programs open before they even print their version: for them,
// their own error about it shows that they ran.
func TestBundledNetfilterUnderQEMU(t *testing.T) {
	for _, tt := range []struct{ arch, make, qemu, file string }{
		{"arm64", "build-arm64", "qemu-aarch64-static", "ARM aarch64"},
		{"arm", "build-armv7", "qemu-arm-static", "ARM, EABI5"},
	} {
		t.Run(tt.arch, func(t *testing.T) {
			archive := "../agent/bundle/assets/runtime-" + tt.arch + ".tar.zst"
			if _, err := os.Stat(archive); err != nil {
				t.Fatalf("%v; `make %s` builds it", err, tt.make)
			}
			root := t.TempDir()
			if out, err := exec.Command("tar", "--zstd", "-xf", archive, "-C", root).CombinedOutput(); err != nil {
				t.Fatalf("unpacking %s: %v\n%s", archive, err, out)
			}
			q := qemuBundle{t: t, qemu: tt.qemu, nf: filepath.Join(root, "netfilter")}
			wrapper := filepath.Join(q.nf, "bin", "iptables")
			out, err := exec.Command("file", "-L", wrapper).CombinedOutput()
			if err != nil {
				t.Fatalf("file %s: %v", wrapper, err)
			}
			mustContain(t, "file "+wrapper, string(out), "statically linked", tt.file)
			extensions, _ := filepath.Glob(filepath.Join(q.nf, "xtables", "*.so"))
			for _, f := range append(extensions, q.sbin("xtables-nft-multi"), q.sbin("xtables-legacy-multi"), q.sbin("nft")) {
				q.resolvesInBundle(f)
			}
			q.run("iptables", "xtables-legacy-multi", "iptables v1.8.9 (legacy)")
			q.run("ip6tables-legacy-save", "xtables-legacy-multi", "ip6tables-save v1.8.9 (legacy)")
			q.run("iptables", "xtables-nft-multi", "iptables v1.8.9 (nf_tables)", "iptables: Failed to initialize nft: Protocol not supported")
			q.run("nft", "nft", "nftables v1.0.6", "Unable to initialize Netlink socket: Protocol not supported")
			out, _ = exec.Command(tt.qemu, wrapper, "--version").CombinedOutput()
			if got := string(out); !strings.Contains(got, "iptables v1.8.9") && !strings.Contains(got, q.sbin("ld.so")+": Exec format error") {
				t.Errorf("%s %s --version: %q, want the version or the loader's exec refused", tt.qemu, wrapper, got)
			}
		})
	}
}

// qemuBundle runs an unpacked bundle's netfilter programs under qemu.
type qemuBundle struct {
	t    *testing.T
	qemu string
	nf   string // the netfilter dir
}

func (q qemuBundle) sbin(name string) string { return filepath.Join(q.nf, "sbin", name) }

// loader runs the bundle's glibc loader under qemu with args.
func (q qemuBundle) loader(args ...string) (string, error) {
	cmd := exec.Command(q.qemu, append([]string{q.sbin("ld.so"), "--library-path", filepath.Join(q.nf, "lib")}, args...)...)
	cmd.Env = append(os.Environ(), "XTABLES_LIBDIR="+filepath.Join(q.nf, "xtables"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// resolvesInBundle checks that the loader finds every library file needs
// in the bundle's lib dir (and itself for the programs' interpreter).
func (q qemuBundle) resolvesInBundle(file string) {
	q.t.Helper()
	out, err := q.loader("--list", file)
	if err != nil {
		q.t.Fatalf("ld.so --list %s: %v\n%s", file, err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		_, lib, ok := strings.Cut(line, " => ")
		if ok && !strings.HasPrefix(lib, filepath.Join(q.nf, "lib")+"/") && !strings.HasPrefix(lib, q.sbin("ld.so")+" ") {
			q.t.Errorf("ld.so --list %s: %s is not from the bundle", file, strings.TrimSpace(line))
		}
	}
}

// run runs program as argv0 with --version and wants one of the outputs.
func (q qemuBundle) run(argv0, program string, want ...string) {
	q.t.Helper()
	out, err := q.loader("--argv0", argv0, q.sbin(program), "--version")
	for _, w := range want {
		if strings.Contains(out, w) {
			return
		}
	}
	q.t.Errorf("%s as %s --version: %v %q, want one of %q", program, argv0, err, out, want)
}
