package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Claim creates dir (the server's or the agent's part of the data dir),
// proves it is writable, and locks it for this process until Release.
func Claim(dir string) (*Lock, error) {
	if err := prepare(dir); err != nil {
		return nil, err
	}
	return lock(dir)
}

// prepare fails with the directory's name when it is read-only or
// misplaced, instead of deep inside SQLite or containerd.
func prepare(dir string) error {
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

// Lock keeps two kedge processes from sharing one data dir: they would
// corrupt each other's database and remove each other's sockets.
type Lock struct{ f *os.File }

func lock(dir string) (*Lock, error) {
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
	return &Lock{f: f}, nil
}

// Release gives the data dir up.
func (l *Lock) Release() {
	_ = unix.Flock(int(l.f.Fd()), unix.LOCK_UN)
	l.f.Close()
}
