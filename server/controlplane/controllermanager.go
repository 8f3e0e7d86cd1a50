package controlplane

import (
	"context"
	"fmt"

	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app/options"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// ControllerManager is kube-controller-manager as a component.
type ControllerManager struct {
	component.Runner
	opts *options.KubeControllerManagerOptions
}

// NewControllerManager parses args into upstream's options.
func NewControllerManager(args []string) (*ControllerManager, error) {
	s, err := options.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager defaults: %w", err)
	}
	fs := passthrough.NewFlagSet("kube-controller-manager")
	named := s.Flags(app.KnownControllers(), app.ControllersDisabledByDefault(), app.ControllerAliases())
	s.ParsedFlags = &named
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := passthrough.Parse(fs, "kube-controller-manager", "kube-controller-manager-arg", args); err != nil {
		return nil, err
	}
	return &ControllerManager{opts: s}, nil
}

// Name implements component.Component.
func (c *ControllerManager) Name() string { return "kube-controller-manager" }

// Start builds the controller-manager's configuration (which needs the
// apiserver up) and runs its controllers until Stop.
func (c *ControllerManager) Start(ctx context.Context) error {
	if err := c.opts.ComponentGlobalsRegistry.Set(); err != nil {
		return fmt.Errorf("kube-controller-manager feature gates: %w", err)
	}
	cfg, err := c.opts.Config(ctx, app.KnownControllers(), app.ControllersDisabledByDefault(), app.ControllerAliases())
	if err != nil {
		return fmt.Errorf("kube-controller-manager configuration: %w", err)
	}
	completed := cfg.Complete()
	c.Go("kube-controller-manager", func(ctx context.Context) error { return app.Run(ctx, completed) })
	return c.Err()
}

// Ready is healthy while the controllers run.
func (c *ControllerManager) Ready(context.Context) error { return c.Err() }
