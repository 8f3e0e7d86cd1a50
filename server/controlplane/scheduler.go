package controlplane

import (
	"context"
	"fmt"

	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// Scheduler is kube-scheduler as a component.
type Scheduler struct {
	runner
	opts *options.Options
}

// NewScheduler parses args into upstream's options.
func NewScheduler(args []string) (*Scheduler, error) {
	o := options.NewOptions()
	fs := newFlagSet("kube-scheduler")
	for _, f := range o.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := parse(fs, "kube-scheduler", "kube-scheduler-arg", args); err != nil {
		return nil, err
	}
	return &Scheduler{runner: runner{name: "kube-scheduler"}, opts: o}, nil
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
	s.start(func(ctx context.Context) error {
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
func (s *Scheduler) Ready(context.Context) error { return s.exited() }

// Stop cancels the scheduler and waits for it.
func (s *Scheduler) Stop(ctx context.Context) error { return s.stop(ctx) }
