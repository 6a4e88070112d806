package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

var (
	scaleEvents  = flag.Int("scale.events", 1_000_000, "BenchmarkScale: events in each layout's log (the issue's full size is 5000000)")
	scaleDir     = flag.String("scale.dir", "", "BenchmarkScale: directory for the stores (default: a temporary one, removed afterwards)")
	scaleLayouts = flag.String("scale.layouts", "1,2", "BenchmarkScale: the layouts to build, comma-separated (1: before layout 2; 2: layout 2 + S2)")
)

// scaleRawEvents bounds the raw-publish baseline: the ratio is taken over
// the first events of the log, so the baseline need not hold the whole
// log in memory (a large live heap would slow the baseline's garbage
// collection down and flatter the ratio).
const scaleRawEvents = 100_000

// storeLayout is one way of storing the log.
type storeLayout struct {
	name, short string
	// v1 is the first layout as it was: every call event stored on
	// cti.<cluster>.call.<callid>.<event>, no compression.
	v1 bool
}

var (
	layoutV1 = storeLayout{name: "layout 1 (before)", short: "v1", v1: true}
	layoutV2 = storeLayout{name: "layout 2 + S2 (now)", short: "v2"}
)

// provision creates the event stream of the layout on a fresh server.
func (l storeLayout) provision(ctx context.Context, js natsjs.JetStream) error {
	if !l.v1 {
		_, err := jetstream.Provision(ctx, js, jetstream.ProvisionConfig{})
		return err
	}
	// The stream as provisioning made it before layout 2.
	_, err := js.CreateStream(ctx, natsjs.StreamConfig{
		Name: jetstream.DefaultStream, Subjects: []string{schema.SubjectRoot + ".>"},
		Retention: natsjs.LimitsPolicy, MaxConsumers: -1, MaxMsgs: -1, MaxBytes: -1, MaxMsgsPerSubject: -1,
		Discard: natsjs.DiscardOld, MaxAge: jetstream.DefaultMaxAge, Storage: natsjs.FileStorage,
		Replicas: 1, Duplicates: jetstream.DefaultDuplicates, AllowDirect: true,
	})
	return err
}

// subject sets the message's subject as the layout publishes it: layout 1
// had no line token and stored what it published.
func (l storeLayout) subject(m *schema.Msg, ev *schema.Event) {
	if l.v1 && ev.Family == schema.FamilyCall {
		m.Subject = m.EntityKey + "." + schema.EscapeToken(ev.Name)
	}
}

// published is the subject the layout publishes ev on.
func (l storeLayout) published(ev *schema.Event) string {
	if l.v1 && ev.Family == schema.FamilyCall {
		return schema.StoredSubject(benchCluster, ev) + "." + schema.EscapeToken(ev.Name)
	}
	return schema.Subject(benchCluster, ev)
}

// scaleResult is what one layout's run measured.
type scaleResult struct {
	layout   storeLayout
	events   uint64
	calls    int
	subjects uint64
	// stored is the stream's byte count (messages as the server counts
	// them, uncompressed); disk the files of its directory; jsz the
	// storage the server's /jsz reports.
	stored, disk, jsz uint64
	// memory is the server's heap for the stream after a restart (its
	// subject index and block metadata, no caches) less the heap for the
	// log's start alone (provider and devices in service: the part bounded
	// by the configuration), so memory/calls is the cost of a retained
	// call; total is the whole heap for the stream, the empty server's
	// subtracted.
	memory, total int64
	// pubRate and rawRate are events/s over the first scaleRawEvents
	// events through the bridge's path (encoder + Publisher) and as a raw
	// async publish of the same messages; pubCPU the CPU per event.
	pubRate, rawRate float64
	pubCPU, rawCPU   float64
	elapsed          time.Duration
	// resends counts events the publisher sent again after an ack
	// timeout (the server kept one copy of each).
	resends uint64
	// Latencies of the replay commands (median of three runs), and of
	// the read `replay call` does, in this process (Open, the call's
	// filter, the events read and folded): the command without the
	// process start.
	call, stateAt, timeline, callRead time.Duration
	// help is `replay --help`'s wall time in the same run: the process's
	// start and exit, no store reached.
	help time.Duration
}

