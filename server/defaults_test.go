package server

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kedge-io/kedge/server/pki"
)

// testConfig is the configuration of `kedge server` with no flags given
// but --node-ip, so that nothing depends on this host's routes.
func testConfig() Config {
	var c Config
	c.AddFlags(pflag.NewFlagSet("server", pflag.ContinueOnError))
	c.NodeIPs = []string{"192.168.1.10"}
	return c
}

func mustComplete(t *testing.T, cfg Config) completed {
	t.Helper()
	c, err := cfg.Complete()
	if err != nil {
		t.Fatal(err)
	}
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
		api := apiServerDefaults(mustComplete(t, cfg), &pki.Bundle{}, []string{"unix:///x"})
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

func TestCompleteNamesFlag(t *testing.T) {
	for flag, mutate := range map[string]func(*Config){
		"--https-listen-port":          func(c *Config) { c.HTTPSPort = 70000 },
		"--cluster-cidr":               func(c *Config) { c.Cluster.ClusterCIDR = "10.42.0.0" },
		"--bind-address":               func(c *Config) { c.BindAddress = "localhost" },
		"--node-ip":                    func(c *Config) { c.NodeIPs = []string{"10.0.0.300"} },
		"--service-node-port-range":    func(c *Config) { c.ServiceNodePortRange = "30000-x" },
		"--write-kubeconfig-mode":      func(c *Config) { c.WriteKubeconfigMode = "rw-r--r--" },
		"--data-dir":                   func(c *Config) { c.DataDir = "relative/dir" },
		"--flannel-backend":            func(c *Config) { c.Cluster.FlannelBackend = "udp" },
		"--run-dir":                    func(c *Config) { c.Agent.RunDir = "run" },
		"--disable":                    func(c *Config) { c.Disable = []string{"coredns", "dashboard"} },
		"--default-local-storage-path": func(c *Config) { c.LocalStoragePath = "storage" },
		"--service-cidr":               func(c *Config) { c.ServiceCIDR = "10.43.0.1" },
		"--cluster-dns":                func(c *Config) { c.Cluster.ClusterDNS = "dns" },
		"--advertise-address":          func(c *Config) { c.AdvertiseAddress = "127.0.0.1" },
	} {
		cfg := testConfig()
		mutate(&cfg)
		if _, err := cfg.Complete(); err == nil || !strings.Contains(err.Error(), flag) {
			t.Errorf("%s: got %v", flag, err)
		}
	}
	cfg := testConfig()
	cfg.Disable = Disableable()
	c, err := cfg.Complete()
	if err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	if ip := c.serviceIP.String(); ip != "10.43.0.1" {
		t.Fatalf("service IP %s", ip)
	}
	if c.advertiseIP.String() != "192.168.1.10" || c.node.Name == "" || c.kubeconfigMode != 0o600 {
		t.Fatalf("resolved %+v", c)
	}
	if c.localAddress() != "127.0.0.1" {
		t.Fatalf("local address %s", c.localAddress())
	}
}
