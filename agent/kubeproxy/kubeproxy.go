package kubeproxy

import (
	"context"
	"fmt"

	"k8s.io/kubernetes/cmd/kube-proxy/app"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// healthzURL matches the healthz-bind-address in Defaults.
const healthzURL = "http://127.0.0.1:10256/healthz"

// Options are the node-specific inputs of kube-proxy.
type Options struct {
	Kubeconfig  string
	NodeName    string
	ClusterCIDR string
	Mode        string // iptables or nftables
}

// Defaults are kedge's kube-proxy flags; --kube-proxy-arg overrides them.
func Defaults(o Options) map[string]string {
	return map[string]string{
		"kubeconfig":           o.Kubeconfig,
		"hostname-override":    o.NodeName,
		"cluster-cidr":         o.ClusterCIDR,
		"proxy-mode":           o.Mode,
		"healthz-bind-address": "127.0.0.1:10256",
		"metrics-bind-address": "127.0.0.1:10249",
		"profiling":            "false",
		// nf_conntrack_max is one global table shared by every network
		// namespace; leave the host's (or the container host's) sizing alone
		// instead of failing on a read-only /proc/sys.
		"conntrack-max-per-core":            "0",
		"conntrack-tcp-timeout-established": "0s",
		"conntrack-tcp-timeout-close-wait":  "0s",
	}
}

// Proxy is upstream kube-proxy running in kedge's process.
type Proxy struct {
	component.Runner
	opts *app.Options
}

// New parses args (from Defaults and --kube-proxy-arg) into upstream's
// options and validates them.
func New(args []string) (*Proxy, error) {
	o := app.NewOptions()
	fs := passthrough.NewFlagSet("kube-proxy")
	o.AddFlags(fs)
	if err := passthrough.Parse(fs, "kube-proxy", "kube-proxy-arg", args); err != nil {
		return nil, err
	}
	if err := o.Complete(fs); err != nil {
		return nil, fmt.Errorf("kube-proxy options: %w (check --kube-proxy-arg)", err)
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("kube-proxy options: %w (check --kube-proxy-arg)", err)
	}
	return &Proxy{opts: o}, nil
}

// Name implements component.Component.
func (p *Proxy) Name() string { return "kube-proxy" }

// Start runs kube-proxy and returns once its healthz endpoint answers,
// which it does from the moment it serves, before the first rule sync.
func (p *Proxy) Start(ctx context.Context) error {
	p.Go("kube-proxy", p.opts.Run)
	return p.WaitUntil(ctx, healthz)
}

// Ready is healthy while kube-proxy runs. Its healthz turns 503 when a rule
// sync is overdue, which happens while the apiserver is away; that is not a
// reason to call the node broken.
func (p *Proxy) Ready(context.Context) error { return p.Err() }

func healthz(ctx context.Context) error {
	return component.Probe(ctx, "kube-proxy", healthzURL, false)
}

// Stop cancels kube-proxy's context without waiting: upstream's sync loop
// has no stop signal and its Run never returns. The rules it leaves keep
// Services working until the next kube-proxy takes them over.
func (p *Proxy) Stop(context.Context) error {
	p.Cancel()
	return nil
}
