package images

import (
	"context"
	"fmt"
	"os"
	"time"

	"k8s.io/klog/v2"
)

// Loader imports the pause image and the node's images dir once
// containerd is up, as a component of the node's start sequence. The
// other built-in images are served by agent/imageserver, not imported.
type Loader struct {
	importer *Importer
	dir      string
}

// NewLoader returns a loader that imports dir's archives with im.
func NewLoader(im *Importer, dir string) *Loader { return &Loader{importer: im, dir: dir} }

// Name implements component.Component.
func (l *Loader) Name() string { return "images" }

// Init creates the images dir, so an operator finds where archives go.
func (l *Loader) Init(context.Context) error {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", l.dir, err)
	}
	return nil
}

// Start imports the pause image, without which no pod can start, then
// every archive of the images dir. A bad archive among those is logged by
// name and skipped: it must not keep the node from running what it has.
func (l *Loader) Start(ctx context.Context) error {
	begin := time.Now()
	if err := l.importer.ImportBuiltin(ctx); err != nil {
		return fmt.Errorf("importing the built-in pause image: %w", err)
	}
	if err := l.importer.ImportDir(ctx, l.dir); err != nil {
		klog.Errorf("some image archives in %s were not imported (see above); fix or remove them and restart, or use `kedge images import`", l.dir)
	}
	klog.V(1).Infof("images imported in %s", time.Since(begin).Round(time.Millisecond))
	return nil
}

// Ready has nothing to check once the imports are done.
func (l *Loader) Ready(context.Context) error { return nil }

// Stop has nothing to release.
func (l *Loader) Stop(context.Context) error { return nil }
