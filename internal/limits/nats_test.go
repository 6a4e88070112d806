package limits

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ctibridge/ctibridge/internal/tlse2e"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// busyCluster makes the simulator generate calls in real time on 1,304
// phones (1,000 more than the lab cluster): at 400 new calls a second the
// bridge publishes about 2,000 events a second.
func busyCluster(rate float64) func(*ctisim.Config) {
	return func(c *ctisim.Config) {
		c.ManualTime = false
		c.Traffic = traffic.Config{Seed: 7, Rate: rate}
		c.Cluster.PhoneBlocks = []ctisim.PhoneBlock{{Prefix: "SEPB", Count: 1000, FirstDN: 30000}}
		c.Cluster = c.Cluster.Expand()
	}
}

// TestPublisherBufferBoundWhileNATSDown: NATS goes away while calls keep
// coming. The publisher's buffer never holds more than BufferSize events
// (here 1000; plus at most one PublishGap record, which the bound leaves
// out so that recording a loss never causes one), the oldest never-sent
// events are dropped and counted, /readyz says the publisher is not
// connected; when NATS is back, PublishGap records in the stream account
// for every dropped event: each provider session's sequence numbers
// missing from the stream add up exactly to the dropped count, and nothing
// is stored twice.
func TestPublisherBufferBoundWhileNATSDown(t *testing.T) {
	// Above the start-up burst of the default cluster (every device and
	// line in service: about 710 events), below what the outage brings.
	const bufferSize = 1000
	n := tlse2e.StartNATS(t)
	sim := tlse2e.StartSim(t, nil, func(c *ctisim.Config) {
		c.ManualTime = false
		c.Traffic = traffic.Config{Seed: 7}
	})
	br := tlse2e.StartBridge(t, n, tlse2e.BridgeOptions{
		Engine:    tlse2e.EngineConfig(sim, "ctim-a", "ctim-b"),
		Publisher: jetstream.Config{BufferSize: bufferSize, MaxInFlight: 20},
	})
	br.WaitReady(t)
	pub := br.Publisher()
	tlse2e.Eventually(t, "the start-up events acknowledged", func() bool { st := pub.Stats(); return st.Acked > 100 && st.Buffered == 0 })
	if st := pub.Stats(); st.Dropped != 0 {
		t.Fatalf("%d events dropped before the outage", st.Dropped)
	}

	ctx, cancel := context.WithTimeout(context.Background(), tlse2e.WaitBound)
	defer cancel()
	if err := n.Server.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetRate(100); err != nil {
		t.Fatal(err)
	}
	maxSeen := 0
	tlse2e.Eventually(t, "500 events dropped while NATS is down", func() bool {
		st := pub.Stats()
		maxSeen = max(maxSeen, st.Buffered)
		if st.Buffered > bufferSize+1 {
			t.Fatalf("buffer holds %d events, bound %d (+1 gap record)", st.Buffered, bufferSize)
		}
		return st.Dropped >= 500
	})
	code, body := br.Get(t, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "publisher not connected to NATS") {
		t.Fatalf("/readyz during the outage = %d %s", code, body)
	}
	if v, _ := strconv.Atoi(br.Metric(t, "ctibridge_buffer_depth")); v > bufferSize+1 || v < bufferSize-20 {
		t.Fatalf("ctibridge_buffer_depth = %d during the outage, want about %d and never more", v, bufferSize)
	}
	if v, _ := strconv.Atoi(br.Metric(t, "ctibridge_events_dropped_total")); v < 500 {
		t.Fatalf("ctibridge_events_dropped_total = %d", v)
	}
	if err := sim.SetRate(0); err != nil {
		t.Fatal(err)
	}
	if err := n.Server.Start(); err != nil {
		t.Fatal(err)
	}
	br.WaitReady(t)
	tlse2e.Eventually(t, "the gap record acknowledged", func() bool { return pub.Stats().Gaps >= 1 })
	if err := br.Stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	st := pub.Stats()
	t.Logf("buffer peaked at %d (bound %d); dropped %d, acked %d, gap records %d", maxSeen, bufferSize, st.Dropped, st.Acked, st.Gaps)

	evs := n.Events(t)
	var dropped uint64
	gapIDs := map[string]bool{}
	seqs := map[string]map[uint64]bool{}
	for _, s := range evs {
		if s.Event.Name == schema.EvPublishGap {
			g := s.Event.Data.Bridge.Gap
			dropped += uint64(g.Dropped)
			gapIDs[g.FirstDropped], gapIDs[g.LastDropped] = true, true
			continue
		}
		if gapIDs[s.Env.ID] {
			t.Fatalf("event %s is both stored and reported dropped", s.Env.ID)
		}
		m := seqs[s.Event.Session]
		if m == nil {
			m = map[uint64]bool{}
			seqs[s.Event.Session] = m
		}
		if m[s.Event.SessionSeq] {
			t.Fatalf("%s stored twice", s.Env.ID)
		}
		m[s.Event.SessionSeq] = true
	}
	if dropped != st.Dropped || st.Gaps == 0 {
		t.Fatalf("PublishGap records account for %d dropped events, the publisher dropped %d", dropped, st.Dropped)
	}
	var holes uint64
	for sess, m := range seqs {
		var hi uint64
		for q := range m {
			hi = max(hi, q)
		}
		holes += hi - uint64(len(m))
		t.Logf("session %s: %d events stored, %d missing", sess, len(m), hi-uint64(len(m)))
	}
	if holes != st.Dropped {
		t.Fatalf("%d session sequence numbers are missing from the stream, the gap records account for %d", holes, st.Dropped)
	}
	for id := range gapIDs {
		for _, s := range evs {
			if s.Env.ID == id {
				t.Fatalf("event %s named dropped by a gap record is in the stream", id)
			}
		}
	}
}

