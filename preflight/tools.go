package preflight

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// packetFilter checks the commands kube-proxy and flannel drive. kedge's
// default --kube-proxy-mode is iptables, so nft alone is a warning.
func (s System) packetFilter() group {
	g := group{name: "iptables/nft"}
	iptables, iptErr := s.LookPath("iptables")
	nft, nftErr := s.LookPath("nft")
	switch {
	case iptErr != nil && nftErr != nil:
		g.add(warn, "neither iptables nor nft is on PATH: kedge will use the iptables and nft of its runtime bundle")
		return g
	case iptErr != nil:
		g.add(warn, "iptables: not on PATH — the default --kube-proxy-mode=iptables needs it; install iptables or run kedge with --kube-proxy-mode=nftables")
	default:
		g.results = append(g.results, s.iptables(iptables))
	}
	if nftErr != nil {
		g.add(ok, "nft: not on PATH (only --kube-proxy-mode=nftables needs it)")
	} else {
		g.results = append(g.results, s.nft(nft))
	}
	return g
}

// iptables-nft in this range has known bugs that make kube-proxy's and
// flannel's periodic resyncs add their rules again instead of finding
// them, so the ruleset grows without end. Debian 10 ships 1.8.2.
var buggyIptablesNFT = [2][]int{{1, 8, 0}, {1, 8, 3}}

func (s System) iptables(path string) result {
	line, v, err := s.version(path)
	if err != nil {
		return result{warn, "iptables: " + err.Error()}
	}
	nfTables := strings.Contains(line, "(nf_tables)")
	if nfTables && slices.Compare(v, buggyIptablesNFT[0]) >= 0 && slices.Compare(v, buggyIptablesNFT[1]) <= 0 {
		return result{fail, line + ": iptables-nft 1.8.0 to 1.8.3 has known bugs that make kube-proxy and flannel add duplicate rules without end;" +
			" upgrade iptables to 1.8.4 or later, or switch to iptables-legacy (update-alternatives --set iptables /usr/sbin/iptables-legacy)"}
	}
	return result{ok, line}
}

// minNFT is what kube-proxy's nftables mode requires.
var minNFT = []int{1, 0, 1}

func (s System) nft(path string) result {
	line, v, err := s.version(path)
	if err != nil {
		return result{warn, "nft: " + err.Error()}
	}
	if slices.Compare(v, minNFT) < 0 {
		return result{warn, line + ": kube-proxy's nftables mode needs nft 1.0.1 or later; the default iptables mode is unaffected"}
	}
	return result{ok, line}
}

var versionRE = regexp.MustCompile(`v(\d+)\.(\d+)\.(\d+)`)

// version runs `path --version` and returns its first line and the
// version in it, e.g. "iptables v1.8.9 (nf_tables)" and [1 8 9].
func (s System) version(path string) (string, []int, error) {
	out, err := s.Output(path, "--version")
	if err != nil {
		return "", nil, err
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	m := versionRE.FindStringSubmatch(line)
	if m == nil {
		return "", nil, fmt.Errorf("%s --version printed no version: %q", path, line)
	}
	v := make([]int, 3)
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1]) // \d+ always parses
	}
	return line, v, nil
}
