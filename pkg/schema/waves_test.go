package schema

import (
	"testing"
	"time"
)

func TestWaveCounterCountsAsTheTimelineTellsIt(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	seq := uint64(10)
	ev := func(f Family, entity, name string, upstream, received time.Time, snapshot bool) *Event {
		seq++
		e := &Event{Family: f, Entity: entity, Name: name, Session: "b1-p2", SessionSeq: seq, Time: upstream, Received: received}
		e.Data.Snapshot = snapshot
		return e
	}
	c := NewWaveCounter("b1-p1-000000000009")
	for _, e := range []*Event{
		ev(FamilyCall, "42", EvCallObservationEnded, at(0), at(0), false),
		// A shared line: one address on two terminals, two events.
		ev(FamilyAddress, "1001", EvCiscoAddrOutOfService, at(5), at(5), false),
		ev(FamilyAddress, "1001", EvCiscoAddrOutOfService, at(3), at(6), false),
		ev(FamilyAddress, "1002", EvCiscoAddrOutOfService, at(7), at(7), false),
		ev(FamilyProvider, "", EvProvOutOfService, at(8), at(8), false),
		// A snapshot: its CTI times are the call's (long ago); the wave
		// is placed when the bridge received it.
		ev(FamilyCall, "42", EvCallActive, at(-60000), at(900), true),
		ev(FamilyCall, "42", EvConnCreated, at(-60000), at(901), true),
		ev(FamilyCall, "43", EvCallActive, at(-30000), at(899), true),
		ev(FamilyCall, "42", EvCallEndedInGap, at(950), at(950), false),
		ev(FamilyCall, "44", EvConnDisconnected, at(960), at(960), false), // live: not a wave
	} {
		c.Add(e)
	}
	if c.From() != "b1-p1-000000000009" {
		t.Errorf("From = %q", c.From())
	}
	got := c.Waves()
	want := []GapWave{
		{Event: EvCallObservationEnded, Count: 1, First: at(0), Last: at(0), FirstID: "b1-p2-000000000011"},
		{Event: EvCiscoAddrOutOfService, Count: 3, Entities: 2, First: at(3), Last: at(7), FirstID: "b1-p2-000000000012"},
		{Event: WaveSnapshot, Count: 3, Entities: 2, First: at(900), Last: at(901), FirstID: "b1-p2-000000000016"},
		{Event: EvCallEndedInGap, Count: 1, First: at(950), Last: at(950), FirstID: "b1-p2-000000000019"},
	}
	if len(got) != len(want) {
		t.Fatalf("waves = %+v\nwant %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Event != w.Event || g.Count != w.Count || g.Entities != w.Entities || !g.First.Equal(w.First) || !g.Last.Equal(w.Last) || g.FirstID != w.FirstID {
			t.Errorf("wave %d = %+v\nwant %+v", i, g, w)
		}
	}
	if w := NewWaveCounter("x").Waves(); w == nil || len(w) != 0 {
		t.Errorf("a failover without waves: %#v, want an empty list", w)
	}
}
