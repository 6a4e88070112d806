// Package demo runs everything the bridge needs in one process: an embedded
// NATS server with JetStream, a simulated CUCM cluster (primary, backup and
// least-priority CTIManagers with call traffic) and the bridge itself. It
// backs `bridge demo`.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// Options are the demo's knobs (the `bridge demo` flags).
type Options struct {
	DataDir          string
	NATSListen       string
	HTTPListen       string
	RunFor           time.Duration // 0: until ctx ends
	FailPrimaryAfter time.Duration // 0: never
	Heartbeat        time.Duration // server heartbeat interval
	Seed             int64
	Rate             float64
	Cluster          string
	Mode             string // binary or structured
	Instance         string
	// NATSCluster, if > 1, runs NATS as an embedded cluster of that many
	// nodes (client ports from NATSListen's port on) with R<n> streams.
	NATSCluster int
	// NATSSyncAlways makes the embedded server(s) fsync every write before
	// acknowledging it, as `bridge run` does by default.
	NATSSyncAlways bool
	// KillNATSLeaderAfter kills the node leading the event stream after
	// this long (0: never); it is started again natsNodeDownFor later.
	KillNATSLeaderAfter time.Duration
	Logger              zerolog.Logger
	// Out receives the human-readable banner and summary.
	Out io.Writer
	// HA, if set, runs two bridges as a high-availability pair instead of
	// one (ha.go).
	HA *HAOptions
	// Started, if set, is called once everything runs (after the banner),
	// with the running parts: a caller that drives the demo (a test)
	// injects faults and waits on them instead of on wall-clock times.
	// The HA demo (HA set) does not call it.
	Started func(Running)
}

// Running are the parts of a running demo.
type Running struct {
	Sim    *ctisim.Server
	Bridge *bridge.Bridge
	// NATS is the embedded NATS client URL (comma-separated for a cluster).
	NATS string
}

// Validate checks the options, naming the flag to fix.
func (o *Options) Validate() error {
	var errs []error
	if o.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is empty: give a directory for the JetStream store"))
	}
	if o.Heartbeat < 100*time.Millisecond || o.Heartbeat > time.Hour {
		errs = append(errs, fmt.Errorf("--heartbeat %s: use a value between 100ms and 1h (e.g. 1s)", o.Heartbeat))
	}
	if o.Rate < 0 || o.Rate > 1000 {
		errs = append(errs, fmt.Errorf("--rate %v: use 0 to 1000 calls per second", o.Rate))
	}
	if o.RunFor < 0 || o.FailPrimaryAfter < 0 {
		errs = append(errs, errors.New("--run-for and --fail-primary-after must not be negative"))
	}
	if o.RunFor > 0 && o.FailPrimaryAfter >= o.RunFor {
		errs = append(errs, fmt.Errorf("--fail-primary-after %s is not before --run-for %s: the failover would never happen", o.FailPrimaryAfter, o.RunFor))
	}
	if _, err := schema.ParseMode(o.Mode); err != nil {
		errs = append(errs, fmt.Errorf("--mode: %w", err))
	}
	if o.NATSCluster < 0 || o.NATSCluster == 2 || o.NATSCluster > 9 {
		errs = append(errs, fmt.Errorf("--nats-cluster %d: use 3 (a cluster that survives the loss of a node), up to 9, or 0/1 for one server", o.NATSCluster))
	}
	if o.KillNATSLeaderAfter < 0 {
		errs = append(errs, errors.New("--kill-nats-leader-after must not be negative"))
	}
	if o.KillNATSLeaderAfter > 0 && o.NATSCluster < 3 {
		errs = append(errs, errors.New("--kill-nats-leader-after needs --nats-cluster 3: a single server has no leader to lose (it would be an outage)"))
	}
	if o.RunFor > 0 && o.KillNATSLeaderAfter >= o.RunFor {
		errs = append(errs, fmt.Errorf("--kill-nats-leader-after %s is not before --run-for %s", o.KillNATSLeaderAfter, o.RunFor))
	}
	errs = append(errs, o.validateHA()...)
	return errors.Join(errs...)
}

