package agent

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// defaults is the configuration with no flags given, as `kedge server`
// registers it.
func defaults() Config {
	var c Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.AddFlags(fs)
	c.AddClusterFlags(fs)
	c.DataDir = DefaultDataDir
	return c
}

func TestValidateNodeNamesTheFlag(t *testing.T) {
	for flag, mutate := range map[string]func(*Config){
		"--run-dir":     func(c *Config) { c.RunDir = "run" },
		"--node-name":   func(c *Config) { c.NodeName = "Node_1" },
		"--resolv-conf": func(c *Config) { c.ResolvConf = "/nonexistent/resolv.conf" },
	} {
		c := defaults()
		mutate(&c)
		if err := c.ValidateNode(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: got %v", flag, err)
		}
	}
	if c := defaults(); c.ValidateNode() != nil {
		t.Fatalf("defaults rejected: %v", c.ValidateNode())
	}
}

func TestLongRunDirIsRefusedBeforeContainerdFails(t *testing.T) {
	c := defaults()
	c.RunDir = "/tmp/" + strings.Repeat("d", 90)
	err := c.ValidateNode()
	if err == nil || !strings.Contains(err.Error(), "--run-dir") || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("got %v", err)
	}
}

func TestValidateClusterRejectsUnknownBackend(t *testing.T) {
	c := defaults()
	c.FlannelBackend = "udp"
	if err := c.ValidateCluster(); err == nil || !strings.Contains(err.Error(), "--flannel-backend") {
		t.Fatalf("got %v", err)
	}
}
