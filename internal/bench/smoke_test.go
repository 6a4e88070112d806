package bench

import (
	"strings"
	"testing"
	"time"
)

// TestIngestHarness runs both ingest passes on a small cluster so the
// benchmark harness cannot rot unnoticed (the benchmarks themselves do not
// run in `go test ./...`): events reach the stream from the simulator
// through the bridge, decode, belong to the cluster, were stored after
// they were received, and the raw baseline stores exactly as many.
func TestIngestHarness(t *testing.T) {
	spec := ingestSpec{phones: 100, rate: 50, step: 100 * time.Millisecond, seed: 7}
	const target = 300
	w, msgs := runEndToEnd(t, spec, target, noTimer)
	if w.events < target {
		t.Fatalf("%d events stored, want at least %d", w.events, target)
	}
	if w.duration() <= 0 || w.rate() <= 0 {
		t.Fatalf("window %v → %v: not a positive duration", w.first, w.last)
	}
	calls := 0
	for _, d := range decodeAll(t, msgs) {
		if !strings.HasPrefix(d.subject, "cti."+benchCluster+".") {
			t.Fatalf("subject %s is not the bench cluster's", d.subject)
		}
		if d.stored.Before(d.ev.Received) {
			t.Fatalf("message %d stored at %v before it was received at %v", d.seq, d.stored, d.ev.Received)
		}
		if strings.Contains(d.subject, ".call.") {
			calls++
		}
	}
	if calls == 0 {
		t.Fatal("no call events in the measured window: the traffic did not reach the bridge")
	}
	raw := runRaw(t, msgs, noTimer)
	if raw.events != len(msgs) || raw.duration() <= 0 {
		t.Fatalf("raw pass: %d events in %v, want %d", raw.events, raw.duration(), len(msgs))
	}
}
