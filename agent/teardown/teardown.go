package teardown

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kedge-io/kedge/datadir"
)

// Options says whose state to tear down and where to report.
type Options struct {
	Layout datadir.Layout
	Out    io.Writer // one line per action
	// Wait bounds how long killed processes get to disappear; 0 means 10s.
	Wait time.Duration
}

// procRoot is where the live processes are read from; tests scan fakes.
const procRoot = "/proc"

// Run tears the node down. Every step runs even when an earlier one failed,
// since a half cleanup is worse than a cleanup with one error; the errors
// are returned together.
func Run(ctx context.Context, o Options) error {
	if err := checkLayout(o.Layout); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("kedge killall must run as root: it kills containers, unmounts and changes the network")
	}
	if err := checkStopped(o.Layout); err != nil {
		return err
	}
	if o.Wait == 0 {
		o.Wait = 10 * time.Second
	}
	log := logger{o.Out}
	bundle := o.Layout.BundleRoot()
	return errors.Join(
		stopProcesses(ctx, procRoot, bundle, o.Wait, log),
		unmountAll(o.Layout, log),
		deleteLinks(log),
		cleanIptables(ctx, bundle, log),
		cleanNftables(ctx, bundle, log),
		upstreamDirs.remove(o.Layout.PodLogsDir(), log),
	)
}

// checkLayout refuses relative or root dirs: every process, mount and
// file below them would be taken for kedge's.
func checkLayout(l datadir.Layout) error {
	for flag, dir := range map[string]string{"--data-dir": l.DataDir, "--run-dir": l.RunDir} {
		if !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
			return fmt.Errorf("%s %q: must be an absolute path other than /", flag, dir)
		}
	}
	return nil
}

// logger reports actions on stdout, one line each, so an operator (or the
// uninstall script's log) sees what was removed.
type logger struct{ w io.Writer }

func (l logger) printf(format string, args ...any) {
	if l.w != nil {
		fmt.Fprintf(l.w, format+"\n", args...)
	}
}
