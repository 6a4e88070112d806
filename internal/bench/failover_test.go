package bench

import (
	"context"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
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
