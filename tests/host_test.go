//go:build e2e

package tests

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kedge-io/kedge/tests/netns"
)

// kedgeBin is the binary under test, built by `make test-integration`. It
// is absolute: nsenter starts a test node's kedge from the namespace's root.
func kedgeBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KEDGE_BIN")
	if bin == "" {
		t.Fatal("KEDGE_BIN is not set; run the e2e tests with `make test-integration`")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// freePort asks the kernel for an unused loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hostIP is an address the apiserver may advertise: Kubernetes refuses
// loopback in the `kubernetes` Service endpoints, though a server on the
// host listens on 127.0.0.1 only.
func hostIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Fatal("this host has no non-loopback IPv4 address to advertise")
	return ""
}

// runKedge runs a short kedge command on the host, outside any node, and
// returns its combined output and exit code.
func runKedge(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(kedgeBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	return runToExit(t, cmd, 2*time.Minute)
}

// runToExit runs cmd and returns its output and exit code. A run killed
// by the timeout or by a signal fails the test: neither is an answer.
func runToExit(t *testing.T, cmd *exec.Cmd, timeout time.Duration) (string, int) {
	t.Helper()
	out, err := runWithTimeout(cmd, timeout)
	if cmd.ProcessState == nil || !cmd.ProcessState.Exited() {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, tail(out, 60))
	}
	return out, cmd.ProcessState.ExitCode()
}

// runWithTimeout runs cmd, killing it by PID after timeout, and returns
// its combined output. Output a leftover child still holds open is given
// up on shortly after cmd itself exits.
func runWithTimeout(cmd *exec.Cmd, timeout time.Duration) (string, error) {
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return "", err
	}
	timer := time.AfterFunc(timeout, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // cmd exited 0; only its output pipe outlived it
	}
	if !timer.Stop() {
		err = fmt.Errorf("killed after %s: %w", timeout, err)
	}
	return out.String(), err
}

// newTopology makes n test nodes for kedge to run in, on a bridge with no
// route out. Cleanups run last-registered first: the nodes' kedge is
// killed, then the topology kills what is left and removes cgroups, links
// and namespaces, then kernel settings return, and only then the files go.
func newTopology(t *testing.T, n int) *netns.Topology {
	t.Helper()
	requireAgentHost(t)
	keepKernelTunables(t)
	return netns.New(t, n)
}

// requireAgentHost skips without root (namespaces, cgroups, mounts) and
// fails when a tool the harness drives is missing.
func requireAgentHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs a node in its own network and mount namespaces")
	}
	for _, tool := range []string{"ip", "nsenter", "unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (Debian packages iproute2, util-linux, mount)", tool)
		}
	}
}

// kernelTunables are host-wide sysctls the kubelet sets on start
// (setupKernelTunables), with the values it sets; no namespace confines
// them, so the test puts the host's values back.
var kernelTunables = map[string]string{
	"vm/overcommit_memory": "1", "vm/panic_on_oom": "0",
	"kernel/panic": "10", "kernel/panic_on_oops": "1",
	"kernel/keys/root_maxkeys": "1000000", "kernel/keys/root_maxbytes": "25000000",
}

// keepKernelTunables records the tunables now and restores them in cleanup.
func keepKernelTunables(t *testing.T) {
	saved := map[string][]byte{}
	for k := range kernelTunables {
		if v, err := os.ReadFile("/proc/sys/" + k); err == nil {
			saved[k] = v
		}
	}
	t.Cleanup(func() {
		for k, v := range saved {
			if now, _ := os.ReadFile("/proc/sys/" + k); !bytes.Equal(now, v) {
				if err := os.WriteFile("/proc/sys/"+k, v, 0o644); err != nil {
					t.Logf("restoring %s: %v", k, err)
				}
			}
		}
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
