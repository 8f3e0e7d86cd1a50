package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestIsManifest(t *testing.T) {
	for name, want := range map[string]bool{
		"a.yaml": true, "a.yml": true, "a.json": true, "traefik-config.yaml": true,
		"a.yaml.skip": false, "a.txt": false, "a": false, "a.yaml~": false, "a.yaml.swp": false,
		".a.yaml": false, ".a.yaml.swp": false, "#a.yaml#": false, ".#a.yaml": false, "~a.yaml": false,
		"a.YAML": false, "a.yaml.tmp": false, "a.yaml.bak": false, "": false,
	} {
		if got := isManifest(name); got != want {
			t.Errorf("isManifest(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRelevant(t *testing.T) {
	for name, want := range map[string]bool{"a.yaml": true, "a.yaml.skip": true, "a.skip": false, ".a.yaml.swp": false, "4913": false} {
		if got := relevant(name); got != want {
			t.Errorf("relevant(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSkipped(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "traefik.yaml", "")
	if Skipped(dir, "traefik.yaml") {
		t.Error("skipped without a marker")
	}
	writeFile(t, dir, "traefik.yaml.skip", "")
	if !Skipped(dir, "traefik.yaml") {
		t.Error("not skipped with a marker")
	}
}

func TestListFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.yaml", "b.json", "c.yml", "notes.txt", ".d.yaml", "e.yaml", "e.yaml.skip", "gone.yaml.skip", "sub/f.yaml"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, name, name)
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.yaml"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	files, skipped, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.name)
		if f.err != nil || string(f.data) == "" || len(f.sha256) != 64 {
			t.Errorf("%s read as %+v", f.name, f)
		}
	}
	if want := []string{"a.yaml", "b.json", "c.yml", "link.yaml"}; !slices.Equal(names, want) {
		t.Errorf("files = %v, want %v", names, want)
	}
	if len(skipped) != 2 || !skipped["e.yaml"] || !skipped["gone.yaml"] {
		t.Errorf("skipped = %v, want e.yaml and gone.yaml", skipped)
	}
}

func TestListFilesMissingDir(t *testing.T) {
	if _, _, err := listFiles(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing directory listed as empty, which would delete every object")
	}
}
