package preflight

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

func (s System) storage(kc kernelConfig) group {
	g := group{name: "Storage"}
	if kc != nil {
		g.results = append(g.results, kc.check(overlayOption))
	}
	g.results = append(g.results, s.dType())
	return g
}

// dType probes the filesystem the data dir is or will be on, so the check
// works before kedge has created the data dir.
func (s System) dType() result {
	dir, err := existingParent(s.DataDir)
	if err != nil {
		return result{warn, "d_type: " + err.Error()}
	}
	has, err := s.HasDType(dir)
	switch {
	case err != nil:
		return result{warn, fmt.Sprintf("d_type: cannot test %s: %v", dir, err)}
	case !has:
		// A warning: containerd then uses the native snapshotter, which works.
		return result{warn, fmt.Sprintf("d_type: the filesystem of %s does not record file types in directory entries (XFS made without ftype=1?)"+
			" — overlayfs corrupts images there, so containerd falls back to the slower native snapshotter; put --data-dir %s on another filesystem", dir, s.DataDir)}
	}
	return result{ok, "d_type: supported by the filesystem of " + dir}
}

func existingParent(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data dir %s: %w", dir, err)
	}
	for {
		fi, err := os.Stat(dir)
		switch {
		case err == nil && fi.IsDir():
			return dir, nil
		case err == nil:
			return "", fmt.Errorf("%s is not a directory", dir)
		case !errors.Is(err, fs.ErrNotExist) || dir == filepath.Dir(dir):
			return "", err
		}
		dir = filepath.Dir(dir)
	}
}
