package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// detectHeartbeat is the server heartbeat of the detection benchmark; the
// product's bound is 2 × it + 100 ms.
const detectHeartbeat = 500 * time.Millisecond

// lostSink passes the engine's CTIManagerLost events on.
type lostSink struct{ lost chan schema.Event }

func (s *lostSink) Emit(ev schema.Event) {
	if ev.Name == schema.EvCTIManagerLost {
		select {
		case s.lost <- ev:
		default:
		}
	}
}

// BenchmarkFailoverDetection measures heartbeat-loss detection: with the
// server heartbeat at 500 ms and light call traffic (20 calls/s on 200
// phones, wall clock), the CTIManager in use stops sending
// (ctisim.StallHeartbeats: no heartbeats, no responses, no events) and
// the time from the last frame the engine received (CTIManagerLost's
// lastHeardAt) to the engine declaring the loss (the event's time) is
// recorded. Each op is one stall; the engine then fails over to the other
// CTIManager and the next op stalls that one. It reports min, median and
// max detection in milliseconds, the median from the stall command, and
// the product's bound (2 × heartbeat + 100 ms).
//
//	go test -run '^$' -bench 'FailoverDetection' -benchtime 5x -count 3 ./internal/bench
func BenchmarkFailoverDetection(b *testing.B) {
	b.StopTimer()
	const phones = 200
	sim := startSim(b, simSpec{phones: phones, heartbeat: detectHeartbeat, traffic: shortCalls(20, 5)})
	sink := &lostSink{lost: make(chan schema.Event, 4)}
	cfg := engineConfig(sim)
	cfg.Sink = sink
	cfg.BridgeInstance = uniqueInstance("detect")
	cfg.DesiredServerHeartbeatInterval = detectHeartbeat
	eng, err := ctiengine.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	b.Cleanup(func() {
		_ = eng.Close()
		<-done
	})

	var detect, fromStall []time.Duration
	for i := 0; i < b.N; i++ {
		var node string
		waitFor(b, time.Minute, "provider in service", 10*time.Millisecond, func() bool {
			s := eng.Status()
			node = s.CTIManager
			return s.Ready && s.DevicesInService >= phones
		})
		if got := eng.Status().ServerHeartbeatMs; got != detectHeartbeat.Milliseconds() {
			b.Fatalf("negotiated server heartbeat %d ms, want %d", got, detectHeartbeat.Milliseconds())
		}
		b.StartTimer()
		stalled := time.Now()
		if err := sim.StallHeartbeats(node); err != nil {
			b.Fatal(err)
		}
		var ev schema.Event
		select {
		case ev = <-sink.lost:
		case <-time.After(30 * time.Second):
			b.Fatalf("no CTIManagerLost within 30 s of stalling %s", node)
		}
		b.StopTimer()
		if err := sim.ResumeHeartbeats(node); err != nil {
			b.Fatal(err)
		}
		p := ev.Data.Provider
		if p == nil || p.LastHeardAt == nil || p.Reason != ctilink.CloseHeartbeatMissed.String() {
			b.Fatalf("loss not reported as a heartbeat miss with lastHeardAt: %+v", p)
		}
		detect = append(detect, ev.Time.Sub(*p.LastHeardAt))
		fromStall = append(fromStall, ev.Time.Sub(stalled))
	}
	d := sortedCopy(detect)
	b.ReportMetric(millis(d[0]), "min-ms")
	b.ReportMetric(millis(quantile(d, 0.5)), "median-ms")
	b.ReportMetric(millis(d[len(d)-1]), "max-ms")
	b.ReportMetric(millis(quantile(sortedCopy(fromStall), 0.5)), "from-stall-median-ms")
	b.ReportMetric(millis(2*detectHeartbeat+100*time.Millisecond), "bound-ms")
}

// failoverStream changes the provisioned stream before BenchmarkFailoverPublished
// measures, to split the server's share of the time from the bridge's in one
// session: "nos2" without compression, "notransform" without the subject
// transform (call events then stored as published), "plain" without either.
var failoverStream = flag.String("failover.stream", "", "BenchmarkFailoverPublished: nos2, notransform, plain or asyncpersist: the stream without S2 and/or the subject transform, or in asynchronous persist mode (default: as provisioned)")

