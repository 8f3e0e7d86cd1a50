package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	binDir       = "bin"
	manifestName = "MANIFEST" // "<sha256>  bin/<name>" lines, as sha256sum writes
	// markerName records "<size>  bin/<name>" for every file once all were
	// hashed. Hashing ~130 MB at every start would cost seconds of CPU and SD
	// card reads on a Raspberry Pi, so while the marker exists a start only
	// checks names, sizes and the executable bit: that catches truncated,
	// missing, extra and chmod-ed files (what crashes, full disks and stray
	// commands leave) but not a same-size rewrite or bit rot. Deleting the
	// marker forces the full check at the next start.
	markerName = ".verified"
)

// verify checks the unpacked bundle in dir against its MANIFEST: exactly the
// listed files in bin/, each executable, with the marker's sizes when the
// marker exists and with their sha256 otherwise (then writing the marker).
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
		sum, size, err := hashFile(filepath.Join(dir, name))
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

// noExtras reports a file in bin/ that MANIFEST does not list (a missing
// one fails the per-file checks).
func noExtras(dir string, want map[string]string) error {
	entries, err := os.ReadDir(filepath.Join(dir, binDir))
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, ok := want[path.Join(binDir, e.Name())]; !ok {
			return fmt.Errorf("%s is not in MANIFEST", filepath.Join(dir, binDir, e.Name()))
		}
	}
	return nil
}

func sameKeys(a, b map[string]string) bool {
	return slices.Equal(slices.Sorted(maps.Keys(a)), slices.Sorted(maps.Keys(b)))
}

// checkSizes is the quick check: every file executable and of the recorded size.
func checkSizes(dir string, sizes map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(sizes)) {
		info, err := executable(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if got := strconv.FormatInt(info.Size(), 10); got != sizes[name] {
			return fmt.Errorf("%s: %s bytes, %s says %s", filepath.Join(dir, name), got, markerName, sizes[name])
		}
	}
	return nil
}

// executable returns p's info if it is a regular file someone may execute.
func executable(p string) (os.FileInfo, error) {
	info, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%s: mode %s, want an executable file", p, info.Mode())
	}
	return info, nil
}

func hashFile(p string) (sum string, size int64, err error) {
	if _, err := executable(p); err != nil {
		return "", 0, err
	}
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

// parseList parses "<value>  bin/<name>" lines into name -> value. Names are
// checked here because they become paths: nothing may point outside bin/.
func parseList(data []byte, valid func(string) bool) (map[string]string, error) {
	list := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		value, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || !valid(value) || !isBinName(name) {
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

// isBinName accepts "bin/<name>" with a plain file name.
func isBinName(name string) bool {
	base, ok := strings.CutPrefix(name, binDir+"/")
	return ok && base != "" && base != "." && base != ".." && !strings.Contains(base, "/")
}

func isSize(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= 0
}
