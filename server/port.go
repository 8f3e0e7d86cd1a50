package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// checkPort fails early and clearly when the apiserver port is taken,
// before any state is touched.
func checkPort(bind string, port int) error {
	addr := net.JoinHostPort(bind, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return fmt.Errorf("--https-listen-port %d: address %s already in use; stop what listens there (another kedge server?) or choose another port", port, addr)
		}
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return l.Close()
}
