package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fakeELF is an ELF header alone: enough for debug/elf, not for a kernel.
func fakeELF(t *testing.T, tg target) []byte {
	t.Helper()
	var ident [elf.EI_NIDENT]byte
	copy(ident[:], elf.ELFMAG)
	ident[elf.EI_CLASS], ident[elf.EI_DATA], ident[elf.EI_VERSION] = byte(tg.Class), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	var hdr any
	if tg.Class == elf.ELFCLASS64 {
		hdr = elf.Header64{Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(tg.Machine), Version: 1, Ehsize: 64}
	} else {
		hdr = elf.Header32{Ident: ident, Type: uint16(elf.ET_EXEC), Machine: uint16(tg.Machine), Version: 1, Ehsize: 52}
	}
	var b bytes.Buffer
	if err := binary.Write(&b, binary.LittleEndian, hdr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// archiveOf writes one image per spec, each built for its target, into
// one archive: an OCI layout when path ends in .oci.tar, else a docker
// archive.
func archiveOf(t *testing.T, path string, specs []spec, tgs []target) string {
	t.Helper()
	var all []tagged
	for i, s := range specs {
		img, err := buildImage(s, tgs[i])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, tagged{s.Ref, img})
	}
	write := writeArchive
	if strings.HasSuffix(path, ".oci.tar") {
		needZstd(t)
		write = func(path string, images []tagged) error { return writeOCIArchive(path, images, 3) }
	}
	if err := write(path, all); err != nil {
		t.Fatal(err)
	}
	return path
}

const lppRef = "kedge.local/local-path-provisioner:0.0.30"

func lppSpec(t *testing.T, bin []byte) spec {
	t.Helper()
	s, err := programSpec(programNamed(t, "local-path-provisioner"), programInputs{Bin: bin, Version: "0.0.30"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// archiveFiles name an archive of each format for archiveOf.
var archiveFiles = []string{"all.tar", "all.oci.tar"}

func TestVerifyAcceptsMatchingArchives(t *testing.T) {
	for _, name := range []string{"amd64", "arm64", "arm"} {
		tg := targets[name]
		for _, file := range archiveFiles {
			path := archiveOf(t, filepath.Join(t.TempDir(), file),
				[]spec{testPauseSpec(fakeELF(t, tg)), lppSpec(t, fakeELF(t, tg))}, []target{tg, tg})
			refs, err := verifyArchive(path, tg)
			if err != nil {
				t.Fatalf("%s %s: %v", name, file, err)
			}
			// A docker archive lists its images by tag, a layout in the
			// order given.
			slices.Sort(refs)
			want := []string{lppRef, pauseRef}
			if !slices.Equal(refs, want) {
				t.Errorf("%s %s: refs = %q, want %q", name, file, refs, want)
			}
		}
	}
}

func TestVerifyCatchesTheWrongArchitecture(t *testing.T) {
	amd64, arm64, arm := targets["amd64"], targets["arm64"], targets["arm"]
	armNoVariant := arm
	armNoVariant.Variant = ""
	for name, tc := range map[string]struct {
		bin   []byte
		built target // what the config is built for
		check target
		want  string
	}{
		"config arch":     {fakeELF(t, amd64), arm64, amd64, "config says linux/arm64/"},
		"missing variant": {fakeELF(t, arm), armNoVariant, arm, "config says linux/arm/"},
		"binary machine":  {fakeELF(t, arm64), amd64, amd64, "/local-path-provisioner is ELFCLASS64 EM_AARCH64"},
		"binary class":    {fakeELF(t, arm), arm64, arm64, "/local-path-provisioner is ELFCLASS32 EM_ARM"},
		"no executable":   {[]byte("#!/bin/sh\n"), amd64, amd64, "no ELF file"},
	} {
		for _, file := range archiveFiles {
			t.Run(name+" "+file, func(t *testing.T) {
				// A good pause beside the bad image: only the bad one is named.
				path := archiveOf(t, filepath.Join(t.TempDir(), file),
					[]spec{testPauseSpec(fakeELF(t, tc.check)), lppSpec(t, tc.bin)}, []target{tc.check, tc.built})
				_, err := verifyArchive(path, tc.check)
				if err == nil || !strings.Contains(err.Error(), lppRef+": "+tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				if strings.Contains(err.Error(), pauseRef+":") {
					t.Errorf("the good image was reported too: %v", err)
				}
			})
		}
	}
}

// Go binaries also say what they were built for; this test binary is one.
func TestVerifyReadsGoBuildSettings(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readELF("self", bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if got.GoArch != runtime.GOARCH {
		t.Errorf("GoArch = %q, want %q", got.GoArch, runtime.GOARCH)
	}
}

func TestCheckELFGoSettings(t *testing.T) {
	arm := targets["arm"]
	for _, tc := range []struct {
		f    elfFile
		tg   target
		fail bool
	}{
		{elfFile{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, GoArch: "arm", GoArm: "7"}, arm, false},
		{elfFile{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, GoArch: "arm", GoArm: "7,softfloat"}, arm, false},
		{elfFile{Machine: elf.EM_ARM, Class: elf.ELFCLASS32, GoArch: "arm", GoArm: "6"}, arm, true},
		{elfFile{Machine: elf.EM_ARM, Class: elf.ELFCLASS32}, arm, false}, // C: no build info
		{elfFile{Machine: elf.EM_X86_64, Class: elf.ELFCLASS64, GoArch: "386"}, targets["amd64"], true},
	} {
		if got := checkELF(tc.f, tc.tg); (got != "") != tc.fail {
			t.Errorf("checkELF(%+v, %s) = %q, want failure %v", tc.f, tc.tg.Name, got, tc.fail)
		}
	}
}

func TestVerifyCommand(t *testing.T) {
	tg := targets["arm64"]
	path := archiveOf(t, filepath.Join(t.TempDir(), "pause.tar"), []spec{testPauseSpec(fakeELF(t, tg))}, []target{tg})
	var out bytes.Buffer
	if err := runVerify([]string{"--arch", "arm64", path}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "linux/arm64: "+pauseRef) {
		t.Errorf("output = %q", out.String())
	}
	if err := runVerify([]string{"--arch", "amd64", path}, &out, &out); err == nil {
		t.Error("arm64 archive passed as amd64")
	}
	for _, args := range [][]string{{path}, {"--arch", "armv7", path}, {"--arch", "arm"}} {
		if err := runVerify(args, &out, &out); err == nil {
			t.Errorf("verify %q: no error", args)
		}
	}
}

// An OCI layout whose blobs are not what its index and manifests say is
// refused, naming the image and the blob.
func TestVerifyCatchesABrokenLayout(t *testing.T) {
	tg := targets["amd64"]
	path := archiveOf(t, filepath.Join(t.TempDir(), "all.oci.tar"),
		[]spec{testPauseSpec(fakeELF(t, tg)), lppSpec(t, fakeELF(t, tg))}, []target{tg, tg})
	members := readTar(t, path)
	index, blobs := layoutOf(t, members)
	lpp := index.Manifests[1]
	m := manifestOf(t, blobs, lpp)
	layer, config := m.Layers[0].Digest, m.Config.Digest
	unnamed := func(name string, data []byte) []byte {
		if name != "index.json" {
			return data
		}
		delete(index.Manifests[1].Annotations, refNameAnnotation)
		b, err := json.Marshal(index)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, tc := range map[string]struct {
		edit func(name string, data []byte) []byte // nil drops the member
		want string
	}{
		"missing layer":    {drop(layer), lppRef + ": layer " + layer.String() + " missing"},
		"missing manifest": {drop(lpp.Digest), lppRef + ": manifest " + lpp.Digest.String() + " missing"},
		"corrupted layer":  {corrupt(layer), lppRef + ": layer " + layer.String() + ": content has digest sha256:"},
		"corrupted config": {corrupt(config), lppRef + ": config " + config.String() + ": content has digest sha256:"},
		"no reference":     {unnamed, "manifests[1] " + lpp.Digest.String() + ": no " + refNameAnnotation + " annotation"},
	} {
		t.Run(name, func(t *testing.T) {
			var edited []tarMember
			for _, mb := range members {
				if data := tc.edit(mb.Hdr.Name, mb.Data); data != nil {
					edited = append(edited, tarMember{mb.Hdr, data})
				}
			}
			broken := filepath.Join(t.TempDir(), "broken.tar")
			writeTar(t, broken, edited)
			_, err := verifyArchive(broken, tg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), pauseRef+":") {
				t.Errorf("the good image was reported too: %v", err)
			}
		})
	}
}

// drop removes blob h from an archive being edited.
func drop(h v1.Hash) func(string, []byte) []byte {
	return func(name string, data []byte) []byte {
		if name == blobPath(h) {
			return nil
		}
		return data
	}
}

// corrupt flips a byte in the middle of blob h.
func corrupt(h v1.Hash) func(string, []byte) []byte {
	return func(name string, data []byte) []byte {
		if name != blobPath(h) {
			return data
		}
		b := slices.Clone(data)
		b[len(b)/2] ^= 0xff
		return b
	}
}
