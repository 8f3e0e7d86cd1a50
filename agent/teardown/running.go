package teardown

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kedge-io/kedge/datadir"
)

// checkStopped fails while a kedge still holds the data dir's lock: it
// would restart containerd and recreate the network as soon as we removed
// them, and its pods would be killed under it.
func checkStopped(l datadir.Layout) error {
	for _, dir := range []string{l.ServerDir(), l.AgentDir()} {
		if pid, held := lockHolder(filepath.Join(dir, "kedge.pid")); held {
			return fmt.Errorf("kedge (pid %s) is still running on data dir %s: stop it first (kedge-killall.sh stops its service)", pid, l.DataDir)
		}
	}
	return nil
}

// lockHolder reports whether another process holds the flock that
// datadir.Claim takes on path, and the pid written in it.
func lockHolder(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false // no lock file: nothing ever ran there
	}
	defer f.Close()
	// A shared lock conflicts only with the owner's exclusive one and is
	// released at once, so a kedge starting right now is not blocked.
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		pid, _ := os.ReadFile(path)
		return strings.TrimSpace(string(pid)), true
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return "", false
}
