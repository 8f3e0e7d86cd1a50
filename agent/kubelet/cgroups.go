package kubelet

import (
	"os"
	"path/filepath"
)

// Cgroups is what the host offers the kubelet and containerd.
type Cgroups struct {
	V2     bool   // unified hierarchy
	Driver string // "systemd" when systemd runs the host, else "cgroupfs"
}

// DetectCgroups inspects root ("/" on a real host; tests pass a fake tree).
// The kubelet and runc must use the same driver, and systemd only manages
// cgroups when it is the init system.
func DetectCgroups(root string) Cgroups {
	c := Cgroups{Driver: "cgroupfs"}
	if _, err := os.Stat(filepath.Join(root, "sys/fs/cgroup/cgroup.controllers")); err == nil {
		c.V2 = true
	}
	if fi, err := os.Stat(filepath.Join(root, "run/systemd/system")); err == nil && fi.IsDir() {
		c.Driver = "systemd"
	}
	return c
}
