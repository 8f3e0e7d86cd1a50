package preflight

import "strings"

// option is a kernel feature: any one of names set to y or m provides it
// (a module loads on demand). need is what its absence is.
type option struct {
	names []string
	need  status
	why   string // what stops working without it
}

func required(name, why string) option { return option{[]string{name}, fail, why} }

var namespaceOptions = []option{
	required("CONFIG_NAMESPACES", "containers run in namespaces"),
	required("CONFIG_UTS_NS", "each pod has its own hostname"),
	required("CONFIG_IPC_NS", "each pod has its own IPC namespace"),
	required("CONFIG_PID_NS", "each pod has its own process IDs"),
	required("CONFIG_NET_NS", "each pod has its own network namespace"),
	{[]string{"CONFIG_USER_NS"}, warn, "only pods with hostUsers: false need it"},
}

var seccompOptions = []option{
	required("CONFIG_SECCOMP", "pods with seccompProfile RuntimeDefault (Pod Security \"restricted\") do not start without it"),
	required("CONFIG_SECCOMP_FILTER", "pods with seccompProfile RuntimeDefault (Pod Security \"restricted\") do not start without it"),
}

var networkOptions = []option{
	required("CONFIG_VETH", "pods reach the node through veth pairs"),
	required("CONFIG_BRIDGE", "the CNI bridge cni0 joins the node's pods"),
	required("CONFIG_BRIDGE_NETFILTER", "kube-proxy's rules see traffic between pods on one bridge only through br_netfilter"),
	required("CONFIG_VXLAN", "flannel's default backend, vxlan, needs it (--flannel-backend=host-gw does not)"),
}

var netfilterOptions = []option{
	required("CONFIG_NF_CONNTRACK", "Service NAT tracks connections"),
	required("CONFIG_NF_NAT", "Services and pod traffic leaving the node are NATed"),
	{[]string{"CONFIG_IP_NF_IPTABLES", "CONFIG_NF_TABLES"}, fail, "kube-proxy and flannel program iptables or nftables"},
	required("CONFIG_NETFILTER_XT_MATCH_COMMENT", "kube-proxy's iptables rules use it"),
	required("CONFIG_NETFILTER_XT_MATCH_MULTIPORT", "kube-proxy's iptables rules use it"),
	required("CONFIG_NETFILTER_XT_MATCH_CONNTRACK", "kube-proxy's iptables rules use it"),
	required("CONFIG_NETFILTER_XT_MATCH_MARK", "kube-proxy's iptables rules use it"),
	required("CONFIG_NETFILTER_XT_MATCH_ADDRTYPE", "kube-proxy's iptables rules use it"),
	required("CONFIG_NETFILTER_XT_MATCH_STATISTIC", "kube-proxy spreads a Service's connections over its endpoints with it"),
	required("CONFIG_NETFILTER_XT_MARK", "kube-proxy marks packets to masquerade"),
	{[]string{"CONFIG_NETFILTER_XT_TARGET_MASQUERADE", "CONFIG_IP_NF_TARGET_MASQUERADE"}, fail, "kube-proxy and flannel masquerade pod traffic"},
	{[]string{"CONFIG_IP_SET"}, warn, "only ipset users need it, such as some network policy agents"},
}

// overlayOption is a warning only: without it containerd falls back to
// the native snapshotter, which works, slower and with more disk.
var overlayOption = option{[]string{"CONFIG_OVERLAY_FS"}, warn, "containerd's overlayfs snapshotter needs it; without it kedge falls back to the native one, which copies every image layer"}

func (kc kernelConfig) group(name string, opts []option) group {
	g := group{name: name}
	for _, o := range opts {
		g.results = append(g.results, kc.check(o))
	}
	return g
}

func (kc kernelConfig) check(o option) result {
	for _, name := range o.names {
		switch kc[name] {
		case "y":
			return result{ok, name}
		case "m":
			return result{ok, name + " (module)"}
		}
	}
	return result{o.need, strings.Join(o.names, " or ") + ": not set — " + o.why}
}
