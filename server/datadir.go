package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// prepareDataDir creates the server's part of the data dir and proves it is
// writable, so a read-only or misplaced --data-dir fails with its name
// instead of deep inside SQLite.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w (check --data-dir)", err)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w (check --data-dir)", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// dirLock keeps two kedge servers from sharing one data dir: they would
// corrupt each other's database and remove each other's sockets.
type dirLock struct{ f *os.File }

func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, "kedge.pid")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by another kedge process (pid %s); stop it or use another --data-dir", filepath.Dir(dir), strings.TrimSpace(string(owner)))
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) release() {
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
}

// checkPort fails early and clearly when the apiserver port is taken,
// before any state is touched.
func checkPort(bind string, port int) error {
	addr := net.JoinHostPort(bind, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return fmt.Errorf("--https-listen-port %d: address %s already in use; stop what listens there (another kedge server?) or choose another port", port, addr)
		}
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return l.Close()
}
