package main

import (
	"strings"
	"testing"
	"time"
)

func series(every time.Duration, n int, live func(i int) uint64) []memSample {
	out := make([]memSample, n)
	for i := range out {
		out[i] = memSample{at: time.Duration(i+1) * every, live: live(i)}
	}
	return out
}

func TestJudgeMemoryFlatDespiteFailoverSpikes(t *testing.T) {
	// 100 MiB with a 40 MiB spike each minute (a failover's snapshots):
	// no trend, so flat.
	s := series(10*time.Second, 60, func(i int) uint64 {
		if i%6 == 0 {
			return 140 << 20
		}
		return 100 << 20
	})
	v, err := judgeMemory(s, 2*time.Minute, 0.10)
	if err != nil {
		t.Fatal(err)
	}
	if !v.flat || !strings.HasPrefix(v.String(), "FLAT") {
		t.Fatalf("want flat: %s", v)
	}
	if v.samples != 60-11 {
		t.Fatalf("samples after the warm-up: %d, want 49", v.samples)
	}
}

func TestJudgeMemoryGrowing(t *testing.T) {
	// 100 MiB growing 5 MiB a minute: +40 MiB over 8 minutes, 30% of the mean.
	s := series(10*time.Second, 60, func(i int) uint64 { return uint64(100<<20 + i*(5<<20)/6) })
	v, err := judgeMemory(s, 2*time.Minute, 0.10)
	if err != nil {
		t.Fatal(err)
	}
	if v.flat || !strings.HasPrefix(v.String(), "GROWING") {
		t.Fatalf("want growing: %s", v)
	}
	if v.slopePerMin < 4.9*(1<<20) || v.slopePerMin > 5.1*(1<<20) {
		t.Fatalf("slope %.0f B/min, want 5 MiB/min", v.slopePerMin)
	}
}

func TestJudgeMemorySmallHeapNoiseIsFlat(t *testing.T) {
	// A 10 MiB heap gaining 2 MiB: 20% but under the absolute floor.
	s := series(10*time.Second, 60, func(i int) uint64 { return uint64(10<<20 + i*(2<<20)/60) })
	v, err := judgeMemory(s, 2*time.Minute, 0.10)
	if err != nil {
		t.Fatal(err)
	}
	if !v.flat {
		t.Fatalf("want flat under the floor: %s", v)
	}
}

func TestJudgeMemoryTooShort(t *testing.T) {
	// 150 s with a 2-minute warm-up: 30 s of samples, a failover's
	// spike at the end would read as growth.
	s := series(10*time.Second, 15, func(i int) uint64 { return uint64(20<<20 + i*(1<<20)) })
	if _, err := judgeMemory(s, 2*time.Minute, 0.10); err == nil || !strings.Contains(err.Error(), "run longer") {
		t.Fatalf("err %v, want a request to run longer", err)
	}
}

func TestGauges(t *testing.T) {
	text := "# HELP go_gc_heap_live_bytes x\n# TYPE go_gc_heap_live_bytes gauge\ngo_gc_heap_live_bytes 1.2345678e+07\n" +
		"process_resident_memory_bytes 9.8304e+07\ngo_gc_heap_live_bytes_other 1\nlabelled{a=\"b\"} 3\n"
	g := gauges(text, "go_gc_heap_live_bytes", "process_resident_memory_bytes")
	if g["go_gc_heap_live_bytes"] != 12345678 || g["process_resident_memory_bytes"] != 98304000 || len(g) != 2 {
		t.Fatalf("gauges %v", g)
	}
}
