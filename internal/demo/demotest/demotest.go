// Package demotest drives `bridge demo` (internal/demo) for end-to-end
// tests: it waits on the running parts instead of on wall-clock times, so
// a slow machine (the race detector, a loaded CI runner) makes the test
// slower, not wrong.
package demotest

import (
	"context"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/demo"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
)

// trafficFlow is how long calls flow before the fault and after the
// recovery (wall time: the point is for traffic to happen, nothing is
// awaited).
const trafficFlow = 2 * time.Second

// RunFailover runs the demo with o (its RunFor and FailPrimaryAfter are
// replaced): once the provider is in service it calls before (scripted
// calls, say), lets traffic flow, makes the primary CTIManager go silent
// like a crashed host (detected by missed heartbeats), waits until the
// provider has failed over and the gap is closed, lets traffic flow again
// and stops the demo in order. It returns the demo's error.
func RunFailover(t testing.TB, o demo.Options, before func(demo.Running)) error {
	t.Helper()
	o.RunFor, o.FailPrimaryAfter = 0, 0
	started := make(chan demo.Running, 1)
	o.Started = func(r demo.Running) { started <- r }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- demo.Run(ctx, o) }()
	var r demo.Running
	select {
	case r = <-started:
	case err := <-done:
		return err
	}
	status := func() ctiengine.Status { return r.Bridge.Engine().Status() }
	testwait.Eventually(t, 0, "the demo's provider in service", func() bool {
		st := status()
		return st.Ready && st.Link == ctiengine.LinkUp.String()
	})
	if before != nil {
		before(r)
	}
	time.Sleep(trafficFlow)
	primary := status().CTIManager
	if err := r.Sim.StallHeartbeats(primary); err != nil {
		t.Fatalf("stalling %s: %v", primary, err)
	}
	testwait.Eventually(t, 0, "the failover off "+primary+" with its gap closed", func() bool {
		st := status()
		return st.Counters.Failovers >= 1 && st.Ready && st.Link == ctiengine.LinkUp.String() &&
			st.CTIManager != primary && st.Gap == nil
	})
	time.Sleep(trafficFlow)
	cancel()
	return <-done
}
