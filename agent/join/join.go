package join

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/kubeconfig"
	"github.com/kedge-io/kedge/token"
)

// Options say whom to join and as what.
type Options struct {
	Server   string // https://host:port, as the user gave it
	Token    token.Token
	Files    Files
	NodeName string
	NodeIPs  []net.IP
	// LocalURL is what the kubeconfigs point at: the agent's load
	// balancer, which forwards to whichever server is up.
	LocalURL string
	Now      func() time.Time // for tests; nil is time.Now
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// permanentError marks failures that retrying cannot fix: a wrong token,
// a CA that does not match the token, a node name owned by another machine.
type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

func permanent(format string, args ...any) error {
	return permanentError{fmt.Errorf(format, args...)}
}

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Join returns the cluster configuration once the node's credentials are
// in place. A node with valid certificates from an earlier join starts from
// them, so an agent restarts even while every server is down; otherwise it
// asks the server, retrying with backoff while the server is unreachable.
func Join(ctx context.Context, o Options) (joinapi.ClusterConfig, error) {
	cluster, err := o.current()
	if err == nil {
		return cluster, o.writeKubeconfigs()
	}
	klog.Infof("joining %s as node %s (%v)", o.Server, o.NodeName, err)
	delay := time.Second
	for {
		cluster, err := o.join(ctx)
		if err == nil {
			return cluster, o.writeKubeconfigs()
		}
		if isPermanent(err) {
			return cluster, err
		}
		klog.Warningf("joining %s failed, retrying in %s: %v", o.Server, delay, err)
		select {
		case <-ctx.Done():
			return cluster, fmt.Errorf("joining %s: %w (last error: %v)", o.Server, ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 30*time.Second)
	}
}

func (o Options) join(ctx context.Context) (joinapi.ClusterConfig, error) {
	var cluster joinapi.ClusterConfig
	ca, err := o.fetchCA(ctx)
	if err != nil {
		return cluster, err
	}
	c, err := newClient(o.Server, ca, o.Token.Credential())
	if err != nil {
		return cluster, err
	}
	if err := c.get(ctx, joinapi.PathConfig, &cluster); err != nil {
		return cluster, err
	}
	req, err := o.certificateRequest()
	if err != nil {
		return cluster, err
	}
	var resp joinapi.CertificateResponse
	if err := c.post(ctx, joinapi.PathCertificates, req, &resp); err != nil {
		return cluster, err
	}
	return cluster, o.store(ca, cluster, resp)
}

// store writes the certificates before the cluster file, which marks a
// complete join.
func (o Options) store(ca []byte, cluster joinapi.ClusterConfig, resp joinapi.CertificateResponse) error {
	files := map[string][]byte{o.Files.ServerCA(): ca, o.Files.ClientCA(): []byte(resp.ClientCA)}
	for _, kind := range kinds {
		cert := resp.Certificates[kind]
		if cert == "" {
			return fmt.Errorf("the server sent no %s certificate", kind)
		}
		files[o.Files.Cert(kind)] = []byte(cert)
	}
	for path, data := range files {
		if err := writeFile(path, data); err != nil {
			return err
		}
	}
	data, err := json.Marshal(cluster)
	if err != nil {
		return err
	}
	return writeFile(o.Files.Cluster(), data)
}

func (o Options) writeKubeconfigs() error {
	for _, kind := range clientKinds {
		err := kubeconfig.Write(kubeconfig.Options{
			Path: o.Files.Kubeconfig(kind), Server: o.LocalURL, CAFile: o.Files.ServerCA(),
			CertFile: o.Files.Cert(kind), KeyFile: o.Files.Key(kind),
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func readCluster(path string) (joinapi.ClusterConfig, error) {
	var c joinapi.ClusterConfig
	data, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
