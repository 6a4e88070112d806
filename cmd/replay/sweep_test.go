package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// providerView is what the timeline says about the provider at an instant.
type providerView struct {
	State, CTIManager, Link string
}

// timelineView folds the timeline's own provider entries up to at: the
// provider's state (and its CTIManager while in service) and the link.
func timelineView(entries []timeline.Entry, at time.Time) providerView {
	var v providerView
	for _, e := range entries {
		if e.Derived || e.Time.After(at) {
			continue
		}
		switch e.Event {
		case schema.EvProvInService:
			v.State, v.CTIManager = "IN_SERVICE", e.CTIManager
		case schema.EvProvOutOfService:
			v.State, v.CTIManager = "OUT_OF_SERVICE", ""
		case schema.EvProvShutdown:
			v.State, v.CTIManager, v.Link = "SHUTDOWN", "", callstate.LinkDown
		case schema.EvCTIManagerLost:
			v.Link = callstate.LinkDown
		case schema.EvCTIManagerConnecting:
			v.Link = callstate.LinkConnecting
		case schema.EvCTIManagerConnected:
			v.Link = callstate.LinkUp
		}
	}
	return v
}

// sweepSteps bounds the regular steps of the sweep (the failover of a
// loaded machine can last half a second): every millisecond, or the window
// in this many steps.
const sweepSteps = 60

// sweepFailover checks that the state at T (what `state --at T` prints)
// agrees with the timeline at every instant of the first failover: in
// steps of a millisecond (at most sweepSteps) from just before the loss to
// just after the gap closed, and a nanosecond before and at every entry of
// the failover. Between the out-of-service wave and the provider's return
// the devices the wave counted are out of service; after the in-service
// wave none is. One instant goes through the command line as well.
func sweepFailover(t *testing.T, target []string, entries []timeline.Entry) {
	t.Helper()
	var from, to, outAt, inAt, backAt time.Time
	addrOut, termOut := -1, -1
	var marks []time.Time
	for _, e := range entries {
		if e.Failover != 1 {
			continue
		}
		switch {
		case e.Event == schema.EvCTIManagerLost:
			from = e.Time
		case e.Event == schema.EvGapClosed:
			to = e.Time
		case e.Event == schema.EvProvOutOfService:
			outAt = e.Time
		case e.Event == schema.EvProvInService:
			inAt = e.Time
		case e.Derived && e.Event == schema.EvCiscoAddrOutOfService:
			addrOut = e.Count
		case e.Derived && e.Event == schema.EvCiscoTermOutOfService:
			termOut = e.Count
		case e.Derived && (e.Event == schema.EvCiscoAddrInService || e.Event == schema.EvCiscoTermInService):
			if e.Until != nil && e.Until.After(backAt) {
				backAt = *e.Until
			}
		}
		if !e.Derived {
			marks = append(marks, e.Time.Add(-time.Nanosecond), e.Time)
		}
	}
	if from.IsZero() || to.IsZero() || outAt.IsZero() || inAt.IsZero() || addrOut <= 0 || termOut <= 0 {
		t.Fatalf("failover 1 incomplete in the timeline: lost %s closed %s out %s in %s waves %d/%d", from, to, outAt, inAt, addrOut, termOut)
	}
	lo, hi := from.Add(-5*time.Millisecond), to.Add(5*time.Millisecond)
	step := max(time.Millisecond, hi.Sub(lo)/sweepSteps)
	for at := lo; !at.After(hi); at = at.Add(step) {
		marks = append(marks, at)
	}

	// The command line, once, in the middle of the outage.
	mid := outAt.Add(inAt.Sub(outAt) / 2)
	code, out, errs := replay(t, append(append([]string{}, target...), "state", "--at", mid.Format(time.RFC3339Nano), "--json")...)
	var doc stateJSON
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil {
		t.Fatalf("state --at %s: exit %d %s", mid.Format(time.RFC3339Nano), code, errs)
	}
	if doc.Provider.State != "OUT_OF_SERVICE" || doc.Summary.AddressesOOS != addrOut {
		t.Errorf("state --at %s (during the outage): provider %s, %d addresses out of service", mid.Format(time.RFC3339Nano), doc.Provider.State, doc.Summary.AddressesOOS)
	}

	st, err := replaystore.Open(context.Background(), replaystore.Config{Server: target[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sawOut := false
	for _, at := range marks {
		state, _, err := st.StateAt(context.Background(), "lab", replaystore.Point{Time: at}, nil)
		if err != nil {
			t.Fatalf("state at %s: %v", at.Format(time.RFC3339Nano), err)
		}
		pr, sum := state.Provider(), state.Summary()
		want := timelineView(entries, at)
		got := providerView{State: pr.State, Link: pr.Link}
		if got.State == "IN_SERVICE" {
			got.CTIManager = pr.CTIManager
		}
		if got != want {
			t.Errorf("at %s: state says provider %+v, the timeline %+v", at.Format(time.RFC3339Nano), got, want)
		}
		if !at.Before(outAt) && at.Before(inAt) {
			sawOut = true
			if sum.AddressesOOS != addrOut || sum.TerminalsOOS != termOut {
				t.Errorf("at %s, between the out-of-service wave and the provider's return: %d addresses, %d terminals out of service; the timeline counted %d, %d",
					at.Format(time.RFC3339Nano), sum.AddressesOOS, sum.TerminalsOOS, addrOut, termOut)
			}
		}
		if !at.Before(backAt) && !backAt.IsZero() && (sum.AddressesOOS != 0 || sum.TerminalsOOS != 0) {
			t.Errorf("at %s, after the in-service wave: %d addresses, %d terminals still out of service", at.Format(time.RFC3339Nano), sum.AddressesOOS, sum.TerminalsOOS)
		}
	}
	if !sawOut {
		t.Errorf("no instant of the sweep fell between OUT_OF_SERVICE (%s) and IN_SERVICE (%s)", outAt, inAt)
	}
	t.Logf("%d instants compared, %s", len(marks), fmt.Sprint(to.Sub(from)))
}
