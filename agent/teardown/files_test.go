package teardown

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Only kedge's cache entries and log links go; the directories stay while
// another runtime's files are in them.
func TestRemoveHostFilesKeepsOthers(t *testing.T) {
	root := t.TempDir()
	d := hostDirs{cniCache: filepath.Join(root, "cni"), logLinks: filepath.Join(root, "containers")}
	podLogs := filepath.Join(root, "kedge", "agent", "pod-logs")
	touch(t, filepath.Join(podLogs, "ns_pod_uid", "c", "0.log"))

	ours := filepath.Join(d.cniCache, "results", "kedge-0123abcd-eth0")
	ourLoopback := filepath.Join(d.cniCache, "results", "cni-loopback-0123abcd-lo")
	theirs := filepath.Join(d.cniCache, "results", "podman-4567-eth0")
	theirLoopback := filepath.Join(d.cniCache, "results", "cni-loopback-4567-lo")
	for _, f := range []string{ours, ourLoopback, theirs, theirLoopback} {
		touch(t, f)
	}
	live := filepath.Join(d.logLinks, "pod_ns_c-1.log")
	dangling := filepath.Join(d.logLinks, "gone_ns_c-2.log")
	other := filepath.Join(d.logLinks, "docker_ns_c-3.log")
	link(t, filepath.Join(podLogs, "ns_pod_uid", "c", "0.log"), live)
	link(t, filepath.Join(podLogs, "ns_gone_uid", "c", "0.log"), dangling)
	link(t, "/var/log/pods/ns_x/c/0.log", other)

	var out bytes.Buffer
	if err := d.remove(podLogs, logger{&out}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		ours: false, ourLoopback: false, theirs: true, theirLoopback: true,
		live: false, dangling: false, other: true,
	} {
		if exists(path) != want {
			t.Errorf("%s exists = %v, want %v\n%s", path, !want, want, out.String())
		}
	}
}

func TestRemoveHostFilesRemovesEmptiedDirs(t *testing.T) {
	root := t.TempDir()
	d := hostDirs{cniCache: filepath.Join(root, "cni"), logLinks: filepath.Join(root, "containers")}
	podLogs := filepath.Join(root, "pod-logs")
	touch(t, filepath.Join(d.cniCache, "results", "kedge-0123-eth0"))
	touch(t, filepath.Join(d.cniCache, "results", "cni-loopback-0123-lo"))
	link(t, filepath.Join(podLogs, "a.log"), filepath.Join(d.logLinks, "a.log"))
	if err := d.remove(podLogs, logger{}); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{d.cniCache, d.logLinks} {
		if exists(dir) {
			t.Errorf("%s left behind once empty", dir)
		}
	}
	// A second run on a clean host has nothing to do and no error.
	if err := d.remove(podLogs, logger{}); err != nil {
		t.Fatalf("second run: %v", err)
	}
}
