package registries

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// criTable is the CRI plugin's registry table in containerd 2.x's config.
const criTable = "plugins.'io.containerd.cri.v1.images'.registry"

// criRegistry is criTable's content; the toml tags are containerd's keys.
type criRegistry struct {
	ConfigPath string             `toml:"config_path"`
	Configs    map[string]criHost `toml:"configs,omitempty"`
}

type criHost struct {
	Auth criAuth `toml:"auth"`
}

type criAuth struct {
	Username      string `toml:"username,omitempty"`
	Password      string `toml:"password,omitempty"`
	Auth          string `toml:"auth,omitempty"`
	IdentityToken string `toml:"identitytoken,omitempty"`
}

// CRIRegistryTOML returns the CRI plugin's registry section of containerd's
// config.toml: config_path, and a [...registry.configs.'<host>'.auth]
// table per configs entry with credentials. Credentials belong there, in
// a 0600 file, never in hosts.toml.
func (c *Config) CRIRegistryTOML(configPath string) ([]byte, error) {
	reg := criRegistry{ConfigPath: configPath, Configs: map[string]criHost{}}
	for host, h := range c.Configs {
		if a := h.Auth; a != nil {
			reg.Configs[host] = criHost{criAuth{a.Username, a.Password, a.Auth, a.IdentityToken}}
		}
	}
	// Marshalled under a one-word key, then re-rooted: the section is
	// spliced into a config that already defines the parent tables, which
	// TOML forbids defining twice.
	out, err := toml.Marshal(map[string]criRegistry{"registry": reg})
	if err != nil {
		return nil, fmt.Errorf("rendering the CRI registry section: %w", err)
	}
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		// Only table headers start with "[": go-toml writes every value on
		// one line, escaping newlines.
		if rest, ok := strings.CutPrefix(l, "[registry"); ok {
			lines[i] = "[" + criTable + rest
		}
	}
	return []byte(strings.Join(slices.DeleteFunc(lines, func(l string) bool { return l == "" }), "\n") + "\n"), nil
}
