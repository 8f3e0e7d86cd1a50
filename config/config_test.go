package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// flags mirrors the flag types kedge commands define.
type flags struct {
	fs      *pflag.FlagSet
	port    *int
	token   *string
	noAgent *bool
	sans    *[]string
	args    *[]string
	timeout *time.Duration
}

func newFlags(t *testing.T, args ...string) flags {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.String("config", "/etc/kedge/config.yaml", "")
	f := flags{
		fs:      fs,
		port:    fs.Int("https-listen-port", 6443, ""),
		token:   fs.String("token", "", ""),
		noAgent: fs.Bool("disable-agent", false, ""),
		sans:    fs.StringSlice("tls-san", []string{"default-san"}, ""),
		args:    fs.StringArray("kube-apiserver-arg", []string{"default=1"}, ""),
		timeout: fs.Duration("timeout", time.Minute, ""),
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return f
}

// writeFile writes content to dir/name, creating parents, and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "config.yaml", `
https-listen-port: 1
token: file
timeout: 5m
kube-apiserver-arg: [from-file]
`)
	f := newFlags(t, "--https-listen-port=3")
	env := []string{"KEDGE_HTTPS_LISTEN_PORT=2", "KEDGE_TOKEN=env", "KEDGE_KUBE_APISERVER_ARG=a,b"}
	if err := Apply(f.fs, Source{Path: path, Environ: env}); err != nil {
		t.Fatal(err)
	}
	if *f.port != 3 {
		t.Errorf("https-listen-port = %d, want 3 from the command line", *f.port)
	}
	if *f.token != "env" {
		t.Errorf("token = %q, want %q from the environment", *f.token, "env")
	}
	if *f.timeout != 5*time.Minute {
		t.Errorf("timeout = %v, want 5m from the file", *f.timeout)
	}
	if want := []string{"a", "b"}; !slices.Equal(*f.args, want) {
		t.Errorf("kube-apiserver-arg = %q, want %q split from the environment", *f.args, want)
	}
}

func TestDropInsOverrideKeyByKey(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "config.yaml", "token: main\ntimeout: 2m\ntls-san: [x, y]\n")
	// Written out of order: only the names may decide.
	writeFile(t, dir, "config.yaml.d/20-b.yaml", "token: b\n")
	writeFile(t, dir, "config.yaml.d/10-a.yaml", "token: a\ntls-san: [z]\n")
	writeFile(t, dir, "config.yaml.d/30-c.yaml.bak", "not: [yaml")
	f := newFlags(t)
	if err := Apply(f.fs, Source{Path: path}); err != nil {
		t.Fatal(err)
	}
	if *f.token != "b" {
		t.Errorf("token = %q, want %q from the last drop-in", *f.token, "b")
	}
	if *f.timeout != 2*time.Minute {
		t.Errorf("timeout = %v, want 2m kept from the main file", *f.timeout)
	}
	if want := []string{"z"}; !slices.Equal(*f.sans, want) {
		t.Errorf("tls-san = %q, want %q: a drop-in replaces a list, not extends it", *f.sans, want)
	}
}

func TestFileValues(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", `
# comments are fine
disable-agent: true
tls-san: [a, b]
kube-apiserver-arg:
  - v=2
  - "x=1,2"
`)
	f := newFlags(t)
	if err := Apply(f.fs, Source{Path: path}); err != nil {
		t.Fatal(err)
	}
	if !*f.noAgent {
		t.Error("disable-agent = false, want true")
	}
	if want := []string{"a", "b"}; !slices.Equal(*f.sans, want) {
		t.Errorf("tls-san = %q, want %q replacing the default", *f.sans, want)
	}
	if want := []string{"v=2", "x=1,2"}; !slices.Equal(*f.args, want) {
		t.Errorf("kube-apiserver-arg = %q, want %q", *f.args, want)
	}
	if !f.fs.Changed("tls-san") || f.fs.Changed("token") {
		t.Error("only flags the file sets should be Changed")
	}
}

func TestEmptyListClearsDefaultAndOutranksFiles(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", "kube-apiserver-arg: [from-file]\ntls-san: []\n")
	f := newFlags(t)
	if err := Apply(f.fs, Source{Path: path, Environ: []string{"KEDGE_KUBE_APISERVER_ARG="}}); err != nil {
		t.Fatal(err)
	}
	if len(*f.args) != 0 {
		t.Errorf("kube-apiserver-arg = %q, want empty from the environment", *f.args)
	}
	if len(*f.sans) != 0 {
		t.Errorf("tls-san = %q, want empty from the file", *f.sans)
	}
}

func TestEnv(t *testing.T) {
	f := newFlags(t)
	env := []string{
		"KEDGE_TLS_SAN=x,y",
		"KEDGE_DISABLE_AGENT=true",
		"KEDGE_CONFIG=/elsewhere.yaml", // the caller's business
		"KEDGE_NOT_A_FLAG=1",
		"PATH=/bin",
	}
	if err := Apply(f.fs, Source{Path: filepath.Join(t.TempDir(), "none.yaml"), Environ: env}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"x", "y"}; !slices.Equal(*f.sans, want) {
		t.Errorf("tls-san = %q, want %q", *f.sans, want)
	}
	if !*f.noAgent {
		t.Error("disable-agent = false, want true")
	}
	if got, _ := f.fs.GetString("config"); got != "/etc/kedge/config.yaml" {
		t.Errorf("config = %q, want it left alone", got)
	}
}

func TestEnvInvalidValue(t *testing.T) {
	f := newFlags(t)
	err := Apply(f.fs, Source{Path: filepath.Join(t.TempDir(), "none.yaml"), Environ: []string{"KEDGE_HTTPS_LISTEN_PORT=abc"}})
	want := `KEDGE_HTTPS_LISTEN_PORT: invalid value "abc" for --https-listen-port: strconv.ParseInt: parsing "abc": invalid syntax`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("https-listen-port"); got != "KEDGE_HTTPS_LISTEN_PORT" {
		t.Errorf("EnvName = %q", got)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, content string
		want          string // the error after the file path
	}{
		{"unknown key", "token: x\n\nhttps-port: 1\n",
			`:3: unknown key "https-port" (did you mean "https-listen-port"?)`},
		{"typo", "tokn: x\n", `:1: unknown key "tokn" (did you mean "token"?)`},
		{"nothing close", "zzzzzzzzzz: x\n", `:1: unknown key "zzzzzzzzzz"`},
		{"invalid int", "token: x\nhttps-listen-port: abc\n",
			`:2: key "https-listen-port": invalid value "abc": strconv.ParseInt: parsing "abc": invalid syntax`},
		{"invalid bool", "disable-agent: maybe\n",
			`:1: key "disable-agent": invalid value "maybe": strconv.ParseBool: parsing "maybe": invalid syntax`},
		{"mapping", "token:\n  a: b\n", `:1: key "token": a mapping is not a valid value`},
		{"mapping for list", "tls-san: {a: b}\n", `:1: key "tls-san": a mapping is not a valid value`},
		{"list for scalar", "https-listen-port: [1, 2]\n",
			`:1: key "https-listen-port": --https-listen-port takes a single value, not a list`},
		{"nested list", "tls-san: [[a]]\n", `:1: key "tls-san": list elements must be plain values`},
		{"null", "token:\n", `:1: key "token": missing value`},
		{"config key", "config: /other.yaml\n", `:1: key "config" cannot be set from a config file`},
		{"duplicate", "token: a\ntoken: b\n", `:2: key "token": already set on line 1`},
		{"not a mapping", "- token\n", `:1: expected a mapping of flag names to values`},
		{"two documents", "token: a\n---\ntoken: b\n", `: only one YAML document is allowed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "config.yaml", tt.content)
			err := Apply(newFlags(t).fs, Source{Path: path})
			if err == nil || !strings.HasSuffix(err.Error(), path+tt.want) {
				t.Errorf("error = %v, want it to end with %s", err, path+tt.want)
			}
		})
	}
}

