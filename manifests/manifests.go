package manifests

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/template"

	"github.com/kedge-io/kedge/atomicfile"
)

//go:embed *.yaml
var files embed.FS

// Names of the packaged components, as `--disable` takes them; each is
// written as <name>.yaml.
const (
	CoreDNS       = "coredns"
	Traefik       = "traefik"
	LocalStorage  = "local-storage"
	MetricsServer = "metrics-server"
)

// Names lists every packaged component in the order they are written.
var Names = []string{CoreDNS, LocalStorage, MetricsServer, Traefik}

// Values are the cluster settings the templates need.
type Values struct {
	ClusterDNS    string
	ClusterDomain string
	// StorageDir is where local-path keeps volumes on each node.
	StorageDir string
	Images     Images
}

// FileName is the manifest file a component is written to.
func FileName(name string) string { return name + ".yaml" }

// Render returns the manifest of one component for v.
func Render(name string, v Values) ([]byte, error) {
	if !slices.Contains(Names, name) {
		return nil, fmt.Errorf("unknown packaged component %q", name)
	}
	src, err := files.ReadFile(FileName(name))
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("parsing bundled manifest %s: %w", name, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, v); err != nil {
		return nil, fmt.Errorf("rendering bundled manifest %s: %w", name, err)
	}
	return out.Bytes(), nil
}

// Options say which components to write and which the operator owns.
type Options struct {
	Dir      string
	Values   Values
	Disabled []string
	// Skipped reports whether the operator took a file over (a
	// <file>.skip beside it): kedge then neither writes nor removes it.
	Skipped func(dir, file string) bool
}

// Write renders every enabled component into o.Dir and removes the files
// of disabled ones, so the deploy controller deletes their objects. A file
// whose content is already current is left untouched, which keeps its
// mtime and spares the SD card a rewrite on every start.
func Write(o Options) error {
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("creating manifests dir: %w", err)
	}
	for _, name := range Names {
		file := FileName(name)
		if o.Skipped != nil && o.Skipped(o.Dir, file) {
			continue
		}
		path := filepath.Join(o.Dir, file)
		if slices.Contains(o.Disabled, name) {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("removing disabled component %s: %w", name, err)
			}
			continue
		}
		if err := writeIfChanged(path, name, o.Values); err != nil {
			return err
		}
	}
	return nil
}

func writeIfChanged(path, name string, v Values) error {
	data, err := Render(name, v)
	if err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
