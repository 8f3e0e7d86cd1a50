package registries

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/kedge-io/kedge/agent/containerd"
)

// hostFileConfig mirrors containerd's struct of that name
// (core/remotes/docker/config/hosts.go), so a file that does not decode
// here does not decode there either.
type hostFileConfig struct {
	Capabilities []string       `toml:"capabilities"`
	CA           any            `toml:"ca"`
	Client       any            `toml:"client"`
	SkipVerify   *bool          `toml:"skip_verify"`
	Header       map[string]any `toml:"header"`
	OverridePath bool           `toml:"override_path"`
	DialTimeout  string         `toml:"dial_timeout"`
}

// hostsFile is a whole hosts.toml: the server's settings at the top
// level, and one table per host.
type hostsFile struct {
	hostFileConfig
	Server string                    `toml:"server"`
	Host   map[string]hostFileConfig `toml:"host"`
}

// checkHostsFile checks a hosts.toml the way containerd will use it,
// naming the file and line. containerd itself logs a file it cannot use
// and falls back to pulling from the registry directly, which shows up
// only as pulls that go to the wrong place.
func checkHostsFile(path string, data []byte) error {
	if err := containerd.CheckTOML(path, data); err != nil {
		return err
	}
	var f hostsFile
	if err := toml.Unmarshal(data, &f); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("%s:%d:%d: %s", path, row, col, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	c := hostsChecker{path: path, lines: strings.Split(string(data), "\n")}
	if f.Server != "" {
		c.check(c.keyLine(0, "server"), "server", hostKeyURL(f.Server))
	}
	c.config(0, "", f.hostFileConfig)
	for _, u := range slices.Sorted(maps.Keys(f.Host)) {
		line, key := c.hostLine(u), "host."+strconv.Quote(u)
		c.check(line, key, hostKeyURL(u))
		c.config(line, key+".", f.Host[u])
	}
	return errors.Join(c.errs...)
}

// hostsChecker collects the errors of one hosts.toml, each at the line
// of its key: go-toml gives positions only for syntax errors, so lines
// are found by scanning the text.
type hostsChecker struct {
	path  string
	lines []string
	errs  []error
}

func (c *hostsChecker) check(line int, key string, err error) {
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s:%d: %s: %w", c.path, line, key, err))
	}
}

// hostLine is the line of the [host."u"] header, or 1.
func (c *hostsChecker) hostLine(u string) int {
	for i, l := range c.lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") && (strings.Contains(l, `"`+u+`"`) || strings.Contains(l, `'`+u+`'`)) {
			return i + 1
		}
	}
	return 1
}

// keyLine is the line of key in the table whose header is at line table
// (0: the top level), or the header's line when key is not found there.
func (c *hostsChecker) keyLine(table int, key string) int {
	for i := table; i < len(c.lines); i++ {
		l := strings.TrimSpace(c.lines[i])
		if strings.HasPrefix(l, "[") {
			break
		}
		if k, _, ok := strings.Cut(l, "="); ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			return i + 1
		}
	}
	return max(table, 1)
}

// config checks the settings of the server (table 0) or of one host,
// whose keys are prefix+name.
func (c *hostsChecker) config(table int, prefix string, h hostFileConfig) {
	for _, capability := range h.Capabilities {
		if !slices.Contains([]string{"pull", "resolve", "push"}, strings.ToLower(capability)) {
			c.check(c.keyLine(table, "capabilities"), prefix+"capabilities",
				fmt.Errorf("%q is not a capability; containerd knows pull, resolve and push, and ignores the whole file over it", capability))
		}
	}
	if h.DialTimeout != "" {
		_, err := time.ParseDuration(h.DialTimeout)
		c.check(c.keyLine(table, "dial_timeout"), prefix+"dial_timeout", err)
	}
	if h.CA != nil {
		c.caFiles(c.keyLine(table, "ca"), prefix+"ca", h.CA)
	}
	if h.Client != nil {
		c.clientFiles(c.keyLine(table, "client"), prefix+"client", h.Client)
	}
}

// caFiles checks ca: a file, or a list of files.
func (c *hostsChecker) caFiles(line int, key string, v any) {
	files, err := stringList(v)
	if err != nil {
		c.check(line, key, fmt.Errorf("want a file name or a list of them: %w", err))
		return
	}
	for _, f := range files {
		c.check(line, key, checkCA(c.abs(f)))
	}
}

// clientFiles checks client: a file holding certificate and key, a list
// of those, or a list of [certificate, key] pairs ("" key: in the
// certificate's file).
func (c *hostsChecker) clientFiles(line int, key string, v any) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	for _, item := range items {
		var pair []string
		switch item := item.(type) {
		case string:
			pair = []string{item, ""}
		case []any:
			pair, _ = stringList(item)
		}
		if len(pair) != 2 {
			c.check(line, key, fmt.Errorf("want a file name, a list of them, or a list of [certificate, key] pairs; found %v", item))
			continue
		}
		if pair[1] == "" {
			pair[1] = pair[0]
		}
		c.check(line, key, checkKeyPair(c.abs(pair[0]), c.abs(pair[1])))
	}
}

// abs resolves a file name as containerd does: relative to the hosts.toml.
func (c *hostsChecker) abs(f string) string {
	if filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(filepath.Dir(c.path), f)
}

// stringList reads a TOML string or array of strings.
func stringList(v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("%v is neither a string nor a list", v)
}