func TestMalformedYAML(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", "token: a\n  tls-san: b\n")
	err := Apply(newFlags(t).fs, Source{Path: path})
	want := "parsing " + path + ": yaml: line 2: "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want it to start with %s", err, want)
	}
}

func TestKeysCheckedEvenWhenOverridden(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "config.yaml", "tokn: x\n")
	drop := writeFile(t, dir, "config.yaml.d/a.yaml", "https-port: 1\n")
	err := Apply(newFlags(t, "--token=cli").fs, Source{Path: path, Environ: []string{"KEDGE_HTTPS_LISTEN_PORT=1"}})
	for _, want := range []string{path + `:1: unknown key "tokn"`, drop + `:1: unknown key "https-port"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to report %s", err, want)
		}
	}
}

func TestMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	t.Run("default", func(t *testing.T) {
		if err := Apply(newFlags(t).fs, Source{Path: path}); err != nil {
			t.Errorf("missing default file: %v", err)
		}
	})
	t.Run("explicit", func(t *testing.T) {
		err := Apply(newFlags(t).fs, Source{Path: path, Explicit: true})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("error = %v, want it to name %s", err, path)
		}
	})
	t.Run("drop-ins still read", func(t *testing.T) {
		writeFile(t, dir, "config.yaml.d/a.yaml", "token: drop-in\n")
		f := newFlags(t)
		if err := Apply(f.fs, Source{Path: path}); err != nil {
			t.Fatal(err)
		}
		if *f.token != "drop-in" {
			t.Errorf("token = %q, want %q", *f.token, "drop-in")
		}
	})
}

func TestEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "config.yaml", "")
	writeFile(t, dir, "config.yaml.d/a.yaml", "# only a comment\n")
	writeFile(t, dir, "config.yaml.d/b.yaml", "---\n# and a marker\n")
	if err := Apply(newFlags(t).fs, Source{Path: path}); err != nil {
		t.Error(err)
	}
}
