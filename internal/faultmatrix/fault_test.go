package faultmatrix

import (
	"testing"
	"time"
)

// No fault: the baseline every fault is compared with.
func TestNoFault(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(4 * time.Second)
	rep := verify(t, r)
	if rep.FramesInGap != 0 || rep.ProviderGaps != 1 {
		t.Fatalf("without a fault only the final shutdown gap is expected:\n%s", rep)
	}
}

// CTIManager crash: the node in use is killed; the bridge fails over to
// the backup. Frames the primary sent but the bridge never read are inside
// the provider gap; the backup's snapshot reconciles the calls.
func TestCTIManagerCrash(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(3 * time.Second)
	if err := r.Sim.KillNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	waitUp(t, r, onNode("ctim-b"))
	letTrafficFlow(3 * time.Second)
	rep := verify(t, r)
	if rep.ProviderGaps < 2 {
		t.Fatalf("the crash opened no provider gap:\n%s", rep)
	}
}
