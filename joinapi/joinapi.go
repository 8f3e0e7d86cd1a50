package joinapi

import (
	"net/http"
	"strings"
)

// Prefix is where the supervisor is mounted on the apiserver's listener.
const Prefix = "/v1-kedge/"

// Paths under Prefix.
const (
	PathCACerts      = Prefix + "cacerts"      // GET, no credentials: the server CA bundle
	PathConfig       = Prefix + "config"       // GET: ClusterConfig
	PathCertificates = Prefix + "certificates" // POST CertificateRequest: CertificateResponse
)

// Certificate kinds an agent asks for, each from its own key.
const (
	KubeletClient  = "kubelet-client"  // system:node:<name>, group system:nodes
	KubeletServing = "kubelet-serving" // the kubelet's HTTPS endpoint
	KubeProxy      = "kube-proxy"      // system:kube-proxy
	Flannel        = "flannel"         // system:kedge-flannel
)

// ClusterConfig is what an agent must agree on with the server.
type ClusterConfig struct {
	ClusterCIDR    string `json:"clusterCIDR"`
	ServiceCIDR    string `json:"serviceCIDR"`
	ClusterDNS     string `json:"clusterDNS"`
	ClusterDomain  string `json:"clusterDomain"`
	FlannelBackend string `json:"flannelBackend"`
	KubeProxyMode  string `json:"kubeProxyMode"`
}

// CertificateRequest asks for the certificates of one node. NodePassword
// is a secret the node keeps on disk; the first machine to join under a
// name owns that name from then on.
type CertificateRequest struct {
	NodeName     string            `json:"nodeName"`
	NodePassword string            `json:"nodePassword"`
	NodeIPs      []string          `json:"nodeIPs"`
	CSRs         map[string]string `json:"csrs"` // kind → PEM certificate request
}

// CertificateResponse carries PEM certificates by kind and the CA that
// signs client certificates, which the kubelet needs to check its callers.
type CertificateResponse struct {
	Certificates map[string]string `json:"certificates"`
	ClientCA     string            `json:"clientCA"`
}

// bearer is the Authorization scheme a join token is sent under.
const bearer = "Bearer "

// SetCredential puts a join token credential on a request.
func SetCredential(r *http.Request, credential string) {
	r.Header.Set("Authorization", bearer+credential)
}

// Credential returns the join token credential a request carries.
func Credential(r *http.Request) (string, bool) {
	return strings.CutPrefix(r.Header.Get("Authorization"), bearer)
}
