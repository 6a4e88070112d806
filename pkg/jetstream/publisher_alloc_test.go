package jetstream

import (
	"testing"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// The publisher's own bookkeeping allocates nothing per message once warm:
// a message goes through Publish, is taken for sending and is acked
// (nats.go's part, which costs allocations of its own, is left out by
// resolving the send directly as its ack callback would). A rise means a
// per-message allocation crept back into the emit path (PRODUCT §6).
func TestPublisherBookkeepingAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), NoListen: true, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(t.Context()) })
	nc, err := e.Connect(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	p := newPublisher(t, nc, nil) // not running: the test plays the sender

	const entities = 16
	msgs := make([]Message, 64)
	for i := range msgs {
		id := "alloc-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		msgs[i] = Message{
			Subject: "cti.lab.call." + string(rune('a'+i%entities)) + ".CallActiveEv", ID: id,
			Header: nats.Header{"ce-specversion": {"1.0"}, natsjs.MsgIDHeader: {id}},
			Data:   []byte(`{}`),
		}
	}
	ack := &natsjs.PubAck{Stream: DefaultStream}
	batch := make([]*entry, 0, sendBatch)
	i := 0
	cycle := func() {
		// Several messages in flight at once, some of one entity.
		for range 4 {
			if err := p.Publish(msgs[i%len(msgs)]); err != nil {
				t.Fatal(err)
			}
			i++
		}
		p.mu.Lock()
		batch = p.takeLocked(batch[:0])
		p.mu.Unlock()
		for _, e := range batch {
			p.onAck(nil, e.nm, ack)
		}
	}
	for range 100 { // warm: spare entries, map buckets
		cycle()
	}
	if got := testing.AllocsPerRun(200, cycle); got != 0 {
		t.Fatalf("publishing and acking 4 messages allocates %.1f times, want 0", got)
	}
	if st := p.Stats(); st.Acked != uint64(i) || st.Buffered != 0 {
		t.Fatalf("stats %+v, want every message acked", st)
	}
}
