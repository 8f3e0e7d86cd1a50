package netns

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// runCmd runs a command in the root namespace. The error carries the exact
// command line and its output, since a bare "exit status 2" from ip(8) says
// nothing about which of many setup steps went wrong.
func runCmd(name string, args ...string) (string, error) {
	return combined(exec.Command(name, args...))
}

// combined runs cmd and wraps a failure with its command line and output.
func combined(cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w: %s",
			cmdLine(cmd.Args), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// cmdLine renders argv so it can be pasted back into a shell.
func cmdLine(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$;&|<>*?()") {
			a = strconv.Quote(a)
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

// alreadyGone reports whether a failed delete failed only because the object
// no longer exists, which cleanup must tolerate (a test, or the kernel when
// a namespace goes away, may have removed it first).
func alreadyGone(out string) bool {
	for _, s := range []string{
		"Cannot find device",         // ip link del
		"No such file or directory",  // ip netns del
		"does a matching rule exist", // iptables -D
	} {
		if strings.Contains(out, s) {
			return true
		}
	}
	return false
}
