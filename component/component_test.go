package component

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

type fake struct {
	name     string
	startErr error
	log      *[]string
}

func (f *fake) Name() string { return f.name }
func (f *fake) Start(context.Context) error {
	*f.log = append(*f.log, "start "+f.name)
	return f.startErr
}
func (f *fake) Ready(context.Context) error { return nil }
func (f *fake) Stop(context.Context) error {
	*f.log = append(*f.log, "stop "+f.name)
	return nil
}

func TestManagerOrder(t *testing.T) {
	var log []string
	m := NewManager(&fake{name: "a", log: &log}, &fake{name: "b", log: &log})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{"start a", "start b", "stop b", "stop a"}
	if !reflect.DeepEqual(log, want) {
		t.Fatalf("got %v, want %v", log, want)
	}
}

func TestManagerFailedStartStopsStarted(t *testing.T) {
	var log []string
	boom := errors.New("boom")
	m := NewManager(&fake{name: "a", log: &log}, &fake{name: "b", log: &log, startErr: boom}, &fake{name: "c", log: &log})
	err := m.Start(context.Background())
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	want := []string{"start a", "start b", "stop a"}
	if !reflect.DeepEqual(log, want) {
		t.Fatalf("got %v, want %v", log, want)
	}
}

type exiting struct {
	fake
	done chan struct{}
}

func (e *exiting) Exited() <-chan struct{} { return e.done }

func TestManagerWaitReportsExit(t *testing.T) {
	var log []string
	e := &exiting{fake: fake{name: "apiserver", log: &log}, done: make(chan struct{})}
	m := NewManager(&fake{name: "a", log: &log}, e)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(e.done)
	err := m.Wait(context.Background())
	if err == nil || err.Error() != "apiserver stopped unexpectedly" {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewManager().Wait(ctx); err != nil {
		t.Fatalf("cancelled wait: %v", err)
	}
}
