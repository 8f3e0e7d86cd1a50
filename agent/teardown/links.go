package teardown

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// nodeLinks are the interfaces kedge's network creates: the CNI bridge,
// flannel's vxlan and wireguard devices, and kube-proxy's IPVS dummy.
var nodeLinks = []string{"cni0", "flannel.1", "flannel-v6.1", "flannel-wg", "flannel-wg-v6", "kube-ipvs0"}

// deleteLinks removes the node's interfaces. The pods' veths go first:
// deleting the bridge only detaches them, and each lives on until its
// namespace is freed, which a leaked mount can delay indefinitely.
func deleteLinks(log logger) error {
	var errs []error
	if bridge, err := net.InterfaceByName("cni0"); err == nil {
		ports, err := bridgePorts(bridge.Index)
		errs = append(errs, err)
		for _, p := range ports {
			errs = append(errs, deleteLink(p, log))
		}
	}
	for _, name := range nodeLinks {
		errs = append(errs, deleteLink(name, log))
	}
	return errors.Join(errs...)
}

// bridgePorts lists the interfaces whose master is the bridge with that
// index. Asked over netlink rather than read from /sys/class/net, which
// shows the network namespace sysfs was mounted in, not ours.
func bridgePorts(master int) ([]string, error) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("listing links: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("parsing the link list: %w", err)
	}
	var ports []string
	for _, m := range msgs {
		if m.Header.Type != syscall.RTM_NEWLINK {
			continue
		}
		if name, ok := portOf(&m, master); ok {
			ports = append(ports, name)
		}
	}
	return ports, nil
}

// portOf returns a link message's name if its master is the given index.
func portOf(m *syscall.NetlinkMessage, master int) (string, bool) {
	attrs, err := syscall.ParseNetlinkRouteAttr(m)
	if err != nil {
		return "", false
	}
	var name string
	var enslaved bool
	for _, a := range attrs {
		switch a.Attr.Type {
		case syscall.IFLA_IFNAME:
			name = string(bytes.TrimRight(a.Value, "\x00"))
		case syscall.IFLA_MASTER:
			enslaved = len(a.Value) >= 4 && int(binary.NativeEndian.Uint32(a.Value)) == master
		}
	}
	return name, enslaved && name != ""
}

// deleteLink deletes one interface if it exists; deleting a veth also
// deletes its peer in the pod.
func deleteLink(name string, log logger) error {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil // not there: nothing to clean up
	}
	err = rtDelLink(ifc.Index)
	if errors.Is(err, unix.ENODEV) {
		return nil // went with its peer or its namespace meanwhile
	}
	if err != nil {
		return fmt.Errorf("deleting link %s: %w", name, err)
	}
	log.printf("deleted link %s", name)
	return nil
}

// rtDelLink sends RTM_DELLINK for an interface index and waits for the
// kernel's answer. Written against the syscall rather than a netlink
// library to keep `kedge killall` free of the network stack's packages.
func rtDelLink(index int) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer unix.Close(fd)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Sendto(fd, delLinkRequest(index), 0, kernel); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("netlink receive: %w", err)
	}
	return ackError(buf[:n])
}

// delLinkRequest is an nlmsghdr followed by an ifinfomsg naming the index.
func delLinkRequest(index int) []byte {
	msg := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfInfomsg)
	ne := binary.NativeEndian
	ne.PutUint32(msg[0:], uint32(len(msg)))
	ne.PutUint16(msg[4:], unix.RTM_DELLINK)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], 1) // sequence number; one request per socket
	// ifinfomsg: family, pad, type, index, flags, change; only index set.
	ne.PutUint32(msg[unix.SizeofNlMsghdr+4:], uint32(int32(index)))
	return msg
}

// ackError decodes the kernel's NLMSG_ERROR answer: errno 0 is success.
func ackError(b []byte) error {
	if len(b) < unix.SizeofNlMsghdr+4 {
		return fmt.Errorf("netlink: short answer of %d bytes", len(b))
	}
	if t := binary.NativeEndian.Uint16(b[4:]); t != unix.NLMSG_ERROR {
		return fmt.Errorf("netlink: unexpected answer type %d", t)
	}
	if errno := -int32(binary.NativeEndian.Uint32(b[unix.SizeofNlMsghdr:])); errno != 0 {
		return unix.Errno(errno)
	}
	return nil
}
