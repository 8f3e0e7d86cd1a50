package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/kedge-io/kedge/config"
	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/sdnotify"
	"github.com/kedge-io/kedge/server"
)

func newServerCommand() *cobra.Command {
	var cfg server.Config
	var configFile string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a control-plane node (and its workloads)",
		Args:  cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyConfig(cmd, configFile)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			cfg.OnReady = readyNotifier()
			return server.Run(ctx, cfg)
		},
	}
	cmd.Flags().StringVarP(&configFile, "config", "c", datadir.DefaultConfigFile, "Config file; files in <config>.d/*.yaml are read after it (env KEDGE_CONFIG)")
	cfg.AddFlags(cmd.Flags())
	return cmd
}

// applyConfig fills flags not given on the command line from KEDGE_* env
// vars and the config files.
func applyConfig(cmd *cobra.Command, configFile string) error {
	src := config.Source{Path: configFile, Explicit: cmd.Flags().Changed("config"), Environ: os.Environ()}
	if env := os.Getenv("KEDGE_CONFIG"); env != "" && !src.Explicit {
		src.Path, src.Explicit = env, true
	}
	return config.Apply(cmd.Flags(), src)
}

// readyNotifier takes systemd's notify socket out of the environment before
// anything starts (containerd would use it) and returns what tells systemd
// the node is ready.
func readyNotifier() func() {
	n := sdnotify.Take()
	return func() {
		if err := n.Ready(); err != nil {
			klog.Warning(err)
		}
	}
}
