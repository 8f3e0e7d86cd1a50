package agent

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kedge-io/kedge/datadir"
)

// defaults is the configuration with no flags given, as `kedge server`
// registers it, but --node-ip, so nothing depends on this host's routes.
func defaults() Config {
	var c Config
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	c.AddFlags(fs)
	c.DataDir = datadir.DefaultDataDir
	c.NodeIPs = []string{"10.0.0.2"}
	return c
}

func TestCompleteNamesTheFlag(t *testing.T) {
	for flag, mutate := range map[string]func(*Config){
		"--run-dir":     func(c *Config) { c.RunDir = "run" },
		"--node-name":   func(c *Config) { c.NodeName = "Node_1" },
		"--resolv-conf": func(c *Config) { c.ResolvConf = "/nonexistent/resolv.conf" },
		"--data-dir":    func(c *Config) { c.DataDir = "data" },
		"--node-ip":     func(c *Config) { c.NodeIPs = []string{"10.0.0.300"} },
	} {
		c := defaults()
		mutate(&c)
		if _, err := c.Complete(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: got %v", flag, err)
		}
	}
	c := defaults()
	c.NodeName = "edge-1"
	node, err := c.Complete()
	if err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	if node.Name != "edge-1" || node.IPs[0].String() != "10.0.0.2" || node.ResolvConf == "" || node.Layout.DataDir != datadir.DefaultDataDir {
		t.Fatalf("resolved %+v", node)
	}
}

func TestLongRunDirIsRefusedBeforeContainerdFails(t *testing.T) {
	c := defaults()
	c.RunDir = "/tmp/" + strings.Repeat("d", 90)
	_, err := c.Complete()
	if err == nil || !strings.Contains(err.Error(), "--run-dir") || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("got %v", err)
	}
}

func TestValidateClusterRejectsUnknownBackend(t *testing.T) {
	var c Cluster
	c.AddFlags(pflag.NewFlagSet("test", pflag.ContinueOnError))
	c.FlannelBackend = "udp"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--flannel-backend") {
		t.Fatalf("got %v", err)
	}
}
