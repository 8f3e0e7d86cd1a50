package main

import (
	goflag "flag"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/version"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "kedge",
		Short:         "Lightweight Kubernetes for the edge, in one binary",
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: false,
	}
	root.SetVersionTemplate(version.String())
	// Declared here because upstream's verflag puts a non-bool --version on
	// pflag.CommandLine, which cobra would otherwise merge in and reject.
	root.Flags().Bool("version", false, "Print kedge, Kubernetes and Go versions")
	_ = pflag.CommandLine.MarkHidden("version")
	addLogFlags(root)
	root.AddCommand(newServerCommand(), newAgentCommand(), newTokenCommand(), newKubectlCommand(), newCtrCommand(), newCrictlCommand(), newImagesCommand(), newStatusCommand(),
		newCheckConfigCommand(), newKillallCommand())
	return root
}

// addLogFlags exposes klog's verbosity as --v on every command.
func addLogFlags(cmd *cobra.Command) {
	gofs := goflag.NewFlagSet("klog", goflag.ContinueOnError)
	klog.InitFlags(gofs)
	cmd.PersistentFlags().AddGoFlag(gofs.Lookup("v"))
}
