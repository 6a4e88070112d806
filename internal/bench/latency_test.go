package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// latencyRate is the load of the latency target: 10,000 events per
// second.
const latencyRate = 10_000.0

// latencyPhones carries the load: at ≈ 330 calls/s of about two seconds
// each, some 700 calls are in progress on 5,000 phones.
const latencyPhones = 5000

// callRate10k is the call rate that produces latencyRate events per
// second with the benchmark's scenario mix, measured once per process by
// calibrateCallRate.
var callRate10k struct {
	sync.Mutex
	rate float64
}

// countSink counts the engine's events.
type countSink struct{ n atomic.Int64 }

func (s *countSink) Emit(schema.Event) { s.n.Add(1) }

// calibrateCallRate returns the call rate giving latencyRate events per
// second. Events per call depend on the scenario mix and the engine, not
// on the machine, so they are counted in model time: the simulator runs
// with ManualTime at a trial rate, the engine emits into a counting sink,
// and after a warm-up of five model seconds the events of the next ten
// give the events per model second.
func calibrateCallRate(tb testing.TB) float64 {
	tb.Helper()
	callRate10k.Lock()
	defer callRate10k.Unlock()
	if callRate10k.rate > 0 {
		return callRate10k.rate
	}
	const trial = 300.0
	sim := startSim(tb, simSpec{phones: latencyPhones, manual: true, traffic: shortCalls(trial, latencySeed)})
	sink := &countSink{}
	cfg := engineConfig(sim)
	cfg.Sink = sink
	cfg.BridgeInstance = uniqueInstance("calibrate")
	eng, err := ctiengine.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	defer func() {
		_ = eng.Close()
		<-done
		_ = sim.Close() // idempotent; frees the simulator before the measured run
	}()
	waitFor(tb, 2*time.Minute, "provider in service with every device", 10*time.Millisecond, func() bool {
		s := eng.Status()
		return s.Ready && s.DevicesInService >= latencyPhones
	})
	advance := func(d time.Duration) {
		const step = 100 * time.Millisecond
		for t := time.Duration(0); t < d; t += step {
			waitFor(tb, time.Minute, "the simulator queue", time.Millisecond, func() bool { return simQueued(sim) < simLowWater })
			if err := sim.Advance(step); err != nil {
				tb.Fatal(err)
			}
		}
		prev := ^uint64(0)
		waitFor(tb, time.Minute, "the engine to catch up", 20*time.Millisecond, func() bool {
			if simQueued(sim) > 0 {
				return false
			}
			in := eng.Status().Counters.FramesIn
			idle := in == prev
			prev = in
			return idle
		})
	}
	advance(5 * time.Second)
	n0 := sink.n.Load()
	advance(10 * time.Second)
	perSecond := float64(sink.n.Load()-n0) / 10
	if perSecond <= 0 {
		tb.Fatal("calibration: no events")
	}
	callRate10k.rate = trial * latencyRate / perSecond
	return callRate10k.rate
}

// latencySeed seeds the latency run's traffic (and its calibration).
const latencySeed = 3

// BenchmarkLatency10k measures, at a steady 10,000 events per second, the
// latency of every event from its CTI frame being received by the engine
// (the event's times.received) to its message being stored by JetStream
// (the server's timestamp, taken just before the PubAck is sent). The
// simulator runs on the wall clock and generates calls as a Poisson
// process at the rate that yields 10,000 events/s (calibrateCallRate);
// b.N events are measured after a warm-up. It reports p50, p99
// and max in microseconds, and the rate actually achieved in the window.
// The product's target is p99 ≤ 2 ms.
//
//	go test -run '^$' -bench 'Latency10k' -benchtime 50000x -count 3 ./internal/bench
func BenchmarkLatency10k(b *testing.B) {
	b.StopTimer()
	rate := calibrateCallRate(b)
	n := startNATS(b)
	sim := startSim(b, simSpec{phones: latencyPhones, traffic: shortCalls(0, latencySeed)})
	e := startBridge(b, sim, n, jetstream.Config{})
	e.settle(b, latencyPhones)
	pub := e.br.Publisher()
	acked := func() uint64 { return pub.Stats().Acked }

	if err := sim.SetRate(rate); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sim.SetRate(0) }()
	// Warm-up: after five seconds the calls in progress, and with them
	// the event rate, are in their steady state. (Go first runs every
	// benchmark with b.N = 1; that run only needs to work, not to be
	// steady.)
	warmUp := 5 * time.Second
	if b.N < 1000 {
		warmUp = time.Second
	}
	time.Sleep(warmUp)

	s0 := n.lastSeq(b)
	a0 := acked()
	b.StartTimer()
	waitFor(b, 10*time.Minute, "the measured events", 5*time.Millisecond, func() bool {
		return acked()-a0 >= uint64(b.N)
	})
	b.StopTimer()
	s1 := n.lastSeq(b)
	if err := sim.SetRate(0); err != nil {
		b.Fatal(err)
	}

	msgs := decodeAll(b, n.read(b, s0+1, s1))
	if len(msgs) == 0 {
		b.Fatal(errNoEvents)
	}
	lat := make([]time.Duration, len(msgs))
	w := window{events: len(msgs), first: msgs[0].ev.Received, last: msgs[0].stored}
	for i, m := range msgs {
		lat[i] = m.stored.Sub(m.ev.Received)
		if m.ev.Received.Before(w.first) {
			w.first = m.ev.Received
		}
		if m.stored.After(w.last) {
			w.last = m.stored
		}
	}
	lat = sortedCopy(lat)
	b.ReportMetric(micros(quantile(lat, 0.50)), "p50-µs")
	b.ReportMetric(micros(quantile(lat, 0.99)), "p99-µs")
	b.ReportMetric(micros(quantile(lat, 0.999)), "p99.9-µs")
	b.ReportMetric(micros(lat[len(lat)-1]), "max-µs")
	b.ReportMetric(w.rate(), "events/s")
	b.ReportMetric(rate, "calls/s")
}
