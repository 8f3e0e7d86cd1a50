package component

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestWaitGroup(t *testing.T) {
	var wg sync.WaitGroup
	wg.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := WaitGroup(ctx, &wg, "x"); err == nil {
		t.Fatal("returned before the group was done")
	}
	wg.Done()
	if err := WaitGroup(context.Background(), &wg, "x"); err != nil {
		t.Fatal(err)
	}
}
