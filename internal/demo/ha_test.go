package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// The HA demo's store against its ground truth (the fault matrix's
// checker with the high-availability rules): nothing the simulator sent
// is missing outside an explicit gap, nothing is stored twice, the active
// bridge's crash included.
func TestDemoHAStoreMatchesGroundTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for ~12 s")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	err := Run(context.Background(), Options{
		DataDir: dir, NATSListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", RunFor: 12 * time.Second, Heartbeat: 500 * time.Millisecond,
		Seed: 5, Rate: 5, Cluster: "lab", Mode: "binary", Instance: "demoha",
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Out: &out,
		HA: &HAOptions{Mode: ha.ModeHot, LeaseTTL: 2 * time.Second, KillActiveAfter: 4 * time.Second},
	})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	c := faultmatrix.NewChecker()
	c.HA = true
	c.Details = true
	gt := faultmatrix.NewGroundTruthWriter(c)
	b, err := os.ReadFile(filepath.Join(dir, "groundtruth.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gt.Write(b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store, err := replaystore.Open(ctx, replaystore.Config{StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := faultmatrix.ReadStream(ctx, store.JetStream(), store.StreamName(), c); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	t.Logf("check:\n%s", rep)
	if !rep.OK() || c.Count(schema.EvLeaderAcquired) != 2 {
		t.Fatalf("the HA demo's store does not match its ground truth (or holds no takeover):\n%s", rep)
	}
}
