package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kedge-io/kedge/agent"
	"github.com/kedge-io/kedge/config"
	"github.com/kedge-io/kedge/datadir"
)

func newAgentCommand() *cobra.Command {
	var cfg agent.JoinConfig
	var configFile string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a worker node that joins a kedge server",
		Args:  cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			src := config.Source{Path: configFile, Explicit: cmd.Flags().Changed("config"), Environ: agentEnviron()}
			if env := os.Getenv("KEDGE_CONFIG"); env != "" && !src.Explicit {
				src.Path, src.Explicit = env, true
			}
			return config.Apply(cmd.Flags(), src)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			cfg.OnReady = readyNotifier()
			return agent.RunAgent(ctx, cfg)
		},
	}
	cmd.Flags().StringVarP(&configFile, "config", "c", datadir.DefaultConfigFile, "Config file; files in <config>.d/*.yaml are read after it (env KEDGE_CONFIG)")
	cfg.AddFlags(cmd.Flags())
	return cmd
}

// agentEnviron accepts KEDGE_URL, the name k3s users know, for --server.
func agentEnviron() []string {
	env := os.Environ()
	if url := os.Getenv("KEDGE_URL"); url != "" && os.Getenv("KEDGE_SERVER") == "" {
		env = append(env, "KEDGE_SERVER="+url)
	}
	return env
}