// neverReads subscribes to cti.> over a raw TCP connection with a small
// receive buffer and then never reads again.
func neverReads(t *testing.T, n *tlse2e.NATS) net.Conn {
	t.Helper()
	u, err := url.Parse(n.Server.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(tlse2e.WaitBound))
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "INFO ") {
		t.Fatalf("server greeting %q: %v", l, err)
	}
	if _, err := fmt.Fprint(c, `CONNECT {"verbose":false,"pedantic":false,"echo":false,"name":"never-reads"}`+"\r\nSUB cti.> 1\r\nPING\r\n"); err != nil {
		t.Fatal(err)
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for PONG: %v", err)
		}
		if l == "PONG\r\n" {
			return c
		}
	}
}

// TestSlowConsumerDoesNotStallPublishing: a subscriber of the embedded
// NATS server on cti.> stops reading. The server queues for it and, after
// its write deadline, disconnects it as a slow consumer; all the while the
// bridge keeps publishing and JetStream keeps acknowledging, with the
// publisher's buffer staying small and the bridge ready.
func TestSlowConsumerDoesNotStallPublishing(t *testing.T) {
	n := tlse2e.StartNATS(t)
	neverReads(t, n)
	// Enough events to fill the socket buffers of the stuck subscriber
	// (up to 4 MiB on Linux) within seconds.
	sim := tlse2e.StartSim(t, nil, busyCluster(400))
	br := tlse2e.StartBridge(t, n, tlse2e.BridgeOptions{Engine: tlse2e.EngineConfig(sim, "ctim-a", "ctim-b")})
	br.WaitReady(t)
	pub := br.Publisher()
	srv := n.Server.Server()

	pending := func() (int, bool) {
		cz, err := srv.Connz(&server.ConnzOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ci := range cz.Conns {
			if ci.Name == "never-reads" {
				return ci.Pending, true
			}
		}
		return 0, false
	}
	tlse2e.Eventually(t, "the server queueing for the subscriber that never reads", func() bool {
		p, ok := pending()
		return ok && p > 64<<10
	})
	stalledAt := pub.Stats().Acked
	maxBuffered := 0
	tlse2e.Eventually(t, "2,000 more acknowledgements while the subscriber is stuck", func() bool {
		st := pub.Stats()
		maxBuffered = max(maxBuffered, st.Buffered)
		return st.Acked >= stalledAt+2000
	})
	// (That it was stuck is proven above — over 64 KiB queued for a client
	// that never reads — and below, by the server cutting it as a slow
	// consumer; a single pending sample of 0 here would prove nothing, as
	// the server's writes into the socket come in bursts.)
	code, _ := br.Get(t, "/readyz")
	if code != http.StatusOK {
		t.Fatalf("/readyz = %d while a subscriber is stuck", code)
	}
	tlse2e.Eventually(t, "the server to disconnect the slow consumer", func() bool {
		v, err := srv.Varz(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, present := pending()
		return v.SlowConsumers >= 1 && !present
	})
	st := pub.Stats()
	t.Logf("acked %d (%d after the subscriber stalled), buffer peaked at %d, dropped %d", st.Acked, st.Acked-stalledAt, maxBuffered, st.Dropped)
	if st.Dropped != 0 || st.Rejected != 0 {
		t.Fatalf("publishing suffered from the slow consumer: dropped %d, rejected %d", st.Dropped, st.Rejected)
	}
}
