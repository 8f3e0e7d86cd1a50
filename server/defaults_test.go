package server

import (
	"net"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kedge-io/kedge/server/pki"
)

// testConfig is the configuration of `kedge server` with no flags given.
func testConfig() Config {
	var c Config
	c.AddFlags(pflag.NewFlagSet("server", pflag.ContinueOnError))
	return c
}

func TestSingleServerDefaults(t *testing.T) {
	for _, tc := range []struct {
		endpoint              string
		leaderElect, reconcil string
		peerGateOff           bool
	}{
		{"", "false", "master-count", true},
		{"sqlite:///srv/state.db", "false", "master-count", true},
		{"postgres://kine@db/kine", "true", "lease", false},
	} {
		cfg := testConfig()
		cfg.DatastoreEndpoint = tc.endpoint
		api := apiServerDefaults(cfg, net.ParseIP("192.168.1.10"), &pki.Bundle{}, []string{"unix:///x"})
		cm := controllerManagerDefaults(cfg, &pki.Bundle{}, "/cm.kubeconfig")
		sched := schedulerDefaults(cfg, "/sched.kubeconfig")
		if api["endpoint-reconciler-type"] != tc.reconcil {
			t.Errorf("%q: reconciler %q, want %q", tc.endpoint, api["endpoint-reconciler-type"], tc.reconcil)
		}
		if cm["leader-elect"] != tc.leaderElect || sched["leader-elect"] != tc.leaderElect {
			t.Errorf("%q: leader-elect cm=%q sched=%q, want %q", tc.endpoint, cm["leader-elect"], sched["leader-elect"], tc.leaderElect)
		}
		if got := strings.Contains(api["feature-gates"], "UnknownVersionInteroperabilityProxy=false"); got != tc.peerGateOff {
			t.Errorf("%q: peer proxy gate off = %v, want %v", tc.endpoint, got, tc.peerGateOff)
		}
		if cm["kubeconfig"] != "/cm.kubeconfig" || sched["kubeconfig"] != "/sched.kubeconfig" || cm["secure-port"] != "0" {
			t.Errorf("%q: component identities/ports wrong: cm=%v sched=%v", tc.endpoint, cm, sched)
		}
	}
}

func TestValidateNamesFlag(t *testing.T) {
	for flag, mutate := range map[string]func(*Config){
		"--https-listen-port":          func(c *Config) { c.HTTPSPort = 70000 },
		"--cluster-cidr":               func(c *Config) { c.ClusterCIDR = "10.42.0.0" },
		"--bind-address":               func(c *Config) { c.BindAddress = "localhost" },
		"--node-ip":                    func(c *Config) { c.NodeIPs = []string{"10.0.0.300"} },
		"--service-node-port-range":    func(c *Config) { c.ServiceNodePortRange = "30000-x" },
		"--write-kubeconfig-mode":      func(c *Config) { c.WriteKubeconfigMode = "rw-r--r--" },
		"--data-dir":                   func(c *Config) { c.DataDir = "relative/dir" },
		"--flannel-backend":            func(c *Config) { c.Agent.FlannelBackend = "udp" },
		"--run-dir":                    func(c *Config) { c.Agent.RunDir = "run" },
		"--disable":                    func(c *Config) { c.Disable = []string{"coredns", "dashboard"} },
		"--default-local-storage-path": func(c *Config) { c.LocalStoragePath = "storage" },
	} {
		cfg := testConfig()
		mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: got %v", flag, err)
		}
	}
	cfg := testConfig()
	cfg.Disable = Disableable()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	if ip := cfg.serviceIP().String(); ip != "10.43.0.1" {
		t.Fatalf("service IP %s", ip)
	}
}
