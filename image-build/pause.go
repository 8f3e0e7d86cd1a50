package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
)

// pauseSource is embedded so the built tool can compile pause from any
// working directory, and so a change to pause.c changes the tool (make
// rebuilds the images when the tool's inputs change).
//
//go:embed pause/pause.c
var pauseSource []byte

// pauseUser is the conventional "nobody" ID of pause images: the sandbox
// never needs privileges, and 65535 exists in no image's passwd.
const pauseUser = "65535:65535"

// compilePause builds the static pause binary into out with cc; it prints
// version (the tag the image list gives pause) for -v. The source is
// written under a fixed name in a fresh directory; only -s strips what would
// otherwise record that directory.
func compilePause(ctx context.Context, cc, version, out string) error {
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
		`-DPAUSE_VERSION="`+version+`"`, "-o", out, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", cc, err, b)
	}
	return nil
}

// pauseSpec is scratch plus the binary, tagged ref: the sandbox holds
// namespaces and needs nothing else.
func pauseSpec(bin []byte, ref name.Tag) spec {
	return spec{
		Ref:        ref,
		Entries:    []entry{file("pause", 0o755, bin)},
		Entrypoint: []string{"/pause"},
		User:       pauseUser,
		CreatedBy:  "kedge image-build: pause " + ref.TagStr() + " (static C)",
	}
}
