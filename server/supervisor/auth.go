package supervisor

import (
	"net/http"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/token"
)

// authenticated lets a request through only with a valid join token as
// its bearer credential.
func (s *Supervisor) authenticated(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cred, ok := joinapi.Credential(r)
		if !ok || !s.validCredential(r, cred) {
			klog.Warningf("supervisor: rejected %s %s from %s: invalid join token", r.Method, r.URL.Path, r.RemoteAddr)
			http.Error(w, "invalid join token: check --token or --token-file against the server's token file", http.StatusUnauthorized)
			return
		}
		next(w, r)
	}
}

func (s *Supervisor) validCredential(r *http.Request, cred string) bool {
	t, err := token.ParseCredential(cred)
	if err != nil {
		return false
	}
	switch {
	case t.ID != "":
		return token.LookupBootstrap(r.Context(), s.opts.Client, t.ID, t.Secret, s.opts.Now()) == nil
	case t.User == "server":
		return token.Equal(t.Secret, s.opts.ServerSecret)
	case t.User == "node":
		return token.Equal(t.Secret, s.agentSecret())
	default: // a short token: either secret
		return token.Equal(t.Secret, s.opts.ServerSecret) || token.Equal(t.Secret, s.agentSecret())
	}
}

// agentSecret is the server secret unless --agent-token set another one.
func (s *Supervisor) agentSecret() string {
	if s.opts.AgentSecret != "" {
		return s.opts.AgentSecret
	}
	return s.opts.ServerSecret
}
