package preflight

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// kernelConfig maps CONFIG_ names to their values: "y", "m", "n" (also for
// "# CONFIG_X is not set") or the unquoted string or number.
type kernelConfig map[string]string

// loadKernelConfig reads the config and returns, as the report's first group,
// where it came from. A config the user named must be readable; one only
// looked for may be absent, which skips the kernel options with a warning.
func (s System) loadKernelConfig() (kernelConfig, group) {
	paths := s.kernelConfigPaths()
	for _, p := range paths {
		kc, err := readKernelConfig(p)
		if errors.Is(err, fs.ErrNotExist) && s.KernelConfig == "" {
			continue
		}
		g := group{name: "Kernel config: " + p}
		if err == nil {
			return kc, g
		}
		need := warn
		if s.KernelConfig != "" {
			need = fail
		}
		g.add(need, "%v; the kernel options are not checked", err)
		return nil, g
	}
	g := group{name: "Kernel config: not found"}
	g.add(warn, "tried %s; set KERNEL_CONFIG or --kernel-config to the kernel's config file — the kernel options are not checked",
		strings.Join(paths, ", "))
	return nil, g
}

// kernelConfigPaths follows k3s's and moby's check-config: /proc/config.gz
// exists when the kernel has CONFIG_IKCONFIG_PROC, else distros install the
// config next to the kernel.
func (s System) kernelConfigPaths() []string {
	if s.KernelConfig != "" {
		return []string{s.KernelConfig}
	}
	paths := []string{filepath.Join(s.ProcDir, "config.gz")}
	if s.KernelRelease != "" {
		paths = append(paths, filepath.Join(s.BootDir, "config-"+s.KernelRelease))
	}
	return paths
}

// readKernelConfig tells gzip from text by its magic rather than the
// name, so a user's KERNEL_CONFIG may be either.
func readKernelConfig(path string) (kernelConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	kc, err := parseKernelConfig(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return kc, nil
}

func parseKernelConfig(r io.Reader) (kernelConfig, error) {
	kc := kernelConfig{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, isComment := strings.CutPrefix(line, "# "); isComment {
			if name, unset := strings.CutSuffix(rest, " is not set"); unset {
				kc[name] = "n"
			}
			continue
		}
		if name, value, found := strings.Cut(line, "="); found && strings.HasPrefix(name, "CONFIG_") {
			kc[name] = strings.Trim(value, `"`)
		}
	}
	return kc, sc.Err()
}
