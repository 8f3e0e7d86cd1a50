package component

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestProbe(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	ctx := context.Background()
	if err := Probe(ctx, "x", srv.URL, true); err == nil {
		t.Error("503 counted as healthy with wantOK")
	}
	if err := Probe(ctx, "x", srv.URL, false); err != nil {
		t.Errorf("an answer is enough without wantOK: %v", err)
	}
	status = http.StatusOK
	if err := Probe(ctx, "x", srv.URL, true); err != nil {
		t.Error(err)
	}
	srv.Close()
	if err := Probe(ctx, "x", srv.URL, false); err == nil {
		t.Error("no answer counted as healthy")
	}
}
