package bench

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// discardSink drops the engine's events.
type discardSink struct{}

func (discardSink) Emit(schema.Event) {}

func heapAfterGC() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// memoryCalls holds the talk time of the memory benchmark's calls: they
// stay connected for the whole measurement.
var memoryCalls = traffic.Config{Seed: 1, RingTime: 100 * time.Millisecond, TalkTime: time.Hour}

// placeCalls connects calls basic calls between phone pairs (firstDN+2i →
// firstDN+2i+1), in batches so that the simulator's session queue, whose
// capacity it keeps, stays small.
func placeCalls(tb testing.TB, sim *ctisim.Server, calls int) {
	tb.Helper()
	const batch = 200
	for i := 0; i < calls; i++ {
		a, b := strconv.Itoa(firstDN+2*i), strconv.Itoa(firstDN+2*i+1)
		if _, err := sim.Place(traffic.Basic, a, b, ""); err != nil {
			tb.Fatal(err)
		}
		if (i+1)%batch == 0 || i == calls-1 {
			if err := sim.Advance(2 * time.Second); err != nil {
				tb.Fatal(err)
			}
			waitFor(tb, time.Minute, "the simulator queue to drain", time.Millisecond, func() bool { return simQueued(sim) == 0 })
		}
	}
	if got := sim.ActiveCalls(); got != calls {
		tb.Fatalf("%d calls in progress in the simulator, want %d", got, calls)
	}
}

// quiesce waits until the engine has read everything the simulator sent:
// the simulator's queue is empty and the engine's frame counter stays put
// for 100 ms. (A heap measurement while the last frames are still in
// flight would count their buffers.)
func quiesce(tb testing.TB, eng *ctiengine.Engine, sim *ctisim.Server) {
	tb.Helper()
	prev, since := ^uint64(0), time.Now()
	waitFor(tb, time.Minute, "the engine to go quiet", 10*time.Millisecond, func() bool {
		in := eng.Status().Counters.FramesIn
		if in != prev || simQueued(sim) > 0 {
			prev, since = in, time.Now()
			return false
		}
		return time.Since(since) >= 100*time.Millisecond
	})
}

// engineMemory measures the heap of a running engine connected over TCP
// to a simulated cluster of phones: per device once the provider is in
// service with every phone and line observed, then per call once calls
// connected calls are tracked (both legs observed).
//
// Per device: the heap after the engine settled minus the heap before it
// started. It includes, besides the engine (object model, observers,
// sequence counters, its link and goroutines), the simulator's
// bookkeeping for the engine's session (which devices and lines it
// opened), so it is an upper bound of the engine's share.
//
// Per call: the heap growth while the calls are placed and tracked,
// minus what the same calls cost the simulator's call model (measured on
// a second simulator without sessions, in the same run).
func engineMemory(tb testing.TB, phones, calls int) (perDevice, perCall float64) {
	tb.Helper()
	sim := startSim(tb, simSpec{phones: phones, manual: true, traffic: memoryCalls})
	defer func() { _ = sim.Close() }()
	h0 := heapAfterGC()

	cfg := engineConfig(sim)
	cfg.Sink = discardSink{}
	cfg.BridgeInstance = uniqueInstance("memory")
	eng, err := ctiengine.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	defer func() {
		_ = eng.Close()
		<-done
	}()
	waitFor(tb, 2*time.Minute, "every device and line in service", 10*time.Millisecond, func() bool {
		s := eng.Status()
		return s.Ready && s.DevicesInService >= phones && s.LinesInService >= phones && simQueued(sim) == 0
	})
	quiesce(tb, eng, sim)
	h1 := heapAfterGC()

	placeCalls(tb, sim, calls)
	waitFor(tb, time.Minute, "every call tracked", 10*time.Millisecond, func() bool {
		return eng.Status().Calls >= calls
	})
	quiesce(tb, eng, sim)
	h2 := heapAfterGC()
	runtime.KeepAlive(eng)

	model := startSim(tb, simSpec{phones: phones, manual: true, traffic: memoryCalls})
	defer func() { _ = model.Close() }()
	g0 := heapAfterGC()
	placeCalls(tb, model, calls)
	g1 := heapAfterGC()

	perDevice = float64(h1-h0) / float64(phones)
	perCall = (float64(h2-h1) - float64(g1-g0)) / float64(calls)
	return perDevice, perCall
}

// BenchmarkMemoryEndToEnd measures the heap per tracked device and per
// active call of the running engine against the simulator over TCP, with
// 10,000 phones and 4,000 connected calls (8,000 legs); see engineMemory
// for what each figure includes. Targets: ≤ 2 KB per device, ≤ 8 KB per
// call.
//
//	go test -run '^$' -bench 'MemoryEndToEnd' -benchtime 1x -count 3 ./internal/bench
func BenchmarkMemoryEndToEnd(b *testing.B) {
	const phones, calls = 10_000, 4_000
	var perDevice, perCall float64
	for i := 0; i < b.N; i++ {
		perDevice, perCall = engineMemory(b, phones, calls)
	}
	b.ReportMetric(perDevice, "B/device")
	b.ReportMetric(perCall, "B/call")
}
