package controlplane

import (
	"context"
	"fmt"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
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
	opts  *options.ServerRunOptions
	admin *rest.Config
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
	a.Go("kube-apiserver", func(ctx context.Context) error { return app.Run(ctx, completed) })
	return a.WaitUntil(ctx, a.Ready)
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
