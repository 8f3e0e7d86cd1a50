package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/component"
)

const (
	defaultResync   = 30 * time.Second
	defaultDebounce = 500 * time.Millisecond
	// maxDebounce bounds how long a stream of changes delays a pass.
	maxDebounce = 2 * time.Second
	// retryDelay spaces passes that fail as a whole (records cannot be
	// listed, the directory cannot be read) until the first one works.
	retryDelay = 2 * time.Second
)

// Options configure a Controller.
type Options struct {
	// Dir is the manifests directory, created 0700 when missing.
	Dir string
	// Config reaches the apiserver with rights to apply any object.
	Config *rest.Config
	// Resync is how often files are checked without a change event;
	// 30 s when zero.
	Resync time.Duration
	// Debounce is how long the directory must be quiet after a change
	// before a pass reads it; 500 ms when zero.
	Debounce time.Duration

	cluster clusterAPI // replaces the apiserver in tests
}

// Controller applies the manifests directory. It is a component.Component;
// the embedded Runner runs the watch loop and stops it.
type Controller struct {
	component.Runner

	opts Options

	// Pass state, used by one pass at a time.
	api      clusterAPI
	records  map[string]record // by file; nil until loaded
	applied  map[string]string // file → content applied in this run
	reported map[string]string // file → content and reason already warned about
	skipped  map[string]bool

	mu      sync.Mutex
	synced  bool  // a pass finished
	lastErr error // why the last pass did not
}

// New returns a controller for opts; Start begins the work.
func New(opts Options) *Controller {
	if opts.Resync <= 0 {
		opts.Resync = defaultResync
	}
	if opts.Debounce <= 0 {
		opts.Debounce = defaultDebounce
	}
	return &Controller{
		opts:     opts,
		api:      opts.cluster,
		applied:  map[string]string{},
		reported: map[string]string{},
		skipped:  map[string]bool{},
	}
}

// Name implements component.Component.
func (c *Controller) Name() string { return "deploy" }

// Start returns once the directory is watched; the first pass runs in the
// background so a slow or broken manifest never holds up the server.
func (c *Controller) Start(ctx context.Context) error {
	if err := os.MkdirAll(c.opts.Dir, 0o700); err != nil {
		return fmt.Errorf("creating manifests directory: %w", err)
	}
	if c.api == nil {
		cluster, err := newKubeCluster(c.opts.Config)
		if err != nil {
			return err
		}
		c.api = cluster
	}
	w, err := watchDir(c.opts.Dir)
	if err != nil {
		return err
	}
	c.Go("deploy", func(ctx context.Context) error { return c.watchLoop(ctx, w) })
	return nil
}

// watchLoop turns changes to the directory into passes until Stop cancels
// ctx, and then closes w.
func (c *Controller) watchLoop(ctx context.Context, w *fsnotify.Watcher) error {
	defer w.Close()
	changes, passes := make(chan struct{}, 1), make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { forward(ctx, w, changes) })
	wg.Go(func() { debounce(ctx, changes, passes, c.opts.Debounce, maxDebounce) })
	c.run(ctx, w, passes)
	return nil
}

// run passes on start, on changes and on every resync.
func (c *Controller) run(ctx context.Context, w *fsnotify.Watcher, changes <-chan struct{}) {
	ticker := time.NewTicker(c.opts.Resync)
	defer ticker.Stop()
	for {
		retry := c.pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-changes:
		case <-ticker.C:
			rewatch(w, c.opts.Dir)
		case <-retry:
		}
	}
}

// pass runs sync and keeps the outcome for Ready. Until a pass worked,
// a failed one is retried soon rather than at the next resync.
func (c *Controller) pass(ctx context.Context) <-chan time.Time {
	err := c.sync(ctx)
	if ctx.Err() != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err != nil && (c.lastErr == nil || c.lastErr.Error() != err.Error()):
		klog.Errorf("deploy: pass failed: %v", err)
	case err != nil:
		klog.V(2).Infof("deploy: pass failed again: %v", err)
	}
	c.lastErr = err
	if err == nil {
		c.synced = true
	}
	if err != nil && !c.synced {
		return time.After(retryDelay)
	}
	return nil
}

// Ready reports nil while the watch loop runs and a first pass went over
// every file, whether or not each file applied: bad files are reported as
// Events instead.
func (c *Controller) Ready(context.Context) error {
	if err := c.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.synced:
		return nil
	case c.lastErr != nil:
		return fmt.Errorf("first pass over %s failed: %w", c.opts.Dir, c.lastErr)
	}
	return errors.New("first pass over " + c.opts.Dir + " not finished")
}
