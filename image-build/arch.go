package main

import (
	"debug/elf"
	"fmt"
	"sort"
	"strings"
)

// target is one architecture that images are built for. The name is kedge's
// own (it names output directories and the --arch values); the other fields
// translate it for the OCI config, Debian and the C toolchain, which all
// spell the same machine differently.
type target struct {
	Name    string      // kedge's name: amd64, arm64, arm
	Arch    string      // OCI/GOARCH architecture
	Variant string      // OCI variant; containerd matches armv7 hosts on "v7"
	DebArch string      // Debian architecture for apt and dpkg
	CC      string      // C compiler that produces static binaries for it
	QEMU    string      // user-mode emulator, to smoke-test binaries off-host
	Machine elf.Machine // what verify expects of every ELF file in its images
	Class   elf.Class
}

var targets = map[string]target{
	"amd64": {Name: "amd64", Arch: "amd64", DebArch: "amd64", CC: "gcc", QEMU: "qemu-x86_64-static",
		Machine: elf.EM_X86_64, Class: elf.ELFCLASS64},
	"arm64": {Name: "arm64", Arch: "arm64", DebArch: "arm64", CC: "aarch64-linux-gnu-gcc", QEMU: "qemu-aarch64-static",
		Machine: elf.EM_AARCH64, Class: elf.ELFCLASS64},
	"arm": {Name: "arm", Arch: "arm", Variant: "v7", DebArch: "armhf", CC: "arm-linux-gnueabihf-gcc", QEMU: "qemu-arm-static",
		Machine: elf.EM_ARM, Class: elf.ELFCLASS32},
}

// targetNames lists the supported names in a stable order for help text.
func targetNames() []string {
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// parseTargets turns "amd64,arm" or "all" into targets, rejecting unknown
// names up front so a typo fails before anything is compiled.
func parseTargets(list string) ([]target, error) {
	if list == "all" {
		list = "amd64,arm64,arm"
	}
	var out []target
	seen := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		t, ok := targets[n]
		if !ok {
			return nil, fmt.Errorf("unknown arch %q (want one of %s or all)", n, strings.Join(targetNames(), ", "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, t)
		}
	}
	return out, nil
}
