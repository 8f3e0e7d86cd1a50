package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/component"
)

// Report is what a running kedge says about itself.
type Report struct {
	Role       string            `json:"role"` // server or agent
	PID        int               `json:"pid"`
	Phase      component.Phase   `json:"phase"`
	Components []component.State `json:"components"`
}

// Ready is true once start-up finished and every component is healthy.
func (r Report) Ready() bool {
	if r.Phase != component.PhaseReady {
		return false
	}
	for _, c := range r.Components {
		if !c.Ready {
			return false
		}
	}
	return true
}

// path is the one URL the socket serves.
const path = "/status"

// Source is what Serve reports on; *component.Manager is one.
type Source interface {
	Status(ctx context.Context) (component.Phase, []component.State)
}

// Server answers status requests for one process.
type Server struct {
	srv      *http.Server
	listener net.Listener
}

// Serve listens on socket (mode 0600: the report names internals) and
// answers until Close. A stale socket of an earlier run is replaced; the
// caller holds the data-dir lock, so no live kedge owns it.
func Serve(socket, role string, src Source) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(socket), 0o755); err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("removing the stale status socket: %w", err)
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w", err)
	}
	if err := os.Chmod(socket, 0o600); err != nil {
		l.Close()
		return nil, fmt.Errorf("status socket: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		rep := Report{Role: role, PID: os.Getpid()}
		rep.Phase, rep.Components = src.Status(ctx)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rep)
	})
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, listener: l}
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.Errorf("status socket %s: %v", socket, err)
		}
	}()
	return s, nil
}

// Close stops answering and removes the socket.
func (s *Server) Close() error {
	return s.srv.Close()
}

// Get asks the kedge whose status socket is socket.
func Get(ctx context.Context, socket string) (Report, error) {
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://kedge"+path, nil)
	if err != nil {
		return Report{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return Report{}, fmt.Errorf("no kedge answers on %s (is it running? check --run-dir): %w", socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return Report{}, fmt.Errorf("%s: %s: %s", socket, resp.Status, body)
	}
	var rep Report
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		return Report{}, fmt.Errorf("reading the status from %s: %w", socket, err)
	}
	return rep, nil
}

// Print writes the report as a table, one component per line.
func Print(w io.Writer, rep Report) {
	fmt.Fprintf(w, "kedge %s (pid %d): %s\n", rep.Role, rep.PID, rep.Phase)
	for _, c := range rep.Components {
		state := "ready"
		if !c.Ready {
			state = "not ready: " + c.Error
		}
		fmt.Fprintf(w, "  %-20s %s\n", c.Name, state)
	}
}

// WaitReady asks every interval until the kedge at socket is ready or ctx
// ends, and returns the last report it got.
func WaitReady(ctx context.Context, socket string, interval time.Duration) (Report, error) {
	for {
		rep, err := Get(ctx, socket)
		if err == nil && rep.Ready() {
			return rep, nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return rep, err
			}
			return rep, fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(interval):
		}
	}
}
