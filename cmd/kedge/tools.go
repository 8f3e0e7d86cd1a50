package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/kedge-io/kedge/agent/bundle"
	"github.com/kedge-io/kedge/agent/images"
	"github.com/kedge-io/kedge/datadir"
)

// toolLayout reads the node's dirs from KEDGE_DATA_DIR and KEDGE_RUN_DIR,
// the same env vars the server honours, since pass-through tools cannot
// parse kedge flags.
func toolLayout() datadir.Layout { return datadir.FromEnv(os.Getenv) }

// newBundledToolCommand runs a binary of the runtime bundle with its
// endpoint env var pointed at kedge's containerd unless the user set it.
// rewrite, when set, adapts the tool's arguments to the node's layout.
func newBundledToolCommand(name, short string, env map[string]func(datadir.Layout) string, rewrite func(datadir.Layout, []string) []string) *cobra.Command {
	return &cobra.Command{
		Use:                name,
		Short:              short,
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			p := toolLayout()
			bin, err := bundle.Unpack(p.BundleRoot())
			if err != nil {
				return err
			}
			for k, v := range env {
				if os.Getenv(k) == "" {
					os.Setenv(k, v(p))
				}
			}
			os.Setenv("PATH", bundle.Prepend(os.Getenv("PATH"), bin))
			path := filepath.Join(bin, name)
			if rewrite != nil {
				args = rewrite(p, args)
			}
			return syscall.Exec(path, append([]string{name}, args...), os.Environ())
		},
	}
}

func newCtrCommand() *cobra.Command {
	return newBundledToolCommand("ctr", "Run the bundled ctr against this node's containerd", map[string]func(datadir.Layout) string{
		"CONTAINERD_ADDRESS":   datadir.Layout.ContainerdSocket,
		"CONTAINERD_NAMESPACE": func(datadir.Layout) string { return "k8s.io" },
	}, ctrArgs)
}

// ctrArgs gives ctr's registry commands the node's hosts.toml directory,
// so `kedge ctr images pull` sees the mirrors and TLS of registries.yaml
// as the kubelet's pulls do; ctr has no env var or config for it.
func ctrArgs(p datadir.Layout, args []string) []string {
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--hosts-dir") }) {
		return args
	}
	group := false
	for i, a := range args {
		switch {
		case a == "images" || a == "image" || a == "i" || a == "content":
			group = true
		case group && (a == "pull" || a == "push" || a == "fetch" || a == "fetch-object" || a == "push-object"):
			out := append([]string{}, args[:i+1]...)
			out = append(out, "--hosts-dir", p.RegistryHostsDir())
			return append(out, args[i+1:]...)
		}
	}
	return args
}

func newCrictlCommand() *cobra.Command {
	return newBundledToolCommand("crictl", "Run the bundled crictl against this node's containerd", map[string]func(datadir.Layout) string{
		"CONTAINER_RUNTIME_ENDPOINT": func(p datadir.Layout) string { return "unix://" + p.ContainerdSocket() },
		"IMAGE_SERVICE_ENDPOINT":     func(p datadir.Layout) string { return "unix://" + p.ContainerdSocket() },
	}, nil)
}

func newImagesCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "images", Short: "Manage images on this node without a registry"}
	cmd.AddCommand(&cobra.Command{
		Use:   "import FILE...",
		Short: "Import image archives (.tar, .tar.gz, .tar.zst; docker-archive or OCI) into containerd",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			p := toolLayout()
			bin, err := bundle.Unpack(p.BundleRoot())
			if err != nil {
				return err
			}
			im := &images.Importer{
				Ctr:       filepath.Join(bin, "ctr"),
				Socket:    p.ContainerdSocket(),
				StateFile: p.ImportedState(),
			}
			failed := 0
			for _, f := range files {
				if err := im.ImportFile(context.Background(), f); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), err)
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d archives failed to import", failed, len(files))
			}
			return nil
		},
	})
	return cmd
}
