package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/demo"
	"github.com/ctibridge/ctibridge/internal/ha"
)

// The high-availability demo: two bridges, the active one killed; the
// store holds valid CloudEvents, each id once, with the takeover
// (LeaderAcquired twice, the second taking over from the killed one).
// The same checks as the single bridge's demo, read by an independent
// consumer.
func TestDemoHATakeoverLandsInJetStream(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for ~14 s")
	}
	for _, mode := range []ha.Mode{ha.ModeHot, ha.ModeCold} {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			var out bytes.Buffer
			err := demo.Run(context.Background(), demo.Options{
				DataDir: dir, NATSListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0",
				RunFor: 14 * time.Second, Heartbeat: 500 * time.Millisecond,
				Seed: 3, Rate: 5, Cluster: "lab", Mode: "binary", Instance: "e2e-" + fmt.Sprint(time.Now().UnixNano()),
				Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Out: &out,
				HA: &demo.HAOptions{Mode: mode, LeaseTTL: 2 * time.Second, KillActiveAfter: 5 * time.Second},
			})
			if err != nil {
				t.Fatalf("demo: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "killed (active)") || !strings.Contains(out.String(), "after bridge-") {
				t.Fatalf("the demo did not tell the takeover:\n%s", out.String())
			}
			// The HA demo runs on the fault-matrix rig, whose JetStream
			// store is the data directory's js/ (replay --store finds it
			// from the data directory).
			events, info := readStore(t, filepath.Join(dir, "js"))
			checkStreamCost(t, events, info)
			checkStoredEvents(t, events)
			var acquired []map[string]any
			for _, e := range events {
				if e.ce.Extensions()["jtapievent"] == "LeaderAcquired" {
					acquired = append(acquired, e.data)
				}
			}
			if len(acquired) != 2 {
				t.Fatalf("%d LeaderAcquired, want the first tenure and the takeover", len(acquired))
			}
			b, _ := json.Marshal(acquired[1])
			if !strings.Contains(string(b), `"previousEnd":"expired"`) || !strings.Contains(string(b), `"previousInstance"`) {
				t.Fatalf("the takeover's LeaderAcquired does not name the killed bridge: %s", b)
			}
		})
	}
}
