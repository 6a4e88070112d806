package jetstream

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Both benchmarks publish the same message set (512-byte payloads, ids
// unique per run, round-robin over benchEntities entities) to the same
// kind of server (embedded, file storage, the provisioned stream, an
// in-process connection) and count a message done when its PubAck is in.
// Run them together to report the ratio:
//
//	go test -run '^$' -bench 'Publish$' -benchtime 100000x ./pkg/jetstream
const (
	benchEntities = 1024
	benchPayload  = 512
)

var benchRun atomic.Int64

type benchEnv struct {
	e  *Embedded
	nc *nats.Conn
	js natsjs.JetStream
}

func newBenchEnv(b *testing.B) *benchEnv { return newBenchEnvSync(b, false) }

// newBenchEnvSync is newBenchEnv with the server's fsync policy chosen:
// every write (SyncAlways) or nats-server's default interval.
func newBenchEnvSync(b *testing.B, syncAlways bool) *benchEnv {
	b.Helper()
	e, err := NewEmbedded(EmbeddedConfig{DataDir: b.TempDir(), NoListen: true, SyncAlways: syncAlways, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	if err := e.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	nc, err := e.Connect("bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := natsjs.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	provision(b, js)
	return &benchEnv{e: e, nc: nc, js: js}
}

// cpuTime is the process's user+system CPU time: with other work on the
// machine it is a steadier cost measure than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op (process CPU, server included, per message).
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// benchMessages builds n messages with ids unique across runs.
func benchMessages(n int) []Message {
	run := benchRun.Add(1)
	session := "bench" + strconv.FormatInt(run, 10)
	payload := make([]byte, benchPayload)
	out := make([]Message, n)
	for i := range out {
		k := i % benchEntities
		out[i] = Message{
			Subject: fmt.Sprintf("cti.%s.call.%d.CallCtlConnEstablishedEv", testCluster, k),
			ID:      fmt.Sprintf("%s-%012d", session, i+1),
			Data:    payload,
		}
		// As the encoder's messages do, the header carries the Msg-Id.
		out[i].Header = nats.Header{"ce-specversion": []string{"1.0"}, natsjs.MsgIDHeader: []string{out[i].ID}}
	}
	return out
}

// callEvent is the i-th event of a synthetic call stream: a call event of
// one of benchEntities calls, with parties of varying length so that
// encoded messages differ in size.
func callEvent(session string, i int) schema.Event {
	at := time.Date(2026, 5, 1, 14, 2, 17, 0, time.UTC).Add(time.Duration(i) * time.Microsecond)
	call := strconv.Itoa(16777216 + i%benchEntities)
	calling := strings.Repeat("1", 1+i%13)
	return schema.Event{
		Family: schema.FamilyCall, Entity: call, Name: schema.EvCallCtlConnEstablished,
		Session: session, SessionSeq: uint64(i + 1), Sequence: uint64(i/benchEntities + 1), CTIManager: "cucm-pub",
		Time: at, Received: at.Add(time.Millisecond), Frame: "ctibridge:" + strconv.Itoa(i+1),
		Data: schema.Data{
			Event: schema.EvCallCtlConnEstablished, Cause: schema.CauseNormal, CauseName: "CAUSE_NORMAL",
			Times: schema.Timestamps{Upstream: at, Received: at.Add(time.Millisecond)},
			Call: &schema.CallData{
				CallID: call, State: "ACTIVE", StateCode: schema.CallActive, CallManager: "cucm-sub1",
				Calling: &schema.Party{Address: calling, Terminal: "SEP001122334455"},
				Called:  &schema.Party{Address: "1002", Terminal: "SEP00AABBCCDDEE"},
			},
		},
	}
}

// emitWindow bounds the events BenchmarkEmit has awaiting their ack: a
// steady flow, as in production below capacity, rather than one burst of
// b.N messages all buffered at once.
const emitWindow = 1000

// BenchmarkEmit is the bridge's emit path: encode each event and publish
// it (Publisher.Emit), at most emitWindow unacknowledged, then wait for
// every ack. The allocation figures include the embedded server's, which
// runs in the same process.
func BenchmarkEmit(b *testing.B) {
	env := newBenchEnv(b)
	session := "bench-emit" + strconv.FormatInt(benchRun.Add(1), 10)
	evs := make([]schema.Event, b.N)
	for i := range evs {
		evs[i] = callEvent(session, i)
	}
	window := make(chan struct{}, emitWindow)
	p, err := New(Config{Conn: env.nc, Encoder: newEncoder(b), BufferSize: max(b.N, DefaultMaxInFlight), BufferBytes: math.MaxInt64,
		AckLatency: func(time.Duration) { <-window }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range evs {
		window <- struct{}{}
		p.Emit(evs[i])
	}
	fctx, fcancel := context.WithTimeout(context.Background(), time.Minute)
	defer fcancel()
	if err := p.Flush(fctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportCPU(b, cpu0)
	if st := p.Stats(); st.Acked != uint64(b.N) || st.Dropped != 0 || st.Rejected != 0 {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkRawAsyncPublish is the baseline: plain PublishMsgAsync with
// the Msg-Id, nats.go's default pending limit, then wait for every ack.
func BenchmarkRawAsyncPublish(b *testing.B) {
	env := newBenchEnv(b)
	msgs := benchMessages(b.N)
	nms := make([]*nats.Msg, len(msgs))
	for i := range msgs {
		nms[i] = &nats.Msg{Subject: msgs[i].Subject, Header: msgs[i].Header, Data: msgs[i].Data}
	}
	var failed atomic.Int64
	js, err := natsjs.New(env.nc, natsjs.WithPublishAsyncErrHandler(func(natsjs.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i, m := range nms {
		if _, err := js.PublishMsgAsync(m, natsjs.WithMsgID(msgs[i].ID), natsjs.WithStallWait(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("acks did not complete")
	}
	b.StopTimer()
	reportCPU(b, cpu0)
	if failed.Load() != 0 {
		b.Fatalf("%d publishes failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPublisher measures the Publisher: Publish every message, then
// Flush (every ack in).
func BenchmarkPublisher(b *testing.B) { benchPublisher(b, newBenchEnv(b)) }

// BenchmarkPublisherSync is BenchmarkPublisher against a server that
// fsyncs every write before acknowledging it (SyncAlways: nats.syncAlways,
// the default of `bridge run`'s embedded server) and against one that
// fsyncs every two minutes (nats-server's default), in the same run, so
// that their ratio is the cost of durable acks (docs/benchmarks.md):
//
//	go test -run '^$' -bench 'PublisherSync' -benchtime 50000x -count 4 ./pkg/jetstream
func BenchmarkPublisherSync(b *testing.B) {
	for _, always := range []bool{false, true} {
		b.Run("R1/syncAlways="+strconv.FormatBool(always), func(b *testing.B) {
			benchPublisher(b, newBenchEnvSync(b, always))
		})
	}
	// On a cluster the stream's writes go through its Raft log, which
	// nats-server fsyncs per batch under SyncAlways rather than per write.
	for _, always := range []bool{false, true} {
		b.Run("R3/syncAlways="+strconv.FormatBool(always), func(b *testing.B) {
			benchPublisher(b, newBenchClusterEnv(b, always))
		})
	}
}

// newBenchClusterEnv is a three-node embedded cluster (TCP on loopback)
// with the stream R3.
func newBenchClusterEnv(b *testing.B, syncAlways bool) *benchEnv {
	b.Helper()
	c, err := NewEmbeddedCluster(EmbeddedClusterConfig{DataDir: b.TempDir(), SyncAlways: syncAlways})
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	nc, err := c.Connect("bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	waitFor(b, 30*time.Second, "connection", nc.IsConnected)
	js, err := natsjs.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := Provision(ctx, js, ProvisionConfig{Replicas: 3}); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{nc: nc, js: js}
}

func benchPublisher(b *testing.B, env *benchEnv) {
	msgs := benchMessages(b.N)
	p, err := New(Config{Conn: env.nc, Encoder: newEncoder(b), BufferSize: max(b.N, DefaultMaxInFlight), BufferBytes: math.MaxInt64})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for _, m := range msgs {
		if err := p.Publish(m); err != nil {
			b.Fatal(err)
		}
	}
	fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Minute) // SyncAlways on a slow disk: minutes
	defer fcancel()
	if err := p.Flush(fctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	reportCPU(b, cpu0)
	if st := p.Stats(); st.Acked != uint64(b.N) || st.Dropped != 0 {
		b.Fatalf("stats %+v", st)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkPublisherLatency10k paces b.N messages at 10,000 per second
// (the product's latency target rate) in 1 ms bursts of 10 and reports the
// Publish→ack latency percentiles observed by Config.AckLatency.
//
//	go test -run '^$' -bench 'Latency10k' -benchtime 20000x ./pkg/jetstream
func BenchmarkPublisherLatency10k(b *testing.B) {
	env := newBenchEnv(b)
	msgs := benchMessages(b.N)
	lat := make([]time.Duration, 0, b.N)
	var latMu sync.Mutex
	p, err := New(Config{Conn: env.nc, Encoder: newEncoder(b), BufferSize: max(b.N, DefaultMaxInFlight),
		AckLatency: func(d time.Duration) { latMu.Lock(); lat = append(lat, d); latMu.Unlock() }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	b.ResetTimer()
	tk := time.NewTicker(time.Millisecond)
	for i := 0; i < len(msgs); {
		<-tk.C
		for j := 0; j < 10 && i < len(msgs); j++ {
			if err := p.Publish(msgs[i]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	}
	tk.Stop()
	fctx, fcancel := context.WithTimeout(context.Background(), time.Minute)
	defer fcancel()
	if err := p.Flush(fctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	latMu.Lock()
	defer latMu.Unlock()
	slices.Sort(lat)
	pct := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(1), "max-µs")
}
