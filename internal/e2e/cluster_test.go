package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/demo"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
)

// `bridge demo --nats-cluster 3 --kill-nats-leader-after …` with a
// CTIManager failure too: the store it leaves — three nodes' stores,
// served again as a cluster — holds valid CloudEvents, each once, the
// CTI failover in the engine's order, the bridge's record of the NATS
// leader change, and (the ground-truth checker) every event the simulator
// sent.
func TestDemoNATSClusterLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo on a three-node cluster for ~15 s")
	}
	dir := runDemo(t, func(o *demo.Options) {
		o.NATSCluster = 3
		o.RunFor = 14 * time.Second
		o.FailPrimaryAfter = 3 * time.Second
		o.KillNATSLeaderAfter = 7 * time.Second
	})
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		if st, err := os.Stat(filepath.Join(dir, n, "jetstream")); err != nil || !st.IsDir() {
			t.Fatalf("no store of node %s in %s: %v", n, dir, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store, err := replaystore.Open(ctx, replaystore.Config{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	names := checkStoredEvents(t, readStream(t, store.Conn()))
	checkFailoverOrder(t, names)
	if !slices.Contains(names, "NATSLeaderChanged") {
		t.Fatal("no NATSLeaderChanged record of the killed leader")
	}

	c := faultmatrix.NewChecker()
	c.Details = true
	c.RoutePoints = map[string]bool{}
	for _, d := range ctisim.DefaultCluster().Devices {
		if d.Type == ctilink.DeviceRoutePoint {
			c.RoutePoints[d.Name] = true
		}
	}
	f, err := os.Open(filepath.Join(dir, "groundtruth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r ctisim.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		c.AddRecord(r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := faultmatrix.ReadStream(ctx, store.JetStream(), "CTI", c); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	t.Logf("check:\n%s", rep)
	if !rep.OK() || rep.FramesWithEvents == 0 || rep.PublishGaps != 0 {
		t.Fatalf("the cluster demo's stream does not match the simulator's ground truth:\n%s", rep)
	}
}
