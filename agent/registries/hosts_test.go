package registries

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"

	"github.com/kedge-io/kedge/agent/containerd"
)

func loadString(t *testing.T, content string) *Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "registries.yaml")
	write(t, path, content)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func proxyAt(registry string, i int) string {
	return fmt.Sprintf("http://127.0.0.1:9/rewrite/%s/%d", registry, i)
}

func TestHostsFiles(t *testing.T) {
	ca, _ := writeCA(t, t.TempDir())
	cfg := loadString(t, `mirrors:
  docker.io:
    endpoint: ["https://m.lan:5000"]
  r.example:
    endpoint: ["http://10.0.0.5:5000"]
    rewrite: {"^a/(.*)$": "b/$1"}
  "*":
    endpoint: ["http://10.0.0.5:5000"]
configs:
  "m.lan:5000":
    auth: {username: u, password: secret}
    tls: {ca_file: `+ca+`}
  "private.lan":
    tls: {insecure_skip_verify: true}
`)
	files := cfg.HostsFiles("http://127.0.0.1:7", proxyAt)
	wants := map[string][]string{
		"docker.io":     {`server = "https://registry-1.docker.io"`, `[host."https://m.lan:5000"]`, `ca = "` + ca + `"`},
		"r.example":     {`server = "https://r.example"`, `[host."http://127.0.0.1:9/rewrite/r.example/0"]`, "override_path = true"},
		"_default":      {`[host."http://10.0.0.5:5000"]`},
		"private.lan":   {`server = "https://private.lan"`, "skip_verify = true"},
		"m.lan:5000":    {`server = "https://m.lan:5000"`, `ca = "` + ca + `"`},
		BuiltinRegistry: {`server = "http://127.0.0.1:7"`, `[host."http://127.0.0.1:7"]`},
	}
	if len(files) != len(wants) {
		t.Errorf("got files %v", keys(files))
	}
	for name, parts := range wants {
		data := string(files[name])
		if !strings.HasPrefix(data, marker) {
			t.Errorf("%s: no marker:\n%s", name, data)
		}
		for _, p := range parts {
			if !strings.Contains(data, p) {
				t.Errorf("%s lacks %q:\n%s", name, p, data)
			}
		}
		if strings.Contains(data, "secret") {
			t.Errorf("%s holds a password:\n%s", name, data)
		}
		if err := checkHostsFile(name+"/hosts.toml", []byte(data)); err != nil {
			t.Errorf("%s does not pass the hosts.toml check: %v", name, err)
		}
	}
	if strings.Contains(string(files["_default"]), "server =") {
		t.Errorf("_default names a server:\n%s", files["_default"])
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestCRIRegistryTOML(t *testing.T) {
	cfg := loadString(t, "configs:\n  \"m.lan:5000\":\n    auth:\n      username: u\n      password: \"q\\\"uote\\\\back\\nline\"\n  other: {tls: {insecure_skip_verify: true}}\n")
	section, err := cfg.CRIRegistryTOML("/d/certs.d")
	if err != nil {
		t.Fatal(err)
	}
	doc := "[plugins.'io.containerd.cri.v1.images']\n" + string(section)
	if err := containerd.CheckTOML("section", []byte(doc)); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	var v struct {
		Plugins map[string]struct {
			Registry struct {
				ConfigPath string `toml:"config_path"`
				Configs    map[string]struct {
					Auth map[string]string `toml:"auth"`
				} `toml:"configs"`
			} `toml:"registry"`
		} `toml:"plugins"`
	}
	if err := toml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	reg := v.Plugins["io.containerd.cri.v1.images"].Registry
	if reg.ConfigPath != "/d/certs.d" || reg.Configs["m.lan:5000"].Auth["password"] != "q\"uote\\back\nline" || reg.Configs["m.lan:5000"].Auth["username"] != "u" {
		t.Fatalf("got %+v from:\n%s", reg, doc)
	}
	if _, ok := reg.Configs["other"]; ok {
		t.Errorf("a host without auth got a credentials table:\n%s", doc)
	}
}

// snapshot reads every file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return nil
	})
	return out
}

func TestApplyOwnsOnlyItsFiles(t *testing.T) {
	dir := t.TempDir()
	hand := filepath.Join(dir, "hand.lan", "hosts.toml")
	write(t, hand, "server = \"https://hand.lan\"\n")
	gen := func(s string) []byte { return []byte(marker + "\nserver = \"https://" + s + "\"\n") }

	changed, err := Apply(dir, map[string][]byte{"a.lan": gen("a.lan"), "b.lan": gen("b.lan")})
	if err != nil || !changed {
		t.Fatalf("first apply: %v %v", changed, err)
	}
	if changed, err := Apply(dir, map[string][]byte{"a.lan": gen("a.lan"), "b.lan": gen("b.lan")}); err != nil || changed {
		t.Fatalf("same again: changed %v, %v", changed, err)
	}
	if _, err := Apply(dir, map[string][]byte{"a.lan": gen("a.lan")}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.lan")); !os.IsNotExist(err) {
		t.Errorf("b.lan, whose entry went, is still there: %v", err)
	}
	if got := snapshot(t, dir)[hand]; got != "server = \"https://hand.lan\"\n" {
		t.Errorf("hand-written file changed: %q", got)
	}
	if _, err := Apply(dir, map[string][]byte{"hand.lan": gen("hand.lan")}); err == nil || !strings.Contains(err.Error(), hand) {
		t.Errorf("overwrote a hand-written file: %v", err)
	}
}

func TestApplyRefusesBadHandWrittenFileAndChangesNothing(t *testing.T) {
	for _, tt := range []struct{ name, content, want string }{
		{"leading space in server", "# mine\nserver = \" https://bad.lan\"\n", "hosts.toml:2: server: \" https://bad.lan\" has leading or trailing whitespace"},
		{"syntax", "server = \"https://bad.lan\"\n[host.\"https://m\"\n", "hosts.toml:2:"},
		{"host URL", "[host.\"https://\"]\n  capabilities = [\"pull\"]\n", `hosts.toml:1: host."https://": "https://" has no host`},
		{"missing ca", "server = \"https://bad.lan\"\nca = \"/nonexistent/ca.pem\"\n", "hosts.toml:2: ca: open /nonexistent/ca.pem"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "bad.lan", "hosts.toml"), tt.content)
			before := snapshot(t, dir)
			_, err := Apply(dir, map[string][]byte{"a.lan": []byte(marker + "\n")})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if after := snapshot(t, dir); len(after) != len(before) {
				t.Errorf("dir changed: %v", after)
			}
		})
	}
}

func TestApplyRefusesHandWrittenFileContainerdReadsFirst(t *testing.T) {
	dir := t.TempDir()
	hand := filepath.Join(dir, "m.lan_5000_", "hosts.toml")
	write(t, hand, "server = \"https://m.lan:5000\"\n")
	_, err := Apply(dir, map[string][]byte{"m.lan:5000": []byte(marker + " from /etc/kedge/registries.yaml\n")})
	if err == nil || !strings.Contains(err.Error(), "containerd would read it instead of") || !strings.Contains(err.Error(), hand) {
		t.Fatalf("got %v, want the file that shadows m.lan:5000 named", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "m.lan:5000")); !os.IsNotExist(err) {
		t.Errorf("wrote the generated file anyway: %v", err)
	}
}
