package main

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	kubectl "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"

	"github.com/kedge-io/kedge/kubeconfig"
)

func newKubectlCommand() *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl",
		Short:              "Run the embedded kubectl against this node's cluster",
		DisableFlagParsing: true,
		Run: func(_ *cobra.Command, args []string) {
			runKubectl(args)
		},
	}
}

// runKubectl hands the arguments to upstream kubectl as if it were its own
// binary, pointing it at the server's admin kubeconfig unless the user chose
// one.
func runKubectl(args []string) {
	if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
		os.Setenv("KUBECONFIG", kubeconfig.ForKubectl(os.Getenv))
	}
	os.Args = append([]string{"kubectl"}, args...)
	_, _ = logs.GlogSetter(kubectl.GetLogVerbosity(os.Args))
	if err := cli.RunNoErrOutput(kubectl.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || strings.HasPrefix(a, "--kubeconfig=") {
			return true
		}
	}
	return false
}
