//go:build e2e

package tests

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// kedgeBin is the binary under test, built by `make test-integration`.
func kedgeBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("KEDGE_BIN")
	if bin == "" {
		t.Fatal("KEDGE_BIN is not set; run the e2e tests with `make test-integration`")
	}
	return bin
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
// loopback in the `kubernetes` Service endpoints, though the server itself
// listens on 127.0.0.1 only.
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

// node is one kedge server process with its own data dir and port.
type node struct {
	t          *testing.T
	dir        string
	port       int
	args       []string
	cmd        *exec.Cmd
	log        *syncBuffer
	exited     chan struct{}
	kubeconfig string
}

func newNode(t *testing.T, extra ...string) *node {
	t.Helper()
	dir := t.TempDir()
	n := &node{t: t, dir: dir, port: freePort(t), kubeconfig: filepath.Join(dir, "kubeconfig.yaml")}
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	n.args = append([]string{"server", "--disable-agent",
		"--config", cfgFile,
		"--data-dir", filepath.Join(dir, "data"),
		"--write-kubeconfig", n.kubeconfig,
		"--bind-address", "127.0.0.1",
		"--node-ip", hostIP(t),
		"--https-listen-port", strconv.Itoa(n.port),
	}, extra...)
	return n
}

// start launches the server; t.Cleanup stops it by PID if the test did not.
func (n *node) start() {
	n.t.Helper()
	n.log = &syncBuffer{}
	n.cmd = exec.Command(kedgeBin(n.t), n.args...)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(n.exited) }()
	n.t.Cleanup(func() {
		if n.running() {
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
		if n.t.Failed() {
			n.t.Logf("kedge log tail:\n%s", tail(n.log.String(), 40))
		}
	})
}

func (n *node) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// waitForLog waits until the server logged line, or fails the test.
func (n *node) waitForLog(line string, timeout time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(n.log.String(), line) {
			return
		}
		if !n.running() {
			n.t.Fatalf("kedge exited before logging %q:\n%s", line, tail(n.log.String(), 40))
		}
		time.Sleep(200 * time.Millisecond)
	}
	n.t.Fatalf("kedge did not log %q within %s", line, timeout)
}

// stop sends SIGTERM and expects a clean exit.
func (n *node) stop() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		n.t.Fatal(err)
	}
	select {
	case <-n.exited:
	case <-time.After(60 * time.Second):
		n.t.Fatal("kedge did not stop within 60s of SIGTERM")
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		n.t.Fatalf("kedge exited with %d after SIGTERM:\n%s", code, tail(n.log.String(), 40))
	}
}

func (n *node) client() *kubernetes.Clientset {
	n.t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", n.kubeconfig)
	if err != nil {
		n.t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// runKedge runs a short kedge command and returns its combined output and
// exit code.
func runKedge(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kedgeBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running kedge %v: %v", args, err)
		}
	}
	return string(out), cmd.ProcessState.ExitCode()
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Fatalf("%s: want %q in:\n%s", what, w, tail(got, 30))
		}
	}
}
