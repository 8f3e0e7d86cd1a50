package manifests

// Images are the image references the templates use.
type Images struct {
	CoreDNS       string
	Traefik       string
	LocalPath     string
	MetricsServer string
	// Busybox runs local-path's helper pods that create and remove
	// volume directories.
	Busybox string
}

// DefaultImages are the tags image-build gives the system images kedge
// embeds; they must stay in step with image-build's image list.
func DefaultImages() Images {
	return Images{
		CoreDNS:       "kedge.local/coredns:1.15.0",
		Traefik:       "kedge.local/traefik:3.6.12",
		LocalPath:     "kedge.local/local-path-provisioner:0.0.30",
		MetricsServer: "kedge.local/metrics-server:0.8.0",
		Busybox:       "kedge.local/busybox:1.35.0",
	}
}