// Run runs the demo until ctx ends or RunFor elapses, then shuts down in
// order (bridge drained first, then the simulator and NATS) and prints a
// summary.
func Run(ctx context.Context, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.HA != nil {
		return runHA(ctx, o)
	}
	log := o.Logger
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("demo: data dir: %w", err)
	}
	dataDir, _ := filepath.Abs(o.DataDir)

	// NATS with JetStream: one server, or a cluster.
	nats, err := startNATS(o, dataDir, log)
	if err != nil {
		return err
	}
	defer nats.shutdown()
	nc, err := nats.connect("ctibridge-demo")
	if err != nil {
		return err
	}
	defer nc.Close()

	// The simulated cluster: ephemeral ports, the server's heartbeat fixed
	// at --heartbeat, ground truth next to the store.
	gtPath := filepath.Join(dataDir, "groundtruth.jsonl")
	gtFile, err := os.Create(gtPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer gtFile.Close()
	cluster := ctisim.DefaultCluster().WithEphemeralPorts().WithHeartbeat(ctisim.HeartbeatConfig{Min: o.Heartbeat, Max: o.Heartbeat, Default: o.Heartbeat})
	cluster.Name = o.Cluster
	sim, err := ctisim.New(ctisim.Config{
		Cluster:     cluster,
		Traffic:     traffic.Config{Rate: o.Rate, Seed: o.Seed},
		GroundTruth: gtFile,
		ControlAddr: "127.0.0.1:0",
		Logger:      log.Level(zerolog.WarnLevel),
	})
	if err != nil {
		return err
	}
	if err := sim.Start(); err != nil {
		return err
	}
	defer sim.Close()

	var managers []ctiengine.CTIManager
	for _, n := range sim.Nodes() {
		managers = append(managers, ctiengine.CTIManager{Name: n.Name, Addr: n.Addr, LeastPriority: n.LeastPriority})
	}
	// Every CTI port of the cluster is registered with its own media port.
	ctiPorts := map[string]ctiengine.CTIPortConfig{}
	for _, d := range cluster.Devices {
		if d.Type == ctilink.DeviceCTIPort {
			ctiPorts[d.Name] = ctiengine.CTIPortConfig{Media: ctilink.MediaParams{
				IP: "127.0.0.1", Port: 40000 + 2*(len(ctiPorts)+1), Codecs: []string{"G711U", "G729"}, PacketMs: 20}}
		}
	}
	retry := max(2*time.Second, o.Heartbeat)
	br, err := bridge.New(bridge.Config{
		Instance: o.Instance,
		Engine: ctiengine.Config{
			CTIManagers: managers, Login: "ctibridge", Password: "secret", AppInfo: "ctibridge-demo",
			DesiredServerHeartbeatInterval: o.Heartbeat,
			ProviderRetryInterval:          retry,
			CtiRequestTimeout:              10 * time.Second,
			ProviderOpenRequestTimeout:     10 * time.Second,
			AllowShortTimers:               true,
			CTIPorts:                       ctiPorts,
			RoutePoints: map[string]ctiengine.RoutePointConfig{
				"5000": {Destinations: []string{"1001", "1002", "1003"}, Policy: ctiengine.RouteRoundRobin},
				"5001": {Destinations: []string{"1004", "1005"}, Policy: ctiengine.RouteRoundRobin},
			},
		},
		Encoder: schema.EncoderConfig{Cluster: o.Cluster, Mode: mustMode(o.Mode)},
		Conn:    nc,
		// The bridge provisions the stream (R<n> on a cluster) as `bridge
		// run` does, and records the stream's NATS leader changes.
		Provision:      &jetstream.ProvisionConfig{Replicas: nats.replicas(), StateView: true},
		HTTPListen:     o.HTTPListen,
		HeartbeatEvery: 10 * time.Second,
		// Snapshots every 2,000 events, so that even a short demo run
		// leaves some for `replay state --at` to start from.
		Snapshots: &replaystore.SnapshotterConfig{Every: 2000, Interval: 15 * time.Second},
		// The current state of every line and device, in KV cti-state.
		StateView: &stateview.Config{},
		Logger:    log,
		StatusExtra: func() map[string]any {
			return map[string]any{"demo": map[string]any{"nats": nats.url(), "dataDir": dataDir, "simulator": sim.Nodes(), "simulatorControl": sim.ControlAddr()}}
		},
	})
	if err != nil {
		return err
	}

	printBanner(o.Out, o, nats.url(), dataDir, gtPath, sim, br.OpsAddr())
	if o.Started != nil {
		o.Started(Running{Sim: sim, Bridge: br, NATS: nats.url()})
	}

	runCtx, stopRun := runFor(ctx, o.RunFor)
	defer stopRun()
	if o.FailPrimaryAfter > 0 {
		// A crashed or cut-off CTIManager host sends nothing more — no FIN,
		// no RST — so the bridge has to notice by the missing heartbeats,
		// which is the case the failover machinery exists for. The node
		// goes silent first; once the bridge has had time to give up on it
		// (2 heartbeat intervals and some), it is taken down for good.
		primary := managers[0].Name
		t := time.AfterFunc(o.FailPrimaryAfter, func() {
			log.Warn().Str("ctimanager", primary).Msg("demo: the primary CTIManager goes silent (--fail-primary-after)")
			if err := sim.StallHeartbeats(primary); err != nil {
				log.Error().Err(err).Msg("demo: stall primary")
			}
		})
		defer t.Stop()
		t2 := time.AfterFunc(o.FailPrimaryAfter+2*o.Heartbeat+time.Second, func() {
			log.Warn().Str("ctimanager", primary).Msg("demo: the primary CTIManager is down")
			if err := sim.KillNode(primary); err != nil {
				log.Error().Err(err).Msg("demo: kill primary")
			}
		})
		defer t2.Stop()
	}
	if o.KillNATSLeaderAfter > 0 {
		t := time.AfterFunc(o.KillNATSLeaderAfter, func() { nats.killStreamLeader(runCtx) })
		defer t.Stop()
	}
	err = br.Run(runCtx)
	nats.wait()
	st := br.Publisher().Stats()
	fmt.Fprintf(o.Out, "\ndemo stopped: %d events acknowledged by JetStream, %d duplicates absorbed, %d dropped, %d resends\n", st.Acked, st.Duplicates, st.Dropped, st.Resends)
	fmt.Fprintf(o.Out, "the JetStream store is in %s; try:\n  go run ./cmd/replay --store %s timeline\n", dataDir, dataDir)
	return err
}