// setFailoverStream applies -failover.stream to the stream, after the bridge
// has provisioned it.
func setFailoverStream(b *testing.B, n *natsEnv) {
	b.Helper()
	if *failoverStream == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := n.stream.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cfg := info.Config
	switch *failoverStream {
	case "nos2":
		cfg.Compression = natsjs.NoCompression
	case "notransform":
		cfg.SubjectTransform = nil
	case "plain":
		cfg.Compression, cfg.SubjectTransform = natsjs.NoCompression, nil
	case "asyncpersist":
		// The server cannot change it on a stream: make the stream again
		// (the events before the first failover are not needed).
		cfg.PersistMode = natsjs.AsyncPersistMode
		if err := n.js.DeleteStream(ctx, cfg.Name); err != nil {
			b.Fatal(err)
		}
		if _, err := n.js.CreateStream(ctx, cfg); err != nil {
			b.Fatal(err)
		}
		if n.stream, err = n.js.Stream(ctx, cfg.Name); err != nil {
			b.Fatal(err)
		}
		return
	default:
		b.Fatalf("-failover.stream %q: want nos2, notransform, plain or asyncpersist", *failoverStream)
	}
	if _, err := n.js.UpdateStream(ctx, cfg); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFailoverPublished measures the product's failover target with
// the event log included: 10,000 observed phones and 2,000 connected
// calls, the bridge (engine → encoder → publisher → embedded JetStream)
// connected to the simulator's first CTIManager; each op kills the
// CTIManager in use and measures from the engine starting to connect to
// the other one (CTIManagerConnecting's receive time) to the moment
// JetStream has stored every event up to the gap's close — every device
// reinstated, every snapshot published and acknowledged, the gap closed.
// The publisher sends in emission order, so the storage time of the
// GapClosed record is that moment. The killed CTIManager is restored
// before the next op. Target: ≤ 1 s. Beside the median it reports
// received-ms, the median time to the last CTI frame the engine received
// (how far the failover itself was from done while the log caught up),
// and cpu-ms/failover, the process's CPU time (simulator, bridge and
// server) in the measured windows: on a shared machine the steadier
// figure. -failover.stream varies the stream to weigh the server's part.
//
//	go test -run '^$' -bench 'FailoverPublished' -benchtime 3x -count 3 ./internal/bench
func BenchmarkFailoverPublished(b *testing.B) {
	b.StopTimer()
	const phones, calls = 10_000, 2_000
	n := startNATS(b)
	sim := startSim(b, simSpec{phones: phones, manual: true, traffic: memoryCalls})
	e := startBridge(b, sim, n, jetstream.Config{BufferSize: 1 << 20, BufferBytes: 1 << 30})
	e.settle(b, phones)
	placeCalls(b, sim, calls)
	waitFor(b, time.Minute, "every call tracked", 10*time.Millisecond, func() bool {
		return e.br.Engine().Status().Calls >= calls
	})
	gapSubject := schema.EventFilter(benchCluster, schema.EvGapClosed)
	setFailoverStream(b, n)

	var took, engine, raw []time.Duration
	var cpu time.Duration
	var events int
	for i := 0; i < b.N; i++ {
		from := e.br.Engine().Status().CTIManager
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := e.br.Publisher().Flush(ctx); err != nil {
			b.Fatal(err)
		}
		cancel()
		s0 := n.lastSeq(b)
		cpu0 := cpuTime()
		b.StartTimer()
		if err := sim.KillNode(from); err != nil {
			b.Fatal(err)
		}
		var gapSeq uint64
		waitFor(b, time.Minute, "GapClosed in the stream", 5*time.Millisecond, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, err := n.stream.GetLastMsgForSubject(ctx, gapSubject)
			if err != nil && !errors.Is(err, natsjs.ErrMsgNotFound) {
				b.Fatal(err)
			}
			if err == nil && m.Sequence > s0 {
				gapSeq = m.Sequence
				return true
			}
			return false
		})
		b.StopTimer()
		cpu += cpuTime() - cpu0
		msgs := decodeAll(b, n.read(b, s0+1, gapSeq))
		var start, end, received time.Time
		for _, m := range msgs {
			if m.ev.Received.After(received) {
				received = m.ev.Received
			}
			if m.ev.Name == schema.EvCTIManagerConnecting && m.ev.Data.Provider != nil && m.ev.Data.Provider.CTIManager != from {
				start = m.ev.Received
			}
			if m.stored.After(end) {
				end = m.stored
			}
		}
		if start.IsZero() {
			b.Fatalf("no CTIManagerConnecting to the backup among the %d events of the failover", len(msgs))
		}
		took = append(took, end.Sub(start))
		engine = append(engine, received.Sub(start))
		events += len(msgs)
		// The baseline, right after, on the same server: the same messages
		// published raw, as fast as the client takes them.
		raw = append(raw, rawBurst(b, n, layoutV2, msgs, fmt.Sprintf("raw-failover-%d-%d", os.Getpid(), runSeq.Add(1))))
		if s := e.br.Engine().Status(); s.Calls != calls || s.DevicesInService != phones {
			b.Fatalf("after the failover: %d calls, %d devices in service", s.Calls, s.DevicesInService)
		}
		if err := sim.RestoreNode(from); err != nil {
			b.Fatal(err)
		}
	}
	d := sortedCopy(took)
	b.ReportMetric(millis(quantile(d, 0.5)), "median-ms")
	b.ReportMetric(millis(d[len(d)-1]), "max-ms")
	b.ReportMetric(float64(events)/float64(b.N), "events/failover")
	b.ReportMetric(millis(quantile(sortedCopy(engine), 0.5)), "received-ms")
	b.ReportMetric(millis(cpu)/float64(b.N), "cpu-ms/failover")
	// What the 1 s target means on this machine: the raw publish of the
	// failover's messages alone takes raw-ms; published/raw is the paired
	// ratio (median of each op's ratio).
	ratios := make([]float64, len(took))
	for i := range took {
		ratios[i] = float64(took[i]) / float64(raw[i])
	}
	slices.Sort(ratios)
	b.ReportMetric(millis(quantile(sortedCopy(raw), 0.5)), "raw-ms")
	b.ReportMetric(ratios[len(ratios)/2], "published/raw")
}
