package supervisor

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kedge-io/kedge/joinapi"
	"github.com/kedge-io/kedge/server/pki"
)

// nodeRequest is a validated joinapi.CertificateRequest.
type nodeRequest struct {
	name string
	ips  []net.IP
	csrs map[string]*x509.CertificateRequest
}

func parseRequest(req joinapi.CertificateRequest) (nodeRequest, error) {
	if errs := validation.IsDNS1123Subdomain(req.NodeName); len(errs) > 0 {
		return nodeRequest{}, fmt.Errorf("node name %q: %v", req.NodeName, errs)
	}
	if req.NodePassword == "" {
		return nodeRequest{}, fmt.Errorf("node %s: no node password", req.NodeName)
	}
	n := nodeRequest{name: req.NodeName, csrs: map[string]*x509.CertificateRequest{}}
	for _, s := range req.NodeIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return nodeRequest{}, fmt.Errorf("node %s: %q is not an IP address", req.NodeName, s)
		}
		n.ips = append(n.ips, ip)
	}
	for _, kind := range []string{joinapi.KubeletClient, joinapi.KubeletServing, joinapi.KubeProxy, joinapi.Flannel} {
		csr, err := parseCSR(req.CSRs[kind])
		if err != nil {
			return nodeRequest{}, fmt.Errorf("node %s: %s request: %w", req.NodeName, kind, err)
		}
		n.csrs[kind] = csr
	}
	return n, nil
}

func parseCSR(data string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(data))
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("missing or not a PEM CERTIFICATE REQUEST")
	}
	return x509.ParseCertificateRequest(block.Bytes)
}

// identities decides what each certificate says; nothing in the CSRs'
// subjects is trusted.
func (n nodeRequest) identities() map[string]pki.Identity {
	ips := append(slices.Clone(n.ips), net.IPv4(127, 0, 0, 1))
	return map[string]pki.Identity{
		joinapi.KubeletClient:  {CommonName: "system:node:" + n.name, Organization: "system:nodes"},
		joinapi.KubeProxy:      {CommonName: "system:kube-proxy"},
		joinapi.Flannel:        {CommonName: pki.FlannelUser},
		joinapi.KubeletServing: {CommonName: n.name, Serving: true, DNSNames: []string{n.name, "localhost"}, IPs: ips},
	}
}

func (s *Supervisor) sign(n nodeRequest) (joinapi.CertificateResponse, error) {
	resp := joinapi.CertificateResponse{Certificates: map[string]string{}, ClientCA: string(s.opts.ClientCABundle)}
	for kind, id := range n.identities() {
		ca := s.opts.ClientCA
		if id.Serving {
			ca = s.opts.ServerCA
		}
		cert, err := ca.Sign(n.csrs[kind], id, s.opts.Now())
		if err != nil {
			return resp, fmt.Errorf("node %s: %s: %w", n.name, kind, err)
		}
		resp.Certificates[kind] = string(cert)
	}
	return resp, nil
}
