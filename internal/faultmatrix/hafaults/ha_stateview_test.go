package hafaults

import (
	"context"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// The state view (KV cti-state) in a group: the active member keeps it
// and, after an orderly hand-over, the new active does — its keys end at
// exactly the fold of the stream, calls of the old tenure included, while
// both members still run. The standby writes nothing.
func TestHAStateViewAcrossHandover(t *testing.T) {
	bothModes(t, func(t *testing.T, mode ha.Mode) {
		cfg := haRigConfig()
		cfg.StateView = true
		r := faultmatrix.StartTestRig(t, cfg)
		startPair(t, r, mode)
		faultmatrix.LetTrafficFlow(2 * time.Second)
		r.Member("a").StepDown()
		if got := waitActive(t, r, "a"); got != "b" {
			t.Fatalf("member %s active after a's step-down, want b", got)
		}
		faultmatrix.LetTrafficFlow(2 * time.Second)
		// Quiet traffic, so that the stream stops changing and the view
		// can be compared with its fold.
		if err := r.Sim.SetRate(0); err != nil {
			t.Fatal(err)
		}
		js, err := natsjs.New(r.Conn)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		kv, err := js.KeyValue(ctx, jetstream.DefaultStateBucket)
		if err != nil {
			t.Fatal(err)
		}
		keys, mismatch := 0, ""
		testwait.Eventually(t, time.Minute, "every key of the state view equal to the fold of the stream", func() bool {
			keys, mismatch = faultmatrix.StateViewMismatch(ctx, js, kv)
			return mismatch == "" && keys > 0
		})
		if mismatch != "" {
			t.Fatal(mismatch)
		}
		writesOf := func(name string) uint64 {
			st, ok := r.Member(name).StateViewStats()
			if !ok {
				t.Fatalf("member %s keeps no state view", name)
			}
			return st.Writes
		}
		if writesOf("b") == 0 {
			t.Fatal("the new active wrote no key")
		}
		// The standby (a, since its step-down) folds the log but writes
		// nothing: its writes stop with its tenure.
		aWrites := writesOf("a")
		if err := r.Sim.SetRate(4); err != nil {
			t.Fatal(err)
		}
		faultmatrix.LetTrafficFlow(time.Second)
		if got := writesOf("a"); got != aWrites {
			t.Fatalf("the standby wrote %d keys", got-aWrites)
		}
		t.Logf("%d keys of the state view equal the fold of the stream after the hand-over", keys)
		checkHA(t, r, mode)
	})
}
