package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// setting is one key of a config file, kept as YAML nodes so that errors
// found while applying it can still point at its line.
type setting struct {
	file     string
	key, val *yaml.Node
	flag     *pflag.Flag
}

// loadFiles reads and checks every config file, merging them key by key in
// precedence order into settings indexed by flag name.
func loadFiles(fs *pflag.FlagSet, src Source) (map[string]setting, error) {
	files, err := configFiles(src)
	if err != nil {
		return nil, err
	}
	settings := map[string]setting{}
	var errs []error
	for _, file := range files {
		fileSettings, err := loadFile(fs, file)
		errs = append(errs, err)
		for _, s := range fileSettings {
			settings[s.flag.Name] = s
		}
	}
	return settings, errors.Join(errs...)
}

// configFiles lists the files to read, lowest precedence first.
func configFiles(src Source) ([]string, error) {
	var files []string
	_, err := os.Stat(src.Path)
	switch {
	case err == nil:
		files = append(files, src.Path)
	case src.Explicit || !errors.Is(err, iofs.ErrNotExist):
		return nil, fmt.Errorf("config file: %w", err)
	}
	dir := src.Path + ".d"
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("config directory: %w", err)
	}
	// ReadDir sorts by name, which is the documented override order.
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// loadFile checks every key of one file, even those the command line or a
// later file overrides, so that a typo never goes unnoticed.
func loadFile(fs *pflag.FlagSet, file string) ([]setting, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	top, err := parseDocument(data)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", file, err)
	}
	if top == nil {
		return nil, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: expected a mapping of flag names to values", file, top.Line)
	}
	var settings []setting
	var errs []error
	for pair := range slices.Chunk(top.Content, 2) {
		s, err := newSetting(fs, file, pair[0], pair[1])
		if err == nil {
			err = s.checkUnique(settings)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		settings = append(settings, s)
	}
	return settings, errors.Join(errs...)
}

// parseDocument returns the top-level node of data, or nil when the file
// holds nothing. A second document is refused rather than silently ignored.
func parseDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	switch err := dec.Decode(new(yaml.Node)); {
	case err == nil:
		return nil, errors.New("only one YAML document is allowed")
	case !errors.Is(err, io.EOF):
		return nil, err
	}
	top := doc.Content[0]
	if top.ShortTag() == "!!null" {
		return nil, nil // a bare "---", perhaps with comments
	}
	return top, nil
}

func newSetting(fs *pflag.FlagSet, file string, key, val *yaml.Node) (setting, error) {
	s := setting{file: file, key: key, val: val}
	if key.Kind != yaml.ScalarNode {
		return s, fmt.Errorf("%s:%d: keys must be flag names", file, key.Line)
	}
	s.flag = fs.Lookup(key.Value)
	switch {
	case s.flag == nil:
		return s, fmt.Errorf("%s:%d: unknown key %q%s", file, key.Line, key.Value, suggestion(fs, key.Value))
	case reserved[s.flag.Name]:
		return s, fmt.Errorf("%s:%d: key %q cannot be set from a config file", file, key.Line, key.Value)
	}
	return s, s.checkValue()
}

// checkUnique refuses a key given twice in one file, as decoding YAML into a
// map would, since only one of the two could take effect.
func (s setting) checkUnique(earlier []setting) error {
	for _, e := range earlier {
		if e.flag == s.flag {
			return s.errorf("already set on line %d", e.key.Line)
		}
	}
	return nil
}

// checkValue rejects values of a shape the flag cannot take, before any flag
// is touched.
func (s setting) checkValue() error {
	switch s.val.Kind {
	case yaml.ScalarNode:
		return s.checkScalar(s.val)
	case yaml.SequenceNode:
		if !isList(s.flag) {
			return s.errorf("--%s takes a single value, not a list", s.flag.Name)
		}
		for _, elem := range s.val.Content {
			if elem.Kind != yaml.ScalarNode {
				return s.errorf("list elements must be plain values")
			}
			if err := s.checkScalar(elem); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		return s.errorf("a mapping is not a valid value")
	}
	return s.errorf("YAML aliases are not supported")
}

// checkScalar refuses null, whose meaning (empty? default?) would be a guess;
// "" and [] say it explicitly.
func (s setting) checkScalar(n *yaml.Node) error {
	if n.ShortTag() == "!!null" {
		return s.errorf("missing value")
	}
	return nil
}

// apply sets a scalar as --flag=value would, and a list as repeating the
// flag would, replacing its default.
func (s setting) apply(fs *pflag.FlagSet) error {
	var err error
	if s.val.Kind == yaml.SequenceNode {
		values := make([]string, len(s.val.Content))
		for i, elem := range s.val.Content {
			values[i] = elem.Value
		}
		err = setList(fs, s.flag, values)
	} else {
		err = fs.Set(s.flag.Name, s.val.Value)
	}
	if err != nil {
		value, cause := splitInvalid(err, s.val.Value)
		return s.errorf("invalid value %q: %w", value, cause)
	}
	return nil
}

func (s setting) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: key %q: %w", s.file, s.key.Line, s.key.Value, fmt.Errorf(format, args...))
}
