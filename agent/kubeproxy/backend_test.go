package kubeproxy

import "testing"

func TestCheckBackend(t *testing.T) {
	for mode, want := range map[string]string{
		"iptables": "",
		"nftables": "",
		"ipvs":     `--kube-proxy-mode "ipvs": want iptables or nftables`,
		"":         `--kube-proxy-mode "": want iptables or nftables`,
	} {
		got := ""
		if err := CheckBackend(mode); err != nil {
			got = err.Error()
		}
		if got != want {
			t.Errorf("CheckBackend(%q) = %q, want %q", mode, got, want)
		}
	}
}
