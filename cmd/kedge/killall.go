package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/kedge-io/kedge/agent/teardown"
	"github.com/kedge-io/kedge/datadir"
)

// newKillallCommand wires `kedge killall` to agent/teardown. Its dirs
// default to KEDGE_DATA_DIR and KEDGE_RUN_DIR like the other helper
// commands, not to the config file, whose server keys it does not know.
func newKillallCommand() *cobra.Command {
	layout := datadir.FromEnv(os.Getenv)
	cmd := &cobra.Command{
		Use:   "killall",
		Short: "Kill this node's containers and remove its mounts, network links and iptables/nftables rules (after stopping kedge)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return teardown.Run(cmd.Context(), teardown.Options{Layout: layout, Out: cmd.OutOrStdout()})
		},
	}
	cmd.Flags().StringVarP(&layout.DataDir, "data-dir", "d", layout.DataDir, "Data dir of the node to tear down (env KEDGE_DATA_DIR)")
	cmd.Flags().StringVar(&layout.RunDir, "run-dir", layout.RunDir, "Run dir of the node to tear down (env KEDGE_RUN_DIR)")
	return cmd
}
