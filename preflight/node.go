package preflight

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func (s System) node() group {
	g := group{name: "Node"}
	g.results = append(g.results, s.swap(), s.ipForward(), s.defaultRoute())
	return g
}

// swap only warns: kedge runs the kubelet with failSwapOn false, and pods
// get no swap, but the node's own swapping blurs memory limits and
// eviction.
func (s System) swap() result {
	lines, err := readLines(filepath.Join(s.ProcDir, "swaps"))
	if err != nil {
		return result{warn, "swap: " + err.Error()}
	}
	var devices []string
	for _, line := range lines[min(1, len(lines)):] { // below the header
		if f := strings.Fields(line); len(f) > 0 {
			devices = append(devices, f[0])
		}
	}
	if len(devices) == 0 {
		return result{ok, "swap: off"}
	}
	return result{warn, fmt.Sprintf("swap: on (%s) — pods get no swap, but memory limits and eviction behave differently while the node swaps; swapoff -a to turn it off",
		strings.Join(devices, ", "))}
}

func (s System) ipForward() result {
	data, err := os.ReadFile(filepath.Join(s.ProcDir, "sys/net/ipv4/ip_forward"))
	if err != nil {
		return result{warn, "ip_forward: " + err.Error()}
	}
	if v := strings.TrimSpace(string(data)); v != "1" {
		return result{warn, "ip_forward: " + v + " — kedge's bridge CNI plugin turns it on when the first pod starts (set net.ipv4.ip_forward=1 in /etc/sysctl.d to have it from boot)"}
	}
	return result{ok, "ip_forward: 1"}
}

// defaultRoute matters because kedge takes the node IP from the
// default-route interface unless --node-ip is given.
func (s System) defaultRoute() result {
	lines, err := readLines(filepath.Join(s.ProcDir, "net/route"))
	if err != nil {
		return result{warn, "default route: " + err.Error()}
	}
	for _, line := range lines {
		// Iface Destination Gateway Flags RefCnt Use Metric Mask ...
		if f := strings.Fields(line); len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return result{ok, "default route: via " + f[0]}
		}
	}
	return result{warn, "default route: none — pass --node-ip <LAN address> to kedge server or kedge agent"}
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return lines, nil
}
