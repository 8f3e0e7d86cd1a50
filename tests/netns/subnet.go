package netns

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

const lockName = "kedge-netns.lock"

var (
	// allocMu serialises subnet choice between parallel tests in this
	// process; the flock below does the same across processes.
	allocMu sync.Mutex
	// allocNext is the third octet tried first. Starting at a per-process
	// offset and rotating keeps processes, and consecutive tests, off the
	// same /24, so stale ARP or conntrack state never meets a new topology.
	allocNext = os.Getpid() % 256
)

// lockAlloc takes the in-process mutex and an exclusive flock that other
// test processes share. It is held from choosing a subnet until the bridge
// owns its address, after which the choice is visible on the host to anyone
// who looks.
func lockAlloc() (unlock func(), err error) {
	allocMu.Lock()
	dir := "/run/lock"
	if _, err := os.Stat(dir); err != nil {
		dir = os.TempDir()
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		allocMu.Unlock()
		return nil, fmt.Errorf("open subnet lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		allocMu.Unlock()
		return nil, fmt.Errorf("flock %s: %w", f.Name(), err)
	}
	return func() {
		f.Close() // closing the file drops the flock
		allocMu.Unlock()
	}, nil
}

// pickSubnet returns a /24 in 10.200.0.0/16 that overlaps no address or
// route on the host. The caller must hold lockAlloc.
func pickSubnet() (*net.IPNet, error) {
	used, err := hostPrefixes()
	if err != nil {
		return nil, err
	}
	for k := 0; k < 256; k++ {
		third := (allocNext + k) % 256
		cand := &net.IPNet{IP: net.IPv4(10, 200, byte(third), 0).To4(), Mask: net.CIDRMask(24, 32)}
		if !overlapsAny(cand, used) {
			allocNext = third + 1
			return cand, nil
		}
	}
	return nil, fmt.Errorf("no free /24 left in 10.200.0.0/16 on this host")
}

// hostPrefixes lists every IPv4 address and route prefix on the host.
func hostPrefixes() ([]*net.IPNet, error) {
	addrs, err := runCmd("ip", "-o", "-4", "addr", "show")
	if err != nil {
		return nil, err
	}
	// table all: a route in a policy-routing table uses a subnet too.
	routes, err := runCmd("ip", "-4", "route", "show", "table", "all")
	if err != nil {
		return nil, err
	}
	return parsePrefixes(addrs + "\n" + routes), nil
}

// parsePrefixes pulls every IPv4 address or prefix out of ip(8) output.
// Prefixes shorter than /16 (a VPN's 10.0.0.0/8, say) are ignored: our
// connected /24 is more specific, so it does not clash with them.
func parsePrefixes(text string) []*net.IPNet {
	var out []*net.IPNet
	for _, tok := range strings.Fields(text) {
		if _, n, err := net.ParseCIDR(tok); err == nil {
			if ones, _ := n.Mask.Size(); n.IP.To4() != nil && ones >= 16 {
				out = append(out, n)
			}
			continue
		}
		if ip := net.ParseIP(tok).To4(); ip != nil {
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(32, 32)})
		}
	}
	return out
}

func overlapsAny(cand *net.IPNet, used []*net.IPNet) bool {
	for _, u := range used {
		if cand.Contains(u.IP) || u.Contains(cand.IP) {
			return true
		}
	}
	return false
}

// hostIP returns address .host inside the /24 subnet.
func hostIP(subnet *net.IPNet, host int) net.IP {
	ip := make(net.IP, 4)
	copy(ip, subnet.IP.To4())
	ip[3] = byte(host)
	return ip
}
