package main

import (
	"context"
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// The benchmarks share one large log: REPLAY_BENCH_EVENTS events (default
// 1,000,000) over 2,000 lines with three failovers, snapshotted every
// 10,000 events by the Snapshotter. REPLAY_BENCH_DIR keeps the store
// between runs (it is reused when it holds the right number of events);
// otherwise a temporary directory is used and removed.
//
//	go test -run XXX -bench . -benchtime 3x ./cmd/replay/

type bigLog struct {
	srv    *server.Server
	nc     *nats.Conn
	url    string
	events int
	setup  time.Duration
}

var (
	bigOnce sync.Once
	big     *bigLog
	bigErr  error
	bigTmp  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if big != nil {
		big.nc.Close()
		big.srv.Shutdown()
		big.srv.WaitForShutdown()
	}
	if bigTmp != "" {
		os.RemoveAll(bigTmp)
	}
	os.Exit(code)
}

func benchEvents() int {
	if v, err := strconv.Atoi(os.Getenv("REPLAY_BENCH_EVENTS")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

func bigFixture(b *testing.B) *bigLog {
	b.Helper()
	bigOnce.Do(func() { big, bigErr = buildBig() })
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return big
}

func buildBig() (*bigLog, error) {
	start := time.Now()
	n := benchEvents()
	dir := os.Getenv("REPLAY_BENCH_DIR")
	if dir == "" {
		var err error
		if bigTmp, err = os.MkdirTemp("", "replay-bench-*"); err != nil {
			return nil, err
		}
		dir = bigTmp
	}
	srv, err := server.NewServer(&server.Options{ServerName: "bench", Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		return nil, err
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		return nil, errors.New("bench server not ready")
	}
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		return nil, err
	}
	l := &bigLog{srv: srv, nc: nc, url: srv.ClientURL(), events: n}
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if st, err := js.Stream(ctx, "CTI"); err == nil && st.CachedInfo().State.Msgs == uint64(n) {
		l.setup = time.Since(start)
		return l, nil // reused
	}
	_ = js.DeleteStream(ctx, "CTI")
	_ = js.DeleteStream(ctx, replaystore.DefaultSnapshotStream)
	if _, err := jetstream.Provision(ctx, js, jetstream.ProvisionConfig{Stream: jetstream.DefaultStream, Duplicates: time.Minute}); err != nil {
		return nil, err
	}
	pub, err := storetest.NewPublisher(js, "lab", schema.ModeBinary)
	if err != nil {
		return nil, err
	}
	var perr error
	storetest.GenerateLog(storetest.LogConfig{Events: n, Lines: 2000, Failovers: []int{n / 4, n / 2, 3 * n / 4}}, func(ev schema.Event) {
		if perr == nil {
			perr = pub.Add(&ev)
		}
	})
	if perr == nil {
		perr = pub.Flush()
	}
	if perr != nil {
		return nil, perr
	}
	done := make(chan struct{})
	var once sync.Once
	sn, err := replaystore.NewSnapshotter(replaystore.SnapshotterConfig{Conn: nc, Cluster: "lab", Interval: -1,
		OnSnapshot: func(i replaystore.SnapshotInfo) {
			if i.Seq >= uint64(n/10_000*10_000) {
				once.Do(func() { close(done) })
			}
		}})
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- sn.Run(sctx) }()
	select {
	case <-done:
	case err := <-errc:
		cancel()
		return nil, err
	case <-time.After(30 * time.Minute):
		cancel()
		return nil, errors.New("snapshotter did not finish")
	}
	cancel()
	if err := <-errc; err != nil {
		return nil, err
	}
	l.setup = time.Since(start)
	return l, nil
}

// BenchmarkFoldVsRawRead measures, in the same run on the same stream, the
// raw ordered-consumer read rate (messages delivered, nothing decoded) and
// the state rebuild rate (read + schema.Decode + callstate.Apply of every
// event), and reports their ratio (target ≥ 0.7).
func BenchmarkFoldVsRawRead(b *testing.B) {
	l := bigFixture(b)
	ctx := context.Background()
	st, err := replaystore.NewFromConn(ctx, l.nc, replaystore.Config{})
	if err != nil {
		b.Fatal(err)
	}
	q := replaystore.Query{Subjects: []string{schema.ClusterFilter("lab")}}
	var raw, fold time.Duration
	var n uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		var c uint64
		if _, err := st.Read(ctx, q, func(replaystore.Message) error { c++; return nil }); err != nil {
			b.Fatal(err)
		}
		raw += time.Since(t0)
		t0 = time.Now()
		state := callstate.New()
		if _, err := st.ReadEvents(ctx, q, func(r replaystore.Record) error { state.Apply(r.Event); return nil }); err != nil {
			b.Fatal(err)
		}
		fold += time.Since(t0)
		if state.Stats().Events != c {
			b.Fatalf("folded %d of %d events", state.Stats().Events, c)
		}
		n = c
	}
	rawRate := float64(n) * float64(b.N) / raw.Seconds()
	foldRate := float64(n) * float64(b.N) / fold.Seconds()
	b.ReportMetric(float64(n), "events")
	b.ReportMetric(rawRate, "raw-msgs/s")
	b.ReportMetric(foldRate, "fold-events/s")
	b.ReportMetric(foldRate/rawRate, "fold/raw")
}

// BenchmarkStateAt runs `replay state --seq N --json` near the end of the
// log (the nearest snapshot plus up to 10,000 events).
func BenchmarkStateAt(b *testing.B) {
	l := bigFixture(b)
	seq := strconv.Itoa(l.events - 4321)
	warm(b, l)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := run(context.Background(), []string{"--server", l.url, "state", "--seq", seq, "--json"}, io.Discard, io.Discard, false); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(l.events), "log-events")
}

