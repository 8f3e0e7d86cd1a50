package component

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Runner runs one embedded upstream component's blocking Run function in
// the background and remembers how it ended, so Ready and Stop can tell a
// crashed component from a stopped one. Components embed it.
type Runner struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Go runs run in the background with a context that Stop cancels; name is
// used in errors.
func (r *Runner) Go(name string, run func(ctx context.Context) error) {
	r.name = name
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.err = run(ctx)
	}()
}

// Exited implements Exiter.
func (r *Runner) Exited() <-chan struct{} { return r.done }

// Err returns why the component stopped running, or nil while it runs.
func (r *Runner) Err() error {
	if r.done == nil {
		return errors.New("not started")
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

// WaitUntil polls check until it passes, the component exits, or ctx ends.
func (r *Runner) WaitUntil(ctx context.Context, check func(ctx context.Context) error) error {
	var last error
	for {
		if err := r.Err(); err != nil {
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

// Cancel cancels the run context without waiting, for upstream code whose
// Run never returns.
func (r *Runner) Cancel() {
	if r.cancel != nil {
		r.cancel()
	}
}

// Stop cancels the run context and waits for Run to return.
func (r *Runner) Stop(ctx context.Context) error {
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
