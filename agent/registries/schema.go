package registries

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where a node looks for its registries file.
const DefaultPath = "/etc/kedge/registries.yaml"

// BuiltinRegistry is the registry name of kedge's own images, served by
// the node itself.
const BuiltinRegistry = "kedge.local"

// Config is a registries.yaml, checked.
type Config struct {
	Path    string            // file it was read from
	Mirrors map[string]Mirror // by registry name as written; "*" for all others
	Configs map[string]Host   // by host[:port]
}

// Mirror lists where a registry's images are pulled from instead.
type Mirror struct {
	Endpoints []*url.URL
	Rewrites  []Rewrite // in the file's order
}

// Rewrite renames repositories that match Pattern.
type Rewrite struct {
	Pattern     *regexp.Regexp
	Replacement string
}

// Rewrite returns repo renamed by the first matching rewrite, or as it is.
func (m Mirror) Rewrite(repo string) string {
	for _, r := range m.Rewrites {
		if r.Pattern.MatchString(repo) {
			return r.Pattern.ReplaceAllString(repo, r.Replacement)
		}
	}
	return repo
}

// Host holds the credentials and TLS settings of one registry host.
type Host struct {
	Auth *Auth
	TLS  *TLS
}

// Auth is a registry login; containerd takes any one of its forms.
type Auth struct{ Username, Password, Auth, IdentityToken string }

// TLS is how a registry host's certificate is checked, and the client
// certificate shown to it.
type TLS struct {
	CAFile, CertFile, KeyFile string
	InsecureSkipVerify        bool
}

// Load reads and checks path. A missing file is an empty Config and no
// error: registries are optional. Every error reads
// "<path>:<line>: <key>: <problem and remedy>"; all of them are returned,
// joined.
func Load(path string) (*Config, error) {
	cfg := &Config{Path: path, Mirrors: map[string]Mirror{}, Configs: map[string]Host{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading registries file: %w", err)
	}
	root, err := parseYAML(path, data)
	if err != nil || root == nil {
		return cfg, err
	}
	p := &parser{path: path}
	p.top(cfg, root)
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseYAML returns the file's top node, nil for a file without content
// (empty, or comments only).
func parseYAML(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, nil
	} else if err != nil {
		return nil, yamlError(path, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("%s:%d: a second YAML document (after ---) would be ignored; merge it into the first", path, next.Line)
	case !errors.Is(err, io.EOF):
		return nil, yamlError(path, data, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	return doc.Content[0], nil
}

// yamlLine splits yaml.v3's "line N: message".
var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// yamlError puts yaml.v3's syntax error in the path:line form, and names
// the usual cause of a line that cannot be tokenized: a tab.
func yamlError(path string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Errorf("%s: %s", path, msg)
	}
	line, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(data), "\n")
	if line >= 1 && line <= len(lines) && strings.Contains(lines[line-1], "\t") {
		m[2] += "; the line holds a tab: YAML indents with spaces only"
	}
	return fmt.Errorf("%s:%d: %s", path, line, m[2])
}