// BenchmarkScale is the operating-cost benchmark (PRODUCT.md §6, issue
// "Operating cost at contact-centre volume"): a log of -scale.events
// events of the contact-centre mix (recordTemplate's calls, repeated by
// callLog) is published the way the bridge publishes (encoder, Publisher)
// into an embedded server in each layout in turn — the first layout as it
// was, and the current one with S2 — and for each it reports the server's
// memory per retained call (heap after a restart: the subject index), the
// disk per event, the publish rate as a ratio to a raw async publish of
// the same messages on a fresh server of the same kind, and how long
// `replay call`, `replay state --at` and `replay timeline` take against it
// (the replay binary, run three times each; the median).
//
//	go test -run '^$' -bench 'Scale' -benchtime 1x -timeout 4h ./internal/bench -scale.events 5000000
func BenchmarkScale(b *testing.B) {
	b.StopTimer()
	if b.N > 1 {
		b.Fatal("run with -benchtime 1x: one run is minutes long")
	}
	tpl := recordTemplate(b, 2000, 3000, 200, 11)
	b.Logf("template: %d calls, %d events (%.1f per call), %d start events, %s of event time",
		tpl.ncalls, len(tpl.calls), float64(len(tpl.calls))/float64(tpl.ncalls), len(tpl.head), tpl.span.Round(time.Second))
	dir := *scaleDir
	if dir == "" {
		dir = b.TempDir()
	}
	bin, err := faultmatrix.BuildCommand(dir, "replay")
	if err != nil {
		b.Fatal(err)
	}
	layouts, err := parseLayouts(*scaleLayouts)
	if err != nil {
		b.Fatal(err)
	}
	empty := serverBaseline(b, filepath.Join(dir, "empty"), nil, layoutV2)
	var results []scaleResult
	for _, l := range layouts {
		head := serverBaseline(b, filepath.Join(dir, l.short+"-head"), tpl.head, l) - empty
		r := runScale(b, tpl, l, *scaleEvents, filepath.Join(dir, l.short), bin)
		r.total -= empty
		r.memory = r.total - head
		results = append(results, r)
		fmt.Printf("\n%s done:\n%s\n", l.name, scaleTable([]scaleResult{r}))
	}
	fmt.Printf("\n%s\n", scaleTable(results))
	for _, r := range results {
		p := r.layout.short + "-"
		b.ReportMetric(float64(r.memory)/float64(r.calls), p+"mem-B/call")
		b.ReportMetric(float64(r.disk)/float64(r.events), p+"disk-B/event")
		b.ReportMetric(float64(r.subjects)/float64(r.calls), p+"subjects/call")
		b.ReportMetric(r.pubRate/r.rawRate, p+"pub/raw")
		b.ReportMetric(millis(r.call), p+"call-ms")
		b.ReportMetric(millis(r.help), p+"help-ms")
		b.ReportMetric(millis(r.stateAt), p+"state-at-ms")
		b.ReportMetric(millis(r.timeline), p+"timeline-ms")
	}
}

// parseLayouts reads -scale.layouts: "1", "2" or both, in that order.
func parseLayouts(s string) ([]storeLayout, error) {
	var out []storeLayout
	for _, f := range strings.Split(s, ",") {
		var l storeLayout
		switch strings.TrimSpace(f) {
		case "1":
			l = layoutV1
		case "2":
			l = layoutV2
		default:
			return nil, fmt.Errorf("-scale.layouts %q: want 1, 2 or 1,2", s)
		}
		if slices.Contains(out, l) {
			return nil, fmt.Errorf("-scale.layouts %q: layout %s twice", s, strings.TrimSpace(f))
		}
		out = append(out, l)
	}
	return out, nil
}

