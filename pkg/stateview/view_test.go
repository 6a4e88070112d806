package stateview_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

func startBucket(t *testing.T) (*nats.Conn, natsjs.KeyValue) { return startBucketB(t) }

func startBucketB(t testing.TB) (*nats.Conn, natsjs.KeyValue) {
	t.Helper()
	_, nc := storetest.StartServer(t, t.TempDir())
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := jetstream.Provision(ctx, js, jetstream.ProvisionConfig{StateView: true, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, jetstream.DefaultStateBucket)
	if err != nil {
		t.Fatal(err)
	}
	return nc, kv
}

// run starts a View on nc and returns it with a function that closes it
// and waits for Run to return.
func run(t *testing.T, nc *nats.Conn) (*stateview.View, func()) {
	t.Helper()
	v, err := stateview.New(stateview.Config{Conn: nc, MaxInFlight: 8})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(context.Background()) }()
	return v, func() {
		v.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// withoutUpdated drops the Updated field of a value (the fold of the
// stream has no such field) for comparison.
func withoutUpdated(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("value %s: %v", raw, err)
	}
	delete(m, "updated")
	return m
}

func equalJSON(t *testing.T, a, b map[string]any) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// After a log with calls and CTIManager failovers, every line's and
// device's key holds exactly what LineOf and DeviceOf compute from the
// fold of the same events, and nothing else has a key.
func TestViewMatchesTheFold(t *testing.T) {
	nc, kv := startBucket(t)
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 6000, Lines: 30, Failovers: []int{2000, 4000}})
	v, stop := run(t, nc)
	fold := callstate.New()
	// Stop part-way through a call-heavy stretch, so keys hold calls.
	cut := 5500
	for _, ev := range evs[:cut] {
		v.Apply(ev)
		fold.Apply(ev)
	}
	stop()
	st := v.Stats()
	if st.Events != uint64(cut) || st.Dirty != 0 || st.InFlight != 0 || st.Writes == 0 {
		t.Fatalf("stats %+v", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, withCalls := 0, 0
	for k := range keys.Keys() {
		n++
		e, err := kv.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		kind, tok, _ := cutKey(k)
		name, err := schema.UnescapeKeyToken(tok)
		if err != nil {
			t.Fatalf("key %s: %v", k, err)
		}
		var want any
		var ok bool
		switch kind {
		case "line":
			var l stateview.Line
			l, ok = stateview.LineOf(fold, name)
			want = l
			if len(l.Calls) > 0 {
				withCalls++
			}
		case "device":
			want, ok = stateview.DeviceOf(fold, name)
		}
		if !ok {
			t.Fatalf("key %s: no such line or device in the fold", k)
		}
		wantJSON, _ := stateview.Marshal(want)
		if got, exp := withoutUpdated(t, e.Value()), withoutUpdated(t, wantJSON); !equalJSON(t, got, exp) {
			t.Errorf("key %s:\n got %s\nwant %s", k, e.Value(), wantJSON)
		}
	}
	if lines, devices := len(fold.Addresses()), len(fold.Terminals()); n != lines+devices {
		t.Fatalf("%d keys, want one per line (%d) and device (%d)", n, lines, devices)
	}
	if withCalls == 0 {
		t.Fatal("no line had a call at the cut: the test proves little")
	}
}

func cutKey(k string) (kind, tok string, ok bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '.' {
			return k[:i], k[i+1:], true
		}
	}
	return k, "", false
}

// A consumer reads a line's key and then watches it: its calls come and
// go. The far end of a call (a number the provider never reported) gets
// no key.
func TestWatchLineSeesCallsComeAndGo(t *testing.T) {
	nc, kv := startBucket(t)
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 3000, Lines: 10})
	dn, _ := storetest.Line(3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w, err := kv.Watch(ctx, schema.LineKey(dn))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	v, stop := run(t, nc)
	// Events arrive faster than writes are acknowledged, and the view
	// writes a key's latest value only: let every change of the line be
	// written, as at CTI's pace.
	for i, ev := range evs {
		v.Apply(ev)
		if ev.Family == schema.FamilyCall && schema.CallLine(&ev) == dn {
			testwait.Eventually(t, 10*time.Second, "the view idle", func() bool {
				st := v.Stats()
				return st.Events == uint64(i+1) && st.Dirty == 0 && st.InFlight == 0
			})
		}
	}
	stop()

	last, err := kv.Get(ctx, schema.LineKey(dn))
	if err != nil {
		t.Fatal(err)
	}
	var calls []int
	for seen := uint64(0); seen < last.Revision(); {
		var e natsjs.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			t.Fatalf("the watch ended before revision %d (calls so far %v)", last.Revision(), calls)
		}
		if e == nil {
			continue // the end of the (empty) initial values
		}
		seen = e.Revision()
		var l stateview.Line
		if err := json.Unmarshal(e.Value(), &l); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, len(l.Calls))
		if l.DN != dn || l.Updated.IsZero() {
			t.Fatalf("value %s", e.Value())
		}
	}
	came, went := false, false
	for i, n := range calls {
		if n > 0 {
			came = true
		}
		if came && n == 0 && i > 0 {
			went = true
		}
	}
	if !came || !went {
		t.Fatalf("line %s: call counts %v: calls never came and went", dn, calls)
	}
	if _, err := kv.Get(ctx, schema.LineKey("+4930999")); !errors.Is(err, natsjs.ErrKeyNotFound) {
		t.Fatalf("a number the provider never reported has a key: %v", err)
	}
}

