package join

import (
	"path/filepath"

	"github.com/kedge-io/kedge/joinapi"
)

// Files are where a joined node keeps its credentials, all under one
// directory (<data-dir>/agent/tls).
type Files struct{ Dir string }

func (f Files) path(name string) string { return filepath.Join(f.Dir, name) }

// ServerCA is the CA bundle the token's hash covers.
func (f Files) ServerCA() string { return f.path("server-ca.crt") }

// ClientCA signs the clients the kubelet accepts (the apiserver's).
func (f Files) ClientCA() string { return f.path("client-ca.crt") }

// Cluster is the last cluster configuration the server handed out.
func (f Files) Cluster() string { return f.path("cluster.json") }

// NodePassword proves to the server that this machine owns its node name.
func (f Files) NodePassword() string { return f.path("node-password") }

// Cert and Key are one certificate kind's pair, e.g. joinapi.KubeProxy.
func (f Files) Cert(kind string) string { return f.path(kind + ".crt") }
func (f Files) Key(kind string) string  { return f.path(kind + ".key") }

// Kubeconfig is the kubeconfig of a client kind.
func (f Files) Kubeconfig(kind string) string { return f.path(kind + ".kubeconfig") }

// kinds are the certificates a node holds.
var kinds = []string{joinapi.KubeletClient, joinapi.KubeletServing, joinapi.KubeProxy, joinapi.Flannel}

// clientKinds are the certificates used to reach the apiserver.
var clientKinds = []string{joinapi.KubeletClient, joinapi.KubeProxy, joinapi.Flannel}
