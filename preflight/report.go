package preflight

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

type status int

const (
	ok status = iota
	warn
	fail
)

func (s status) String() string { return [...]string{"ok", "warn", "fail"}[s] }

type result struct {
	status status
	text   string
}

// group is one heading of the report; a group without results is a
// heading alone, like the kernel config's path.
type group struct {
	name    string
	results []result
}

func (g *group) add(s status, format string, args ...any) {
	g.results = append(g.results, result{s, fmt.Sprintf(format, args...)})
}

// Run checks s, writes the report to w and fails when any check failed;
// warnings alone do not, so scripts can gate an install on the exit code.
func Run(w io.Writer, s System) error {
	groups := s.check()
	var b strings.Builder
	count := map[status]int{}
	for _, g := range groups {
		fmt.Fprintln(&b, g.name)
		for _, r := range g.results {
			fmt.Fprintf(&b, "  %-6s%s\n", r.status, r.text)
			count[r.status]++
		}
	}
	failed := count[fail]
	fmt.Fprintf(&b, "%s failed, %s\n", plural(failed, "check"), plural(count[warn], "warning"))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	if failed > 0 {
		return errors.New(plural(failed, "check") + " failed")
	}
	return nil
}

func (s System) check() []group {
	kc, header := s.loadKernelConfig()
	groups := []group{header}
	if kc != nil {
		groups = append(groups, kc.group("Namespaces", namespaceOptions))
	}
	groups = append(groups, s.cgroups())
	if kc != nil {
		groups = append(groups,
			kc.group("Seccomp", seccompOptions),
			kc.group("Networking", networkOptions),
			kc.group("Netfilter (kube-proxy, flannel)", netfilterOptions))
	}
	return append(groups, s.packetFilter(), s.storage(kc), s.node(), s.ports())
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
