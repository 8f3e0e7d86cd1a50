package preflight

import (
	"strings"
	"testing"
)

func TestIptablesVersions(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    status
	}{
		{"iptables v1.8.2 (nf_tables)", fail}, // Debian 10
		{"iptables v1.8.0 (nf_tables)", fail},
		{"iptables v1.8.3 (nf_tables)", fail},
		{"iptables v1.8.4 (nf_tables)", ok},
		{"iptables v1.8.2 (legacy)", ok},
		{"iptables v1.6.1", ok},
		{"iptables: unknown option", warn},
	} {
		s := healthy(t)
		s.Output = versions(map[string]string{"/usr/sbin/iptables": tc.version + "\n"})
		if got := s.iptables("/usr/sbin/iptables"); got.status != tc.want {
			t.Errorf("%s: got %v, want %v", tc.version, got, tc.want)
		}
	}
}

func TestBuggyIptablesNFTFails(t *testing.T) {
	s := healthy(t)
	s.Output = versions(map[string]string{
		"/usr/sbin/iptables": "iptables v1.8.2 (nf_tables)\n",
		"/usr/sbin/nft":      "nftables v0.9.0 (Fearless Fosdick)\n",
	})
	out, err := run(t, s)
	if err == nil {
		t.Error("Run succeeded with iptables-nft 1.8.2")
	}
	wantLine(t, out, "  fail  iptables v1.8.2 (nf_tables): iptables-nft 1.8.0 to 1.8.3 has known bugs that make kube-proxy and flannel add duplicate rules without end;"+
		" upgrade iptables to 1.8.4 or later, or switch to iptables-legacy (update-alternatives --set iptables /usr/sbin/iptables-legacy)")
	wantLine(t, out, "  warn  nftables v0.9.0 (Fearless Fosdick): kube-proxy's nftables mode needs nft 1.0.1 or later; the default iptables mode is unaffected")
}

func TestPacketFilterTools(t *testing.T) {
	for _, tc := range []struct {
		tools []string
		want  []string
	}{
		{nil, []string{"warn  neither iptables nor nft is on PATH: kedge will use the iptables and nft of its runtime bundle"}},
		{[]string{"iptables"}, []string{"ok    iptables v1.8.9", "ok    nft: not on PATH"}},
		{[]string{"nft"}, []string{"warn  iptables: not on PATH", "ok    nftables v1.0.6"}},
	} {
		s := healthy(t)
		s.LookPath = lookPath(tc.tools...)
		out, err := run(t, s)
		if err != nil {
			t.Errorf("%v: Run: %v", tc.tools, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, "\n  "+w) {
				t.Errorf("%v: want a line starting %q", tc.tools, w)
			}
		}
	}
}
