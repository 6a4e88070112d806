package bench

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// ingestSpec sizes an ingest run.
type ingestSpec struct {
	phones int
	// rate is the generated call rate in calls per second of model time;
	// step is the model time of one Advance. Model time runs as fast as
	// the pipeline takes the frames: the run measures capacity.
	rate float64
	step time.Duration
	seed int64
}

// ingestDefault: 5,000 phones, 500 calls/s of model time with calls of
// about two seconds (≈ 1,000 calls in progress, so thousands of entities
// interleave as on a busy cluster).
var ingestDefault = ingestSpec{phones: 5000, rate: 500, step: 100 * time.Millisecond, seed: 1}

// Flow control of the generator: the next Advance only happens while the
// simulator's socket queue and the publisher's buffer are below these
// marks, so neither grows without bound and the pipeline never starves.
const (
	simLowWater = 1000
	pubLowWater = 20000
)

// timer lets a run start and stop the benchmark clock around the part it
// measures (no-ops in tests).
type timer struct{ start, stop func() }

var noTimer = timer{func() {}, func() {}}

// runEndToEnd runs one ingest pass: simulator (ManualTime, advanced step
// by step) → bridge (engine, encoder, publisher) → embedded JetStream,
// until at least target events were produced and everything produced is
// acknowledged. It returns the measured window (first frame received →
// last message stored) and the messages as stored.
func runEndToEnd(tb testing.TB, spec ingestSpec, target int, t timer) (window, []storedMsg) {
	tb.Helper()
	n := startNATS(tb)
	sim := startSim(tb, simSpec{phones: spec.phones, manual: true, traffic: shortCalls(spec.rate, spec.seed)})
	// The buffer bounds are raised so that the publisher never drops: the
	// run measures throughput, not overflow handling.
	e := startBridge(tb, sim, n, jetstream.Config{BufferSize: 1 << 20, BufferBytes: 1 << 30})
	e.settle(tb, spec.phones)
	s0 := n.lastSeq(tb)
	pub := e.br.Publisher()
	acked0 := pub.Stats().Acked
	produced := func() (int, int) {
		s := pub.Stats()
		return int(s.Acked-acked0) + s.Buffered, s.Buffered
	}

	t.start()
	cpu0 := cpuTime()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		total, buffered := produced()
		if total >= target {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("only %d of %d events produced after 10 minutes", total, target)
		}
		if buffered < pubLowWater && simQueued(sim) < simLowWater {
			if err := sim.Advance(spec.step); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		time.Sleep(time.Millisecond)
	}
	e.drain(tb, sim, n, spec.phones)
	cpu := cpuTime() - cpu0
	t.stop()

	st := pub.Stats()
	if st.Dropped != 0 || st.Rejected != 0 {
		tb.Fatalf("publisher dropped %d and rejected %d messages", st.Dropped, st.Rejected)
	}
	msgs := n.read(tb, s0+1, 0)
	if len(msgs) == 0 {
		tb.Fatal(errNoEvents)
	}
	w := window{events: len(msgs), last: msgs[0].stored, cpu: cpu}
	for _, d := range decodeAll(tb, msgs) {
		if w.first.IsZero() || d.ev.Received.Before(w.first) {
			w.first = d.ev.Received
		}
		if d.stored.After(w.last) {
			w.last = d.stored
		}
	}
	return w, msgs
}

