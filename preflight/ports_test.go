package preflight

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A /proc with pid 812 (kedge) listening on 6443 and the kernel's VXLAN
// socket on 8472; the fd link is made here, not kept as a dangling
// symlink in testdata.
func portsProc(t *testing.T) string {
	proc := t.TempDir()
	files := map[string]string{
		"net/tcp": "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
			"   0: 0100007F:2742 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0\n" +
			"   1: 0100007F:192B 0100007F:D4A2 01 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0\n",
		"net/tcp6": "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
			"   0: 00000000000000000000000000000000:192B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n",
		"net/udp": "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
			"  10: 00000000:2118 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 0 2 0000000000000000 0\n",
		"812/comm": "kedge\n",
	}
	for name, content := range files {
		path := filepath.Join(proc, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(proc, "812/fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	for fd, target := range map[string]string{"0": "/dev/null", "7": "socket:[4242]"} {
		if err := os.Symlink(target, filepath.Join(proc, "812/fd", fd)); err != nil {
			t.Fatal(err)
		}
	}
	return proc
}

func TestPortsInUse(t *testing.T) {
	s := healthy(t)
	s.ProcDir = portsProc(t)
	s.Bind = func(network string, port int) error {
		if port == 10250 {
			return nil
		}
		return fmt.Errorf("listen %s :%d: %w", network, port, syscall.EADDRINUSE)
	}
	g := s.ports()
	want := []result{
		{fail, "6443/tcp (kube-apiserver): in use by pid 812 (kedge)"},
		{ok, "10250/tcp (kubelet): free"},
		{fail, "8472/udp (flannel vxlan): in use by the kernel (a VXLAN device such as flannel.1?)"},
	}
	for i, r := range g.results {
		if r != want[i] {
			t.Errorf("got %v, want %v", r, want[i])
		}
	}
}

// Without the owner (another user's process, seen without root) the
// port alone is named.
func TestPortInUseOwnerUnknown(t *testing.T) {
	s := healthy(t)
	s.ProcDir = t.TempDir()
	s.Bind = func(string, int) error { return syscall.EADDRINUSE }
	if got := s.ports().results[0]; got != (result{fail, "6443/tcp (kube-apiserver): in use"}) {
		t.Errorf("got %v", got)
	}
}

// The real bind must report a taken port as EADDRINUSE, which is what
// tells "in use" from "cannot test".
func TestBindSeesPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.ListenPacket("udp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for network, port := range map[string]int{"tcp": l.Addr().(*net.TCPAddr).Port, "udp": c.LocalAddr().(*net.UDPAddr).Port} {
		if err := bind(network, port); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("bind(%s, %d) = %v, want EADDRINUSE", network, port, err)
		}
	}
}
