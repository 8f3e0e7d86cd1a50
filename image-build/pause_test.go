package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildTestPause compiles pause.c for the host, the way the tool does.
func buildTestPause(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	bin := filepath.Join(t.TempDir(), "pause")
	if err := compilePause(context.Background(), "gcc", pauseVersion, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestPauseVersionAndUsage(t *testing.T) {
	bin := buildTestPause(t)
	out, err := exec.Command(bin, "-v").Output()
	if err != nil || string(out) != "pause "+pauseVersion+" (kedge)\n" {
		t.Errorf("pause -v = %q, %v", out, err)
	}
	err = exec.Command(bin, "--bogus").Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Errorf("pause --bogus: %v, want exit 2", err)
	}
}

func TestPauseExitsZeroOnStopSignals(t *testing.T) {
	bin := buildTestPause(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := startPause(t, bin, nil)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if code := waitExit(t, cmd); code != 0 {
				t.Errorf("exit code %d, want 0", code)
			}
		})
	}
}

// As PID 1 of a PID namespace, pause adopts orphans and must reap them; a
// pause that does not leaves zombies in every pod.
func TestPauseAsPID1ReapsOrphans(t *testing.T) {
	bin := buildTestPause(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root for a PID namespace")
	}
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter not installed")
	}
	cmd := startPause(t, bin, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID})
	pid := cmd.Process.Pid
	// sh leaves a sleep behind and exits: the sleep is re-parented to pause.
	// Its output goes to /dev/null, or reading ours would wait for it to end.
	orphan := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-p", "--",
		"sh", "-c", "sleep 1 </dev/null >/dev/null 2>&1 &")
	if out, err := orphan.CombinedOutput(); err != nil {
		t.Fatalf("nsenter: %v\n%s", err, out)
	}
	if !poll(2*time.Second, func() bool { return len(childrenOf(t, pid)) > 0 }) {
		t.Fatal("orphan was never adopted by pause; the test proves nothing")
	}
	if !poll(5*time.Second, func() bool { return len(childrenOf(t, pid)) == 0 }) {
		t.Fatalf("children of pause not reaped: %v", childrenOf(t, pid))
	}
	// PID 1 ignores signals it has no handler for, so this checks the handler.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
}

// startPause starts bin and returns once its signal handlers are installed,
// since a signal that arrives earlier would hit the default action instead.
func startPause(t *testing.T, bin string, attr *syscall.SysProcAttr) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("cannot start pause: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	const want = 1<<(syscall.SIGINT-1) | 1<<(syscall.SIGTERM-1) | 1<<(syscall.SIGCHLD-1)
	if !poll(5*time.Second, func() bool { return sigCaught(cmd.Process.Pid)&want == want }) {
		t.Fatalf("pause did not install SIGINT/SIGTERM/SIGCHLD handlers (SigCgt %x)", sigCaught(cmd.Process.Pid))
	}
	return cmd
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode() // -1 when killed by a signal
	case <-time.After(5 * time.Second):
		t.Fatal("pause did not exit after the signal")
		return -1
	}
}

// sigCaught reads the caught-signals mask of pid from /proc.
func sigCaught(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n
		}
	}
	return 0
}

// childrenOf lists "pid:state" of every process whose parent is ppid,
// zombies included, by scanning /proc (the children file is not always
// compiled into the kernel).
func childrenOf(t *testing.T, ppid int) []string {
	t.Helper()
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process is gone
		}
		// Fields after the command, which may itself contain spaces: state ppid ...
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			out = append(out, strings.Fields(s)[0]+":"+f[0])
		}
	}
	return out
}

func poll(limit time.Duration, ok func() bool) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}
