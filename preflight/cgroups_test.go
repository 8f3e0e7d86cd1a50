package preflight

import "testing"

// A Raspberry Pi on Raspberry Pi OS Bookworm with cgroup v1 boots with
// the memory controller disabled.
func TestRaspberryPiWithoutMemoryCgroup(t *testing.T) {
	s := healthy(t)
	s.ProcDir, s.SysDir, s.BootDir = "testdata/proc/pi", "testdata/sys/v1", "testdata/boot/pi-bookworm"
	s.KernelConfig = "testdata/boot/healthy/config-6.1.0-kedge"
	out, err := run(t, s)
	if err == nil || err.Error() != "1 check failed" {
		t.Errorf("Run: %v, want 1 check failed", err)
	}
	wantLine(t, out, "Cgroups (v1)")
	wantLine(t, out, "  ok    cpuset")
	wantLine(t, out, `  fail  memory: controller not enabled — add "cgroup_memory=1 cgroup_enable=memory" to the end of the line in testdata/boot/pi-bookworm/firmware/cmdline.txt and reboot`)
	wantLine(t, out, "  ok    pids")
}

func TestMemoryFix(t *testing.T) {
	for _, tc := range []struct{ proc, boot, want string }{
		{"testdata/proc/pi", "testdata/boot/pi-bullseye",
			`add "cgroup_memory=1 cgroup_enable=memory" to the end of the line in testdata/boot/pi-bullseye/cmdline.txt and reboot`},
		{"testdata/proc/pi", "testdata/boot/healthy",
			`add "cgroup_memory=1 cgroup_enable=memory" to the kernel command line in cmdline.txt on the boot partition and reboot`},
		{"testdata/proc/healthy", "testdata/boot/pi-bookworm",
			"enable it on the kernel command line (cgroup_enable=memory, and no cgroup_disable=memory) and reboot"},
	} {
		s := System{ProcDir: tc.proc, SysDir: "testdata/sys/v1", BootDir: tc.boot}
		if got := s.memoryFix(); got != tc.want {
			t.Errorf("%s, %s: got %q, want %q", tc.proc, tc.boot, got, tc.want)
		}
	}
}

func TestCgroupV2WithoutCpuset(t *testing.T) {
	s := healthy(t)
	s.SysDir = "testdata/sys/v2-nocpuset"
	out, err := run(t, s)
	if err == nil {
		t.Error("Run succeeded without cpuset")
	}
	wantLine(t, out, "Cgroups (v2)")
	wantLine(t, out, "  ok    cpu")
	wantLine(t, out, "  fail  cpuset: controller not enabled")
	wantLine(t, out, "1 check failed, 0 warnings")
}

// A hybrid host mounts cgroup2 below /sys/fs/cgroup/unified; its
// controllers are v1's.
func TestHybridCgroupsAreV1(t *testing.T) {
	s := healthy(t)
	s.ProcDir, s.SysDir = "testdata/proc/pi", "testdata/sys/v1"
	g := s.cgroups()
	if g.name != "Cgroups (v1)" || g.results[0].status != warn {
		t.Errorf("got %+v, want v1 with its deprecation warning first", g)
	}
}
