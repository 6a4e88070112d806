package bridge

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/ha/hot"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// A hot successor whose engine was behind its predecessor drops, after
// its cut, the changes the log holds already (hot.Behind); what it
// publishes after them keeps contiguous sequences, per entity and in the
// session, so that no consumer reads the drop as events lost (a stale
// active fenced by the log showed "call 5: sequence skipped from 0 to 11"
// before).
func TestHotTakeoverRenumbersPastTheDroppedChanges(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	type change struct {
		call string
		at   time.Duration
	}
	// Ten changes of two calls; the previous active stored the first
	// eight, the standby's engine had read five of them at its cut.
	var cs []change
	for i := range 10 {
		cs = append(cs, change{call: fmt.Sprint(5 + i%2), at: time.Duration(i) * time.Millisecond})
	}
	seqs := map[string]map[string]uint64{}
	copyOf := func(c change, session string, sessionSeq uint64) schema.Event {
		if seqs[session] == nil {
			seqs[session] = map[string]uint64{}
		}
		seqs[session][c.call]++
		return schema.Event{Family: schema.FamilyCall, Entity: c.call, Name: schema.EvCallCtlConnEstablished,
			Session: session, SessionSeq: sessionSeq, Sequence: seqs[session][c.call],
			Time: t0.Add(c.at), Received: t0.Add(c.at), Frame: fmt.Sprintf("%s-prov:%d", session, sessionSeq),
			Data: schema.Data{Event: schema.EvCallCtlConnEstablished, Call: &schema.CallData{CallID: c.call,
				Connection: &schema.ConnectionData{Address: "1001", CallControlStateCode: schema.CCConnEstablished}}}}
	}
	w := hot.New(hot.Config{})
	for i, c := range cs[:5] {
		w.Add(copyOf(c, "b-p1", uint64(i+1)))
	}
	for i, c := range cs[:8] {
		ev := copyOf(c, "a-p1", uint64(i+1))
		w.Observe(&ev, ev.Received)
	}
	res := w.Takeover()
	if res.Behind == nil {
		t.Fatalf("takeover %+v: want the standby behind", res)
	}
	h := &haState{log: zerolog.Nop()}
	h.shift.Store(newTakeoverShift())
	h.behind.Store(res.Behind)

	// After the cut the engine reads the changes from the sixth on, in
	// its new session: the sixth to eighth are stored already.
	var published []schema.Event
	for i, c := range cs[5:] {
		ev := copyOf(c, "b-p2", uint64(i+1))
		if !h.storedByPredecessor(&ev) {
			published = append(published, ev)
		}
	}
	// Then a change after the predecessor's last: the check is over, the
	// renumbering is not.
	ev := copyOf(change{call: "5", at: 20 * time.Millisecond}, "b-p2", 6)
	if h.storedByPredecessor(&ev) {
		t.Fatal("a change after the previous active's last one taken as stored")
	}
	published = append(published, ev)

	var got []string
	for _, ev := range published {
		got = append(got, fmt.Sprintf("%s#%d/%d", ev.Entity, ev.SessionSeq, ev.Sequence))
	}
	// Published: the ninth (call 5), the tenth (call 6), the later one
	// (call 5): session sequences 1, 2, 3; call 5's sequence 1 then 2,
	// call 6's 1 — the engine had numbered them 4, 5, 6 in the session and
	// 2, 3, 3 per call.
	if want := "[5#1/1 6#2/1 5#3/2]"; fmt.Sprint(got) != want {
		t.Fatalf("published %v, want %v", got, want)
	}
}

// After a "behind" takeover a GapClosed that ends a failover names, in
// gap.wavesFrom and each wave's firstId, the events as they were
// published (renumbered past the dropped ones), so that `replay timeline`
// finds them in the log; an event that was itself dropped keeps its
// engine id (the log holds it under the previous active's id), and ids of
// other sessions are left alone.
func TestHotTakeoverRenumbersTheIDsAGapClosedNames(t *testing.T) {
	s := newTakeoverShift()
	// Of the new session's events, the previous active had stored 1, 2
	// and 5 (dropped out of order: the shift keeps them sorted).
	for _, seq := range []uint64{2, 1, 5} {
		s.drop(&schema.Event{Family: schema.FamilyAddress, Entity: "1001", Session: "b-p2", SessionSeq: seq})
	}
	id := schema.EventID
	gap := &schema.Gap{ID: "b1-gap1", Kind: "provider", WavesFrom: id("b-p2", 3), Waves: []schema.GapWave{
		{Event: schema.EvCiscoAddrOutOfService, Count: 1, FirstID: id("b-p2", 4)},
		{Event: schema.EvCiscoAddrInService, Count: 1, FirstID: id("b-p2", 5)},
		{Event: schema.WaveSnapshot, Count: 3, FirstID: id("b-p2", 7)},
		{Event: schema.EvCiscoTermInService, Count: 1, FirstID: id("b-p1", 7)},
	}}
	ev := schema.Event{Family: schema.FamilyBridge, Entity: "b1", Name: schema.EvGapClosed, Session: "b-p2", SessionSeq: 9, Sequence: 1,
		Data: schema.Data{Event: schema.EvGapClosed, Bridge: &schema.BridgeData{Gap: gap}}}
	s.apply(&ev)

	got := ev.Data.Bridge.Gap
	if ev.SessionSeq != 6 {
		t.Errorf("GapClosed published as %d in its session, want 6 (9 past 3 dropped)", ev.SessionSeq)
	}
	if want := id("b-p2", 1); got.WavesFrom != want {
		t.Errorf("wavesFrom %s, want %s (the CTIManagerLost as published)", got.WavesFrom, want)
	}
	want := []string{id("b-p2", 2), id("b-p2", 5), id("b-p2", 4), id("b-p1", 7)}
	for i, w := range got.Waves {
		if w.FirstID != want[i] {
			t.Errorf("wave %s: firstId %s, want %s", w.Event, w.FirstID, want[i])
		}
	}
	if gap.WavesFrom != id("b-p2", 3) || gap.Waves[0].FirstID != id("b-p2", 4) {
		t.Errorf("the engine's gap record was changed in place: %+v", gap)
	}
}
