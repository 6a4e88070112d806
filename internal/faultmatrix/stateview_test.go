package faultmatrix

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// A KV watch on line keys during traffic with a CTIManager failover: the
// lines' calls come and go, the lines go out of service with the
// CTIManager and come back on the backup, and when the bridge has stopped
// every key holds exactly what the fold of the stream says.
func TestStateViewWatchDuringFailover(t *testing.T) {
	r := StartTestRig(t, RigConfig{Rate: 8, StateView: true})
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
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

	// tally counts the lines whose calls came and went, and those that
	// went out of and back into service, in what the watch delivered.
	tally := func() (cameAndWent, outAndBack int) {
		mu.Lock()
		defer mu.Unlock()
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
		return cameAndWent, outAndBack
	}

	if _, err := r.StartBridge(nil); err != nil {
		t.Fatal(err)
	}
	WaitUp(t, r, nil)
	// Calls come and go before the failover (as fast as the traffic makes
	// them: no fixed time, the machine's load sets the pace).
	testwait.Eventually(t, time.Minute, "calls to come and go on three lines", func() bool {
		came, _ := tally()
		return came >= 3
	})
	if err := r.Sim.KillNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	WaitFailovers(t, r, 1, OnNode("ctim-b"))
	testwait.Eventually(t, time.Minute, "three lines out of and back into service", func() bool {
		_, back := tally()
		return back >= 3
	})
	LetTrafficFlow(2 * time.Second)
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
	testwait.Eventually(t, WaitBound, "the watch to catch up with the bucket", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lastRev >= info.State.LastSeq
	})
	cameAndWent, outAndBack := tally()

	// The bucket's final values are the fold of the stream's.
	keys, mismatch := StateViewMismatch(ctx, js, kv)
	if mismatch != "" {
		t.Fatal(mismatch)
	}
	t.Logf("%d keys match the fold; calls came and went on %d lines, %d lines went out of and back into service", keys, cameAndWent, outAndBack)
}

// `bridge run` with its default configuration (nats.stateView on) keeps
// the state view, provisioning the bucket itself: after a CTIManager
// failover, with new calls stopped, every line's and device's key holds
// what the fold of the stream says, while the daemon still runs.
func TestBridgeRunStateViewAfterFailover(t *testing.T) {
	bin := BridgeBinary(t)
	r := StartTestRig(t, RigConfig{Rate: 8})
	d := StartTestDaemon(t, bin, WriteDaemonConfig(t, r))
	first := WaitNewEvent(t, r, subjInService, "", d)
	LetTrafficFlow(3 * time.Second)
	if err := r.Sim.KillNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	// The provider back in service, on the backup.
	WaitNewEvent(t, r, subjInService, first, d)
	LetTrafficFlow(2 * time.Second)
	if err := r.Sim.SetRate(0); err != nil {
		t.Fatal(err)
	}
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var kv natsjs.KeyValue
	testwait.Eventually(t, WaitBound, "the daemon to provision "+jetstream.DefaultStateBucket, func() bool {
		kv, err = js.KeyValue(ctx, jetstream.DefaultStateBucket)
		return err == nil
	})
	// The calls up at the failover end within the simulator's talk and
	// hold times; until then the view may lag the stream by a write.
	var keys int
	last := ""
	if !testwait.Poll(time.Minute, func() bool {
		keys, last = StateViewMismatch(ctx, js, kv)
		return last == ""
	}) {
		t.Fatalf("a minute after new calls stopped the state view still differs from the stream: %s", last)
	}
	if keys < len(r.Cluster().Devices) {
		t.Fatalf("only %d keys compared for %d devices", keys, len(r.Cluster().Devices))
	}
	if code := d.StopOrFail(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d.Out)
	}
	t.Logf("after the failover %d keys of the daemon's state view match the fold of the stream", keys)
}
