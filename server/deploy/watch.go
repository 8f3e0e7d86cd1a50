package deploy

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"k8s.io/klog/v2"
)

// watchDir starts watching the top of dir.
func watchDir(dir string) (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	if err := w.Add(dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching %s: %w", dir, err)
	}
	return w, nil
}

// rewatch adds dir again after it was removed and recreated, which ends
// an inotify watch; the periodic resync covers the time in between.
func rewatch(w *fsnotify.Watcher, dir string) {
	if len(w.WatchList()) > 0 {
		return
	}
	if err := w.Add(dir); err != nil {
		klog.V(1).Infof("deploy: watching %s again: %v", dir, err)
	}
}

// forward signals out for every change to a manifest or a skip marker.
// An error means events may have been lost, so it signals too.
func forward(ctx context.Context, w *fsnotify.Watcher, out chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if relevant(filepath.Base(ev.Name)) {
				notify(out)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			klog.Errorf("deploy: watching manifests: %v", err)
			notify(out)
		}
	}
}

// debounce passes a burst of signals on as one: once in was quiet for
// quiet, or max after the burst began if it goes on, so an editor's
// truncate-then-write is read whole and a busy writer still gets applied.
func debounce(ctx context.Context, in <-chan struct{}, out chan<- struct{}, quiet, max time.Duration) {
	var timer, deadline <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-in:
			timer = time.After(quiet)
			if deadline == nil {
				deadline = time.After(max)
			}
			continue
		case <-timer:
		case <-deadline:
		}
		timer, deadline = nil, nil
		notify(out)
	}
}

// notify signals ch without blocking; ch has room for one pending signal.
func notify(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
