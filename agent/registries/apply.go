package registries

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kedge-io/kedge/agent/containerd"
	"github.com/kedge-io/kedge/atomicfile"
)

// Apply makes dir (containerd's config_path) hold files, from HostsFiles:
// dir/<name>/hosts.toml for each. It writes those that differ, removes
// the files it generated earlier whose entry is gone, and leaves
// hand-written ones, checking them. Everything is checked before anything
// is written, so a bad input leaves dir as it was. changed reports whether
// a file was written or removed.
func Apply(dir string, files map[string][]byte) (changed bool, err error) {
	if err := checkGenerated(dir, files); err != nil {
		return false, err
	}
	owned, err := scan(dir, files)
	if err != nil {
		return false, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		wrote, err := writeHosts(filepath.Join(dir, name, "hosts.toml"), files[name])
		if err != nil {
			return changed, err
		}
		changed = changed || wrote
	}
	for _, path := range owned {
		if _, keep := files[filepath.Base(filepath.Dir(path))]; keep {
			continue
		}
		if err := os.Remove(path); err != nil {
			return changed, fmt.Errorf("removing %s, whose registries.yaml entry is gone: %w", path, err)
		}
		_ = os.Remove(filepath.Dir(path)) // only if empty: a user's CA may sit there
		changed = true
	}
	return changed, nil
}

// checkGenerated checks kedge's own files: a name that is one directory,
// the marker (without which kedge would disown the file next time), and
// TOML that containerd parses.
func checkGenerated(dir string, files map[string][]byte) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name, "hosts.toml")
		switch {
		case name == "" || name == "." || name == ".." || strings.ContainsRune(name, filepath.Separator):
			errs = append(errs, fmt.Errorf("%q is not a certs.d directory name", name))
		case !bytes.HasPrefix(files[name], []byte(marker)):
			errs = append(errs, fmt.Errorf("%s: generated content lacks the %q line", path, marker))
		default:
			errs = append(errs, containerd.CheckTOML(path, files[name]))
		}
	}
	return errors.Join(errs...)
}

// scan returns the hosts.toml files in dir that kedge generated, after
// checking every hand-written one, and that none is where containerd
// would read it instead of one of files.
func scan(dir string, files map[string][]byte) (owned []string, err error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "hosts.toml"))
	if err != nil {
		return nil, err
	}
	shadowed := map[string]string{} // directory: the name of files it shadows
	for name := range files {
		shadowed[name] = name
		shadowed[portDirectory(name)] = name
	}
	var errs []error
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(data, []byte(marker)) {
			owned = append(owned, path)
		} else if name, ok := shadowed[filepath.Base(filepath.Dir(path))]; ok {
			errs = append(errs, handWritten(path, filepath.Join(dir, name, "hosts.toml"), name, files[name]))
		} else {
			errs = append(errs, checkHostsFile(path, data))
		}
	}
	return owned, errors.Join(errs...)
}

// portDirectory is the other directory containerd reads for host:port,
// before host:port itself: host_port_.
func portDirectory(name string) string {
	i := strings.LastIndex(name, ":")
	if i <= 0 {
		return name
	}
	return name[:i] + "_" + name[i+1:] + "_"
}

// handWritten is the error for a hand-written file at path, where kedge
// would write (or where containerd would read before) generated.
func handWritten(path, generated, name string, data []byte) error {
	registry := name
	if name == defaultDir {
		registry = "*"
	}
	where := "kedge will not overwrite it"
	if path != generated {
		where = fmt.Sprintf("containerd would read it instead of %s", generated)
	}
	return fmt.Errorf("%s is hand-written (its first line is not %q) and %s has an entry for %q: %s; remove the entry or the file",
		path, marker, generatedFrom(data), registry, where)
}

// generatedFrom is the registries.yaml named in a generated file's marker line.
func generatedFrom(data []byte) string {
	line, _, _ := strings.Cut(string(data), "\n")
	if rest, ok := strings.CutPrefix(line+"\n", markerFrom); ok {
		if path, ok := strings.CutSuffix(rest, markerTail); ok {
			return path
		}
	}
	return "registries.yaml"
}

// writeHosts writes path atomically unless it already holds data.
func writeHosts(path string, data []byte) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	return true, nil
}