func mustMode(s string) schema.Mode {
	m, _ := schema.ParseMode(s)
	return m
}

func printBanner(w io.Writer, o Options, natsURL, dataDir, gtPath string, sim *ctisim.Server, ops string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("ctibridge demo — simulated CUCM cluster %q → bridge → NATS JetStream", o.Cluster)
	p("")
	p("  NATS (JetStream)  %s", natsURL)
	p("  stream            %s, subjects %s   store: %s", jetstream.DefaultStream, schema.ClusterFilter(o.Cluster), dataDir)
	p("  state view        KV %s: keys line.<dn>, device.<name>", jetstream.DefaultStateBucket)
	for i, n := range sim.Nodes() {
		role := "backup"
		switch {
		case i == 0:
			role = "primary"
		case n.LeastPriority:
			role = "least-priority"
		}
		p("  CTIManager        %-7s %-15s %s", n.Name, role, n.Addr)
	}
	p("  simulator control http://%s/nodes   ground truth: %s", sim.ControlAddr(), gtPath)
	if ops != "" {
		p("  bridge endpoints  http://%s/status  /readyz  /metrics  /healthz", ops)
	}
	p("  traffic           %.1f calls/s, seed %d, server heartbeat %s", o.Rate, o.Seed, o.Heartbeat)
	if o.NATSCluster > 1 {
		p("  NATS cluster      %d nodes (nats-1 … nats-%d), stream and buckets R%d", o.NATSCluster, o.NATSCluster, o.NATSCluster)
	}
	if o.FailPrimaryAfter > 0 {
		p("  fault             the primary CTIManager fails after %s (goes silent: detected by missed heartbeats)", o.FailPrimaryAfter)
	}
	if o.KillNATSLeaderAfter > 0 {
		p("  fault             the stream leader's NATS node is killed after %s (back %s later)", o.KillNATSLeaderAfter, natsNodeDownFor)
	}
	if o.RunFor > 0 {
		p("  stops after       %s", o.RunFor)
	} else {
		p("  stop with Ctrl-C")
	}
	p("")
	p("Try, while it runs:")
	p("  nats --server %s sub 'cti.%s.>'             # every event, live (nats CLI)", natsURL, o.Cluster)
	p("  nats --server %s sub '%s'        # line 1001's call events (a screen pop)", natsURL, schema.LineFilter(o.Cluster, "1001"))
	p("  nats --server %s kv watch %s '%s'       # line 1001's current calls, then every change", natsURL, jetstream.DefaultStateBucket, schema.LineKey("1001"))
	p("  go run ./cmd/replay --server %s tail", natsURL)
	p("  go run ./cmd/replay --server %s timeline", natsURL)
	p("  curl -s -X POST 'http://%s/faults/kill?node=%s'   # kill the CTIManager in use", sim.ControlAddr(), sim.Nodes()[0].Name)
	p("and after it stops:")
	p("  go run ./cmd/replay --store %s timeline", dataDir)
	p("  go run ./cmd/replay --store %s state --at <time>", dataDir)
	p("  go run ./cmd/replay --store %s report --html report.html", dataDir)
	p("")
}

// runFor is ctx ended after d (0: never) with the cause a bridge's
// BridgeStopping gives (--run-for … elapsed); stop releases it.
func runFor(ctx context.Context, d time.Duration) (_ context.Context, stop func()) {
	runCtx, cancel := context.WithCancelCause(ctx)
	if d <= 0 {
		return runCtx, func() { cancel(nil) }
	}
	t := time.AfterFunc(d, func() {
		cancel(bridge.StopCause{Reason: bridge.StopRunFor, Detail: "--run-for " + d.String() + " elapsed"})
	})
	return runCtx, func() {
		t.Stop()
		cancel(nil)
	}
}
