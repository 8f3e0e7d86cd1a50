package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	binDir = "bin"
	// netfilterBinDir holds iptables, ip6tables and nft for hosts without
	// their own (scripts/bundle/netfilter.c); the rest of netfilter/ is
	// what they run.
	netfilterBinDir = "netfilter/bin"
	manifestName    = "MANIFEST" // "<sha256>  <path>" lines, as sha256sum writes
	// markerName records "<size>  <path>" for every file once all were
	// hashed. Hashing ~130 MB at every start would cost seconds of CPU and SD
	// card reads on a Raspberry Pi, so while the marker exists a start only
	// checks names, sizes and modes: that catches truncated, missing, extra
	// and chmod-ed files (what crashes, full disks and stray commands leave)
	// but not a same-size rewrite or bit rot. Deleting the marker forces the
	// full check at the next start.
	markerName = ".verified"
)

// verify checks the unpacked bundle in dir against its MANIFEST: exactly the
// listed files, each a regular file and executable if it is a program, with
// the marker's sizes when the marker exists and with their sha256 otherwise
// (then writing the marker).
func verify(dir string) error {
	sums, err := readList(filepath.Join(dir, manifestName), isHash)
	if err != nil {
		return err
	}
	if err := noExtras(dir, sums); err != nil {
		return err
	}
	if sizes, err := readList(filepath.Join(dir, markerName), isSize); err == nil && sameKeys(sizes, sums) {
		return checkSizes(dir, sizes)
	}
	sizes := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(sums)) {
		sum, size, err := hashFile(dir, name)
		if err != nil {
			return err
		}
		if sum != sums[name] {
			return fmt.Errorf("%s: sha256 %s, MANIFEST says %s", filepath.Join(dir, name), sum, sums[name])
		}
		sizes[name] = strconv.FormatInt(size, 10)
	}
	return writeList(filepath.Join(dir, markerName), sizes)
}

// noExtras reports a file in dir that MANIFEST does not list, other than
// MANIFEST and the marker themselves (a missing one fails the per-file
// checks).
func noExtras(dir string, want map[string]string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := filepath.ToSlash(strings.TrimPrefix(p, dir+string(filepath.Separator)))
		if _, ok := want[name]; !ok && name != manifestName && name != markerName {
			return fmt.Errorf("%s is not in MANIFEST", p)
		}
		return nil
	})
}

func sameKeys(a, b map[string]string) bool {
	return slices.Equal(slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b)))
}

// checkSizes is the quick check: every file of the right kind and of the
// recorded size.
func checkSizes(dir string, sizes map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(sizes)) {
		info, err := bundleFile(dir, name)
		if err != nil {
			return err
		}
		if got := strconv.FormatInt(info.Size(), 10); got != sizes[name] {
			return fmt.Errorf("%s: %s bytes, %s says %s", filepath.Join(dir, name), got, markerName, sizes[name])
		}
	}
	return nil
}

// bundleFile returns the info of file name of the bundle in dir if it is a
// regular file that anyone may execute when it is a program.
func bundleFile(dir, name string) (os.FileInfo, error) {
	p := filepath.Join(dir, name)
	info, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	switch {
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%s: mode %s, want a regular file", p, info.Mode())
	case isProgram(name) && info.Mode().Perm()&0o111 == 0:
		return nil, fmt.Errorf("%s: mode %s, want an executable file", p, info.Mode())
	}
	return info, nil
}

// isProgram reports whether the bundle file name is run: everything in a
// bin/ or sbin/ directory. The rest (libraries, iptables extensions,
// licences) is data.
func isProgram(name string) bool {
	switch path.Base(path.Dir(name)) {
	case "bin", "sbin":
		return true
	}
	return false
}

// fileMode is the mode extract gives the bundle file name.
func fileMode(name string) os.FileMode {
	if isProgram(name) {
		return 0o755
	}
	return 0o644
}

func hashFile(dir, name string) (sum string, size int64, err error) {
	if _, err := bundleFile(dir, name); err != nil {
		return "", 0, err
	}
	p := filepath.Join(dir, name)
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	if size, err = io.Copy(h, f); err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func readList(p string, valid func(string) bool) (map[string]string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	list, err := parseList(data, valid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return list, nil
}

// parseList parses "<value>  <path>" lines into path -> value. Paths are
// checked here because they are opened: none may point outside the bundle.
func parseList(data []byte, valid func(string) bool) (map[string]string, error) {
	list := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		value, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || !valid(value) || !isFilePath(name) {
			return nil, fmt.Errorf("line %d: malformed %q", n, sc.Text())
		}
		if _, dup := list[name]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", n, name)
		}
		list[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("lists no files")
	}
	return list, nil
}

func writeList(p string, list map[string]string) error {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(list)) {
		fmt.Fprintf(&b, "%s  %s\n", list[name], name)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

// isFilePath accepts the path of a file in one of the bundle's directories,
// e.g. bin/runc: relative, without . or .. elements, and never at the top,
// where MANIFEST and the marker are.
func isFilePath(name string) bool {
	return isDirPath(name) && strings.Contains(name, "/")
}

// isDirPath accepts a relative path without . or .. elements.
func isDirPath(name string) bool {
	return fs.ValidPath(name) && name != "."
}

func isSize(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= 0
}
