package containerd

import (
	"strings"
	"testing"
)

func TestHasCapability(t *testing.T) {
	// CapEff of a sandbox seen in CI: everything but CAP_SYS_RESOURCE.
	limited := "Name:\tkedge\nCapPrm:\t000001ffffffffff\nCapEff:\t000001fffeffffff\n"
	if hasCapability(strings.NewReader(limited), capSysResource) {
		t.Fatal("CAP_SYS_RESOURCE reported present in 000001fffeffffff")
	}
	full := "CapEff:\t000001ffffffffff\n"
	if !hasCapability(strings.NewReader(full), capSysResource) {
		t.Fatal("CAP_SYS_RESOURCE reported missing in 000001ffffffffff")
	}
	if hasCapability(strings.NewReader("Name:\tx\n"), capSysResource) {
		t.Fatal("no CapEff line must mean no capability")
	}
}
