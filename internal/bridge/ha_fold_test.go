package bridge

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

func foldCall(id string, at time.Time) *schema.Event {
	return &schema.Event{Family: schema.FamilyCall, Entity: id, Name: schema.EvCallActive, Time: at,
		Data: schema.Data{Event: schema.EvCallActive, Call: &schema.CallData{CallID: id, State: "ACTIVE", StateCode: schema.CallActive}}}
}

func foldMarker(at time.Time) *schema.Event {
	return &schema.Event{Family: schema.FamilyBridge, Name: schema.EvLeaderAcquired, Time: at,
		Data: schema.Data{Event: schema.EvLeaderAcquired, Bridge: &schema.BridgeData{Leader: &schema.Leader{Epoch: 9}}}}
}

// readyFold is a cold member's fold whose first read of the log ended at
// stream sequence seq.
func readyFold(seq uint64) *coldFold {
	f := newColdFold()
	f.st, f.seq = callstate.New(), seq
	close(f.ready)
	return f
}

// A cold takeover reads the calls the log held just before its own epoch
// marker from the member's fold. In an orderly hand-over nothing follows
// the marker until the successor's provider opens, so the fold must answer
// even when it folded the marker before the takeover asked (it used to
// wait for a later event, for the takeover timeout, then read the whole
// log again).
func TestColdFoldBeforeMarker(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	t.Run("marker folded before the takeover asks", func(t *testing.T) {
		f := readyFold(9)
		f.observe(10, foldCall("7", t0))
		f.observe(11, foldMarker(t0.Add(time.Second)))
		f.observe(12, foldCall("8", t0.Add(2*time.Second))) // the new tenure's
		r := &haRun{fold: f}
		calls, last, ok := r.foldedBefore(ctx, 11)
		if !ok || !slices.Equal(calls, []uint32{7}) || !last.Equal(t0) {
			t.Fatalf("foldedBefore(11) = %v, %v, %v; want [7], %v, true", calls, last, ok, t0)
		}
	})

	t.Run("fold behind the marker", func(t *testing.T) {
		f := readyFold(9)
		r := &haRun{fold: f}
		type answer struct {
			calls []uint32
			ok    bool
		}
		got := make(chan answer, 1)
		go func() {
			calls, _, ok := r.foldedBefore(ctx, 12)
			got <- answer{calls, ok}
		}()
		f.observe(10, foldCall("7", t0))
		f.observe(11, foldMarker(t0)) // an earlier tenure's marker
		f.observe(12, foldMarker(t0))
		a := <-got
		if !a.ok || !slices.Equal(a.calls, []uint32{7}) {
			t.Fatalf("foldedBefore(12) = %v, %v; want [7], true", a.calls, a.ok)
		}
	})

	t.Run("first read of the log went past the marker", func(t *testing.T) {
		r := &haRun{fold: readyFold(20)}
		if _, _, ok := r.foldedBefore(ctx, 11); ok {
			t.Fatal("foldedBefore answered for a marker its fold never saw")
		}
	})
}

// A cold member's state view starts from the member's fold and is fed by
// it: every event the fold reads is in the view's seed or handed to the
// view afterwards — exactly once, in order — however the start falls
// between two events (the fold keeps reading meanwhile).
func TestColdFoldSharedWithTheStateView(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Millisecond) }
	const n = 2000

	f := readyFold(0)
	f.stopped = make(chan struct{})
	folded := make(chan struct{})
	go func() {
		defer close(folded)
		for i := 1; i <= n; i++ {
			f.observe(uint64(i), foldCall(fmt.Sprint(i), at(i)))
		}
	}()
	var (
		seedCalls int
		seedTime  time.Time
		tapped    []time.Time
		tapDone   = make(chan struct{})
	)
	ok := f.share(ctx, func(st *callstate.State, last time.Time) func(*schema.Event) {
		seedCalls, seedTime = len(st.Calls()), last
		return func(ev *schema.Event) {
			tapped = append(tapped, ev.Time)
			if len(tapped)+seedCalls == n {
				close(tapDone)
			}
		}
	})
	if !ok {
		t.Fatal("share refused a fold that had read the log")
	}
	<-folded
	if seedCalls < n {
		<-tapDone
	}
	f.unshare()
	f.observe(n+1, foldCall("after", at(n+1)))

	if seedTime != (time.Time{}) && !seedTime.Equal(at(seedCalls)) {
		t.Fatalf("seed of %d calls as of %v, want as of %v", seedCalls, seedTime, at(seedCalls))
	}
	for i, got := range tapped {
		if want := at(seedCalls + 1 + i); !got.Equal(want) {
			t.Fatalf("event %d handed to the view is of %v, want %v (the seed held %d calls)", i, got, want, seedCalls)
		}
	}
	if seedCalls+len(tapped) != n {
		t.Fatalf("seed %d calls + %d handed over, want %d: the view missed or repeated events", seedCalls, len(tapped), n)
	}

	t.Run("fold stopped before it read the log", func(t *testing.T) {
		f := newColdFold()
		f.stopped = make(chan struct{})
		close(f.stopped)
		started := false
		if f.share(ctx, func(*callstate.State, time.Time) func(*schema.Event) { started = true; return nil }) || started {
			t.Fatal("a view was started on a fold that never read the log")
		}
	})
}