// drain waits until every frame the simulator has produced so far has
// been processed by the engine and every event is acknowledged. A marker
// call is placed after the traffic: the simulator sends its first frame
// after everything else, the engine processes frames in order and hands
// each event to the publisher before the next frame, so once the marker's
// event is in the stream everything before it has been published, and
// Flush waits for the remaining acks.
func (e *bridgeEnv) drain(tb testing.TB, sim *ctisim.Server, n *natsEnv, phones int) {
	tb.Helper()
	from, to := strconv.Itoa(firstDN+phones-1), strconv.Itoa(firstDN+phones-2)
	id, err := sim.Place(traffic.Basic, from, to, "")
	if err != nil {
		tb.Fatal(err)
	}
	subject := schema.CallSubject(benchCluster, strconv.FormatUint(uint64(id), 10))
	waitFor(tb, 5*time.Minute, "the marker call's first event in the stream", 5*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := n.stream.GetLastMsgForSubject(ctx, subject)
		if err != nil && !errors.Is(err, natsjs.ErrMsgNotFound) {
			tb.Fatalf("looking for the marker call: %v", err)
		}
		return err == nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := e.br.Publisher().Flush(ctx); err != nil {
		tb.Fatal(err)
	}
}

// runRaw is the baseline: the same messages, in the same order, published
// with plain nats.go (PublishMsgAsync with the Msg-Id, nats.go's default
// pending limit) to a fresh server of the same kind. Its window runs from
// the first publish call to the last message stored.
func runRaw(tb testing.TB, msgs []storedMsg, t timer) window {
	tb.Helper()
	n := startNATS(tb)
	var failed atomic.Int64
	js, err := natsjs.New(n.nc, natsjs.WithPublishAsyncErrHandler(func(natsjs.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]*nats.Msg, len(msgs))
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		h := make(nats.Header, len(m.header))
		for k, v := range m.header {
			if strings.EqualFold(k, nats.MsgIdHdr) {
				ids[i] = v[0]
				continue
			}
			h[k] = v
		}
		if ids[i] == "" {
			tb.Fatalf("stored message %d has no %s", m.seq, nats.MsgIdHdr)
		}
		out[i] = &nats.Msg{Subject: m.subject, Header: h, Data: m.data}
	}
	s0 := n.lastSeq(tb)

	t.start()
	cpu0 := cpuTime()
	first := time.Now()
	for i, m := range out {
		if _, err := js.PublishMsgAsync(m, natsjs.WithMsgID(ids[i]), natsjs.WithStallWait(time.Minute)); err != nil {
			tb.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		tb.Fatal("raw publish: acks did not complete within 5 minutes")
	}
	cpu := cpuTime() - cpu0
	t.stop()

	if f := failed.Load(); f != 0 {
		tb.Fatalf("raw publish: %d messages failed", f)
	}
	stored := n.read(tb, s0+1, 0)
	if len(stored) != len(msgs) {
		tb.Fatalf("raw publish: %d messages stored, want %d", len(stored), len(msgs))
	}
	w := window{events: len(stored), first: first, last: stored[0].stored, cpu: cpu}
	for _, m := range stored {
		if m.stored.After(w.last) {
			w.last = m.stored
		}
	}
	return w
}

// BenchmarkIngestEndToEnd measures simulator → bridge → JetStream ack
// throughput: b.N is the number of events to produce; events/s counts
// every event stored from the first CTI frame received to the last
// message stored.
//
//	go test -run '^$' -bench 'Ingest' -benchtime 200000x -count 3 ./internal/bench
func BenchmarkIngestEndToEnd(b *testing.B) {
	w, _ := runEndToEnd(b, ingestDefault, b.N, timer{b.ResetTimer, b.StopTimer})
	b.ReportMetric(w.rate(), "events/s")
	b.ReportMetric(float64(w.events), "events")
	b.ReportMetric(w.cpuPerEvent(), "cpu-µs/event")
}

// BenchmarkIngestRawJetStream is the baseline of BenchmarkIngestEndToEnd:
// a first, unclocked end-to-end pass produces the messages (b.N events or
// a few more), then exactly those messages are published with plain
// nats.go async publishing to a fresh embedded server. It reports the raw
// rate (events/s), the rate of its own end-to-end pass (e2e-events/s) and
// their ratio, the product's target being ≥ 0.6.
func BenchmarkIngestRawJetStream(b *testing.B) {
	b.StopTimer()
	e2e, msgs := runEndToEnd(b, ingestDefault, b.N, noTimer)
	raw := runRaw(b, msgs, timer{b.ResetTimer, b.StopTimer})
	b.ReportMetric(raw.rate(), "events/s")
	b.ReportMetric(float64(raw.events), "events")
	b.ReportMetric(raw.cpuPerEvent(), "cpu-µs/event")
	b.ReportMetric(e2e.rate(), "e2e-events/s")
	b.ReportMetric(e2e.cpuPerEvent(), "e2e-cpu-µs/event")
	if r := raw.rate(); r > 0 {
		b.ReportMetric(e2e.rate()/r, "ratio")
	}
	if c := e2e.cpuPerEvent(); c > 0 {
		b.ReportMetric(raw.cpuPerEvent()/c, "cpu-ratio")
	}
}