// A call to a number the provider never reported (the far end) leaves no
// trace in the view: no key, nothing kept for it once the call is over.
func TestFarEndsLeaveNoState(t *testing.T) {
	nc, kv := startBucket(t)
	v, stop := run(t, nc)
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 400, Lines: 4})
	for _, ev := range evs {
		if ev.Family == schema.FamilyCall && ev.Data.Call != nil && ev.Data.Call.Connection != nil {
			// Every call's connections now point at numbers outside the
			// configuration.
			c := *ev.Data.Call
			cn := *c.Connection
			cn.Address = "+49" + cn.Address
			c.Connection = &cn
			c.TerminalConnection = nil
			ev.Data.Call = &c
		}
		v.Apply(ev)
	}
	stop()
	if st := v.Stats(); st.Keys > 8 {
		t.Fatalf("the view tracks %d keys for 4 phones with a line each", st.Keys)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k := range keys.Keys() {
		if strings.Contains(k, "=2B49") {
			t.Fatalf("a far end got key %s", k)
		}
	}
}

// A view fed from the stream by a member of a high-availability group:
// seeded with the fold of the log so far, it writes while Writing says
// yes, nothing while it says no (the member is a standby; another member
// writes meanwhile), and once it says yes again it writes every key anew —
// also the keys no event changed since, which the other writer may have
// left stale — so the bucket ends at the fold of the whole log.
func TestSeededViewWritesEveryKeyOnceWritingAgain(t *testing.T) {
	nc, kv := startBucket(t)
	// Many lines and no failover after the seed: most keys see no event
	// while the member is active again.
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 5000, Lines: 300, Failovers: []int{1000}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	bucketSeq := func() uint64 {
		s, err := js.Stream(ctx, "KV_"+jetstream.DefaultStateBucket)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}

	// The member folded the log up to event 3000 and follows from there,
	// active at first.
	seed, fold := callstate.New(), callstate.New()
	for _, ev := range evs[:3000] {
		seed.Apply(ev)
		fold.Apply(ev)
	}
	var active atomic.Bool
	active.Store(true)
	v, err := stateview.New(stateview.Config{Conn: nc, MaxInFlight: 8, Seed: seed, SeedTime: evs[2999].Time, Writing: active.Load})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(context.Background()) }()
	apply := func(from, to int) {
		for _, ev := range evs[from:to] {
			v.Apply(ev)
			fold.Apply(ev)
		}
	}
	apply(3000, 3500)
	testwait.Eventually(t, 10*time.Second, "the active member's keys written", func() bool {
		st := v.Stats()
		return st.Events == 500 && st.Dirty == 0 && st.InFlight == 0
	})
	if st := v.Stats(); st.Keys != len(fold.Addresses())+len(fold.Terminals()) {
		t.Fatalf("%d keys, want one per line and device of the seed and the events: %+v", st.Keys, st)
	}

	// A standby now: it folds, writes nothing.
	active.Store(false)
	before := bucketSeq()
	apply(3500, 4500)
	testwait.Eventually(t, 10*time.Second, "the standby's view to fold its events", func() bool { return v.Stats().Events == 1500 })
	if after := bucketSeq(); after != before {
		t.Fatalf("a standby's view wrote %d values", after-before)
	}
	// Meanwhile another writer left the keys stale (as of event 2000).
	other, stopOther := run(t, nc)
	for _, ev := range evs[:2000] {
		other.Apply(ev)
	}
	stopOther()

	// Active again: every key is written anew.
	active.Store(true)
	apply(4500, 5000)
	v.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := v.Stats(); st.Dirty != 0 || st.InFlight != 0 {
		t.Fatalf("stats after close %+v", st)
	}
	for _, a := range fold.Addresses() {
		want, _ := stateview.LineOf(fold, a.DN)
		compareKey(ctx, t, kv, schema.LineKey(a.DN), want)
	}
	for _, d := range fold.Terminals() {
		want, _ := stateview.DeviceOf(fold, d.Name)
		compareKey(ctx, t, kv, schema.DeviceKey(d.Name), want)
	}
}

// A standby's view that never becomes active writes nothing and its Close
// does not wait for keys it may not write.
func TestViewThatNeverWritesClosesAtOnce(t *testing.T) {
	nc, _ := startBucket(t)
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 500, Lines: 5})
	v, err := stateview.New(stateview.Config{Conn: nc, Writing: func() bool { return false }, DrainTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(context.Background()) }()
	for _, ev := range evs {
		v.Apply(ev)
	}
	v.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := v.Stats(); st.Writes != 0 || st.Events != uint64(len(evs)) || st.Dirty == 0 {
		t.Fatalf("stats %+v: want every event folded, keys dirty, none written", st)
	}
}

func compareKey(ctx context.Context, t *testing.T, kv natsjs.KeyValue, key string, want any) {
	t.Helper()
	e, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatalf("key %s: %v", key, err)
	}
	wantJSON, _ := stateview.Marshal(want)
	if got, exp := withoutUpdated(t, e.Value()), withoutUpdated(t, wantJSON); !equalJSON(t, got, exp) {
		t.Errorf("key %s:\n got %s\nwant %s", key, e.Value(), wantJSON)
	}
}
