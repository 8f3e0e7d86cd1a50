package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// skipSuffix marks a file the operator took over: <name>.skip beside <name>.
const skipSuffix = ".skip"

// file is one manifest file as read in a pass.
type file struct {
	name   string
	data   []byte
	sha256 string
	err    error // reading failed; data is empty
}

// isManifest reports whether kedge applies a file of this name. Dotfiles
// and the temp files editors leave (#x.yaml#, ~x.yaml) are ignored; most
// others (x.yaml~, x.yaml.swp) already miss the suffixes.
func isManifest(name string) bool {
	if name == "" || strings.ContainsAny(name[:1], ".#~") {
		return false
	}
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// relevant reports whether a change to name can change what a pass does.
func relevant(name string) bool {
	return isManifest(strings.TrimSuffix(name, skipSuffix))
}

// Skipped reports whether the operator took file name in dir over with a
// <name>.skip marker, so kedge neither applies nor deletes it. Call it
// before writing a bundled manifest, to leave the operator's copy alone.
func Skipped(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name+skipSuffix))
	return err == nil
}

// listFiles reads the manifests at the top of dir, leaving out the ones
// skipped. skipped names every file with a marker, present or not, so that
// a pass never deletes the objects of a skipped file that is gone.
func listFiles(dir string) (files []file, skipped map[string]bool, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading manifests directory: %w", err)
	}
	skipped = map[string]bool{}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), skipSuffix); ok && isManifest(name) {
			skipped[name] = true
		}
	}
	for _, e := range entries {
		if name := e.Name(); isManifest(name) && !skipped[name] && !e.IsDir() {
			if f, ok := readFile(dir, name); ok {
				files = append(files, f)
			}
		}
	}
	return files, skipped, nil
}

// readFile reads one manifest; ok is false for a symlink to a directory or
// a file removed since the listing.
func readFile(dir, name string) (file, bool) {
	path := filepath.Join(dir, name)
	info, err := os.Stat(path)
	if os.IsNotExist(err) || err == nil && info.IsDir() {
		return file{}, false
	}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return file{}, false
	}
	if err != nil {
		return file{name: name, err: err}, true
	}
	sum := sha256.Sum256(data)
	return file{name: name, data: data, sha256: hex.EncodeToString(sum[:])}, true
}
