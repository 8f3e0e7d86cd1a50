package preflight

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kedge-io/kedge/dtype"
)

// System is the machine the checks look at. Host fills it in for this
// machine; tests point the directories at fixture trees and fake the
// functions.
type System struct {
	ProcDir       string // /proc
	SysDir        string // /sys
	BootDir       string // /boot, for config-<release> and the Pi's cmdline.txt
	KernelRelease string // uname -r
	KernelConfig  string // a kernel config file to use; "" looks in ProcDir and BootDir
	DataDir       string // kedge's --data-dir, whose filesystem needs d_type

	LookPath func(file string) (string, error)
	// Output runs a command and returns its combined output.
	Output func(path string, args ...string) (string, error)
	// Bind binds port on all addresses ("tcp" or "udp") and closes it again.
	Bind func(network string, port int) error
	// HasDType tells whether dir's filesystem fills in d_type in
	// directory entries.
	HasDType func(dir string) (bool, error)
}

// Host is this machine. kernelConfig may be "" to look for the running
// kernel's config in the usual places.
func Host(dataDir, kernelConfig string) (System, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return System{}, fmt.Errorf("finding the kernel release: %w", err)
	}
	return System{
		ProcDir:       "/proc",
		SysDir:        "/sys",
		BootDir:       "/boot",
		KernelRelease: unix.ByteSliceToString(u.Release[:]),
		KernelConfig:  kernelConfig,
		DataDir:       dataDir,
		LookPath:      exec.LookPath,
		Output:        output,
		Bind:          bind,
		HasDType:      dtype.Supported,
	}, nil
}

// output bounds the run: a hung tool must not hang the whole check.
func output(path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", path, strings.Join(args, " "), err)
	}
	return string(out), nil
}

func bind(network string, port int) error {
	addr := fmt.Sprintf(":%d", port)
	if network == "udp" {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return err
	}
	return l.Close()
}
