package component

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Component is one long-running part of a node. Its work is split in
// phases (docs/architecture.md, "Lifecycle"): an optional Init prepares
// files and directories, Start launches and returns once the part serves,
// Ready reports health for as long as it runs, and Stop undoes Start.
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

// Initializer is implemented by components that prepare files or
// directories. Init starts nothing (no process, goroutine or connection):
// the Manager runs every Init before the first Start, so a bad setting or
// an unwritable directory stops kedge before anything runs.
type Initializer interface {
	Init(ctx context.Context) error
}

// Manager runs components in order and stops them in reverse.
type Manager struct {
	components []Component
	mu         sync.Mutex // guards started and phase, which Status reads while Run runs
	started    []Component
	phase      Phase
}

// Phase is where a Manager is in its run.
type Phase string

// The phases of Run, in order.
const (
	PhaseInit     Phase = "initializing"
	PhaseStarting Phase = "starting"
	PhaseReady    Phase = "ready"
	PhaseStopping Phase = "stopping"
)

// NewManager returns a manager for the given components, kept in order.
func NewManager(components ...Component) *Manager {
	return &Manager{components: components}
}

// stopTimeout bounds a clean shutdown of all components.
const stopTimeout = 30 * time.Second

// Run prepares and starts every component, then calls ready, which returns
// once the whole node serves (e.g. the apiserver answers); after that the
// phase is PhaseReady. It returns when ctx ends or a component exits by
// itself, having stopped every started component in reverse order.
func (m *Manager) Run(ctx context.Context, ready func(ctx context.Context) error) error {
	m.setPhase(PhaseInit)
	if err := m.Init(ctx); err != nil {
		return err
	}
	m.setPhase(PhaseStarting)
	if err := m.Start(ctx); err != nil {
		return err
	}
	err := ready(ctx)
	if err == nil {
		m.setPhase(PhaseReady)
		err = m.Wait(ctx)
	}
	m.setPhase(PhaseStopping)
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if stopErr := m.Stop(stopCtx); stopErr != nil {
		klog.Errorf("shutdown: %v", stopErr)
	}
	return err
}

func (m *Manager) setPhase(p Phase) {
	m.mu.Lock()
	m.phase = p
	m.mu.Unlock()
}

// Init runs Init of every component that has one, in order.
func (m *Manager) Init(ctx context.Context) error {
	for _, c := range m.components {
		if i, ok := c.(Initializer); ok {
			if err := i.Init(ctx); err != nil {
				return fmt.Errorf("preparing %s: %w", c.Name(), err)
			}
		}
	}
	return nil
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
		m.mu.Lock()
		m.started = append(m.started, c)
		m.mu.Unlock()
		klog.Infof("started %s in %s", c.Name(), time.Since(begin).Round(time.Millisecond))
	}
	return nil
}

// State is one component's health at one moment.
type State struct {
	Name  string `json:"name"`
	Ready bool   `json:"ready"`
	// Error says why a component is not ready; empty when it is.
	Error string `json:"error,omitempty"`
}

// Status is the phase of Run and every component's health, in start
// order; one that has not started (yet) says so.
func (m *Manager) Status(ctx context.Context) (Phase, []State) {
	m.mu.Lock()
	started, phase := len(m.started), m.phase
	m.mu.Unlock()
	states := make([]State, len(m.components))
	for i, c := range m.components {
		states[i] = State{Name: c.Name()}
		err := errors.New("not started")
		if i < started {
			err = c.Ready(ctx)
		}
		if err != nil {
			states[i].Error = err.Error()
		} else {
			states[i].Ready = true
		}
	}
	return phase, states
}

// Stop stops started components in reverse order and returns every error.
func (m *Manager) Stop(ctx context.Context) error {
	m.mu.Lock()
	started := m.started
	m.started = nil
	m.mu.Unlock()
	var errs []error
	for i := len(started) - 1; i >= 0; i-- {
		c := started[i]
		klog.Infof("stopping %s", c.Name())
		if err := c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", c.Name(), err))
		}
	}
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
