package containerd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kedge-io/kedge/agent/bundle"
)

// TestSupervisorRestartsContainerd runs the real bundled containerd, kills
// it, and expects kedge to bring it back, then to stop it cleanly.
func TestSupervisorRestartsContainerd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("containerd needs root")
	}
	dir := t.TempDir()
	bin, err := bundle.Unpack(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "run"), BinDir: bin,
		CNIConfDir: filepath.Join(dir, "cni"), PauseImage: "kedge.local/pause:3.10", Snapshotter: "native",
		RestrictOOMScoreAdj: !CanLowerOOMScore(),
	}
	c := New(cfg, func() []string { return []string{"PATH=" + bundle.Prepend(os.Getenv("PATH"), bin)} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatalf("%v\n%s", err, readLog(cfg))
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop(context.Background())
		}
	}()

	c.mu.Lock()
	first := c.cmd.Process
	c.mu.Unlock()
	if err := first.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.mu.Lock()
		current := c.cmd.Process
		c.mu.Unlock()
		if current.Pid != first.Pid && c.Ready(ctx) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd was not restarted\n%s", readLog(cfg))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// New registry credentials: a new config on disk and a new process.
	section := "[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = \"" + filepath.Join(dir, "certs.d") + "\"\n"
	if restarted, err := c.SetRegistry(ctx, section); err != nil || !restarted {
		t.Fatalf("SetRegistry: restarted %v, %v\n%s", restarted, err, readLog(cfg))
	}
	if data, _ := os.ReadFile(cfg.ConfigPath()); !strings.Contains(string(data), "certs.d") {
		t.Fatalf("config not rewritten:\n%s", data)
	}
	c.mu.Lock()
	third := c.cmd.Process
	c.mu.Unlock()
	if third.Pid == first.Pid || c.Ready(ctx) != nil {
		t.Fatal("containerd not running anew after SetRegistry")
	}
	if restarted, err := c.SetRegistry(ctx, section); err != nil || restarted {
		t.Fatalf("same section again: restarted %v, %v", restarted, err)
	}

	stopped = true
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Ready(ctx) == nil {
		t.Fatal("socket still answers after Stop")
	}
}

func readLog(cfg Config) string {
	b, _ := os.ReadFile(cfg.LogPath())
	return string(b)
}
