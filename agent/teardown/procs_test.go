package teardown

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fakeProc writes /proc/<pid>/{stat,exe} for one process into root; an
// empty exe is a kernel thread (no link).
func fakeProc(t *testing.T, root string, pid, ppid int, name, exe string) {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stat := fmt.Sprintf("%d (%s) S %d 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n", pid, name, ppid, 1000+pid)
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if exe != "" {
		if err := os.Symlink(exe, filepath.Join(dir, "exe")); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindTargets(t *testing.T) {
	root := t.TempDir()
	bundle := "/var/lib/kedge/data"
	shim := bundle + "/0f1e/bin/containerd-shim-runc-v2"
	fakeProc(t, root, 1, 0, "systemd", "/usr/lib/systemd/systemd")
	fakeProc(t, root, 2, 0, "kthreadd", "")
	fakeProc(t, root, 50, 1, "kedge", "/usr/local/bin/kedge")
	fakeProc(t, root, 60, 50, "containerd", bundle+"/0aaa/bin/containerd (deleted)")
	fakeProc(t, root, 100, 1, "containerd-shim", shim)
	fakeProc(t, root, 101, 100, "pause", "/pause")
	fakeProc(t, root, 102, 100, "nginx: master (x)", "/usr/sbin/nginx")
	fakeProc(t, root, 103, 102, "nginx", "/usr/sbin/nginx")
	// Another node's data dir, a sibling sharing the prefix, and Docker.
	fakeProc(t, root, 200, 1, "containerd-shim", "/var/lib/other/data/0f1e/bin/containerd-shim-runc-v2")
	fakeProc(t, root, 201, 200, "sleep", "/bin/sleep")
	fakeProc(t, root, 300, 1, "containerd-shim", "/var/lib/kedge/database/bin/containerd-shim-runc-v2")
	fakeProc(t, root, 400, 1, "containerd-shim", "/usr/bin/containerd-shim-runc-v2")
	fakeProc(t, root, 401, 400, "redis", "/usr/bin/redis-server")
	if err := os.Mkdir(filepath.Join(root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := findTargets(root, bundle)
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range got {
		pids = append(pids, p.pid)
	}
	if want := []int{60, 100, 101, 102, 103}; !slices.Equal(pids, want) {
		t.Fatalf("targets %v, want %v", pids, want)
	}
	if got[3].name != "nginx: master (x)" || got[3].ppid != 100 || got[3].start != "1102" {
		t.Fatalf("parsed %+v", got[3])
	}
}

func TestAliveChecksIdentity(t *testing.T) {
	root := t.TempDir()
	fakeProc(t, root, 100, 1, "shim", "/x")
	p, err := readStat(root, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !alive(root, p) {
		t.Fatal("a running process counts as gone")
	}
	reused := p
	reused.start = "999999"
	if alive(root, reused) {
		t.Fatal("a reused pid counts as the killed process")
	}
	zombie := filepath.Join(root, "100", "stat")
	if err := os.WriteFile(zombie, []byte("100 (shim) Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1100 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if alive(root, p) {
		t.Fatal("a zombie counts as alive")
	}
	if alive(root, proc{pid: 7, start: "1"}) {
		t.Fatal("a missing process counts as alive")
	}
}

func TestFindToolPrefersNewestBundle(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // nothing on PATH
	root := t.TempDir()
	for i, hash := range []string{"old", "new"} {
		bin := filepath.Join(root, hash, "netfilter", "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, "nft"), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		when := time.Date(2026, 1, 1, i, 0, 0, 0, time.UTC)
		if err := os.Chtimes(filepath.Join(root, hash), when, when); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := findTool("nft", root), filepath.Join(root, "new", "netfilter", "bin", "nft"); got != want {
		t.Fatalf("findTool = %q, want %q", got, want)
	}
	if got := findTool("iptables-save", root); got != "" {
		t.Fatalf("findTool found %q for a missing tool", got)
	}
}
