package preflight

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// requiredControllers are the controllers the kubelet enforces pod
// resources with.
var requiredControllers = []string{"cpu", "cpuset", "memory", "pids"}

func (s System) cgroups() group {
	v2 := s.cgroupV2()
	g := group{name: "Cgroups (v1)"}
	read := s.cgroupV1Controllers
	if v2 {
		g.name, read = "Cgroups (v2)", s.cgroupV2Controllers
	} else {
		g.add(warn, "cgroup v1: Kubernetes deprecates it; kedge still runs on it, but plan to boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1)")
	}
	enabled, err := read()
	if err != nil {
		g.add(fail, "%v", err)
		return g
	}
	for _, c := range requiredControllers {
		switch {
		case enabled[c]:
			g.add(ok, "%s", c)
		case c == "memory":
			g.add(fail, "memory: controller not enabled — %s", s.memoryFix())
		default:
			g.add(fail, "%s: controller not enabled", c)
		}
	}
	return g
}

// cgroupV2 makes the same test as the kubelet's config
// (agent/kubelet.DetectCgroups): only the unified hierarchy has
// cgroup.controllers at its root; a hybrid host has it below unified/.
func (s System) cgroupV2() bool {
	_, err := os.Stat(filepath.Join(s.SysDir, "fs/cgroup/cgroup.controllers"))
	return err == nil
}

// cgroupV2Controllers reads the root's cgroup.controllers only: a
// controller missing from cgroup.subtree_control is still usable, because
// runc enables it down the path when it creates the pod cgroups.
func (s System) cgroupV2Controllers() (map[string]bool, error) {
	path := filepath.Join(s.SysDir, "fs/cgroup/cgroup.controllers")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the cgroup v2 controllers: %w", err)
	}
	enabled := map[string]bool{}
	for _, c := range strings.Fields(string(data)) {
		enabled[c] = true
	}
	return enabled, nil
}

// cgroupV1Controllers reads /proc/cgroups, whose last column is 0 for a
// controller the kernel has but the command line disabled.
func (s System) cgroupV1Controllers() (map[string]bool, error) {
	lines, err := readLines(filepath.Join(s.ProcDir, "cgroups"))
	if err != nil {
		return nil, fmt.Errorf("reading the cgroup v1 controllers: %w", err)
	}
	enabled := map[string]bool{}
	for _, line := range lines {
		// #subsys_name hierarchy num_cgroups enabled
		if cols := strings.Fields(line); len(cols) == 4 && !strings.HasPrefix(cols[0], "#") {
			enabled[cols[0]] = cols[3] == "1"
		}
	}
	return enabled, nil
}

// memoryFix is the way to turn the memory controller on. Raspberry Pi OS
// boots with it disabled and reads its kernel command line from
// cmdline.txt, not from a boot loader config.
func (s System) memoryFix() string {
	if !s.raspberryPi() {
		return "enable it on the kernel command line (cgroup_enable=memory, and no cgroup_disable=memory) and reboot"
	}
	const args = `"cgroup_memory=1 cgroup_enable=memory"`
	if path := s.cmdlineTxt(); path != "" {
		return fmt.Sprintf("add %s to the end of the line in %s and reboot", args, path)
	}
	return fmt.Sprintf("add %s to the kernel command line in cmdline.txt on the boot partition and reboot", args)
}

// raspberryPi reads the device tree's model; /proc/device-tree is a link
// into /sys that some containers lack, so both are tried.
func (s System) raspberryPi() bool {
	for _, path := range []string{
		filepath.Join(s.ProcDir, "device-tree/model"),
		filepath.Join(s.SysDir, "firmware/devicetree/base/model"),
	} {
		if model, err := os.ReadFile(path); err == nil {
			return strings.Contains(string(model), "Raspberry Pi")
		}
	}
	return false
}

// cmdlineTxt is where the Pi's firmware reads the command line from:
// Bookworm and Ubuntu mount the boot partition on /boot/firmware, older
// Raspberry Pi OS on /boot.
func (s System) cmdlineTxt() string {
	for _, path := range []string{
		filepath.Join(s.BootDir, "firmware/cmdline.txt"),
		filepath.Join(s.BootDir, "cmdline.txt"),
	} {
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	return ""
}