// scaleTable renders the results as the markdown table of
// docs/benchmarks.md.
func scaleTable(rs []scaleResult) string {
	var sb strings.Builder
	sb.WriteString("| | " + strings.Join(mapSlice(rs, func(r scaleResult) string { return r.layout.name }), " | ") + " |\n")
	sb.WriteString("|---" + strings.Repeat("|---", len(rs)) + "|\n")
	row := func(name string, f func(r scaleResult) string) {
		sb.WriteString("| " + name + " | " + strings.Join(mapSlice(rs, f), " | ") + " |\n")
	}
	row("events / calls", func(r scaleResult) string { return fmt.Sprintf("%d / %d", r.events, r.calls) })
	row("distinct subjects (per call)", func(r scaleResult) string {
		return fmt.Sprintf("%d (%.2f)", r.subjects, float64(r.subjects)/float64(r.calls))
	})
	row("**server memory per retained call**", func(r scaleResult) string {
		return fmt.Sprintf("**%.0f B**", float64(r.memory)/float64(r.calls))
	})
	row("server memory for the stream (of which the configuration's start)", func(r scaleResult) string {
		return fmt.Sprintf("%.1f MiB (%.1f MiB)", float64(r.total)/(1<<20), float64(r.total-r.memory)/(1<<20))
	})
	row("**disk per event**", func(r scaleResult) string {
		return fmt.Sprintf("**%.0f B** (%.0f MiB)", float64(r.disk)/float64(r.events), float64(r.disk)/(1<<20))
	})
	row("stored bytes per event (uncompressed) / jsz storage", func(r scaleResult) string {
		return fmt.Sprintf("%.0f B / %.0f MiB", float64(r.stored)/float64(r.events), float64(r.jsz)/(1<<20))
	})
	row("publish (encoder + Publisher) / raw async publish", func(r scaleResult) string {
		return fmt.Sprintf("%.0f / %.0f events/s = %.2f", r.pubRate, r.rawRate, r.pubRate/r.rawRate)
	})
	row("CPU per event, publish / raw (client and server)", func(r scaleResult) string {
		return fmt.Sprintf("%.1f / %.1f µs = %.2f", r.pubCPU, r.rawCPU, r.rawCPU/r.pubCPU)
	})
	row("whole log published in (resends after an ack timeout)", func(r scaleResult) string {
		return fmt.Sprintf("%s (%d)", r.elapsed.Round(time.Second), r.resends)
	})
	row("`replay call` (its read alone, in process)", func(r scaleResult) string {
		return fmt.Sprintf("%s (%s)", r.call.Round(time.Millisecond), r.callRead.Round(time.Millisecond))
	})
	row("`replay --help` (the process's start alone)", func(r scaleResult) string { return r.help.Round(time.Millisecond).String() })
	row("`replay state --at`", func(r scaleResult) string { return r.stateAt.Round(time.Millisecond).String() })
	row("`replay timeline`", func(r scaleResult) string { return r.timeline.Round(time.Millisecond).String() })
	return sb.String()
}

func mapSlice[T, U any](s []T, f func(T) U) []U {
	out := make([]U, len(s))
	for i, v := range s {
		out[i] = f(v)
	}
	return out
}

// scaleServer is an embedded server on a store directory, listening on a
// loopback port so that the replay binary can reach it.
type scaleServer struct {
	dir string
	emb *jetstream.Embedded
	nc  *nats.Conn
	js  natsjs.JetStream
}

func startScaleServer(tb testing.TB, dir string) *scaleServer {
	tb.Helper()
	emb, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: dir, Listen: "127.0.0.1:0", Logger: zerolog.Nop()})
	if err != nil {
		tb.Fatal(err)
	}
	if err := emb.Start(); err != nil {
		tb.Fatal(err)
	}
	nc, err := emb.Connect("scale")
	if err != nil {
		tb.Fatal(err)
	}
	js, err := natsjs.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return &scaleServer{dir: dir, emb: emb, nc: nc, js: js}
}

func (s *scaleServer) stop(tb testing.TB) {
	tb.Helper()
	s.nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.emb.Shutdown(ctx); err != nil {
		tb.Fatal(err)
	}
}

// restartHeap stops the server, restarts it on its store and returns the
// heap it then holds: what the server keeps in memory for the store (the
// subject index, per-block metadata), without the caches that reading and
// writing fill. The stream's dedupe window is first shortened to one
// second and the restart waits it out, so the server does not reload the
// window's message ids (their cost is rate × window, sized apart).
func (s *scaleServer) restartHeap(tb testing.TB) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := s.js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	cfg.Duplicates = time.Second
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		tb.Fatal(err)
	}
	until := time.Now().Add(1100 * time.Millisecond)
	s.stop(tb)
	time.Sleep(time.Until(until))
	h0 := heapAfterGC()
	*s = *startScaleServer(tb, s.dir)
	if _, err := s.js.Stream(ctx, jetstream.DefaultStream); err != nil {
		tb.Fatal(err)
	}
	return heapAfterGC() - h0
}

// serverBaseline is restartHeap for a server whose stream, in layout l,
// holds evs.
func serverBaseline(tb testing.TB, dir string, evs []schema.Event, l storeLayout) int64 {
	tb.Helper()
	s := startScaleServer(tb, dir)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.provision(ctx, s.js); err != nil {
		tb.Fatal(err)
	}
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: benchCluster})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range evs {
		m, err := enc.Encode(&evs[i], time.Now())
		if err != nil {
			tb.Fatal(err)
		}
		l.subject(&m, &evs[i])
		if _, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: m.Subject, Header: nats.Header(m.Header), Data: m.Data}); err != nil {
			tb.Fatal(err)
		}
	}
	h := s.restartHeap(tb)
	s.stop(tb)
	return h
}

// ackWindow bounds the events published and not yet acknowledged, so a
// log of millions of events streams through the publisher's buffer.
type ackWindow struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending int
	max     int
}

