package faultmatrix

import (
	"context"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// No fault: the baseline every fault is compared with.
func TestNoFault(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(4 * time.Second)
	rep, _ := verify(t, r)
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
	waitFailovers(t, r, 1, onNode("ctim-b"))
	letTrafficFlow(3 * time.Second)
	rep, c := verify(t, r)
	if rep.ProviderGaps < 2 {
		t.Fatalf("the crash opened no provider gap:\n%s", rep)
	}
	counts(t, rep, c, schema.EvCTIManagerLost, schema.EvGapClosed)
}

// Heartbeat stall: the node in use keeps the connection but sends nothing
// (its frames are dropped, never sent); the bridge tears the link down
// after twice the server heartbeat and fails over.
func TestHeartbeatStall(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(3 * time.Second)
	if err := r.Sim.StallHeartbeats("ctim-a"); err != nil {
		t.Fatal(err)
	}
	waitFailovers(t, r, 1, onNode("ctim-b"))
	if n := r.Bridge().Engine().Status().Counters.HeartbeatMisses; n != 1 {
		t.Fatalf("%d heartbeat misses, want the stall detected as one", n)
	}
	if err := r.Sim.ResumeHeartbeats("ctim-a"); err != nil {
		t.Fatal(err)
	}
	letTrafficFlow(3 * time.Second)
	verify(t, r)
}

// TCP reset: every connection of the node in use is reset (RST); frames
// the kernel had not delivered are lost on the wire, inside the gap.
func TestTCPReset(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(3 * time.Second)
	if err := r.Sim.ResetConnections("ctim-a"); err != nil {
		t.Fatal(err)
	}
	waitFailovers(t, r, 1, nil)
	letTrafficFlow(3 * time.Second)
	rep, _ := verify(t, r)
	if rep.ProviderGaps < 2 {
		t.Fatalf("the reset opened no provider gap:\n%s", rep)
	}
}

// Slow link: every frame of the node in use is delayed by 150 ms (below
// twice the heartbeat): nothing is lost and the provider stays up.
func TestSlowLink(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(2 * time.Second)
	if err := r.Sim.SlowLink("ctim-a", 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	letTrafficFlow(4 * time.Second)
	if err := r.Sim.SlowLink("ctim-a", 0); err != nil {
		t.Fatal(err)
	}
	letTrafficFlow(time.Second)
	rep, _ := verify(t, r)
	if rep.ProviderGaps != 1 || rep.FramesInGap != 0 {
		t.Fatalf("a slow link must not break the session:\n%s", rep)
	}
}

// CallManager node failure: its devices go out of service (calls in setup
// on them dropped) and come back; the provider stays in service, so no
// gap opens and every service frame has its event.
func TestCallManagerFailure(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(2 * time.Second)
	if err := r.Sim.FailCallManager("cm1"); err != nil {
		t.Fatal(err)
	}
	letTrafficFlow(2 * time.Second)
	if err := r.Sim.RestoreCallManager("cm1"); err != nil {
		t.Fatal(err)
	}
	letTrafficFlow(2 * time.Second)
	rep, c := verify(t, r)
	if rep.ProviderGaps != 1 {
		t.Fatalf("a CallManager failure must not open a provider gap:\n%s", rep)
	}
	counts(t, rep, c, schema.EvCiscoTermOutOfService, schema.EvCiscoTermInService, schema.EvCiscoAddrOutOfService)
}

// Least-priority fallback: primary and backup die, the bridge goes to the
// least-priority CTIManager; the primary comes back
// (CiscoProvPrimNwReachableEv) and the bridge falls back on request.
func TestLeastPriorityFallback(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(2 * time.Second)
	for _, n := range []string{"ctim-a", "ctim-b"} {
		if err := r.Sim.KillNode(n); err != nil {
			t.Fatal(err)
		}
	}
	waitFailovers(t, r, 1, onNode("ctim-c"))
	letTrafficFlow(2 * time.Second)
	if err := r.Sim.RestoreNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(bound)
	for !r.Bridge().Engine().Status().PrimaryReachable {
		if time.Now().After(deadline) {
			t.Fatal("the restored primary was not found reachable")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Bridge().Engine().InitiateFallback()
	waitFailovers(t, r, 2, onNode("ctim-a"))
	letTrafficFlow(2 * time.Second)
	rep, c := verify(t, r)
	counts(t, rep, c, schema.EvCiscoProvConnToLeastPriorCtiServer, schema.EvCiscoProvPrimNwReachable, schema.EvCiscoProvFallbackToPrimNwCompltd)
}

// NATS restart: the embedded server is shut down and started again on the
// same store; the publisher resends what was not acked with the same ids
// (the stream deduplicates) and keeps per-entity order.
func TestNATSRestart(t *testing.T) {
	r := testRig(t, RigConfig{}, nil)
	letTrafficFlow(2 * time.Second)
	restartNATS(t, r, 500*time.Millisecond)
	letTrafficFlow(3 * time.Second)
	rep, _ := verify(t, r)
	if rep.PublishGaps != 0 {
		t.Fatalf("a short NATS restart must not drop anything:\n%s", rep)
	}
}

// NATS down for several seconds under load: the publisher holds every
// event in its buffer and delivers them all when NATS is back.
func TestNATSDownUnderLoad(t *testing.T) {
	r := testRig(t, RigConfig{Rate: 25}, nil)
	letTrafficFlow(2 * time.Second)
	restartNATS(t, r, 5*time.Second)
	letTrafficFlow(3 * time.Second)
	rep, _ := verify(t, r)
	if rep.PublishGaps != 0 {
		t.Fatalf("the buffer must hold a 5 s outage:\n%s", rep)
	}
}

// NATS down with a buffer too small for the outage: the oldest events are
// dropped, and a PublishGap record says which; the checker accepts the
// frames whose events it lists and nothing else.
func TestNATSDownBufferOverflow(t *testing.T) {
	// 120 events: well below what 4 s of traffic on the default cluster
	// produce (it saturates its 50 phones at about 100 events/s), whatever
	// the scenario mix.
	r := testRig(t, RigConfig{Rate: 25}, func(c *bridge.Config) {
		c.Publisher.BufferSize = 120
		c.Publisher.MaxInFlight = 64
	})
	letTrafficFlow(2 * time.Second)
	restartNATS(t, r, 4*time.Second)
	letTrafficFlow(3 * time.Second)
	rep, _ := verify(t, r)
	if rep.PublishGaps == 0 || rep.FramesInPublishGap == 0 {
		t.Fatalf("the overflow left no PublishGap record covering frames:\n%s", rep)
	}
}

func restartNATS(t *testing.T, r *Rig, down time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := r.NATS.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	letTrafficFlow(down)
	if err := r.NATS.Start(); err != nil {
		t.Fatal(err)
	}
}
