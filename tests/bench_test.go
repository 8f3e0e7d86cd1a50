//go:build e2e

package tests

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The benchmarks report figures for `make bench`; they never fail on a
// figure, only when a node cannot be driven through the steps.

// noPackaged turns every packaged pod off, for the benchmarks of the node
// runtime alone (issues 3 and 5): they are workloads there.
var noPackaged = []string{"--disable", "coredns,traefik,local-storage,metrics-server"}

// requireBench skips a benchmark unless KEDGE_BENCH=1: they take many
// minutes and print tables rather than check.
func requireBench(t *testing.T) {
	if os.Getenv("KEDGE_BENCH") != "1" {
		t.Skip("benchmark: set KEDGE_BENCH=1 (`make bench` does)")
	}
}

// benchRowFormat lays out a table's figure, value and aim columns.
const benchRowFormat = "%-44s %-16s %s\n"

// benchHeader starts a table on stdout, where `make bench` shows it
// between the test log's lines.
func benchHeader(title string) {
	fmt.Printf("\n%s\n\n"+benchRowFormat, title, "figure", "value", "aim")
}

func benchRow(figure, value, aim string) { fmt.Printf(benchRowFormat, figure, value, aim) }

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

// sandboxIDs picks the IDs out of `crictl pods -q` output, which also
// holds crictl's warnings (stderr).
func sandboxIDs(out string) []string {
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= 12 && strings.Trim(line, "0123456789abcdef") == "" {
			ids = append(ids, line)
		}
	}
	return ids
}

func median(d []time.Duration) time.Duration {
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

// percentile is the nearest-rank percentile of sorted d.
func percentile(d []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(d)))) - 1
	return d[max(i, 0)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func us(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

func mib(b int64) string { return fmt.Sprintf("%d MiB", b/(1<<20)) }

// aimDur and aimBytes print an aim and whether the figure met it.
func aimDur(got, aim time.Duration) string {
	return fmt.Sprintf("< %s (%s)", aim, metOrMissed(got < aim))
}

// aimBytes prints aim (bytes) in decimal units, as the issues state them,
// and in the binary units of the value column.
func aimBytes(got, aim int64) string {
	if aim >= 1000*1000 {
		return fmt.Sprintf("< %d MB = %d MiB (%s)", aim/1000/1000, aim>>20, metOrMissed(got < aim))
	}
	return fmt.Sprintf("< %d KB/min = %d KiB/min (%s)", aim/1000, aim>>10, metOrMissed(got < aim))
}

func metOrMissed(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}
