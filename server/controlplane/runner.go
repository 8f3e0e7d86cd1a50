package controlplane

import (
	"context"
	"fmt"
	"time"
)

// runner runs one upstream component's blocking Run function in the
// background and remembers how it ended, so Ready and Stop can tell a
// crashed component from a stopped one.
type runner struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *runner) start(run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.err = run(ctx)
	}()
}

// Exited implements component.Exiter.
func (r *runner) Exited() <-chan struct{} { return r.done }

// exited returns the component's exit error once it has stopped running.
func (r *runner) exited() error {
	if r.done == nil {
		return fmt.Errorf("%s was not started", r.name)
	}
	select {
	case <-r.done:
		if r.err == nil {
			return fmt.Errorf("%s exited", r.name)
		}
		return fmt.Errorf("%s exited: %w", r.name, r.err)
	default:
		return nil
	}
}

// waitUntil polls check until it passes, the component exits, or ctx ends.
func (r *runner) waitUntil(ctx context.Context, check func(ctx context.Context) error) error {
	var last error
	for {
		if err := r.exited(); err != nil {
			return err
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last check: %v)", r.name, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *runner) stop(ctx context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s did not stop: %w", r.name, ctx.Err())
	}
}
