package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
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
	dir := runTimedDemo(t, func(o *demo.Options) {
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

	events := readStream(t, store.Conn())
	names := checkStoredEvents(t, events)
	// On a replicated stream the bridge keeps each entity's order, not the
	// order across entities (one message per entity in flight: a new
	// leader could otherwise store an entity's later events before the
	// earlier ones it refused during the election). The failover story is
	// told in the engine's order, as replay's timeline does.
	checkFailoverOrder(t, engineOrder(t, events))
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

// engineOrder returns the names of the engine's events (sessions
// <instance>-p<N>) in the order the engine emitted them: by provider
// session N, then by the session sequence of the CloudEvent id
// (<session>-<sequence>).
func engineOrder(t *testing.T, events []storedEvent) []string {
	t.Helper()
	type emitted struct {
		n, seq int
		name   string
	}
	var out []emitted
	for _, e := range events {
		id := e.ce.ID()
		i := strings.LastIndexByte(id, '-')
		session := id[:max(i, 0)]
		j := strings.LastIndex(session, "-p")
		if i < 0 || j < 0 {
			continue
		}
		n, err1 := strconv.Atoi(session[j+2:])
		seq, err2 := strconv.Atoi(id[i+1:])
		if err1 != nil || err2 != nil {
			continue // a bridge (-b) or publisher (-pub) record
		}
		out = append(out, emitted{n, seq, e.data["event"].(string)})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].n != out[b].n {
			return out[a].n < out[b].n
		}
		return out[a].seq < out[b].seq
	})
	names := make([]string, len(out))
	for i, e := range out {
		names[i] = e.name
	}
	return names
}
