package deploy

import (
	"context"
	"testing"
	"time"
)

// count returns how many signals arrive on ch within d.
func count(ch <-chan struct{}, d time.Duration) int {
	n := 0
	deadline := time.After(d)
	for {
		select {
		case <-ch:
			n++
		case <-deadline:
			return n
		}
	}
}

func startDebounce(t *testing.T, quiet, max time.Duration) (chan<- struct{}, <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in, out := make(chan struct{}), make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		debounce(ctx, in, out, quiet, max)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return in, out
}

func TestDebounceCoalescesBurst(t *testing.T) {
	in, out := startDebounce(t, 50*time.Millisecond, time.Second)
	for range 5 {
		in <- struct{}{}
		time.Sleep(5 * time.Millisecond)
	}
	if n := count(out, 300*time.Millisecond); n != 1 {
		t.Errorf("a burst of 5 changes gave %d passes, want 1", n)
	}
	in <- struct{}{}
	if n := count(out, 300*time.Millisecond); n != 1 {
		t.Errorf("a later change gave %d passes, want 1", n)
	}
}

func TestDebounceBoundsDelay(t *testing.T) {
	in, out := startDebounce(t, 50*time.Millisecond, 100*time.Millisecond)
	got := make(chan int)
	go func() { got <- count(out, 450*time.Millisecond) }()
	stop := time.After(400 * time.Millisecond)
	for tick := time.Tick(10 * time.Millisecond); ; {
		select {
		case <-tick:
			in <- struct{}{}
			continue
		case <-stop:
		}
		break
	}
	if n := <-got; n < 2 {
		t.Errorf("changes every 10 ms for 400 ms gave %d passes, want one per 100 ms", n)
	}
}

func TestForwardSignalsManifestChanges(t *testing.T) {
	dir := t.TempDir()
	w, err := watchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		forward(ctx, w, out)
	}()
	defer func() {
		cancel()
		<-done
	}()

	writeFile(t, dir, ".app.yaml.swp", "x")
	writeFile(t, dir, "notes.txt", "x")
	if n := count(out, 200*time.Millisecond); n != 0 {
		t.Errorf("editor and other files signalled %d changes", n)
	}
	writeFile(t, dir, "app.yaml.skip", "")
	if n := count(out, 500*time.Millisecond); n == 0 {
		t.Error("a new skip marker signalled no change")
	}
	removeFile(t, dir, "app.yaml.skip")
	if n := count(out, 500*time.Millisecond); n == 0 {
		t.Error("a removed skip marker signalled no change")
	}
}
