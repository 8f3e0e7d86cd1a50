package teardown

import (
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// findTool returns the host's binary of that name, else the one in the
// newest unpacked runtime bundle (<hash>/netfilter/bin, which is what kedge
// runs itself on a host without iptables or nft), else "".
func findTool(name, bundleRoot string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob(filepath.Join(bundleRoot, "*", "netfilter", "bin", name))
	var best string
	var bestTime time.Time
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		// The bundle dir's time is when that kedge build unpacked it.
		dir, err := os.Stat(filepath.Join(filepath.Dir(m), "..", ".."))
		if err == nil && (best == "" || dir.ModTime().After(bestTime)) {
			best, bestTime = m, dir.ModTime()
		}
	}
	return best
}
