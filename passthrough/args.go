package passthrough

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Merge merges kedge's defaults with the user's pass-through arguments.
// Each override is "key=value" (a leading "--" is tolerated). A user key
// replaces kedge's default for that key; a key given several times by the
// user is passed several times, so repeatable upstream flags keep working.
func Merge(defaults map[string]string, overrides []string, userFlag string) ([]string, error) {
	merged := make(map[string][]string, len(defaults))
	for k, v := range defaults {
		merged[k] = []string{v}
	}
	userSet := map[string]bool{}
	for _, o := range overrides {
		key, value, ok := strings.Cut(strings.TrimPrefix(o, "--"), "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("--%s %q: want key=value, e.g. --%s=max-requests-inflight=100", userFlag, o, userFlag)
		}
		if !userSet[key] {
			merged[key] = nil
			userSet[key] = true
		}
		merged[key] = append(merged[key], value)
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	for _, k := range keys {
		for _, v := range merged[k] {
			args = append(args, "--"+k+"="+v)
		}
	}
	return args, nil
}

// Parse applies args to a component's flag set, naming the kedge flag that
// carried a bad one so the user knows where to fix it.
func Parse(fs *pflag.FlagSet, component, userFlag string, args []string) error {
	fs.ParseErrorsAllowlist.UnknownFlags = false
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s arguments: %w (check --%s)", component, err, userFlag)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s arguments: unexpected %q (check --%s)", component, fs.Args(), userFlag)
	}
	return nil
}

// NewFlagSet returns a flag set that reports errors instead of exiting.
func NewFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(discard{})
	return fs
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
