package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// pauseSource is embedded so the built tool can compile pause from any
// working directory, and so a change to pause.c changes the tool (make
// rebuilds the images when the tool's inputs change).
//
//go:embed pause/pause.c
var pauseSource []byte

const (
	pauseRef     = "kedge.local/pause:3.10"
	pauseVersion = "3.10"
	// pauseUser is the conventional "nobody" ID of pause images: the sandbox
	// never needs privileges, and 65535 exists in no image's passwd.
	pauseUser = "65535:65535"
)

// compilePause builds the static pause binary for t into out. The source is
// written under a fixed name in a fresh directory; only -s strips what would
// otherwise record that directory.
func compilePause(ctx context.Context, cc, out string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".pause-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "pause.c")
	if err := os.WriteFile(src, pauseSource, 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, cc, "-Os", "-static", "-s", "-Wall", "-Wextra", "-Werror",
		`-DPAUSE_VERSION="`+pauseVersion+`"`, "-o", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", cc, err, b)
	}
	return nil
}

// pauseSpec is scratch plus the binary: the sandbox holds namespaces and
// needs nothing else.
func pauseSpec(bin []byte) spec {
	return spec{
		Ref:        mustTag(pauseRef),
		Entries:    []entry{file("pause", 0o755, bin)},
		Entrypoint: []string{"/pause"},
		User:       pauseUser,
		CreatedBy:  "kedge image-build: pause " + pauseVersion + " (static C)",
	}
}
