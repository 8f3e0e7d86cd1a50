package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTakeRemovesSocketAndReadySends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv(envSocket, path)

	n := Take()
	if _, set := os.LookupEnv(envSocket); set {
		t.Fatalf("%s still in the environment, children would inherit it", envSocket)
	}
	if err := n.Ready(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:got]) != "READY=1" {
		t.Fatalf("sent %q, want READY=1", buf[:got])
	}
}

func TestWithoutServiceManagerSendsNothing(t *testing.T) {
	t.Setenv(envSocket, "")
	if err := Take().Ready(); err != nil {
		t.Fatalf("Ready without a service manager: %v", err)
	}
}

func TestUnreachableSocketIsAnError(t *testing.T) {
	t.Setenv(envSocket, filepath.Join(t.TempDir(), "gone.sock"))
	if err := Take().Ready(); err == nil {
		t.Fatal("want an error for a socket nobody listens on")
	}
}
