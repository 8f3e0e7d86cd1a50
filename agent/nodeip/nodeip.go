package nodeip

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// ErrNoDefaultRoute means the host has no IPv4 default route to learn from.
var ErrNoDefaultRoute = errors.New("no default route on this host; pass --node-ip with the address other nodes reach this one on")

// Detect returns the first IPv4 address of the default-route interface.
func Detect() (net.IP, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return nil, fmt.Errorf("reading routes: %w", err)
	}
	defer f.Close()
	ifname, err := defaultRouteInterface(f)
	if err != nil {
		return nil, err
	}
	iface, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("default-route interface %s: %w", ifname, err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && ipnet.IP.To4() != nil {
			return ipnet.IP.To4(), nil
		}
	}
	return nil, fmt.Errorf("default-route interface %s has no IPv4 address; pass --node-ip", ifname)
}

// defaultRouteInterface reads /proc/net/route text: the first route with
// destination and mask 0 names the interface.
func defaultRouteInterface(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] == "Iface" {
			continue
		}
		if fields[1] == "00000000" && fields[7] == "00000000" {
			return fields[0], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading routes: %w", err)
	}
	return "", ErrNoDefaultRoute
}
