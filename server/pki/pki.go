package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Options describes where the PKI lives and which names the API server
// certificate must carry.
type Options struct {
	Dir           string // <data-dir>/server/tls; created 0700
	Hostname      string
	NodeName      string // the kubelet's node name; empty means Hostname
	NodeIPs       []net.IP
	ServiceIP     net.IP           // first IP of the service CIDR, e.g. 10.43.0.1
	ClusterDomain string           // e.g. "cluster.local"
	ExtraSANs     []string         // from --tls-san: each an IP or a DNS name
	Now           func() time.Time // nil means time.Now
}

// Bundle holds the absolute paths of every file Ensure maintains.
type Bundle struct {
	ServerCA, ServerCAKey                string
	ClientCA, ClientCAKey                string
	RequestHeaderCA, RequestHeaderCAKey  string
	ServiceAccountKey, ServiceAccountPub string

	ServingCert, ServingKey string

	AdminCert, AdminKey           string
	ControllerCert, ControllerKey string
	SchedulerCert, SchedulerKey   string
	SupervisorCert, SupervisorKey string

	// KubeletClient is what the API server presents when it calls kubelets.
	KubeletClientCert, KubeletClientKey string
	// FrontProxyClient is signed by the request-header CA, not the client CA.
	FrontProxyClientCert, FrontProxyClientKey string

	// The server's own node: the kubelet's client identity
	// (system:node:<name>, which the Node authorizer scopes to that node),
	// kube-proxy's, flannel's (bound to a kedge ClusterRole, since flannel
	// must read every Node) and the kubelet's serving certificate.
	NodeClientCert, NodeClientKey         string
	KubeProxyCert, KubeProxyKey           string
	FlannelCert, FlannelKey               string
	KubeletServingCert, KubeletServingKey string
}

// FlannelUser is the user name in flannel's client certificate.
const FlannelUser = "system:kedge-flannel"

// Ensure makes sure every file of the Bundle exists in opts.Dir and is
// current, creating or reissuing only what is needed.
func Ensure(opts Options) (*Bundle, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolving tls dir %s: %w", opts.Dir, err)
	}
	if err := makePrivateDir(dir); err != nil {
		return nil, err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	b := newBundle(dir)
	if err := b.ensure(opts, now()); err != nil {
		return nil, err
	}
	return b, nil
}

func (o Options) validate() error {
	switch {
	case o.Dir == "":
		return errors.New("pki: Options.Dir is required")
	case o.Hostname == "":
		return errors.New("pki: Options.Hostname is required")
	case o.ServiceIP == nil:
		return errors.New("pki: Options.ServiceIP is required")
	case o.ClusterDomain == "":
		return errors.New("pki: Options.ClusterDomain is required")
	}
	return nil
}

// makePrivateDir also tightens an existing directory, because it holds CA
// keys whatever mode an earlier tool or user left it with.
func makePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("setting mode of %s: %w", dir, err)
	}
	return nil
}

func newBundle(dir string) *Bundle {
	p := func(name string) string { return filepath.Join(dir, name) }
	return &Bundle{
		ServerCA: p("server-ca.crt"), ServerCAKey: p("server-ca.key"),
		ClientCA: p("client-ca.crt"), ClientCAKey: p("client-ca.key"),
		RequestHeaderCA: p("request-header-ca.crt"), RequestHeaderCAKey: p("request-header-ca.key"),
		ServiceAccountKey: p("service-account.key"), ServiceAccountPub: p("service-account.pub"),
		ServingCert: p("serving-kube-apiserver.crt"), ServingKey: p("serving-kube-apiserver.key"),
		AdminCert: p("client-admin.crt"), AdminKey: p("client-admin.key"),
		ControllerCert: p("client-controller.crt"), ControllerKey: p("client-controller.key"),
		SchedulerCert: p("client-scheduler.crt"), SchedulerKey: p("client-scheduler.key"),
		SupervisorCert: p("client-supervisor.crt"), SupervisorKey: p("client-supervisor.key"),
		KubeletClientCert: p("client-kube-apiserver.crt"), KubeletClientKey: p("client-kube-apiserver.key"),
		FrontProxyClientCert: p("client-auth-proxy.crt"), FrontProxyClientKey: p("client-auth-proxy.key"),
		NodeClientCert: p("client-kubelet.crt"), NodeClientKey: p("client-kubelet.key"),
		KubeProxyCert: p("client-kube-proxy.crt"), KubeProxyKey: p("client-kube-proxy.key"),
		FlannelCert: p("client-kedge-flannel.crt"), FlannelKey: p("client-kedge-flannel.key"),
		KubeletServingCert: p("serving-kubelet.crt"), KubeletServingKey: p("serving-kubelet.key"),
	}
}

