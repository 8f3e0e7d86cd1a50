package informers

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/tools/cache"
)

// Handlers are a controller's event handlers on shared informers. The
// controller serves once each handler was given its informer's full list:
// until then its work queue may miss objects.
type Handlers struct {
	registrations []cache.ResourceEventHandlerRegistration
	err           error // a refused handler; Wait and Synced report it
}

// Add registers handler with informer. Only a stopped informer refuses a
// handler, so the error is kept for Wait rather than returned to every
// constructor.
func (h *Handlers) Add(informer cache.SharedInformer, handler cache.ResourceEventHandler) {
	r, err := informer.AddEventHandler(handler)
	if err != nil {
		h.err = errors.Join(h.err, fmt.Errorf("adding an event handler: %w", err))
		return
	}
	h.registrations = append(h.registrations, r)
}

// Wait returns once every handler has seen its informer's full list, or
// ctx ends first. The Factory must be started for that to happen.
func (h *Handlers) Wait(ctx context.Context) error {
	if h.err != nil {
		return h.err
	}
	checkers := make([]cache.DoneChecker, 0, len(h.registrations))
	for _, r := range h.registrations {
		checkers = append(checkers, r.HasSyncedChecker())
	}
	if cache.WaitFor(ctx, "", checkers...) {
		return nil
	}
	if err := h.Synced(); err != nil {
		return fmt.Errorf("%w: %w", err, ctx.Err())
	}
	return nil
}

// Synced reports, without waiting, a handler that has not seen its
// informer's full list yet.
func (h *Handlers) Synced() error {
	if h.err != nil {
		return h.err
	}
	for _, r := range h.registrations {
		if !r.HasSynced() {
			return fmt.Errorf("%s not synced", r.HasSyncedChecker().Name())
		}
	}
	return nil
}