func newAckWindow(n int) *ackWindow {
	w := &ackWindow{max: n}
	w.cond = sync.NewCond(&w.mu)
	return w
}

func (w *ackWindow) acquire() {
	w.mu.Lock()
	for w.pending >= w.max {
		w.cond.Wait()
	}
	w.pending++
	w.mu.Unlock()
}

func (w *ackWindow) ack(time.Duration) {
	w.mu.Lock()
	w.pending--
	w.mu.Unlock()
	w.cond.Signal()
}

func runScale(b *testing.B, tpl *callTemplate, l storeLayout, events int, dir, replayBin string) scaleResult {
	b.Helper()
	res := scaleResult{layout: l}
	res.rawRate, res.rawCPU = rawScaleRate(b, tpl, l, min(events, scaleRawEvents), dir+"-raw")

	s := startScaleServer(b, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Hour)
	defer cancel()
	if err := l.provision(ctx, s.js); err != nil {
		b.Fatal(err)
	}
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: benchCluster})
	if err != nil {
		b.Fatal(err)
	}
	win := newAckWindow(50_000)
	pub, err := jetstream.New(jetstream.Config{Conn: s.nc, Encoder: enc, GapSession: uniqueInstance("scale-gap"),
		BufferSize: 1 << 20, BufferBytes: 1 << 30, AckLatency: win.ack})
	if err != nil {
		b.Fatal(err)
	}
	pctx, stopPub := context.WithCancel(context.Background())
	pubDone := make(chan error, 1)
	go func() { pubDone <- pub.Run(pctx) }()
	flush := func() {
		fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer fcancel()
		if err := pub.Flush(fctx); err != nil {
			b.Fatal(err)
		}
	}

	log := newCallLog(tpl)
	rawN := min(events, scaleRawEvents)
	start, cpu0 := time.Now(), cpuTime()
	b.StartTimer()
	for i := 0; i < events; i++ {
		if i == rawN {
			flush()
			res.pubRate = float64(rawN) / time.Since(start).Seconds()
			res.pubCPU = micros(cpuTime()-cpu0) / float64(rawN)
		}
		ev := log.next()
		msg, err := enc.Encode(&ev, time.Now())
		if err != nil {
			b.Fatalf("event %d (%s): %v", i, ev.Name, err)
		}
		l.subject(&msg, &ev)
		win.acquire()
		if err := pub.PublishEncoded(msg); err != nil {
			b.Fatal(err)
		}
	}
	flush()
	b.StopTimer()
	res.elapsed = time.Since(start)
	if res.pubRate == 0 {
		res.pubRate = float64(events) / res.elapsed.Seconds()
		res.pubCPU = micros(cpuTime()-cpu0) / float64(events)
	}
	stopPub()
	if err := <-pubDone; err != nil {
		b.Fatal(err)
	}
	// Resends (an ack later than AckTimeout on a loaded machine) are
	// deduplicated by the server and counted; losses would void the run.
	st0 := pub.Stats()
	if st0.Dropped != 0 || st0.Rejected != 0 {
		b.Fatalf("publisher stats %+v: events lost", st0)
	}
	res.resends = st0.Resends
	res.calls = log.calls

	st, err := s.js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		b.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		b.Fatal(err)
	}
	res.events, res.subjects, res.stored = info.State.Msgs, info.State.NumSubjects, info.State.Bytes
	if res.events != uint64(events) {
		b.Fatalf("the stream holds %d events, %d were published", res.events, events)
	}
	jsz, err := s.emb.Server().Jsz(&server.JSzOptions{})
	if err != nil {
		b.Fatal(err)
	}
	res.jsz = jsz.Store
	at, err := st.GetMsg(ctx, res.events*3/4)
	if err != nil {
		b.Fatal(err)
	}
	res.total = s.restartHeap(b)
	// On disk once the server has stopped and started again: the last
	// blocks' compression, which runs in the background, has had its time.
	res.disk = dirBytes(b, filepath.Join(dir, "jetstream", server.DEFAULT_GLOBAL_ACCOUNT, "streams", jetstream.DefaultStream))

	// The snapshots a running bridge would have written, then the replay
	// commands.
	snapshotAll(b, s.nc, res.events)
	callID := tpl.calls[0].Entity
	if log.rep > 1 {
		callID = log.moveID(callID, uint64(log.rep/2)*tpl.idStride)
	}
	url := s.emb.ClientURL()
	res.call = timeReplay(b, replayBin, "--server", url, "--cluster", benchCluster, "call", callID)
	res.stateAt = timeReplay(b, replayBin, "--server", url, "--cluster", benchCluster, "state", "--at", at.Time.UTC().Format(time.RFC3339Nano))
	res.timeline = timeReplay(b, replayBin, "--server", url, "--cluster", benchCluster, "timeline")
	res.callRead = timeCallRead(b, url, callID)
	res.help = timeReplay(b, replayBin, "--help")
	s.stop(b)
	return res
}

