package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/server/pki"
)

// Options configure a Supervisor.
type Options struct {
	// CABundle is served as is; a full join token carries its hash.
	CABundle       []byte
	ClientCABundle []byte
	ServerCA       *pki.Authority // signs kubelet serving certificates
	ClientCA       *pki.Authority // signs client certificates
	Cluster        joinapi.ClusterConfig
	// ServerSecret and AgentSecret are the secrets of the server token
	// and of the agent token (--agent-token); AgentSecret may be empty.
	ServerSecret, AgentSecret string
	// Client reads bootstrap tokens and keeps node passwords.
	Client kubernetes.Interface
	Now    func() time.Time
}

// Supervisor serves the join API.
type Supervisor struct {
	opts Options
	mux  *http.ServeMux
}

// New returns the join API handler.
func New(opts Options) *Supervisor {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Supervisor{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET "+joinapi.PathCACerts, s.caCerts)
	s.mux.HandleFunc("GET "+joinapi.PathConfig, s.authenticated(s.config))
	s.mux.HandleFunc("POST "+joinapi.PathCertificates, s.authenticated(s.certificates))
	return s
}

// ServeHTTP implements http.Handler.
func (s *Supervisor) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Supervisor) caCerts(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.opts.CABundle)
}

func (s *Supervisor) config(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.opts.Cluster)
}

func (s *Supervisor) certificates(w http.ResponseWriter, r *http.Request) {
	var req joinapi.CertificateRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, fmt.Errorf("reading the certificate request: %w", err))
		return
	}
	id, err := parseRequest(req)
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.checkNodePassword(r.Context(), req.NodeName, req.NodePassword); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, errNodeTaken) {
			status = http.StatusForbidden
		}
		klog.Warningf("supervisor: refusing certificates for node %s from %s: %v", req.NodeName, r.RemoteAddr, err)
		httpError(w, status, err)
		return
	}
	resp, err := s.sign(id)
	if err != nil {
		httpError(w, http.StatusBadRequest, err)
		return
	}
	klog.Infof("supervisor: signed certificates for node %s (%s)", req.NodeName, r.RemoteAddr)
	writeJSON(w, resp)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// httpError sends err as plain text, which the agent shows to the user.
func httpError(w http.ResponseWriter, status int, err error) {
	http.Error(w, err.Error(), status)
}
