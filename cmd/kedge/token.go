package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kedge-io/kedge/kubeconfig"
	"github.com/kedge-io/kedge/token"
)

func newTokenCommand() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage extra join tokens (bootstrap tokens) agents can join with",
	}
	cmd.PersistentFlags().StringVar(&path, "kubeconfig", "", "Admin kubeconfig (default: $KUBECONFIG, else the one `kedge kubectl` uses)")
	cmd.AddCommand(newTokenCreateCommand(&path), newTokenListCommand(&path), newTokenDeleteCommand(&path))
	return cmd
}

func newTokenCreateCommand(path *string) *cobra.Command {
	var ttl time.Duration
	var description string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a join token and print it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ttl < 0 {
				return fmt.Errorf("--ttl %s: want 0 (never expires) or a positive duration such as 24h", ttl)
			}
			config, client, err := adminClient(*path)
			if err != nil {
				return err
			}
			b, err := token.CreateBootstrap(cmd.Context(), client, ttl, description)
			if err != nil {
				return err
			}
			// The kubeconfig embeds server-ca.crt as is, so its hash is
			// the one in the server's own token file.
			t := token.Token{CAHash: token.CAHash(config.CAData), ID: b.ID, Secret: b.Secret}
			fmt.Fprintln(cmd.OutOrStdout(), t.String())
			return nil
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", 24*time.Hour, "How long the token is valid; 0 never expires")
	cmd.Flags().StringVar(&description, "description", "", "Note shown by `kedge token list`")
	return cmd
}

func newTokenListCommand(path *string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List join tokens (without their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, client, err := adminClient(*path)
			if err != nil {
				return err
			}
			list, err := token.ListBootstrap(cmd.Context(), client)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tEXPIRES\tDESCRIPTION")
			for _, b := range list {
				expires := "never"
				if !b.Expires.IsZero() {
					expires = b.Expires.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", b.ID, expires, b.Description)
			}
			return w.Flush()
		},
	}
}

func newTokenDeleteCommand(path *string) *cobra.Command {
	return &cobra.Command{
		Use:   "delete ID...",
		Short: "Revoke join tokens; agents already joined keep working",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			_, client, err := adminClient(*path)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := token.DeleteBootstrap(cmd.Context(), client, id); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", id)
			}
			return nil
		},
	}
}

// adminClient loads --kubeconfig, $KUBECONFIG or kedge's admin file, with
// the CA inline so its hash can go into tokens.
func adminClient(path string) (*rest.Config, kubernetes.Interface, error) {
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path == "" {
		path = kubeconfig.ForKubectl(os.Getenv)
	}
	config, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the admin kubeconfig %s: %w (run on a server, or pass --kubeconfig)", path, err)
	}
	if len(config.CAData) == 0 && config.CAFile != "" {
		if config.CAData, err = os.ReadFile(config.CAFile); err != nil {
			return nil, nil, fmt.Errorf("reading the CA of %s: %w", path, err)
		}
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return config, client, nil
}
