package faultmatrix

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// TestRoutePointCallAcrossFailover: a call waits at route point 5001 (its
// route callback's agents, 1004 and 1005, are both busy) when the
// CTIManager in use goes silent. The bridge fails over; the new CTIManager
// recovers the call at the route point (seed p.216: no snapshot for route
// points, the call is recovered) and offers its route request again; by
// then an agent is free, the callback selects it and the call is
// redirected. End to end through the bridge into JetStream: the queued
// call's redirect and the agent's events are in the stream, and the gap
// record counts the call as continued, not ended.
func TestRoutePointCallAcrossFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end failover")
	}
	// Heartbeat 2 s: the silence is detected 4 s after the last frame,
	// after the agents' calls (dial + ring + 3 s of talk) have ended.
	r := StartTestRigAndBridge(t, RigConfig{Rate: 0.001, Heartbeat: 2 * time.Second, Traffic: traffic.Config{
		DialTime: 200 * time.Millisecond, RingTime: 200 * time.Millisecond, RingTimeMax: 200 * time.Millisecond,
		TalkTime: 3 * time.Second, TalkTimeMax: 3 * time.Second, RouteSelectTimeout: 30 * time.Second}}, nil)
	if err := r.Sim.SetRate(0); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{"1006", "1004"}, {"1007", "1005"}} {
		if _, err := r.Sim.Place(traffic.Basic, c[0], c[1], ""); err != nil {
			t.Fatal(err)
		}
	}
	routed, err := r.Sim.Place(traffic.RoutePoint, "1008", "5001", "")
	if err != nil {
		t.Fatal(err)
	}
	// The callback answered the route request and its re-route (both
	// agents busy): the call waits at the route point.
	eng := r.Bridge().Engine()
	testwait.Eventually(t, WaitBound, "the route request and its re-route answered", func() bool {
		return eng.Status().Counters.RouteSelects >= 2
	})
	if err := r.Sim.StallHeartbeats("ctim-a"); err != nil {
		t.Fatal(err)
	}
	WaitFailovers(t, r, 1, OnNode("ctim-b"))
	if err := r.Sim.ResumeHeartbeats("ctim-a"); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, 2*WaitBound, "every call over", func() bool { return r.Sim.ActiveCalls() == 0 })
	rep, c := StopBridgeAndCheck(t, r)
	RequireEvents(t, rep, c, schema.EvCTIManagerLost, schema.EvGapClosed)

	evs := streamEvents(t, r)
	id := strconv.FormatUint(uint64(routed), 10)
	var lostAt, closedAt int = -1, -1
	var gap *schema.Gap
	for i, ev := range evs {
		switch {
		case ev.Name == schema.EvCTIManagerLost && lostAt < 0:
			lostAt = i
		case ev.Name == schema.EvGapClosed && lostAt >= 0 && closedAt < 0:
			closedAt, gap = i, ev.Data.Bridge.Gap
		}
	}
	if lostAt < 0 || gap == nil {
		t.Fatalf("no failover with a closed gap in the stream")
	}
	// The agents' calls ended during the silence; the route point call
	// continued.
	if gap.CallsContinued != 1 || gap.CallsEnded != 2 {
		t.Errorf("gap %s: continued %d, ended %d; want the route point call continued and the agents' two calls ended",
			gap.ID, gap.CallsContinued, gap.CallsEnded)
	}
	// After the loss: the call is recovered and redirected to an agent.
	var after []string
	agent := ""
	for _, ev := range evs[lostAt:] {
		if ev.Name == schema.EvCallEndedInGap && ev.Entity == id {
			t.Errorf("the route point call was declared ended during the gap")
		}
		if rd := ev.Data.Route; rd != nil && rd.CallID == id {
			after = append(after, ev.Name)
			if ev.Name == schema.EvRouteUsed {
				agent = rd.Selected
			}
			continue
		}
		if ev.Family != schema.FamilyCall || ev.Entity != id || ev.Data.Call == nil || ev.Data.Call.Connection == nil {
			continue
		}
		cn := ev.Data.Call.Connection
		switch {
		case cn.Address == "5001" && ev.Name == schema.EvCallCtlConnDisconnected:
			after = append(after, "route point left ("+strconv.Itoa(ev.Data.CallControlCause)+")")
		case agent != "" && cn.Address == agent && (ev.Name == schema.EvCallCtlConnOffered ||
			ev.Name == schema.EvCallCtlConnAlerting || ev.Name == schema.EvCallCtlConnEstablished):
			after = append(after, "agent "+ev.Name)
		}
	}
	want := []string{schema.EvRoute, schema.EvRouteUsed, "route point left (210)",
		"agent " + schema.EvCallCtlConnOffered, "agent " + schema.EvCallCtlConnAlerting,
		"agent " + schema.EvCallCtlConnEstablished}
	for _, w := range want {
		if !slices.Contains(after, w) {
			t.Fatalf("after the failover the route point call shows %v; want %v in order", after, want)
		}
	}
	if agent != "1004" && agent != "1005" {
		t.Fatalf("the call was routed to %q, want an agent of the callback", agent)
	}
}

// streamEvents reads every event of the stream, in order.
func streamEvents(t *testing.T, r *Rig) []schema.Event {
	t.Helper()
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var evs []schema.Event
	err = jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return err
		}
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
