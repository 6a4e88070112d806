package faultmatrix

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/bridge"
)

// bound limits every wait on real I/O.
const bound = 15 * time.Second

// testRig starts the simulator (a few calls per second, short heartbeats)
// and NATS, and a bridge unless noBridge.
func testRig(t *testing.T, cfg RigConfig, tune func(*bridge.Config)) *Rig {
	t.Helper()
	r := startRig(t, cfg)
	if _, err := r.StartBridge(tune); err != nil {
		t.Fatal(err)
	}
	waitUp(t, r, nil)
	return r
}

// startRig starts the simulator and NATS, without a bridge.
func startRig(t *testing.T, cfg RigConfig) *Rig {
	t.Helper()
	cfg.DataDir = t.TempDir()
	if cfg.Rate == 0 {
		cfg.Rate = 4
	}
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(testLogLevel())
	r, err := StartRig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func waitUp(t *testing.T, r *Rig, on func(string) bool) {
	t.Helper()
	if err := r.WaitInService(bound, on); err != nil {
		t.Fatal(err)
	}
}

func onNode(name string) func(string) bool { return func(cm string) bool { return cm == name } }

// letTrafficFlow lets the simulator's calls flow for d (wall time: the point is
// for traffic to happen, nothing is awaited).
func letTrafficFlow(d time.Duration) { time.Sleep(d) }

// verify stops the bridge in order, closes the simulator and checks the
// whole stream against the ground truth.
func verify(t *testing.T, r *Rig) (*Report, *Checker) {
	t.Helper()
	if err := r.StopBridge(); err != nil {
		t.Fatalf("bridge stopped with %v", err)
	}
	return check(t, r)
}

// check closes the simulator and checks the stream (no bridge running).
func check(t *testing.T, r *Rig) (*Report, *Checker) {
	t.Helper()
	return checkWith(t, r, false)
}

// checkWith is check, with the checker's high-availability rules if ha.
func checkWith(t *testing.T, r *Rig, ha bool) (*Report, *Checker) {
	t.Helper()
	if err := r.Sim.Close(); err != nil {
		t.Fatal(err)
	}
	c := NewChecker()
	c.Details = true
	c.HA = ha
	// Members or a bridge that waited for NATS may open their first
	// provider session while calls are up; so do the members of a group,
	// whose first provider opens only after the lease and the epoch
	// marker (seconds into the simulator's traffic on a busy machine).
	c.CallsUpAtStart = r.cfg.NATSLater || ha
	c.RoutePoints = r.RoutePoints()
	for _, rec := range r.Sim.GroundTruth("") {
		c.AddRecord(rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.CheckStream(ctx, c); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	t.Logf("check:\n%s", rep)
	if !rep.OK() {
		t.Fatalf("the stream does not match the ground truth:\n%s", rep)
	}
	if rep.FramesWithEvents == 0 || rep.Events == 0 {
		t.Fatalf("nothing was checked:\n%s", rep)
	}
	return rep, c
}

// waitFailovers waits until the bridge has lost n links in service and is
// back in service (on a CTIManager accepted by on, nil: any).
func waitFailovers(t *testing.T, r *Rig, n uint64, on func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for r.Bridge().Engine().Status().Counters.Failovers < n {
		if time.Now().After(deadline) {
			t.Fatalf("no failover within %v: %+v", bound, r.Bridge().Engine().Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitUp(t, r, on)
}

// counts fails unless every named event is in the stream.
func counts(t *testing.T, rep *Report, c *Checker, names ...string) {
	t.Helper()
	for _, n := range names {
		if c.Count(n) == 0 {
			t.Fatalf("no %s in the stream:\n%s", n, rep)
		}
	}
}

// testLogLevel is warn, or FAULTMATRIX_LOG (debug, info) for a run that
// needs the bridges' own account of what they did.
func testLogLevel() zerolog.Level {
	if l, err := zerolog.ParseLevel(os.Getenv("FAULTMATRIX_LOG")); err == nil && os.Getenv("FAULTMATRIX_LOG") != "" {
		return l
	}
	return zerolog.WarnLevel
}
