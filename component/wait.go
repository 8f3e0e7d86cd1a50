package component

import (
	"context"
	"fmt"
	"sync"
)

// WaitGroup waits for wg until ctx ends; what names the goroutines in the
// error, e.g. "flannel's goroutines".
func WaitGroup(ctx context.Context, wg *sync.WaitGroup, what string) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
	}
}
