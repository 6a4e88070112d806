package jetstream

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

func TestEmitEncodesAndReportsUnencodable(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	p := startPublisher(t, nc, nil)

	at := time.Date(2026, 5, 1, 14, 2, 17, 0, time.UTC)
	good := schema.Event{
		Family: schema.FamilyCall, Entity: "42.a b", Name: schema.EvCallActive,
		Session: "prov-1", SessionSeq: 1, Sequence: 1, CTIManager: "cm1", Time: at, Received: at,
		Data: schema.Data{Call: &schema.CallData{CallID: "42.a b", State: "ACTIVE"}},
	}
	p.Emit(good)
	bad := good
	bad.SessionSeq = 2
	bad.Family = schema.FamilyTerminal // wrong family for the event name
	p.Emit(bad)
	flush(t, p, 10*time.Second)

	msgs := readStream(t, js)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the event and a gap record", len(msgs))
	}
	_, ev, err := schema.Decode(msgs[0].header, msgs[0].data)
	if err != nil || ev.Entity != "42.a b" || ev.Name != schema.EvCallActive || !ev.Time.Equal(at) || msgs[0].id != schema.EventID("prov-1", 1) {
		t.Fatalf("first message: %+v, %v", ev, err)
	}
	_, ev, err = schema.Decode(msgs[1].header, msgs[1].data)
	if err != nil || ev.Name != schema.EvPublishGap {
		t.Fatalf("second message: %+v, %v", ev, err)
	}
	gp := ev.Data.Bridge.Gap
	if gp.Dropped != 1 || gp.FirstDropped != schema.EventID("prov-1", 2) || !strings.HasPrefix(gp.Reason, GapReasonRejected) {
		t.Fatalf("gap %+v", gp)
	}
	if st := p.Stats(); st.Rejected != 1 || st.Gaps != 1 || st.Acked != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// Emit hands each message's memory back to the encoder once it is acked,
// and reuses entries. Whatever happens meanwhile — acks lost and messages
// resent, the server restarted under the publisher — every stored message
// must be, byte for byte, the encoding of its event: memory still
// referenced by a pending send must never be reused.
func TestEmitRecycledMemoryIntact(t *testing.T) {
	e := startServer(t)
	setup := dialTCP(t, e.ClientURL())
	js := newJS(t, setup)
	provision(t, js)
	px := newGateProxy(t, strings.TrimPrefix(e.ClientURL(), "nats://"))
	nc := dialTCP(t, px.url())
	published := time.Date(2026, 5, 1, 14, 3, 0, 0, time.UTC)
	p := startPublisher(t, nc, func(c *Config) {
		c.AckTimeout = 200 * time.Millisecond
		c.Now = func() time.Time { return published }
	})

	const session = "recycle-1"
	per := scale(400, 150)
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			p.Emit(callEvent(session, i))
		}
	}
	// Acks flowing: memory and entries are recycled from the start.
	emit(0, per)
	// Acks held: sends time out and are resent from memory still leased.
	px.hold(true)
	emit(per, 2*per)
	waitFor(t, 10*time.Second, "resends after ack timeouts", func() bool { return p.Stats().Resends >= 1 })
	px.hold(false)
	// The server restarts while events keep coming.
	emit(2*per, 3*per)
	restart(t, e)
	emit(3*per, 4*per)
	flush(t, p, 30*time.Second)

	ref := newEncoder(t)
	msgs := readStream(t, newJS(t, dialTCP(t, e.ClientURL())))
	if len(msgs) != 4*per {
		t.Fatalf("stream holds %d messages, want %d (stats %+v)", len(msgs), 4*per, p.Stats())
	}
	for i, m := range msgs {
		_, seq, ok := schema.ParseEventID(m.id)
		if !ok || seq == 0 || seq > uint64(4*per) {
			t.Fatalf("message %d: unexpected id %q", i, m.id)
		}
		ev := callEvent(session, int(seq-1))
		want, err := ref.Encode(&ev, published)
		if err != nil {
			t.Fatal(err)
		}
		// The stream stores a call event under its call (the stream's
		// subject transform), which is the message's entity key.
		if m.subject != want.EntityKey || m.subject != schema.StoredSubject(testCluster, &ev) || !bytes.Equal(m.data, want.Data) || !maps.EqualFunc(map[string][]string(m.header), want.Header, slices.Equal) {
			t.Fatalf("message %s differs from its event's encoding:\n got %s %v\n%s\nwant %s %v\n%s", m.id, m.subject, m.header, m.data, want.EntityKey, want.Header, want.Data)
		}
	}
	st := p.Stats()
	if st.Acked != uint64(4*per) || st.Resends == 0 || st.Reconnects == 0 || st.Dropped != 0 || st.Rejected != 0 {
		t.Fatalf("stats %+v: want every event acked once, resends and a reconnect, nothing dropped", st)
	}
}

// Config.EventLatency measures each emitted event from its CTI frame being
// read to its PubAck (read on the publisher's clock at the ack); events
// without a receive time and messages published raw are not observed,
// while AckLatency (from enqueue) sees every message.
func TestEmitObservesLatencyFromTheFrameRead(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	clock := time.Date(2026, 5, 1, 14, 5, 0, 0, time.UTC)
	var (
		mu  sync.Mutex
		got []time.Duration
	)
	var acks atomic.Int64
	p := startPublisher(t, nc, func(c *Config) {
		c.Now = func() time.Time { return clock }
		c.EventLatency = func(d time.Duration) { mu.Lock(); got = append(got, d); mu.Unlock() }
		c.AckLatency = func(time.Duration) { acks.Add(1) }
	})
	for i, age := range []time.Duration{10 * time.Millisecond, 0, 250 * time.Millisecond, 3 * time.Second} {
		ev := callEvent("latency-1", i)
		ev.Received = clock.Add(-age)
		if age == 0 {
			ev.Received = time.Time{}
		}
		p.Emit(ev)
	}
	if err := p.Publish(Message{Subject: "cti.lab.call.1", ID: "raw-1", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	flush(t, p, 10*time.Second)
	// The ack callbacks run one after another on nats.go's ack goroutine,
	// and may still be running once Flush returns: a last event, acked
	// after all the others, marks the end of their observations.
	last := callEvent("latency-1", 4)
	last.Received = clock.Add(-time.Millisecond)
	p.Emit(last)
	testwait.Eventually(t, 10*time.Second, "the last event's latency observed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(got, time.Millisecond)
	})
	if n := len(readStream(t, js)); n != 6 {
		t.Fatalf("%d messages stored, want 6", n)
	}
	mu.Lock()
	slices.Sort(got)
	mu.Unlock()
	if want := []time.Duration{time.Millisecond, 10 * time.Millisecond, 250 * time.Millisecond, 3 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("EventLatency observed %v, want %v", got, want)
	}
	if n := acks.Load(); n != 6 {
		t.Fatalf("AckLatency observed %d messages, want 6", n)
	}
}
