package server

import (
	"maps"
	"strconv"
	"strings"
	"time"

	controlplaneapiserver "k8s.io/kubernetes/pkg/controlplane/apiserver"

	"github.com/kedge-io/kedge/server/pki"
)

// apiServerDefaults are kedge's kube-apiserver flags; --kube-apiserver-arg
// overrides any of them.
func apiServerDefaults(cfg completed, b *pki.Bundle, etcd []string) map[string]string {
	issuer := "https://kubernetes.default.svc." + cfg.Cluster.ClusterDomain
	args := map[string]string{
		"advertise-address":                  cfg.advertiseIP.String(),
		"bind-address":                       cfg.BindAddress,
		"secure-port":                        strconv.Itoa(cfg.HTTPSPort),
		"allow-privileged":                   "true",
		"anonymous-auth":                     "false",
		"authorization-mode":                 "Node,RBAC",
		"enable-admission-plugins":           "NodeRestriction",
		"client-ca-file":                     b.ClientCA,
		"tls-cert-file":                      b.ServingCert,
		"tls-private-key-file":               b.ServingKey,
		"etcd-servers":                       strings.Join(etcd, ","),
		"storage-backend":                    "etcd3",
		"endpoint-reconciler-type":           endpointReconciler(cfg.Config),
		"kubelet-client-certificate":         b.KubeletClientCert,
		"kubelet-client-key":                 b.KubeletClientKey,
		"kubelet-certificate-authority":      b.ServerCA,
		"kubelet-preferred-address-types":    "InternalIP,ExternalIP,Hostname",
		"proxy-client-cert-file":             b.FrontProxyClientCert,
		"proxy-client-key-file":              b.FrontProxyClientKey,
		"requestheader-client-ca-file":       b.RequestHeaderCA,
		"requestheader-allowed-names":        "system:auth-proxy",
		"requestheader-extra-headers-prefix": "X-Remote-Extra-",
		"requestheader-group-headers":        "X-Remote-Group",
		"requestheader-username-headers":     "X-Remote-User",
		"service-account-issuer":             issuer,
		"api-audiences":                      issuer,
		"service-account-key-file":           b.ServiceAccountKey,
		"service-account-signing-key-file":   b.ServiceAccountKey,
		"service-cluster-ip-range":           cfg.ServiceCIDR,
		"service-node-port-range":            cfg.ServiceNodePortRange,
		"profiling":                          "false",
		// Aggregated APIs (metrics-server) and webhooks are reached at
		// their pods' IPs, not their ClusterIPs: a node with no default
		// route (common on air-gapped sites) has no route to the service
		// network from its own network namespace, where the apiserver runs.
		"enable-aggregator-routing": "true",
		// The node's own kubelet and kube-proxy run in this process and
		// keep their watches open until it exits; without this the HTTP
		// server waits --request-timeout (60 s) for them on SIGTERM. With
		// it, in-flight requests drain first and watches get 2 s.
		"shutdown-send-retry-after": "true",
	}
	if cfg.singleServer() {
		// The mixed-version proxy (beta, on by default since 1.36) rewrites a
		// peer endpoint lease every 10 s so other apiservers can find this
		// one; with SQLite there are no others.
		args["feature-gates"] = "UnknownVersionInteroperabilityProxy=false"
	}
	return args
}

// tuneWrites lowers the apiserver's periodic writes when it is the only
// server. Its identity lease lasts an hour but upstream renews it every
// 10 s, which is a SQLite row (~47 KB of I/O) every 10 s for nothing when
// no peer reads it; every 10 minutes keeps a wide margin.
func tuneWrites(cfg Config) {
	if cfg.singleServer() {
		controlplaneapiserver.IdentityLeaseRenewIntervalPeriod = 10 * time.Minute
	}
}

// endpointReconciler picks how the apiserver maintains the `kubernetes`
// Service endpoints. SQLite means exactly one server, and "master-count"
// only writes when the endpoints change, where "lease" rewrites a lease
// every 10 s: on an SD card that is the difference that matters.
func endpointReconciler(cfg Config) string {
	if cfg.singleServer() {
		return "master-count"
	}
	return "lease"
}

// clientComponentDefaults are shared by the controller-manager and the
// scheduler: their own identity, leader election only when several servers
// can exist, and no serving port of their own (nothing needs it, and two
// test nodes on one host would collide on 10257/10259).
func clientComponentDefaults(cfg Config, kubeconfig string) map[string]string {
	return map[string]string{
		"kubeconfig":                kubeconfig,
		"authentication-kubeconfig": kubeconfig,
		"authorization-kubeconfig":  kubeconfig,
		"leader-elect":              strconv.FormatBool(!cfg.singleServer()),
		"secure-port":               "0",
		"profiling":                 "false",
	}
}

// controllerManagerDefaults add node CIDR allocation and the signing keys.
func controllerManagerDefaults(cfg Config, b *pki.Bundle, kubeconfig string) map[string]string {
	args := clientComponentDefaults(cfg, kubeconfig)
	maps.Copy(args, map[string]string{
		"allocate-node-cidrs":              "true",
		"cluster-cidr":                     cfg.Cluster.ClusterCIDR,
		"service-cluster-ip-range":         cfg.ServiceCIDR,
		"cluster-signing-cert-file":        b.ClientCA,
		"cluster-signing-key-file":         b.ClientCAKey,
		"root-ca-file":                     b.ServerCA,
		"service-account-private-key-file": b.ServiceAccountKey,
		"use-service-account-credentials":  "true",
	})
	return args
}

// schedulerDefaults need nothing beyond the shared ones.
func schedulerDefaults(cfg Config, kubeconfig string) map[string]string {
	return clientComponentDefaults(cfg, kubeconfig)
}
