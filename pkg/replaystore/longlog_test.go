package replaystore_test

import (
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
)

// TestStateAtReadsOnlyAfterNearestSnapshot writes a long log (200,000
// events; 40,000 under the race detector), lets the Snapshotter snapshot
// it every 10,000 events, and shows that a point-in-time rebuild near the
// end reads only the events after the nearest snapshot, not the log.
func TestStateAtReadsOnlyAfterNearestSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("long log")
	}
	total := 200_000
	if raceEnabled {
		total = 40_000
	}
	srv, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	start := time.Now()
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: total, Lines: 200, Failovers: []int{total / 3, 2 * total / 3}})
	storetest.Publish(t, js, "lab", evs)
	t.Logf("wrote %d events in %s", total, time.Since(start))
	start = time.Now()
	snaps := runSnapshotter(t, nc, 10_000, -1, uint64(total))
	t.Logf("snapshotter folded %d events into %d snapshots in %s", total, len(snaps), time.Since(start))

	// The bound starts once the log is written and folded: under load
	// that setup alone can take longer than the reads it bounds.
	ctx := ctxT(t)
	st, err := replaystore.Open(ctx, replaystore.Config{Server: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	target := uint64(total - 4_321)
	before := st.EventsRead()
	start = time.Now()
	got, res, err := st.StateAt(ctx, "lab", replaystore.Point{Seq: target}, nil)
	if err != nil {
		t.Fatal(err)
	}
	read := st.EventsRead() - before
	t.Logf("state at seq %d: snapshot at %d, read %d events in %s", target, res.Snapshot.Seq, read, time.Since(start))
	wantSnap := target / 10_000 * 10_000
	if res.Snapshot == nil || res.Snapshot.Seq != wantSnap {
		t.Fatalf("nearest snapshot = %+v, want the one at %d", res.Snapshot, wantSnap)
	}
	if read != target-wantSnap || res.EventsRead != read {
		t.Fatalf("read %d events (result says %d), want exactly the %d after the snapshot", read, res.EventsRead, target-wantSnap)
	}
	if read > 10_000 {
		t.Fatalf("read %d events: more than one snapshot interval", read)
	}
	if stateJSON(t, got) != foldJSON(t, evs[:target]) {
		t.Fatal("rebuilt state differs from the fold of the log up to the target")
	}
}
