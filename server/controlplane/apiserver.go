package controlplane

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/flagz"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
	"k8s.io/kubernetes/cmd/kube-apiserver/app/options"

	"github.com/kedge-io/kedge/component"
	"github.com/kedge-io/kedge/passthrough"
)

// APIServer is kube-apiserver as a component.
type APIServer struct {
	component.Runner
	opts   *options.ServerRunOptions
	admin  *rest.Config
	prefix string
	extra  http.Handler
}

// Mount serves handler for paths under prefix on the apiserver's own
// listener, ahead of its authentication, so that kedge's supervisor shares
// port 6443 without a proxy in front of every API request. The handler
// authenticates its callers itself. Call it before Start.
func (a *APIServer) Mount(prefix string, handler http.Handler) {
	a.prefix, a.extra = prefix, handler
}

// NewAPIServer parses args into upstream's options so that a bad
// pass-through flag fails before anything starts. admin is used to probe
// /readyz.
func NewAPIServer(args []string, admin *rest.Config) (*APIServer, error) {
	s := options.NewServerRunOptions()
	fs := passthrough.NewFlagSet("kube-apiserver")
	named := s.Flags()
	for _, f := range named.FlagSets {
		fs.AddFlagSet(f)
	}
	s.Flagz = flagz.NamedFlagSetsReader{FlagSets: named}
	if err := passthrough.Parse(fs, "kube-apiserver", "kube-apiserver-arg", args); err != nil {
		return nil, err
	}
	return &APIServer{opts: s, admin: admin}, nil
}

// Name implements component.Component.
func (a *APIServer) Name() string { return "kube-apiserver" }

// Start completes and validates the options, then serves until Stop, and
// returns once /readyz answers ok.
func (a *APIServer) Start(ctx context.Context) error {
	// The apiserver's loopback clients would log upstream's own deprecation
	// warnings (e.g. for v1 Endpoints) every reconcile; upstream silences
	// them the same way.
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	if err := a.opts.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return fmt.Errorf("kube-apiserver feature gates: %w", err)
	}
	completed, err := a.opts.Complete(ctx)
	if err != nil {
		return fmt.Errorf("completing kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return fmt.Errorf("kube-apiserver options: %w", utilerrors.NewAggregate(errs))
	}
	a.Go("kube-apiserver", func(ctx context.Context) error { return a.run(ctx, completed) })
	return a.WaitUntil(ctx, a.Ready)
}

// run is upstream's app.Run with kedge's handler placed in front of the
// aggregator, the outermost server of the chain.
func (a *APIServer) run(ctx context.Context, opts options.CompletedOptions) error {
	config, err := app.NewConfig(opts)
	if err != nil {
		return err
	}
	if a.extra != nil {
		generic := &config.Aggregator.GenericConfig.Config
		build := generic.BuildHandlerChainFunc
		generic.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
			return withPrefix(a.prefix, a.extra, build(h, c))
		}
	}
	completed, err := config.Complete()
	if err != nil {
		return err
	}
	server, err := app.CreateServerChain(completed)
	if err != nil {
		return err
	}
	prepared, err := server.PrepareRun()
	if err != nil {
		return err
	}
	return prepared.Run(ctx)
}

// withPrefix sends requests under prefix to extra and the rest to next.
func withPrefix(prefix string, extra, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, prefix) {
			extra.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Ready asks the apiserver's own /readyz.
func (a *APIServer) Ready(ctx context.Context) error {
	if err := a.Err(); err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(a.admin)
	if err != nil {
		return err
	}
	body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("/readyz: %w: %s", err, body)
	}
	return nil
}
