package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/preflight"
)

func newCheckConfigCommand() *cobra.Command {
	var dataDir, kernelConfig string
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Check that this machine can run kedge (kernel, cgroups, tools, filesystem, ports); exit 1 if a check fails",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				dataDir = datadir.FromEnv(os.Getenv).DataDir
			}
			if kernelConfig == "" {
				kernelConfig = os.Getenv("KERNEL_CONFIG")
			}
			sys, err := preflight.Host(dataDir, kernelConfig)
			if err != nil {
				return err
			}
			return preflight.Run(cmd.OutOrStdout(), sys)
		},
	}
	cmd.Flags().StringVarP(&dataDir, "data-dir", "d", "", "Data dir kedge will use; its filesystem is checked (default: $KEDGE_DATA_DIR, else "+datadir.DefaultDataDir+")")
	cmd.Flags().StringVar(&kernelConfig, "kernel-config", "", "Kernel config file to check (default: $KERNEL_CONFIG, else /proc/config.gz, else /boot/config-$(uname -r))")
	return cmd
}
