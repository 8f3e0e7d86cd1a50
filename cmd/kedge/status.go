package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/status"
)

func newStatusCommand() *cobra.Command {
	var runDir string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show whether this node's kedge is ready, component by component; exit 1 if not",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			layout := datadir.FromEnv(os.Getenv)
			if runDir != "" {
				layout.RunDir = runDir
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), max(wait, 5*time.Second))
			defer cancel()
			get := status.Get
			if wait > 0 {
				get = func(ctx context.Context, socket string) (status.Report, error) {
					return status.WaitReady(ctx, socket, time.Second)
				}
			}
			rep, err := get(ctx, layout.StatusSocket())
			if rep.Role != "" {
				status.Print(cmd.OutOrStdout(), rep)
			}
			if err != nil {
				return err
			}
			if !rep.Ready() {
				return errors.New("kedge is not ready")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&runDir, "run-dir", "", "Run dir of the kedge to ask (default: $KEDGE_RUN_DIR, else "+datadir.DefaultRunDir+")")
	cmd.Flags().DurationVar(&wait, "wait", 0, "Wait up to this long for the node to become ready")
	return cmd
}
