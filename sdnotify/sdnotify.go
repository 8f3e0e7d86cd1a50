package sdnotify

import (
	"fmt"
	"net"
	"os"
)

// envSocket is where systemd names the socket a Type=notify service
// reports to.
const envSocket = "NOTIFY_SOCKET"

// Notifier sends states to the service manager that started kedge; its
// zero value (no service manager) sends nothing.
type Notifier struct {
	socket string
}

// Take returns a Notifier for the socket in NOTIFY_SOCKET and removes the
// variable from the environment. containerd, a child of kedge, sends
// READY=1 itself when it sees the variable, which would tell systemd the
// node is up seconds before it is; go-systemd's daemon package reads the
// variable at each call, so it cannot be used with the variable gone.
func Take() Notifier {
	n := Notifier{socket: os.Getenv(envSocket)}
	os.Unsetenv(envSocket)
	return n
}

// Ready says that start-up has finished.
func (n Notifier) Ready() error { return n.send("READY=1") }

func (n Notifier) send(state string) error {
	if n.socket == "" {
		return nil
	}
	// A leading @ names an abstract socket, which net maps itself.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("telling the service manager %s: %w", state, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("telling the service manager %s: %w", state, err)
	}
	return nil
}
