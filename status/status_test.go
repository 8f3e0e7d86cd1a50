package status

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kedge-io/kedge/component"
)

// source reports whatever the test last set.
type source struct {
	mu     sync.Mutex
	phase  component.Phase
	states []component.State
}

func (s *source) Status(context.Context) (component.Phase, []component.State) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase, s.states
}

func (s *source) set(p component.Phase, states ...component.State) {
	s.mu.Lock()
	s.phase, s.states = p, states
	s.mu.Unlock()
}

func TestServeReportsAndWaitReady(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "run", "status.sock")
	src := &source{}
	src.set(component.PhaseStarting, component.State{Name: "kubelet", Error: "not started"})
	srv, err := Serve(socket, "agent", src)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if fi, err := os.Stat(socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v", fi, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := Get(ctx, socket)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Role != "agent" || rep.PID != os.Getpid() || rep.Ready() {
		t.Fatalf("report %+v: want a not-ready agent of this pid", rep)
	}
	var out bytes.Buffer
	Print(&out, rep)
	if !strings.Contains(out.String(), "kubelet") || !strings.Contains(out.String(), "not ready: not started") {
		t.Fatalf("printed:\n%s", out.String())
	}

	go func() {
		time.Sleep(200 * time.Millisecond)
		src.set(component.PhaseReady, component.State{Name: "kubelet", Ready: true})
	}()
	if rep, err = WaitReady(ctx, socket, 50*time.Millisecond); err != nil || !rep.Ready() {
		t.Fatalf("WaitReady: %+v, %v", rep, err)
	}
}

func TestReadyNeedsPhaseAndEveryComponent(t *testing.T) {
	ok := component.State{Name: "a", Ready: true}
	bad := component.State{Name: "b", Error: "down"}
	for _, c := range []struct {
		rep  Report
		want bool
	}{
		{Report{Phase: component.PhaseReady, Components: []component.State{ok}}, true},
		{Report{Phase: component.PhaseReady, Components: []component.State{ok, bad}}, false},
		{Report{Phase: component.PhaseStarting, Components: []component.State{ok}}, false},
	} {
		if got := c.rep.Ready(); got != c.want {
			t.Errorf("%+v: Ready() = %v, want %v", c.rep, got, c.want)
		}
	}
}

func TestGetWithoutKedgeNamesSocket(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "status.sock")
	_, err := Get(context.Background(), socket)
	if err == nil || !strings.Contains(err.Error(), socket) || !strings.Contains(err.Error(), "is it running") {
		t.Fatalf("want an error naming %s, got %v", socket, err)
	}
}
