package kubelet

import (
	"context"
	"fmt"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/kubernetes/cmd/kubelet/app"
	"k8s.io/kubernetes/cmd/kubelet/app/options"
	"k8s.io/kubernetes/pkg/kubelet/apis/config/validation"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
	utilfs "k8s.io/kubernetes/pkg/util/filesystem"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// healthzURL is where the kubelet reports its health; Render binds the
// healthz server to loopback on the upstream default port.
const healthzURL = "http://127.0.0.1:10248/healthz"

// Kubelet is the upstream kubelet running in kedge's process.
type Kubelet struct {
	component.Runner
	server *options.KubeletServer
}

// New loads the generated configuration file and applies args (kedge's
// flags, then the user's --kubelet-arg values) over it, the precedence the
// kubelet itself gives flags over its config file.
func New(ctx context.Context, configFile string, args []string) (*Kubelet, error) {
	loader, err := configfiles.NewFsLoader(&utilfs.DefaultFs{}, configFile)
	if err != nil {
		return nil, fmt.Errorf("kubelet config %s: %w", configFile, err)
	}
	kc, err := loader.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("kubelet config %s: %w", configFile, err)
	}
	flags := options.NewKubeletFlags()
	fs := passthrough.NewFlagSet("kubelet")
	fs.SetNormalizeFunc(cliflag.WordSepNormalizeFunc)
	flags.AddFlags(fs)
	options.AddKubeletConfigFlags(fs, kc)
	if err := passthrough.Parse(fs, "kubelet", "kubelet-arg", args); err != nil {
		return nil, err
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(kc.FeatureGates); err != nil {
		return nil, fmt.Errorf("kubelet feature gates: %w (check --kubelet-arg)", err)
	}
	if err := options.ValidateKubeletFlags(flags); err != nil {
		return nil, fmt.Errorf("kubelet flags: %w (check --kubelet-arg and --node-label)", err)
	}
	if err := validation.ValidateKubeletConfiguration(kc, utilfeature.DefaultFeatureGate); err != nil {
		return nil, fmt.Errorf("kubelet configuration: %w (check --kubelet-arg)", err)
	}
	return &Kubelet{server: &options.KubeletServer{KubeletFlags: *flags, KubeletConfiguration: *kc}}, nil
}

// Name implements component.Component.
func (k *Kubelet) Name() string { return "kubelet" }

// Start runs the kubelet and returns once its healthz endpoint answers.
// Registering the node and starting pods continue in the background.
func (k *Kubelet) Start(ctx context.Context) error {
	deps, err := app.UnsecuredDependencies(ctx, k.server, utilfeature.DefaultFeatureGate)
	if err != nil {
		return fmt.Errorf("kubelet dependencies: %w", err)
	}
	k.Go("kubelet", func(ctx context.Context) error {
		return app.Run(ctx, k.server, deps, utilfeature.DefaultFeatureGate)
	})
	return k.WaitUntil(ctx, k.healthy)
}

// Ready reports the kubelet's own health check.
func (k *Kubelet) Ready(ctx context.Context) error {
	if err := k.Err(); err != nil {
		return err
	}
	return k.healthy(ctx)
}

func (k *Kubelet) healthy(ctx context.Context) error {
	return component.Probe(ctx, "kubelet", healthzURL, true)
}
