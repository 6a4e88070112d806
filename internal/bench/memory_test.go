package bench

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// engineHeap measures the heap the engine adds once it tracks every
// phone of a simulated cluster with calls active calls (both legs
// connected, learnt from the snapshots): the simulator is built and its
// calls placed first, the heap is measured, then the engine connects over
// TCP and the heap is measured again once the provider is in service with
// every device, line and call. The difference holds the engine (object
// model, call model, observers, sequence counters, its link and
// goroutines) and also the simulator's bookkeeping for the engine's
// session (which devices and lines it opened), so it is an upper bound of
// the engine's share.
func engineHeap(tb testing.TB, phones, calls int) int64 {
	tb.Helper()
	tc := traffic.Config{Seed: 1, RingTime: 100 * time.Millisecond, TalkTime: time.Hour}
	sim := startSim(tb, simSpec{phones: phones, manual: true, traffic: tc})
	defer func() { _ = sim.Close() }()
	for i := 0; i < calls; i++ {
		a, b := strconv.Itoa(firstDN+2*i), strconv.Itoa(firstDN+2*i+1)
		if _, err := sim.Place(traffic.Basic, a, b, ""); err != nil {
			tb.Fatal(err)
		}
	}
	if err := sim.Advance(2 * time.Second); err != nil {
		tb.Fatal(err)
	}
	if got := sim.ActiveCalls(); got != calls {
		tb.Fatalf("%d calls in progress in the simulator, want %d", got, calls)
	}
	before := heapAfterGC()

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
	waitFor(tb, 2*time.Minute, "every device, line and call tracked", 10*time.Millisecond, func() bool {
		s := eng.Status()
		return s.Ready && s.DevicesInService >= phones && s.LinesInService >= phones && s.Calls >= calls
	})
	after := heapAfterGC()
	runtime.KeepAlive(eng)
	return after - before
}

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

// BenchmarkMemoryEndToEnd measures the heap per tracked device and per
// active call of the running engine against the simulator over TCP: once
// with 10,000 phones and no call, once with 10,000 phones and 2,000
// connected calls (4,000 legs); bytes per device are the first difference
// divided by the phones, bytes per call the extra of the second divided
// by the calls. Targets: ≤ 2 KB per device, ≤ 8 KB per call (see
// engineHeap for what the figure includes).
//
//	go test -run '^$' -bench 'MemoryEndToEnd' -benchtime 1x -count 3 ./internal/bench
func BenchmarkMemoryEndToEnd(b *testing.B) {
	const phones, calls = 10_000, 2_000
	var perDevice, perCall float64
	for i := 0; i < b.N; i++ {
		idle := engineHeap(b, phones, 0)
		busy := engineHeap(b, phones, calls)
		perDevice = float64(idle) / phones
		perCall = float64(busy-idle) / calls
	}
	b.ReportMetric(perDevice, "B/device")
	b.ReportMetric(perCall, "B/call")
}
