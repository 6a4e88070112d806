package hot

import (
	"fmt"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// change is one CTI change as both bridges see it.
type change struct {
	entity, name, addr string
	at                 time.Duration
}

// copyOf is the event a bridge's engine makes of a change: the bridge's
// own session, sequences, receive time and frame.
func copyOf(c change, session string, seq uint64, received time.Duration) schema.Event {
	return schema.Event{
		Family: schema.FamilyCall, Entity: c.entity, Name: c.name,
		Session: session, SessionSeq: seq, Sequence: seq,
		Time: t0.Add(c.at), Received: t0.Add(received), CTIManager: "ctim-" + session,
		Frame: fmt.Sprintf("%s-prov:%d", session, seq),
		Data: schema.Data{Event: c.name, Call: &schema.CallData{CallID: c.entity,
			Connection: &schema.ConnectionData{Address: c.addr, CallControlStateCode: schema.CCConnEstablished}}},
	}
}

func changes(n int) []change {
	out := make([]change, n)
	for i := range out {
		out[i] = change{entity: fmt.Sprint(100 + i%3), name: schema.EvCallCtlConnEstablished, addr: fmt.Sprint(1000 + i), at: time.Duration(i) * time.Millisecond}
	}
	return out
}

// The previous active stored the first 6 of 10 changes; the standby saw
// all 10 (after its own start-up, an event of its own). The takeover
// publishes the last 4, renumbered from 1 and flagged, and nothing it
// stored.
func TestTakeoverPublishesWhatWasNeverStored(t *testing.T) {
	w := New(Config{})
	cs := changes(10)
	w.Add(schema.Event{Family: schema.FamilyProvider, Name: schema.EvProvInService, Session: "b-p1", SessionSeq: 1, Sequence: 1, Received: t0})
	for i, c := range cs {
		w.Add(copyOf(c, "b-p1", uint64(i+2), time.Duration(i)*time.Millisecond+50*time.Microsecond))
	}
	for i, c := range cs[:6] {
		ev := copyOf(c, "a-p3", uint64(i+40), time.Duration(i)*time.Millisecond)
		w.Observe(&ev, ev.Received)
	}
	res := w.Takeover()
	if len(res.Recovered) != 4 || res.Matched != 0 || res.Skipped != 7 || res.Incomplete {
		t.Fatalf("result %+v", res)
	}
	for i, ev := range res.Recovered {
		want := cs[6+i]
		if ev.Data.Call.Connection.Address != want.addr || !ev.Data.Recovered || ev.Session != "b-p1" || ev.SessionSeq != uint64(i+1) {
			t.Fatalf("recovered %d: %+v, want %s renumbered %d and flagged", i, ev, want.addr, i+1)
		}
	}
	// Per-entity sequences restart at 1 within the recovered session.
	seqs := map[string][]uint64{}
	for _, ev := range res.Recovered {
		seqs[ev.Entity] = append(seqs[ev.Entity], ev.Sequence)
	}
	for ent, s := range seqs {
		for i, v := range s {
			if v != uint64(i+1) {
				t.Fatalf("entity %s sequences %v, want 1..n", ent, s)
			}
		}
	}
	if st := w.Stats(); st.Events != 0 || st.Stored != 0 {
		t.Fatalf("the window is not empty after the takeover: %+v", st)
	}
}

// The previous active stored everything the standby saw (an orderly
// hand-over): nothing is published.
func TestTakeoverAfterEverythingStored(t *testing.T) {
	w := New(Config{})
	for i, c := range changes(5) {
		w.Add(copyOf(c, "b-p1", uint64(i+1), 0))
		ev := copyOf(c, "a-p1", uint64(i+1), 0)
		w.Observe(&ev, t0)
	}
	if res := w.Takeover(); len(res.Recovered) != 0 || res.Skipped != 5 {
		t.Fatalf("result %+v", res)
	}
}

// A stored event that came after a missing one (the stores are not in
// the standby's order) is matched, not published twice.
func TestStoredAfterTheWatermarkIsMatched(t *testing.T) {
	w := New(Config{})
	cs := changes(6)
	for i, c := range cs {
		w.Add(copyOf(c, "b-p1", uint64(i+1), 0))
	}
	for _, i := range []int{0, 1, 3} { // 2 never stored, 4 and 5 neither
		ev := copyOf(cs[i], "a-p1", uint64(i+1), 0)
		w.Observe(&ev, t0)
	}
	res := w.Takeover()
	// Watermark at 3: 0-3 skipped (2 included: before the watermark, the
	// previous active's order says it was stored or not its to store).
	if res.Skipped != 4 || len(res.Recovered) != 2 {
		t.Fatalf("result %+v", res)
	}
	// Now with 4 stored out of order after 5's store: 5 recovered, 4 matched.
	w = New(Config{})
	for i, c := range cs {
		w.Add(copyOf(c, "b-p1", uint64(i+1), 0))
	}
	for _, i := range []int{0, 1, 2, 3, 5, 4} {
		if i == 5 {
			continue
		}
		ev := copyOf(cs[i], "a-p1", uint64(i+1), 0)
		w.Observe(&ev, t0)
	}
	if res := w.Takeover(); len(res.Recovered) != 1 || res.Recovered[0].Data.Call.Connection.Address != cs[5].addr {
		t.Fatalf("result %+v", res)
	}
}

// Events a bridge originates itself never match another bridge's, and
// nothing is matched twice: two stores of one fingerprint match two copies.
func TestOwnEventsNeverMatch(t *testing.T) {
	own := schema.Event{Family: schema.FamilyBridge, Name: schema.EvGapOpened, Time: t0, Session: "b-p1"}
	w := New(Config{})
	w.Add(own)
	other := own
	other.Session = "a-p1"
	w.Observe(&other, t0)
	if res := w.Takeover(); len(res.Recovered) != 1 {
		t.Fatalf("a bridge's own record was matched: %+v", res)
	}
}

// The bounds: beyond MaxAge (by receive time) the oldest events go; a
// takeover that finds no watermark after such drops is flagged
// incomplete.
func TestBoundsAndIncomplete(t *testing.T) {
	w := New(Config{MaxAge: time.Second, MaxEvents: 1000})
	cs := changes(30)
	for i, c := range cs {
		w.Add(copyOf(c, "b-p1", uint64(i+1), time.Duration(i)*100*time.Millisecond))
	}
	st := w.Stats()
	if st.Events != 11 || st.Trimmed != 19 {
		t.Fatalf("stats %+v, want the last 1 s (11 events) kept", st)
	}
	res := w.Takeover()
	if !res.Incomplete || len(res.Recovered) != 11 {
		t.Fatalf("result %+v", res)
	}
}

// The fingerprint ignores what each bridge adds and keeps what CTIManager
// said.
func TestFingerprint(t *testing.T) {
	c := change{entity: "7", name: schema.EvConnConnected, addr: "1001", at: time.Second}
	a, b := copyOf(c, "a-p1", 3, 0), copyOf(c, "b-p9", 77, time.Second)
	if FingerprintOf(&a) != FingerprintOf(&b) {
		t.Fatal("two bridges' copies of one change differ")
	}
	for name, mod := range map[string]func(*schema.Event){
		"time": func(e *schema.Event) { e.Time = e.Time.Add(time.Nanosecond) },
		"name": func(e *schema.Event) { e.Name = schema.EvConnAlerting },
		"address": func(e *schema.Event) {
			e.Data.Call = &schema.CallData{Connection: &schema.ConnectionData{Address: "1002"}}
		},
		"entity": func(e *schema.Event) { e.Entity = "8" },
	} {
		d := copyOf(c, "a-p1", 3, 0)
		mod(&d)
		if FingerprintOf(&d) == FingerprintOf(&a) {
			t.Errorf("a different %s gives the same fingerprint", name)
		}
	}
}

// The standby's engine cut its session before it had read the last
// changes the previous active stored (each engine reads at its own pace):
// the window has 5 of the 8 stored changes. Nothing is recovered, and the
// changes it reads after its cut are told apart: the 3 the log holds are
// not published again, the ones after them are, and once the previous
// active's last stored change has come by nothing more is checked.
func TestTakeoverWithTheStandbyBehind(t *testing.T) {
	w := New(Config{})
	cs := changes(10)
	for i, c := range cs[:5] {
		w.Add(copyOf(c, "b-p1", uint64(i+1), time.Duration(i)*time.Millisecond))
	}
	for i, c := range cs[:8] {
		ev := copyOf(c, "a-p1", uint64(i+1), time.Duration(i)*time.Millisecond)
		w.Observe(&ev, ev.Received)
	}
	res := w.Takeover()
	if len(res.Recovered) != 0 || res.Behind == nil {
		t.Fatalf("result %+v: want nothing recovered and the standby behind", res)
	}
	var published []string
	for i, c := range cs[5:] {
		ev := copyOf(c, "b-p2", uint64(i+1), time.Duration(5+i)*time.Millisecond)
		if !res.Behind.Stored(&ev) {
			published = append(published, c.addr)
		}
	}
	if fmt.Sprint(published) != "[1008 1009]" || !res.Behind.Done() || res.Behind.Dropped() != 3 {
		t.Fatalf("published after the cut %v (done %v, dropped %d), want [1008 1009], done, 3 dropped",
			published, res.Behind.Done(), res.Behind.Dropped())
	}
}

// A standby whose engine had read every stored change (ahead of, or level
// with, the previous active) needs no such check.
func TestTakeoverWithTheStandbyAheadNeedsNoCheck(t *testing.T) {
	w := New(Config{})
	cs := changes(6)
	for i, c := range cs {
		w.Add(copyOf(c, "b-p1", uint64(i+1), 0))
	}
	for i, c := range cs[:4] {
		ev := copyOf(c, "a-p1", uint64(i+1), 0)
		w.Observe(&ev, t0)
	}
	if res := w.Takeover(); res.Behind != nil || len(res.Recovered) != 2 {
		t.Fatalf("result %+v: want 2 recovered and no check after the cut", res)
	}
}

// The check ends at the window's age bound even if the previous active's
// last stored change never comes by (it was its own, e.g. from a session
// on another CTIManager).
func TestBehindEndsAtTheWindowsAge(t *testing.T) {
	w := New(Config{MaxAge: time.Second})
	cs := changes(4)
	w.Add(copyOf(cs[0], "b-p1", 1, 0))
	for i, c := range cs {
		ev := copyOf(c, "a-p1", uint64(i+1), 0)
		w.Observe(&ev, t0)
	}
	res := w.Takeover()
	if res.Behind == nil {
		t.Fatalf("result %+v: want the standby behind", res)
	}
	late := copyOf(cs[1], "b-p2", 1, 2*time.Second)
	if res.Behind.Stored(&late) || !res.Behind.Done() {
		t.Fatal("an event received after the window's age was still checked")
	}
}
