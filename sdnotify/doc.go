// Package sdnotify tells a service manager that kedge is ready, with the
// sd_notify datagram protocol of systemd units of Type=notify. It takes the
// notify socket out of kedge's environment at start, so that no child
// process or embedded component can announce readiness in kedge's name.
package sdnotify
