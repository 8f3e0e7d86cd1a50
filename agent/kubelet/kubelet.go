package kubelet

import (
	"context"
	"fmt"
	"os"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/kubernetes/cmd/kubelet/app"
	"k8s.io/kubernetes/cmd/kubelet/app/options"
	"k8s.io/kubernetes/pkg/kubelet/apis/config/validation"
	"k8s.io/kubernetes/pkg/kubelet/kubeletconfig/configfiles"
	utilfs "k8s.io/kubernetes/pkg/util/filesystem"

	"github.com/kedge-io/kedge/atomicfile"
	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// healthzURL is where the kubelet reports its health; Render binds the
// healthz server to loopback on the upstream default port.
const healthzURL = "http://127.0.0.1:10248/healthz"

// Kubelet is the upstream kubelet running in kedge's process.
type Kubelet struct {
	component.Runner
	opts   Options
	file   string   // where Init writes the configuration
	args   []string // kedge's flags, then the user's --kubelet-arg values
	dirs   []string // created by Init
	server *options.KubeletServer
}

// New returns the kubelet that Init configures from o, written to file,
// and args; dirs are the directories it needs to exist.
func New(o Options, file string, args, dirs []string) *Kubelet {
	return &Kubelet{opts: o, file: file, args: args, dirs: dirs}
}

// Init creates the kubelet's directories, writes its configuration file,
// and loads it with args over it, the precedence the kubelet itself gives
// flags over its config file.
func (k *Kubelet) Init(ctx context.Context) error {
	for _, dir := range k.dirs {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	data, err := Render(k.opts)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(k.file, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", k.file, err)
	}
	k.server, err = load(ctx, k.file, k.args)
	return err
}

// load reads the configuration file and validates it with args.
func load(ctx context.Context, configFile string, args []string) (*options.KubeletServer, error) {
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
	return &options.KubeletServer{KubeletFlags: *flags, KubeletConfiguration: *kc}, nil
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
