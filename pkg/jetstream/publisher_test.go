package jetstream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// scale picks a load-test size: full, or reduced under the race detector.
func scale(full, race int) int {
	if raceEnabled {
		return race
	}
	return full
}

// startPublisher builds a publisher on nc and runs it until the test ends.
func startPublisher(t *testing.T, nc *nats.Conn, mod func(*Config)) *Publisher {
	t.Helper()
	p := newPublisher(t, nc, mod)
	runPublisher(t, p)
	return p
}

func newPublisher(t *testing.T, nc *nats.Conn, mod func(*Config)) *Publisher {
	t.Helper()
	cfg := Config{Conn: nc, Encoder: newEncoder(t), Logger: testLogger(t), AckTimeout: 2 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runPublisher(t *testing.T, p *Publisher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func flush(t *testing.T, p *Publisher, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("%v (stats %+v)", err, p.Stats())
	}
}

func publishN(t *testing.T, p *Publisher, g *msgGen, n int) {
	t.Helper()
	for range n {
		if err := p.Publish(g.next()); err != nil {
			t.Fatal(err)
		}
	}
}

// paced publishes n messages at about rate messages per second, in small
// bursts, so the load continues while the test does something else.
func paced(t *testing.T, p *Publisher, g *msgGen, n, rate int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		const tick = 5 * time.Millisecond
		per := max(rate*int(tick)/int(time.Second), 1)
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for sent := 0; sent < n; {
			<-tk.C
			for i := 0; i < per && sent < n; i++ {
				if err := p.Publish(g.next()); err != nil {
					t.Error(err)
					return
				}
				sent++
			}
		}
	}()
	return done
}

func TestPublishExactlyOnceInOrder(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	var lat []time.Duration
	var latMu = make(chan struct{}, 1)
	latMu <- struct{}{}
	p := startPublisher(t, nc, func(c *Config) {
		c.AckLatency = func(d time.Duration) { <-latMu; lat = append(lat, d); latMu <- struct{}{} }
	})

	n, entities := scale(5000, 2000), 200
	g := newMsgGen("s1", entities, 200)
	publishN(t, p, g, n)
	flush(t, p, 20*time.Second)

	msgs := readStream(t, js)
	present, gaps := checkOnceInOrder(t, msgs)
	if len(present) != n || len(msgs) != n || len(gaps) != 0 {
		t.Fatalf("stream holds %d messages (%d distinct generated, %d gaps), want %d", len(msgs), len(present), len(gaps), n)
	}
	st := p.Stats()
	if st.Acked != uint64(n) || st.Duplicates != 0 || st.Dropped != 0 || st.Buffered != 0 || st.InFlight != 0 || !st.Connected {
		t.Fatalf("stats %+v", st)
	}
	<-latMu
	if len(lat) != n {
		t.Fatalf("ack latency observed %d times, want %d", len(lat), n)
	}
}

func TestPublishSurvivesNATSRestart(t *testing.T) {
	for _, mode := range []string{"tcp", "in-process"} {
		t.Run(mode, func(t *testing.T) {
			e := startServer(t)
			nc := dialTCP(t, e.ClientURL())
			if mode == "in-process" {
				var err error
				if nc, err = e.Connect(t.Name(), nats.ReconnectWait(20*time.Millisecond)); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(nc.Close)
			}
			js := newJS(t, nc)
			provision(t, js)
			p := startPublisher(t, nc, nil)

			n, rate, entities := scale(16000, 4000), scale(16000, 3000), 500
			g := newMsgGen("s1", entities, 256)
			done := paced(t, p, g, n, rate)
			waitFor(t, 15*time.Second, "a quarter acked", func() bool { return p.Stats().Acked >= uint64(n/4) })
			restart(t, e)
			<-done
			flush(t, p, 25*time.Second)

			msgs := readStream(t, newJS(t, dialTCP(t, e.ClientURL())))
			present, gaps := checkOnceInOrder(t, msgs)
			if len(present) != n || len(gaps) != 0 {
				t.Fatalf("stream holds %d of %d messages, %d gap records; stats %+v", len(present), n, len(gaps), p.Stats())
			}
			st := p.Stats()
			if st.Reconnects < 1 {
				t.Fatalf("no reconnect seen: the restart did not happen under the publisher (stats %+v)", st)
			}
			t.Logf("stats after restart: %+v", st)
		})
	}
}

func TestPublishNATSDownSeveralSeconds(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	p := startPublisher(t, nc, nil)

	n, rate, entities := scale(12000, 4000), scale(3000, 1000), 300
	g := newMsgGen("s1", entities, 256)
	done := paced(t, p, g, n, rate)
	waitFor(t, 15*time.Second, "500 acks", func() bool { return p.Stats().Acked >= 500 })
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// NATS stays down for 2 s of load (2 × rate messages).
	down := time.NewTimer(2 * time.Second)
	<-down.C
	st := p.Stats()
	if st.Connected {
		t.Fatal("publisher still reports connected while NATS is down")
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	<-done
	flush(t, p, 25*time.Second)

	msgs := readStream(t, js)
	present, gaps := checkOnceInOrder(t, msgs)
	if len(present) != n || len(gaps) != 0 {
		t.Fatalf("stream holds %d of %d messages, %d gap records; stats %+v", len(present), n, len(gaps), p.Stats())
	}
	if st.Buffered < rate {
		t.Fatalf("only %d messages were buffered during the outage: the outage did not happen under load", st.Buffered)
	}
	if fs := p.Stats(); fs.Dropped != 0 || fs.Gaps != 0 {
		t.Fatalf("stats %+v", fs)
	}
}

// Overflow before anything could be sent: exactly the oldest messages are
// dropped, and one PublishGap record says so.
func TestPublishGapRecordOnOverflow(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	p := newPublisher(t, nc, func(c *Config) { c.BufferSize = 300; c.MaxInFlight = 64; c.Instance = "bridge-1" })

	const n, entities = 1000, 7
	g := newMsgGen("s1", entities, 64)
	publishN(t, p, g, n)
	if st := p.Stats(); st.Dropped != 700 || st.Buffered != 300 {
		t.Fatalf("before Run: stats %+v, want 700 dropped, 300 buffered", st)
	}
	runPublisher(t, p)
	flush(t, p, 20*time.Second)

	msgs := readStream(t, js)
	present, gaps := checkOnceInOrder(t, msgs)
	if len(gaps) != 1 {
		t.Fatalf("%d gap records, want 1", len(gaps))
	}
	gp := gaps[0]
	if gp.Dropped != 700 || gp.FirstDropped != schema.EventID("s1", 1) || gp.LastDropped != schema.EventID("s1", 700) || gp.Kind != "publish" || gp.Reason != GapReasonOverflow {
		t.Fatalf("gap record %+v", gp)
	}
	if gp.ClosedAt == nil || gp.ClosedAt.Before(gp.OpenedAt) {
		t.Fatalf("gap interval %v..%v", gp.OpenedAt, gp.ClosedAt)
	}
	if len(present) != 300 {
		t.Fatalf("%d messages present, want the 300 newest", len(present))
	}
	for i := 700; i < n; i++ {
		if !present[i] {
			t.Fatalf("message %d missing", i)
		}
	}
	if st := p.Stats(); st.Gaps != 1 || st.Acked != 301 {
		t.Fatalf("stats %+v", st)
	}
	// The record sits on the bridge subject of the cluster.
	for _, m := range msgs {
		if m.n < 0 && m.subject != "cti.lab.bridge."+schema.EvPublishGap {
			t.Fatalf("gap record on subject %s", m.subject)
		}
	}
}

// Overflow during an outage under load: every message is either in the
// stream exactly once, in order, or counted by a gap record.
func TestPublishGapWhileNATSDown(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	p := startPublisher(t, nc, func(c *Config) { c.BufferSize = 1000; c.MaxInFlight = 128 })

	g := newMsgGen("s1", 50, 128)
	publishN(t, p, g, 800)
	waitFor(t, 15*time.Second, "first batch acked", func() bool { return p.Stats().Acked >= 800 })
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "disconnect", func() bool { return !p.Stats().Connected })
	publishN(t, p, g, 3000) // 3000 more while down: 2000 must go
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	publishN(t, p, g, 1000) // and more after, while the backlog drains
	flush(t, p, 20*time.Second)

	const n = 4800
	msgs := readStream(t, js)
	present, gaps := checkOnceInOrder(t, msgs)
	dropped := 0
	for _, gp := range gaps {
		dropped += gp.Dropped
	}
	if len(gaps) == 0 || len(present)+dropped != n {
		t.Fatalf("%d present + %d reported dropped (%d records) != %d", len(present), dropped, len(gaps), n)
	}
	st := p.Stats()
	if int(st.Dropped) != dropped || dropped < 2000 {
		t.Fatalf("stats dropped %d, records %d", st.Dropped, dropped)
	}
	// The missing messages are exactly the ones the records cover.
	for i := range n {
		if present[i] {
			continue
		}
		id := schema.EventID("s1", uint64(i+1))
		covered := false
		for _, gp := range gaps {
			if id >= gp.FirstDropped && id <= gp.LastDropped {
				covered = true
			}
		}
		if !covered {
			t.Fatalf("message %d (%s) missing and not covered by a gap record", i, id)
		}
	}
}

func TestPublishDuplicateIsDeduped(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	p := startPublisher(t, nc, nil)

	g := newMsgGen("s1", 1, 16)
	m := g.next()
	again := Message{Subject: m.Subject, ID: m.ID, Header: nats.Header{hdrN: m.Header[hdrN], hdrESeq: m.Header[hdrESeq]}, Data: m.Data}
	if err := p.Publish(m); err != nil {
		t.Fatal(err)
	}
	flush(t, p, 10*time.Second)
	if err := p.Publish(again); err != nil {
		t.Fatal(err)
	}
	flush(t, p, 10*time.Second)
	if st := p.Stats(); st.Acked != 2 || st.Duplicates != 1 {
		t.Fatalf("stats %+v, want 2 acks, 1 duplicate", st)
	}
	if msgs := readStream(t, js); len(msgs) != 1 {
		t.Fatalf("stream holds %d copies, want 1", len(msgs))
	}
}

// An ack that never arrives (held by a proxy) times out; the message is
// resent with the same Msg-Id and the stream keeps a single copy.
func TestPublishLostAckResent(t *testing.T) {
	e := startServer(t)
	setup := dialTCP(t, e.ClientURL())
	js := newJS(t, setup)
	provision(t, js)
	px := newGateProxy(t, strings.TrimPrefix(e.ClientURL(), "nats://"))
	nc := dialTCP(t, px.url())
	p := startPublisher(t, nc, func(c *Config) { c.AckTimeout = 200 * time.Millisecond })

	g := newMsgGen("s1", 2, 16)
	px.hold(true)
	publishN(t, p, g, 4)
	waitFor(t, 10*time.Second, "a resend after an ack timeout", func() bool { return p.Stats().Resends >= 1 })
	// The first message of each entity was stored; their acks are held.
	waitFor(t, 10*time.Second, "the server to store the messages", func() bool {
		s, err := js.Stream(context.Background(), DefaultStream)
		return err == nil && s.CachedInfo().State.Msgs >= 2
	})
	px.hold(false)
	flush(t, p, 10*time.Second)

	st := p.Stats()
	if st.Duplicates < 1 || st.Acked != 4 {
		t.Fatalf("stats %+v, want ≥1 duplicate ack and 4 acks", st)
	}
	if !errors.Is(st.LastError, natsjs.ErrAsyncPublishTimeout) {
		t.Fatalf("last error %v, want an ack timeout", st.LastError)
	}
	msgs := readStream(t, js)
	present, _ := checkOnceInOrder(t, msgs)
	if len(msgs) != 4 || len(present) != 4 {
		t.Fatalf("stream holds %d messages, want 4", len(msgs))
	}
}

// A message the server refuses for good is reported, not retried forever,
// and does not block its entity's later messages.
func TestPublishRejectedMessageReported(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := ProvisionConfig{}
	cfg.setDefaults()
	sc := cfg.StreamConfig()
	sc.MaxMsgSize = 4096
	if _, err := js.CreateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	p := startPublisher(t, nc, nil)

	g := newMsgGen("s1", 1, 16)
	publishN(t, p, g, 2)
	big := g.next()
	big.Data = make([]byte, 8192)
	if err := p.Publish(big); err != nil {
		t.Fatal(err)
	}
	publishN(t, p, g, 2)
	flush(t, p, 10*time.Second)

	msgs := readStream(t, js)
	present, gaps := checkOnceInOrder(t, msgs)
	if len(present) != 4 || present[2] || len(gaps) != 1 {
		t.Fatalf("present %v, %d gap records", present, len(gaps))
	}
	gp := gaps[0]
	if gp.Dropped != 1 || gp.FirstDropped != big.ID || !strings.HasPrefix(gp.Reason, GapReasonRejected) {
		t.Fatalf("gap record %+v", gp)
	}
	if st := p.Stats(); st.Rejected != 1 || st.Gaps != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestPublishValidation(t *testing.T) {
	_, err := New(Config{BufferSize: 10, MaxInFlight: 20, AckTimeout: -1, Stream: "cti.events", StuckInProcess: -time.Second})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"Conn is required", "Encoder is required", "MaxInFlight 20 exceeds BufferSize 10", "AckTimeout",
		`Stream "cti.events": a stream name cannot contain '.'`, "StuckInProcess -1s is negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	p := newPublisher(t, nc, nil)
	if err := p.Publish(Message{Subject: "cti.lab.provider.X"}); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("message without id: %v", err)
	}
	p.Close()
	if err := p.Publish(Message{Subject: "cti.lab.provider.X", ID: "a-1"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	runPublisher(t, p)
	waitFor(t, 5*time.Second, "Run to start", p.running.Load)
	if err := p.Run(ctx); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: %v", err)
	}
}
