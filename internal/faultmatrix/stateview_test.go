package faultmatrix

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// A KV watch on line keys during traffic with a CTIManager failover: the
// lines' calls come and go, the lines go out of service with the
// CTIManager and come back on the backup, and when the bridge has stopped
// every key holds exactly what the fold of the stream says.
func TestStateViewWatchDuringFailover(t *testing.T) {
	r := startRig(t, RigConfig{Rate: 8, StateView: true})
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	kv, err := js.KeyValue(ctx, jetstream.DefaultStateBucket)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	var (
		mu      sync.Mutex
		history = map[string][]stateview.Line{}
		lastRev uint64
	)
	go func() {
		for e := range w.Updates() {
			if e == nil {
				continue
			}
			mu.Lock()
			lastRev = max(lastRev, e.Revision())
			mu.Unlock()
			if !strings.HasPrefix(e.Key(), "line.") {
				continue
			}
			var l stateview.Line
			if err := json.Unmarshal(e.Value(), &l); err != nil {
				t.Errorf("key %s: %v", e.Key(), err)
				continue
			}
			mu.Lock()
			history[l.DN] = append(history[l.DN], l)
			mu.Unlock()
		}
	}()

	if _, err := r.StartBridge(nil); err != nil {
		t.Fatal(err)
	}
	waitUp(t, r, nil)
	letTrafficFlow(3 * time.Second)
	if err := r.Sim.KillNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	waitFailovers(t, r, 1, onNode("ctim-b"))
	letTrafficFlow(3 * time.Second)
	if err := r.StopBridge(); err != nil {
		t.Fatal(err)
	}
	// The view wrote everything before the bridge stopped; wait for the
	// watch to have delivered it.
	st, err := js.Stream(ctx, "KV_"+jetstream.DefaultStateBucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, bound, "the watch to catch up with the bucket", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lastRev >= info.State.LastSeq
	})

	mu.Lock()
	defer mu.Unlock()
	cameAndWent, outAndBack := 0, 0
	for _, vals := range history {
		came, went, out, back := false, false, false, false
		for _, l := range vals {
			switch {
			case len(l.Calls) > 0:
				came = true
			case came:
				went = true
			}
			switch {
			case l.State == "OUT_OF_SERVICE":
				out = true
			case out && l.State == "IN_SERVICE":
				back = true
			}
		}
		if went {
			cameAndWent++
		}
		if back {
			outAndBack++
		}
	}
	if cameAndWent < 3 || outAndBack < 3 {
		t.Fatalf("of %d lines watched, calls came and went on %d and the line went out of and back into service on %d", len(history), cameAndWent, outAndBack)
	}

	// The bucket's final values are the fold of the stream's.
	fold := callstate.New()
	if err := jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err == nil {
			fold.Apply(ev)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, a := range fold.Addresses() {
		want, _ := stateview.LineOf(fold, a.DN)
		checkKey(t, ctx, kv, schema.LineKey(a.DN), want)
		keys++
	}
	for _, d := range fold.Terminals() {
		want, _ := stateview.DeviceOf(fold, d.Name)
		checkKey(t, ctx, kv, schema.DeviceKey(d.Name), want)
		keys++
	}
	t.Logf("%d keys match the fold; calls came and went on %d lines, %d lines went out of and back into service", keys, cameAndWent, outAndBack)
}

// checkKey compares a key's value with want, leaving out Updated (the
// fold has no such field).
func checkKey(t *testing.T, ctx context.Context, kv natsjs.KeyValue, key string, want any) {
	t.Helper()
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatalf("key %s: %v", key, err)
	}
	wantJSON, err := stateview.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(normalize(t, e.Value()), normalize(t, wantJSON)) {
		t.Errorf("key %s:\n got %s\nwant %s", key, e.Value(), wantJSON)
	}
}

func normalize(t *testing.T, raw []byte) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "updated")
	out, _ := json.Marshal(m)
	return out
}