// BenchmarkStateAtTime is BenchmarkStateAt with --at (a time near the end).
func BenchmarkStateAtTime(b *testing.B) {
	l := bigFixture(b)
	warm(b, l)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := run(context.Background(), []string{"--server", l.url, "state", "--at", "-100ms", "--json"}, io.Discard, io.Discard, false); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(l.events), "log-events")
}

// BenchmarkTimeline runs `replay timeline --json` on the large log: the
// provider and bridge subjects only, the failovers' waves from the counts
// recorded in their GapClosed.
func BenchmarkTimeline(b *testing.B) {
	l := bigFixture(b)
	warm(b, l)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := run(context.Background(), []string{"--server", l.url, "timeline", "--json"}, io.Discard, io.Discard, false); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(l.events), "log-events")
}

// warm runs the commands once so that the server has the store's indexes
// in memory, as a long-running server has: the first query after a server
// start loads every block's subject index.
func warm(b *testing.B, l *bigLog) {
	b.Helper()
	for _, args := range [][]string{{"timeline", "--json"}, {"state", "--seq", strconv.Itoa(l.events - 1), "--json"}} {
		if code := run(context.Background(), append([]string{"--server", l.url}, args...), io.Discard, io.Discard, false); code != 0 {
			b.Fatalf("warm-up %v: exit %d", args, code)
		}
	}
}

// BenchmarkTimelineWavesFromLog runs `replay timeline --waves-from-log
// --json`: the waves counted from each failover window's stored events, as
// every timeline did before the bridge recorded them in GapClosed (and as
// it still does for a log without them) — BenchmarkTimeline's baseline on
// the same log in the same run. (A log reused through REPLAY_BENCH_DIR must
// have been written by this tree's generator, with recorded waves.)
func BenchmarkTimelineWavesFromLog(b *testing.B) {
	l := bigFixture(b)
	warm(b, l)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := run(context.Background(), []string{"--server", l.url, "timeline", "--waves-from-log", "--json"}, io.Discard, io.Discard, false); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(l.events), "log-events")
}

// BenchmarkTimelineNoWaves runs `replay timeline --no-waves --json`: the
// provider and bridge subjects only.
func BenchmarkTimelineNoWaves(b *testing.B) {
	l := bigFixture(b)
	warm(b, l)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if code := run(context.Background(), []string{"--server", l.url, "timeline", "--no-waves", "--json"}, io.Discard, io.Discard, false); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
	b.ReportMetric(float64(l.events), "log-events")
}
