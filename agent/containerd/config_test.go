package containerd

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func testConfig(t *testing.T) Config {
	dir := t.TempDir()
	return Config{
		Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		BinDir: "/data/abc/bin", CNIConfDir: "/data/cni", PauseImage: "kedge.local/pause:3.10",
		Snapshotter: "overlayfs",
	}
}

func TestRenderDefault(t *testing.T) {
	c := testConfig(t)
	out, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"version = 3", `address = "` + c.Socket() + `"`, `snapshotter = "overlayfs"`,
		`sandbox = "kedge.local/pause:3.10"`, `bin_dirs = ["/data/abc/bin"]`,
		`conf_dir = "/data/cni"`, `BinaryName = "/data/abc/bin/runc"`, "SystemdCgroup = false", "restrict_oom_score_adj = false",
		`platform = "linux/` + runtime.GOARCH,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("config lacks %q:\n%s", want, out)
		}
	}
}

func TestRenderUserTemplate(t *testing.T) {
	c := testConfig(t)
	if err := os.MkdirAll(c.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.TemplatePath(), []byte("version = 3\nroot = \"{{.Root}}\"\n# mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "version = 3\nroot = \""+c.Root+"\"\n# mine\n" {
		t.Fatalf("user template not used:\n%s", out)
	}
}

func TestRenderBadTemplateNamesFile(t *testing.T) {
	c := testConfig(t)
	if err := os.MkdirAll(c.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.TemplatePath(), []byte("{{.Nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(c); err == nil || !strings.Contains(err.Error(), c.TemplatePath()) {
		t.Fatalf("got %v, want error naming %s", err, c.TemplatePath())
	}
}

func TestRenderInvalidTOMLNamesTemplateLine(t *testing.T) {
	c := testConfig(t)
	if err := os.MkdirAll(c.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	text := "version = 3\n[plugins.'io.containerd.cri.v1.images'\nroot = \"{{.Root}}\"\n"
	if err := os.WriteFile(c.TemplatePath(), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(c); err == nil || !strings.Contains(err.Error(), c.TemplatePath()+" (as rendered):2:") {
		t.Fatalf("got %v, want an error at %s line 2", err, c.TemplatePath())
	}
}

func TestRenderRegistrySection(t *testing.T) {
	c := testConfig(t)
	c.Registry = "[plugins.'io.containerd.cri.v1.images'.registry]\n  config_path = \"/etc/certs.d\"\n"
	out, err := Render(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `config_path = "/etc/certs.d"`) {
		t.Fatalf("registry section missing:\n%s", out)
	}
}
