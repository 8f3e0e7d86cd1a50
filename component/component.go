package component

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/klog/v2"
)

// Component is one long-running part of a node.
type Component interface {
	// Name is a short stable identifier used in logs and errors.
	Name() string
	// Start returns once the part is serving (or failed to).
	Start(ctx context.Context) error
	// Ready returns nil when the part is healthy.
	Ready(ctx context.Context) error
	// Stop releases what Start took. It is called in reverse start order.
	Stop(ctx context.Context) error
}

// Manager runs components in order and stops them in reverse.
type Manager struct {
	components []Component
	started    []Component
}

// NewManager returns a manager for the given components, kept in order.
func NewManager(components ...Component) *Manager {
	return &Manager{components: components}
}

// Start starts each component in turn. When one fails, the ones already
// started are stopped again so a failed start leaves nothing running.
func (m *Manager) Start(ctx context.Context) error {
	for _, c := range m.components {
		begin := time.Now()
		klog.V(1).Infof("starting %s", c.Name())
		if err := c.Start(ctx); err != nil {
			err = fmt.Errorf("starting %s: %w", c.Name(), err)
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return errors.Join(err, m.Stop(stopCtx))
		}
		m.started = append(m.started, c)
		klog.Infof("started %s in %s", c.Name(), time.Since(begin).Round(time.Millisecond))
	}
	return nil
}

// Ready reports the first component that is not healthy.
func (m *Manager) Ready(ctx context.Context) error {
	for _, c := range m.started {
		if err := c.Ready(ctx); err != nil {
			return fmt.Errorf("%s not ready: %w", c.Name(), err)
		}
	}
	return nil
}

// Stop stops started components in reverse order and returns every error.
func (m *Manager) Stop(ctx context.Context) error {
	var errs []error
	for i := len(m.started) - 1; i >= 0; i-- {
		c := m.started[i]
		klog.Infof("stopping %s", c.Name())
		if err := c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", c.Name(), err))
		}
	}
	m.started = nil
	return errors.Join(errs...)
}

// Exiter is implemented by components that can end on their own, such as
// an embedded upstream server whose Run returned.
type Exiter interface {
	// Exited is closed when the component stopped running by itself.
	Exited() <-chan struct{}
}

// Wait blocks until ctx ends or a started component exits by itself, and
// returns an error naming that component.
func (m *Manager) Wait(ctx context.Context) error {
	exits := make(chan string, len(m.started))
	for _, c := range m.started {
		if e, ok := c.(Exiter); ok {
			go func(name string, done <-chan struct{}) {
				select {
				case <-done:
					exits <- name
				case <-ctx.Done():
				}
			}(c.Name(), e.Exited())
		}
	}
	select {
	case <-ctx.Done():
		return nil
	case name := <-exits:
		return fmt.Errorf("%s stopped unexpectedly", name)
	}
}
