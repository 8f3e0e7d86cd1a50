package controlplane

import (
	"context"
	"fmt"

	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// Scheduler is kube-scheduler as a component.
type Scheduler struct {
	component.Runner
	opts *options.Options
}

// NewScheduler parses args into upstream's options.
func NewScheduler(args []string) (*Scheduler, error) {
	o := options.NewOptions()
	fs := passthrough.NewFlagSet("kube-scheduler")
	for _, f := range o.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := passthrough.Parse(fs, "kube-scheduler", "kube-scheduler-arg", args); err != nil {
		return nil, err
	}
	return &Scheduler{opts: o}, nil
}

// Name implements component.Component.
func (s *Scheduler) Name() string { return "kube-scheduler" }

// Start sets the scheduler up against the apiserver and runs it until Stop.
func (s *Scheduler) Start(ctx context.Context) error {
	if err := s.opts.ComponentGlobalsRegistry.Set(); err != nil {
		return fmt.Errorf("kube-scheduler feature gates: %w", err)
	}
	// Setup starts informers bound to its context, so it gets the run
	// context rather than the start one.
	ready := make(chan error, 1)
	s.Go("kube-scheduler", func(ctx context.Context) error {
		cc, sched, err := app.Setup(ctx, s.opts)
		ready <- err
		if err != nil {
			return err
		}
		return app.Run(ctx, cc, sched)
	})
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("kube-scheduler setup: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Ready is healthy while the scheduler runs.
func (s *Scheduler) Ready(context.Context) error { return s.Err() }
