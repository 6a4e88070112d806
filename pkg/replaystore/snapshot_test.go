package replaystore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func foldJSON(t testing.TB, evs []schema.Event) string {
	t.Helper()
	st := callstate.New()
	for _, ev := range evs {
		st.Apply(ev)
	}
	b, err := st.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func stateJSON(t testing.TB, st *callstate.State) string {
	t.Helper()
	b, err := st.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runSnapshotter runs a Snapshotter until it stored a snapshot covering
// seq, then stops it and returns every snapshot it reported.
func runSnapshotter(t testing.TB, nc *nats.Conn, every int, interval time.Duration, untilSeq uint64) []replaystore.SnapshotInfo {
	t.Helper()
	var mu sync.Mutex
	var got []replaystore.SnapshotInfo
	done := make(chan struct{})
	sn, err := replaystore.NewSnapshotter(replaystore.SnapshotterConfig{
		Conn: nc, Cluster: "lab", Every: every, Interval: interval,
		OnSnapshot: func(i replaystore.SnapshotInfo) {
			mu.Lock()
			got = append(got, i)
			mu.Unlock()
			if i.Seq >= untilSeq {
				select {
				case <-done:
				default:
					close(done)
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sn.Run(ctx) }()
	select {
	case <-done:
	case err := <-errc:
		t.Fatalf("snapshotter ended early: %v", err)
	case <-time.After(90 * time.Second):
		t.Fatalf("no snapshot covering seq %d within 90s", untilSeq)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("snapshotter: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestSnapshotterAndStateAt(t *testing.T) {
	srv, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 25_000, Failovers: []int{12_000}})
	storetest.Publish(t, js, "lab", evs)

	snaps := runSnapshotter(t, nc, 5000, -1, 25_000)
	if len(snaps) != 5 {
		t.Fatalf("snapshots = %+v, want 5 (every 5000 events)", snaps)
	}
	for i, s := range snaps {
		if s.Seq != uint64(5000*(i+1)) || s.Events != s.Seq || s.Time.IsZero() {
			t.Errorf("snapshot %d = %+v", i, s)
		}
	}

	// The bound starts once the log is written and folded: under load
	// that setup alone can take longer than the reads it bounds.
	ctx := ctxT(t)
	st, err := replaystore.Open(ctx, replaystore.Config{Server: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	listed, err := st.Snapshots(ctx, "lab")
	if err != nil || len(listed) != 5 {
		t.Fatalf("Snapshots = %+v, %v", listed, err)
	}

	// By sequence: the snapshot at 10000, then 2345 events.
	got, res, err := st.StateAt(ctx, "lab", replaystore.Point{Seq: 12_345}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot == nil || res.Snapshot.Seq != 10_000 || res.EventsRead != 2345 || res.LastSeq != 12_345 {
		t.Fatalf("StateAt(seq 12345) = %+v (snapshot %+v)", res, res.Snapshot)
	}
	if stateJSON(t, got) != foldJSON(t, evs[:12_345]) {
		t.Fatal("state at seq 12345 differs from the fold of the first 12345 events")
	}
	// Exactly at a snapshot: nothing to read.
	if _, res, err := st.StateAt(ctx, "lab", replaystore.Point{Seq: 20_000}, nil); err != nil || res.EventsRead != 0 || res.Snapshot.Seq != 20_000 {
		t.Errorf("StateAt(seq 20000) = %+v, %v", res, err)
	}
	// Before the first snapshot: from the start.
	got, res, err = st.StateAt(ctx, "lab", replaystore.Point{Seq: 1200}, nil)
	if err != nil || res.Snapshot != nil || res.EventsRead != 1200 {
		t.Fatalf("StateAt(seq 1200) = %+v, %v", res, err)
	}
	if stateJSON(t, got) != foldJSON(t, evs[:1200]) {
		t.Fatal("state at seq 1200 wrong")
	}

	// By time: every event that happened at or before T, whatever its
	// stored time.
	at := replaystore.EventTime(&evs[17_499])
	var upTo []schema.Event
	for i := range evs {
		if !replaystore.EventTime(&evs[i]).After(at) {
			upTo = append(upTo, evs[i])
		}
	}
	got, res, err = st.StateAt(ctx, "lab", replaystore.Point{Time: at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot == nil || res.Snapshot.Seq != 15_000 || res.Snapshot.Time.After(at) {
		t.Fatalf("StateAt(time) = %+v from snapshot %+v, want the snapshot at 15000", res, res.Snapshot)
	}
	if !res.LastTime.Equal(at) {
		t.Errorf("latest time folded %s, want %s", res.LastTime, at)
	}
	if stateJSON(t, got) != foldJSON(t, upTo) {
		t.Fatal("state at a time differs from the fold of the events that happened up to it")
	}
	// End of log.
	got, _, err = st.StateAt(ctx, "lab", replaystore.Point{}, nil)
	if err != nil || stateJSON(t, got) != foldJSON(t, evs) {
		t.Fatalf("state at end: %v", err)
	}

	// A restarted Snapshotter resumes from its latest snapshot; with fewer
	// new events than Every, the interval stores them.
	more := storetest.SyntheticLog(storetest.LogConfig{Events: 28_000, Failovers: []int{12_000}})
	storetest.Publish(t, js, "lab", more[25_000:])
	snaps = runSnapshotter(t, nc, 10_000, 100*time.Millisecond, 28_000)
	if len(snaps) == 0 || snaps[0].Seq <= 25_000 || snaps[len(snaps)-1].Seq != 28_000 || snaps[len(snaps)-1].Events != 28_000 {
		t.Fatalf("resumed snapshots = %+v, want them after 25000 and the last at 28000", snaps)
	}
	got, res, err = st.StateAt(ctx, "lab", replaystore.Point{}, nil)
	if err != nil || res.EventsRead != 0 || stateJSON(t, got) != foldJSON(t, more) {
		t.Fatalf("state at the end after resume: %+v, %v", res, err)
	}
}

func TestNoSnapshotStream(t *testing.T) {
	ctx := ctxT(t)
	srv, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 300})
	storetest.Publish(t, js, "lab", evs)
	st, err := replaystore.Open(ctx, replaystore.Config{Server: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.NearestSnapshot(ctx, "lab", replaystore.Point{}); !errors.Is(err, replaystore.ErrNoSnapshot) {
		t.Errorf("NearestSnapshot without a snapshot stream: %v", err)
	}
	got, res, err := st.StateAt(ctx, "lab", replaystore.Point{Seq: 150}, nil)
	if err != nil || res.Snapshot != nil || res.EventsRead != 150 || stateJSON(t, got) != foldJSON(t, evs[:150]) {
		t.Fatalf("StateAt without snapshots: %+v, %v", res, err)
	}
}

func TestSnapshotterConfigValidate(t *testing.T) {
	_, err := replaystore.NewSnapshotter(replaystore.SnapshotterConfig{Every: -1, Replicas: 9})
	for _, want := range []string{"Conn is required", "Cluster is required", "Every -1", "Replicas 9"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}
}

// A snapshot larger than the server's max_payload is stored in parts and
// read back whole.
func TestSnapshotInParts(t *testing.T) {
	ctx := ctxT(t)
	srv, nc := storetest.StartServerWith(t, t.TempDir(), func(o *server.Options) { o.MaxPayload = 4 << 10 })
	js := storetest.CreateEventStream(t, nc, "CTI")
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 6000, Lines: 600, Failovers: []int{3000}})
	storetest.Publish(t, js, "lab", evs)
	snaps := runSnapshotter(t, nc, 6000, -1, 6000)
	if len(snaps) != 1 || len(snaps[0].PartSeqs) == 0 {
		t.Fatalf("snapshots = %+v, want one in several parts (max payload 4 KiB)", snaps)
	}
	st, err := replaystore.Open(ctx, replaystore.Config{Server: srv.ClientURL()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, res, err := st.StateAt(ctx, "lab", replaystore.Point{}, nil)
	if err != nil || res.Snapshot == nil || res.EventsRead != 0 {
		t.Fatalf("StateAt from a snapshot in parts: %+v, %v", res, err)
	}
	if stateJSON(t, got) != foldJSON(t, evs) {
		t.Fatal("a snapshot read back from its parts differs from the fold")
	}
	t.Logf("snapshot of %d bytes in %d parts", snaps[0].Size, len(snaps[0].PartSeqs)+1)
}
