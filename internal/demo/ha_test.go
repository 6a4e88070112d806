package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
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
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: filepath.Join(dir, "js"), DontListen: true, NoSigs: true, ServerName: "ctibridge"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := natsjs.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := faultmatrix.ReadStream(ctx, js, jetstream.DefaultStream, c); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	t.Logf("check:\n%s", rep)
	if !rep.OK() || c.Count(schema.EvLeaderAcquired) != 2 {
		t.Fatalf("the HA demo's store does not match its ground truth (or holds no takeover):\n%s", rep)
	}
}
