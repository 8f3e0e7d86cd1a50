package containerd

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// capSysResource is CAP_SYS_RESOURCE's bit in the capability sets.
const capSysResource = 24

// CanLowerOOMScore reports whether this process may lower oom_score_adj,
// which needs CAP_SYS_RESOURCE in its effective set.
func CanLowerOOMScore() bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return true // assume a normal root host; runc will say otherwise
	}
	defer f.Close()
	return hasCapability(f, capSysResource)
}

// hasCapability reads the CapEff line of a /proc/<pid>/status file.
func hasCapability(status io.Reader, bit uint) bool {
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		hex, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		eff, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		return err == nil && eff&(1<<bit) != 0
	}
	return false
}
