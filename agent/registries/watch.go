package registries

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/agent/registryproxy"
)

// Runtime is the container runtime a registry configuration is for.
type Runtime interface {
	// SetRegistry hands over the CRI registry section (config_path and
	// credentials); restarted says whether the runtime had to restart.
	SetRegistry(ctx context.Context, section string) (restarted bool, err error)
}

// Options locate a node's registry configuration.
type Options struct {
	Path     string        // registries.yaml
	HostsDir string        // containerd's config_path
	Builtin  func() string // the built-in registry's URL once it serves; nil: none
	Runtime  Runtime
}

// Node keeps a node's containerd configured from registries.yaml, and
// follows the file: a change applies to new pulls while pods keep
// running, and a bad change is logged and the previous one kept.
type Node struct {
	opts   Options
	cfg    *Config
	proxy  *registryproxy.Proxy
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns the component for opts.
func New(opts Options) *Node { return &Node{opts: opts, proxy: registryproxy.New()} }

// Name implements component.Component.
func (n *Node) Name() string { return "registries" }

// Init reads and checks registries.yaml, so a bad file stops the node
// before anything runs, and gives containerd its credentials before its
// config is written.
func (n *Node) Init(ctx context.Context) error {
	cfg, err := Load(n.opts.Path)
	if err != nil {
		return err
	}
	if _, err := n.proxyRoutes(cfg); err != nil {
		return err
	}
	if _, err := n.setRegistry(ctx, cfg); err != nil {
		return err
	}
	n.cfg = cfg
	return nil
}

// setRegistry hands cfg's CRI registry section to the runtime.
func (n *Node) setRegistry(ctx context.Context, cfg *Config) (restarted bool, err error) {
	section, err := cfg.CRIRegistryTOML(n.opts.HostsDir)
	if err != nil {
		return false, err
	}
	return n.opts.Runtime.SetRegistry(ctx, string(section))
}

func (n *Node) builtin() string {
	if n.opts.Builtin == nil {
		return ""
	}
	return n.opts.Builtin()
}

// Start serves the rewrite proxy, writes the hosts.toml files (which name
// the built-in registry's and the proxy's ports) and follows the file.
func (n *Node) Start(ctx context.Context) error {
	if err := n.proxy.Start(ctx); err != nil {
		return err
	}
	routes, err := n.proxyRoutes(n.cfg)
	if err != nil {
		return err
	}
	n.proxy.SetRoutes(routes)
	if _, err := Apply(n.opts.HostsDir, n.cfg.HostsFiles(n.builtin(), n.proxy.Endpoint)); err != nil {
		return err
	}
	klog.Infof("registry configuration from %s applied to %s", n.source(), n.opts.HostsDir)
	w, err := n.watch()
	if err != nil {
		klog.Warningf("not following %s (restart kedge after editing it): %v", n.opts.Path, err)
		return nil
	}
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	go n.follow(runCtx, w)
	return nil
}

// source names the file in logs, saying when there is none.
func (n *Node) source() string {
	if _, err := os.Stat(n.opts.Path); errors.Is(err, os.ErrNotExist) {
		return n.opts.Path + " (absent: built-in images only)"
	}
	return n.opts.Path
}

// watch follows the file's directory: editors and config management
// replace files by rename, which a watch on the file itself would lose.
func (n *Node) watch() (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.Add(filepath.Dir(n.opts.Path)); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// settle lets a burst of writes (an editor's save) end before reading.
const settle = 300 * time.Millisecond

func (n *Node) follow(ctx context.Context, w *fsnotify.Watcher) {
	defer close(n.done)
	defer w.Close()
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-w.Events:
			if filepath.Clean(ev.Name) == filepath.Clean(n.opts.Path) {
				timer = time.After(settle)
			}
		case err := <-w.Errors:
			klog.Warningf("watching %s: %v", n.opts.Path, err)
		case <-timer:
			timer = nil
			n.reload(ctx)
		}
	}
}

// reload applies the file as it is now, or logs why not and keeps the
// configuration in force: containerd is never left half-configured.
func (n *Node) reload(ctx context.Context) {
	restarted, err := n.apply(ctx)
	if err != nil {
		klog.Errorf("keeping the previous registry configuration: %v", err)
		return
	}
	note := ""
	if restarted {
		note = " (containerd restarted for the new credentials; pods kept running)"
	}
	klog.Infof("registry configuration from %s applied to %s%s", n.source(), n.opts.HostsDir, note)
}

func (n *Node) apply(ctx context.Context) (restarted bool, err error) {
	cfg, err := Load(n.opts.Path)
	if err != nil {
		return false, err
	}
	routes, err := n.proxyRoutes(cfg)
	if err != nil {
		return false, err
	}
	if _, err := Apply(n.opts.HostsDir, cfg.HostsFiles(n.builtin(), n.proxy.Endpoint)); err != nil {
		return false, err
	}
	n.proxy.SetRoutes(routes)
	n.cfg = cfg
	return n.setRegistry(ctx, cfg)
}

// proxyRoutes are the endpoints of the mirrors with rewrites, each with
// its TLS settings and credentials from configs.
func (n *Node) proxyRoutes(cfg *Config) (map[string][]registryproxy.Route, error) {
	routes := map[string][]registryproxy.Route{}
	for registry, m := range cfg.Mirrors {
		if len(m.Rewrites) == 0 {
			continue
		}
		for _, e := range m.Endpoints {
			host := cfg.Configs[e.Host]
			tr, err := transport(host.TLS)
			if err != nil {
				return nil, fmt.Errorf("%s: configs.%q.tls: %w", cfg.Path, e.Host, err)
			}
			routes[registry] = append(routes[registry], registryproxy.Route{
				Endpoint: e, Rewrite: m.Rewrite, Transport: tr, Auth: authenticator(host.Auth),
			})
		}
	}
	return routes, nil
}

// transport carries an endpoint's TLS settings for the rewrite proxy.
func transport(t *TLS) (http.RoundTripper, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the proxy is the node's own; no HTTP_PROXY detour
	if t == nil {
		return tr, nil
	}
	conf := &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", t.CAFile)
		}
	}
	if t.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{pair}
	}
	tr.TLSClientConfig = conf
	return tr, nil
}

func authenticator(a *Auth) authn.Authenticator {
	if a == nil {
		return authn.Anonymous
	}
	return authn.FromConfig(authn.AuthConfig{
		Username: a.Username, Password: a.Password, Auth: a.Auth, IdentityToken: a.IdentityToken,
	})
}

// Ready reports whether the rewrite proxy serves.
func (n *Node) Ready(ctx context.Context) error { return n.proxy.Ready(ctx) }

// Stop stops following the file and the proxy.
func (n *Node) Stop(ctx context.Context) error {
	if n.cancel != nil {
		n.cancel()
		<-n.done
	}
	return n.proxy.Stop(ctx)
}