// rawScaleRate publishes the first n events of the log, encoded
// beforehand with the layout's subjects, straight through PublishMsgAsync
// (Nats-Msg-Id set, at most 1,024 in flight as the Publisher) into a fresh
// server with the layout's stream, and returns events/s and the CPU per
// event in µs.
func rawScaleRate(b *testing.B, tpl *callTemplate, l storeLayout, n int, dir string) (float64, float64) {
	b.Helper()
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: benchCluster})
	if err != nil {
		b.Fatal(err)
	}
	log := newCallLog(tpl)
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		ev := log.next()
		m, err := enc.Encode(&ev, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		l.subject(&m, &ev)
		msgs[i] = &nats.Msg{Subject: m.Subject, Header: nats.Header(m.Header), Data: m.Data}
	}
	s := startScaleServer(b, dir)
	defer func() {
		s.stop(b)
		_ = os.RemoveAll(dir)
	}()
	js, err := natsjs.New(s.nc, natsjs.WithPublishAsyncMaxPending(jetstream.DefaultMaxInFlight))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := l.provision(ctx, js); err != nil {
		b.Fatal(err)
	}
	start, cpu0 := time.Now(), cpuTime()
	for _, m := range msgs {
		for {
			_, err := js.PublishMsgAsync(m)
			if err == nil {
				break
			}
			if !errors.Is(err, natsjs.ErrTooManyStalledMsgs) {
				b.Fatal(err)
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		b.Fatal("raw publish: acks missing")
	}
	return float64(n) / time.Since(start).Seconds(), micros(cpuTime()-cpu0) / float64(n)
}

// dirBytes sums the sizes of the files under dir. A file that goes away
// meanwhile (the server compresses a full block into a temporary file and
// renames it) is skipped.
func dirBytes(tb testing.TB, dir string) uint64 {
	tb.Helper()
	var n uint64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		n += uint64(fi.Size())
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// snapshotAll runs a Snapshotter over the stream until its snapshots
// cover the last event, as the bridge's would have while publishing.
func snapshotAll(tb testing.TB, nc *nats.Conn, last uint64) {
	tb.Helper()
	done := make(chan struct{})
	var once sync.Once
	sn, err := replaystore.NewSnapshotter(replaystore.SnapshotterConfig{Conn: nc, Cluster: benchCluster, Interval: -1,
		OnSnapshot: func(i replaystore.SnapshotInfo) {
			if i.Seq+replaystore.DefaultSnapshotEvery > last {
				once.Do(func() { close(done) })
			}
		}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- sn.Run(ctx) }()
	select {
	case <-done:
	case err := <-errc:
		tb.Fatalf("snapshotter ended: %v", err)
	case <-time.After(time.Hour):
		tb.Fatal("snapshots not written within an hour")
	}
	cancel()
	<-errc
}

// timeReplay runs the replay binary three times and returns the median
// wall time; output is discarded, a failure fails the benchmark.
func timeReplay(tb testing.TB, bin string, args ...string) time.Duration {
	tb.Helper()
	var ds []time.Duration
	for range 3 {
		cmd := exec.Command(bin, args...)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			tb.Fatalf("replay %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 20))
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return ds[1]
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// timeCallRead is what `replay call` does once the process runs, in this
// process: open the store, take the call's filter for the stream's layout,
// read and fold its events. Median of three.
func timeCallRead(tb testing.TB, url, callID string) time.Duration {
	tb.Helper()
	var ds []time.Duration
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		start := time.Now()
		st, err := replaystore.Open(ctx, replaystore.Config{Server: url})
		if err != nil {
			tb.Fatal(err)
		}
		filter, err := st.CallFilter(benchCluster, callID)
		if err != nil {
			tb.Fatal(err)
		}
		fold := callstate.New()
		rs, err := st.ReadEvents(ctx, replaystore.Query{Subjects: []string{filter}}, func(r replaystore.Record) error {
			fold.Apply(r.Event)
			return nil
		})
		ds = append(ds, time.Since(start))
		st.Close()
		cancel()
		if err != nil || rs.Messages == 0 {
			tb.Fatalf("reading call %s: %d events, %v", callID, rs.Messages, err)
		}
	}
	slices.Sort(ds)
	return ds[1]
}