func (b *Bundle) ensure(opts Options, now time.Time) error {
	serverCA, err := ensureCA(b.ServerCA, b.ServerCAKey, "kedge-server-ca", now)
	if err != nil {
		return err
	}
	clientCA, err := ensureCA(b.ClientCA, b.ClientCAKey, "kedge-client-ca", now)
	if err != nil {
		return err
	}
	requestHeaderCA, err := ensureCA(b.RequestHeaderCA, b.RequestHeaderCAKey, "kedge-request-header-ca", now)
	if err != nil {
		return err
	}
	if err := ensureServiceAccountKey(b.ServiceAccountKey, b.ServiceAccountPub); err != nil {
		return err
	}
	for _, l := range b.leaves(opts, serverCA, clientCA, requestHeaderCA) {
		if err := ensureLeaf(l, now); err != nil {
			return err
		}
	}
	return b.tightenModes()
}

func (b *Bundle) leaves(opts Options, serverCA, clientCA, requestHeaderCA *authority) []leafSpec {
	dnsNames, ips := servingSANs(opts)
	nodeNames, nodeIPs := kubeletSANs(opts)
	return []leafSpec{
		{cert: b.ServingCert, key: b.ServingKey, ca: serverCA, cn: "kube-apiserver",
			usage: x509.ExtKeyUsageServerAuth, dnsNames: dnsNames, ips: ips},
		client(b.AdminCert, b.AdminKey, clientCA, "system:admin", "system:masters"),
		client(b.ControllerCert, b.ControllerKey, clientCA, "system:kube-controller-manager", ""),
		client(b.SchedulerCert, b.SchedulerKey, clientCA, "system:kube-scheduler", ""),
		client(b.SupervisorCert, b.SupervisorKey, clientCA, "system:kedge-supervisor", "system:masters"),
		client(b.KubeletClientCert, b.KubeletClientKey, clientCA, "system:kube-apiserver", "system:masters"),
		client(b.FrontProxyClientCert, b.FrontProxyClientKey, requestHeaderCA, "system:auth-proxy", ""),
		client(b.NodeClientCert, b.NodeClientKey, clientCA, "system:node:"+opts.nodeName(), "system:nodes"),
		client(b.KubeProxyCert, b.KubeProxyKey, clientCA, "system:kube-proxy", ""),
		client(b.FlannelCert, b.FlannelKey, clientCA, FlannelUser, ""),
		{cert: b.KubeletServingCert, key: b.KubeletServingKey, ca: serverCA, cn: opts.nodeName(),
			usage: x509.ExtKeyUsageServerAuth, dnsNames: nodeNames, ips: nodeIPs},
	}
}

func (o Options) nodeName() string {
	if o.NodeName != "" {
		return o.NodeName
	}
	return o.Hostname
}

func (b *Bundle) files() []string {
	return []string{
		b.ServerCA, b.ServerCAKey, b.ClientCA, b.ClientCAKey,
		b.RequestHeaderCA, b.RequestHeaderCAKey, b.ServiceAccountKey, b.ServiceAccountPub,
		b.ServingCert, b.ServingKey, b.AdminCert, b.AdminKey,
		b.ControllerCert, b.ControllerKey, b.SchedulerCert, b.SchedulerKey,
		b.SupervisorCert, b.SupervisorKey, b.KubeletClientCert, b.KubeletClientKey,
		b.FrontProxyClientCert, b.FrontProxyClientKey,
		b.NodeClientCert, b.NodeClientKey, b.KubeProxyCert, b.KubeProxyKey,
		b.FlannelCert, b.FlannelKey, b.KubeletServingCert, b.KubeletServingKey,
	}
}

// tightenModes covers files that were reused rather than written, e.g. a key
// restored from a backup with a looser mode.
func (b *Bundle) tightenModes() error {
	for _, f := range b.files() {
		fi, err := os.Stat(f)
		if err != nil {
			return fmt.Errorf("checking mode of %s: %w", f, err)
		}
		if fi.Mode().Perm() == 0o600 {
			continue
		}
		if err := os.Chmod(f, 0o600); err != nil {
			return fmt.Errorf("setting mode of %s: %w", f, err)
		}
	}
	return nil
}
