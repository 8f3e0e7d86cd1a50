package preflight

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// kedgePorts are the ports kedge binds on all addresses by default.
var kedgePorts = []struct {
	network string
	port    int
	user    string
}{
	{"tcp", 6443, "kube-apiserver"},
	{"tcp", 10250, "kubelet"},
	{"udp", 8472, "flannel vxlan"},
}

func (s System) ports() group {
	g := group{name: "Ports"}
	for _, p := range kedgePorts {
		name := fmt.Sprintf("%d/%s (%s)", p.port, p.network, p.user)
		err := s.Bind(p.network, p.port)
		switch {
		case err == nil:
			g.add(ok, "%s: free", name)
		case errors.Is(err, syscall.EADDRINUSE):
			msg := "in use"
			if owner := s.portOwner(p.network, p.port); owner != "" {
				msg += " by " + owner
			}
			g.add(fail, "%s: %s", name, msg)
		default:
			g.add(warn, "%s: cannot test: %v", name, err)
		}
	}
	return g
}

// portOwner names who holds port, best effort: the socket's inode from
// /proc/net, then the process with an fd on that inode. Without root the
// other users' fds are unreadable and the answer is "".
func (s System) portOwner(network string, port int) string {
	inode := s.socketInode(network, port)
	switch inode {
	case "":
		return ""
	case "0": // no file: a socket the kernel opened itself
		return "the kernel (a VXLAN device such as flannel.1?)"
	}
	pid := s.socketPID(inode)
	if pid == "" {
		return ""
	}
	comm, err := os.ReadFile(filepath.Join(s.ProcDir, pid, "comm"))
	if err != nil {
		return "pid " + pid
	}
	return fmt.Sprintf("pid %s (%s)", pid, strings.TrimSpace(string(comm)))
}

// socketInode scans /proc/net/{tcp,tcp6,udp,udp6}: "sl local_address
// rem_address st ... inode", the port in hex after the colon, and for
// TCP only listeners (state 0A) count.
func (s System) socketInode(network string, port int) string {
	for _, file := range []string{network, network + "6"} {
		lines, _ := readLines(filepath.Join(s.ProcDir, "net", file))
		for _, line := range lines {
			f := strings.Fields(line)
			if len(f) < 10 || (network == "tcp" && f[3] != "0A") {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				return f[9]
			}
		}
	}
	return ""
}

func (s System) socketPID(inode string) string {
	fds, _ := filepath.Glob(filepath.Join(s.ProcDir, "[0-9]*", "fd", "*"))
	want := "socket:[" + inode + "]"
	for _, fd := range fds {
		if target, err := os.Readlink(fd); err == nil && target == want {
			return filepath.Base(filepath.Dir(filepath.Dir(fd)))
		}
	}
	return ""
}
