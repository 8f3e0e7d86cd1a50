package teardown

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
)

// kedgeChainPrefixes name the chains kube-proxy, the kubelet, flannel, the
// CNI plugins and kedge create. A line mentioning one is a chain of theirs
// or a rule in another chain jumping to it.
var kedgeChainPrefixes = []string{"KUBE-", "FLANNEL-", "CNI-", "KEDGE-"}

// ownedComment matches the comments those components put on rules they
// add to built-in chains ("flanneld masq", "kubernetes service nodeports").
var ownedComment = regexp.MustCompile(`(?i)--comment\s+("[^"]*(kube|flannel|cni|kedge)[^"]*"|\S*(kube|flannel|cni|kedge)\S*)`)

// iptablesTables are the tables Kubernetes networking writes to.
var iptablesTables = []string{"filter", "nat", "mangle", "raw"}

// iptablesVariants are the names of one family's tools: the plain one (the
// host's default backend, or the one KEDGE_IPTABLES_MODE picks for the
// bundled tools) and each backend by name, so rules left in either
// backend go.
var iptablesVariants = []string{"", "-nft", "-legacy"}

// cleanIptables removes kedge's rules from every table, for IPv4 and IPv6,
// in both backends.
func cleanIptables(ctx context.Context, bundleRoot string, log logger) error {
	var errs []error
	for _, family := range []string{"iptables", "ip6tables"} {
		found := false
		for _, v := range iptablesVariants {
			save, restore := findTool(family+v+"-save", bundleRoot), findTool(family+v+"-restore", bundleRoot)
			if save == "" || restore == "" {
				continue
			}
			found = true
			for _, table := range iptablesTables {
				if err := cleanTable(ctx, family, save, restore, table, log); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if !found {
			log.printf("skipping %s: no %s-save and %s-restore on PATH or in %s/*/netfilter/bin", family, family, family, bundleRoot)
		}
	}
	return errors.Join(errs...)
}

// cleanTable rewrites one table without kedge's lines. The rest goes back
// as it was, which is how k3s-killall.sh does it too: rules cannot be
// deleted one by one reliably while chains reference each other. A table
// with nothing of kedge's is not written at all.
func cleanTable(ctx context.Context, family, save, restore, table string, log logger) error {
	out, err := exec.CommandContext(ctx, save, "-t", table).Output()
	if err != nil {
		// The table (or IPv6) may not exist in this kernel: nothing of ours there.
		log.printf("skipping %s table %s: %s -t %s: %v", family, table, save, table, err)
		return nil
	}
	kept, removed := filterRules(string(out))
	if removed == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, restore, "-w")
	cmd.Stdin = strings.NewReader(kept)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s (table %s): %w: %s", restore, table, err, bytes.TrimSpace(msg))
	}
	log.printf("%s: removed %d kedge chains and rules from table %s", family, removed, table)
	return nil
}

// filterRules drops kedge's chain declarations and rules from
// iptables-save output and returns the rest and how many lines went.
func filterRules(save string) (string, int) {
	var b strings.Builder
	removed := 0
	for _, line := range strings.SplitAfter(save, "\n") {
		if isKedgeRule(line) {
			removed++
			continue
		}
		b.WriteString(line)
	}
	return b.String(), removed
}

// isKedgeRule reports whether an iptables-save line is a chain (":NAME")
// or rule ("-A ...") of kedge's components. Table headers, COMMIT and
// comments stay.
func isKedgeRule(line string) bool {
	if !strings.HasPrefix(line, ":") && !strings.HasPrefix(line, "-") {
		return false
	}
	for _, p := range kedgeChainPrefixes {
		if strings.Contains(line, p) {
			return true
		}
	}
	// flannel names its interfaces and comments in lower case.
	return strings.Contains(strings.ToLower(line), "flannel") || ownedComment.MatchString(line)
}

// cleanNftables deletes the nftables tables of kube-proxy's nftables mode
// and of flannel's. Each owns its tables whole, so deleting them removes
// nothing of anyone else's.
func cleanNftables(ctx context.Context, bundleRoot string, log logger) error {
	nft := findTool("nft", bundleRoot)
	if nft == "" {
		log.printf("skipping nftables: no nft on PATH or in %s/*/netfilter/bin", bundleRoot)
		return nil
	}
	out, err := exec.CommandContext(ctx, nft, "list", "tables").Output()
	if err != nil {
		log.printf("skipping nftables: %s list tables: %v", nft, err)
		return nil
	}
	var errs []error
	for _, t := range kedgeTables(string(out)) {
		if msg, err := exec.CommandContext(ctx, nft, "delete", "table", t.family, t.name).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("nft delete table %s %s: %w: %s", t.family, t.name, err, bytes.TrimSpace(msg)))
			continue
		}
		log.printf("nft: deleted table %s %s", t.family, t.name)
	}
	return errors.Join(errs...)
}

type nftTable struct{ family, name string }

// kedgeTables picks kube-proxy's ("ip kube-proxy", "ip6 kube-proxy") and
// flannel's ("ip flannel-ipv4", "ip6 flannel-ipv6") tables from
// `nft list tables` output.
func kedgeTables(list string) []nftTable {
	var out []nftTable
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "table" {
			continue
		}
		if strings.HasPrefix(f[2], "kube-proxy") || strings.HasPrefix(f[2], "flannel") {
			out = append(out, nftTable{family: f[1], name: f[2]})
		}
	}
	return out
}
