package kubeproxy

import "fmt"

// Modes kedge supports, with the command each needs and its Debian package.
var modes = map[string]struct{ command, pkg string }{
	"iptables": {"iptables", "iptables"},
	"nftables": {"nft", "nftables"},
}

// CheckBackend fails start-up early when the host lacks the command the
// chosen mode drives, and says what to install or which mode would work.
// lookPath is exec.LookPath outside tests.
func CheckBackend(mode string, lookPath func(string) (string, error)) error {
	want, ok := modes[mode]
	if !ok {
		return fmt.Errorf("--kube-proxy-mode %q: want iptables or nftables", mode)
	}
	if _, err := lookPath(want.command); err == nil {
		return nil
	}
	for other, m := range modes {
		if other == mode {
			continue
		}
		if _, err := lookPath(m.command); err == nil {
			return fmt.Errorf("kube-proxy mode %s needs the %s command, which is not on PATH; install the %s package, or run with --kube-proxy-mode=%s (%s is installed)",
				mode, want.command, want.pkg, other, m.command)
		}
	}
	return fmt.Errorf("kube-proxy needs iptables or nft and neither is on PATH; install the %s package (e.g. apt-get install %s)", want.pkg, want.pkg)
}
