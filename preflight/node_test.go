package preflight

import "testing"

func TestNodeWarnings(t *testing.T) {
	s := healthy(t)
	s.ProcDir = "testdata/proc/unsettled"
	out, err := run(t, s)
	if err != nil {
		t.Errorf("Run: %v; these only warn", err)
	}
	wantLine(t, out, "  warn  swap: on (/var/swap) — pods get no swap, but memory limits and eviction behave differently while the node swaps; swapoff -a to turn it off")
	wantLine(t, out, "  warn  ip_forward: 0 — kedge's bridge CNI plugin turns it on when the first pod starts (set net.ipv4.ip_forward=1 in /etc/sysctl.d to have it from boot)")
	wantLine(t, out, "  warn  default route: none — pass --node-ip <LAN address> to kedge server or kedge agent")
}
