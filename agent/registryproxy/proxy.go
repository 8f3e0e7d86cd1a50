package registryproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"k8s.io/klog/v2"
)

// Route is one endpoint of a mirror with rewrites.
type Route struct {
	Endpoint *url.URL
	// Rewrite renames a repository path, e.g. library/busybox.
	Rewrite func(repo string) string
	// Transport carries the endpoint's TLS settings.
	Transport http.RoundTripper
	Auth      authn.Authenticator
}

// Proxy forwards pulls to rewritten repositories.
type Proxy struct {
	mu      sync.Mutex
	routes  map[string][]Route // by registry name, "_default" for "*"
	clients map[string]http.RoundTripper
	ln      net.Listener
	srv     *http.Server
}

// New returns a proxy with no routes.
func New() *Proxy { return &Proxy{} }

// SetRoutes replaces every route, keyed by registry name as in
// registries.yaml ("*" included); pulls under way finish on the old ones.
func (p *Proxy) SetRoutes(routes map[string][]Route) {
	byDir := make(map[string][]Route, len(routes))
	for registry, r := range routes {
		byDir[dirName(registry)] = r
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes, p.clients = byDir, map[string]http.RoundTripper{}
}

// Name implements component.Component.
func (p *Proxy) Name() string { return "registry-proxy" }

// Start listens on a loopback port and serves.
func (p *Proxy) Start(context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the registry rewrite proxy: %w", err)
	}
	p.ln = ln
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := p.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.Errorf("registry rewrite proxy: %v", err)
		}
	}()
	return nil
}

// Endpoint is the URL containerd uses for endpoint i of registry's mirror,
// with override_path set: the repository follows it directly.
func (p *Proxy) Endpoint(registry string, i int) string {
	return fmt.Sprintf("http://%s/rewrite/%s/%d", p.ln.Addr(), dirName(registry), i)
}

// Ready reports whether the proxy listens.
func (p *Proxy) Ready(context.Context) error {
	if p.ln == nil {
		return errors.New("registry rewrite proxy not started")
	}
	return nil
}

// Stop closes the listener and waits for pulls under way.
func (p *Proxy) Stop(ctx context.Context) error {
	if p.srv == nil {
		return nil
	}
	return p.srv.Shutdown(ctx)
}

func dirName(registry string) string {
	if registry == "*" {
		return "_default"
	}
	return registry
}

// ServeHTTP answers GET and HEAD of
// /rewrite/<registry>/<i>/<repo>/{manifests,blobs}/<ref> from the
// rewritten repository of that endpoint.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the rewrite proxy only serves pulls")
		return
	}
	route, repo, rest, err := p.match(r.URL.Path)
	if err != nil {
		writeError(w, http.StatusNotFound, "NAME_UNKNOWN", err.Error())
		return
	}
	target := route.Rewrite(repo)
	klog.V(2).Infof("registry rewrite proxy: %s %s -> %s/%s", r.Method, repo, route.Endpoint.Host, target)
	rt, err := p.client(r.Context(), route, target)
	if err != nil {
		writeError(w, upstreamStatus(err), errorCode(upstreamStatus(err)), fmt.Sprintf("%s: %v", route.Endpoint.Host, err))
		return
	}
	p.forward(w, r, rt, upstreamURL(route.Endpoint, target, rest))
}

// match splits a proxy path into its route, the repository and the
// manifests/... or blobs/... part.
func (p *Proxy) match(path string) (Route, string, string, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/rewrite/"), "/")
	if len(parts) < 5 || !strings.HasPrefix(path, "/rewrite/") {
		return Route{}, "", "", fmt.Errorf("no rewrite route for %s", path)
	}
	kind := len(parts) - 2
	if parts[kind] != "manifests" && parts[kind] != "blobs" {
		return Route{}, "", "", fmt.Errorf("%s is not a manifest or blob path", path)
	}
	i, err := strconv.Atoi(parts[1])
	p.mu.Lock()
	routes := p.routes[parts[0]]
	p.mu.Unlock()
	if err != nil || i < 0 || i >= len(routes) {
		return Route{}, "", "", fmt.Errorf("no rewrite route for registry %s endpoint %s (registries.yaml changed?)", parts[0], parts[1])
	}
	return routes[i], strings.Join(parts[2:kind], "/"), strings.Join(parts[kind:], "/"), nil
}

func upstreamURL(endpoint *url.URL, repo, rest string) string {
	base := strings.TrimSuffix(endpoint.Path, "/")
	if !strings.HasSuffix(base, "/v2") {
		base += "/v2"
	}
	return endpoint.Scheme + "://" + endpoint.Host + base + "/" + repo + "/" + rest
}

// client returns a transport authenticated for pulls of repo, kept until
// the routes change: its ping and token exchange are made once per repo.
func (p *Proxy) client(ctx context.Context, route Route, repo string) (http.RoundTripper, error) {
	key := route.Endpoint.String() + " " + repo
	p.mu.Lock()
	rt, ok := p.clients[key]
	p.mu.Unlock()
	if ok {
		return rt, nil
	}
	opts := []name.Option{}
	if route.Endpoint.Scheme == "http" {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(route.Endpoint.Host, opts...)
	if err != nil {
		return nil, err
	}
	scope := reg.Repo(repo).Scope(transport.PullScope)
	rt, err = transport.NewWithContext(ctx, reg, route.Auth, route.Transport, []string{scope})
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.clients[key] = rt
	p.mu.Unlock()
	return rt, nil
}

// forward makes the request upstream and copies the answer back,
// registry errors included, so containerd reports the endpoint's reason.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, rt http.RoundTripper, target string) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, target, nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, "NAME_INVALID", err.Error())
		return
	}
	for _, h := range []string{"Accept", "Range"} {
		if v := r.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		writeError(w, http.StatusBadGateway, "UNAVAILABLE", err.Error())
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		// containerd shows a registry's error body; give it one that
		// names the endpoint when the endpoint sent none.
		writeError(w, resp.StatusCode, errorCode(resp.StatusCode), fmt.Sprintf("%s answered %s for %s", req.URL.Host, resp.Status, req.URL.Path))
		return
	}
	for _, h := range []string{"Content-Type", "Content-Length", "Content-Range", "Docker-Content-Digest", "Accept-Ranges"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, resp.Body); err != nil {
		klog.V(1).Infof("registry rewrite proxy: copying %s: %v", target, err)
	}
}

// upstreamStatus keeps an endpoint's refusal (401, 403, ...) as the
// proxy's status, so the kubelet's event says what the registry said.
func upstreamStatus(err error) int {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode >= 400 {
		return te.StatusCode
	}
	return http.StatusBadGateway
}

func errorCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "DENIED"
	case http.StatusNotFound:
		return "NAME_UNKNOWN"
	}
	return "UNKNOWN"
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string][]map[string]string{"errors": {{"code": code, "message": msg}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
