package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// maxTypos is how many edits apart a key and a flag name may be for the
// flag to be suggested.
const maxTypos = 3

// suggestion returns ` (did you mean "flag"?)` for the flag that key most
// likely misspells, or "" when no flag is close.
func suggestion(fs *pflag.FlagSet, key string) string {
	best, bestDistance := "", 0
	fs.VisitAll(func(f *pflag.Flag) {
		// One-letter flags such as -v resemble every short typo.
		if reserved[f.Name] || len(f.Name) < 2 || !resembles(key, f.Name) {
			return
		}
		if d := distance(key, f.Name); best == "" || d < bestDistance {
			best, bestDistance = f.Name, d
		}
	})
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// resembles reports whether key looks like a mistyped or shortened name,
// such as "https-port" for "https-listen-port".
func resembles(key, name string) bool {
	return distance(key, name) <= maxTypos ||
		strings.HasPrefix(name, key) || strings.HasPrefix(key, name) ||
		strings.HasSuffix(name, key) || strings.HasSuffix(key, name) ||
		wordsWithin(key, name)
}

// wordsWithin reports whether the dash-separated words of sub all appear in
// name, in order.
func wordsWithin(sub, name string) bool {
	words := strings.Split(name, "-")
	for w := range strings.SplitSeq(sub, "-") {
		i := slices.Index(words, w)
		if i < 0 {
			return false
		}
		words = words[i+1:]
	}
	return true
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := range len(a) {
		cur := make([]int, len(b)+1)
		cur[0] = i + 1
		for j := range len(b) {
			cost := 1
			if a[i] == b[j] {
				cost = 0
			}
			cur[j+1] = min(prev[j+1]+1, cur[j]+1, prev[j]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
