package jetstream

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

const fenceSubject = "cti." + testCluster + ".bridge.LeaderAcquired"

// writeMarker stores a marker on the fence subject, as a new tenure does,
// and returns its stream sequence.
func writeMarker(t *testing.T, js natsjs.JetStream) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: fenceSubject, Data: []byte("marker")})
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// The log fence: while the marker of this tenure is the last message on
// the fence subject, every message is stored and carries the expectation;
// once a newer tenure writes its marker, the server refuses the next
// message, OnFenced hears of it once, sending stops, and Suspend drops what
// is buffered (without gap records) until the next SetFence.
func TestFenceRefusesAStaleTenure(t *testing.T) {
	srv := startServer(t)
	nc := dialTCP(t, srv.ClientURL())
	js := newJS(t, nc)
	provision(t, js)

	var fenced atomic.Int32
	var fencedEpoch atomic.Uint64
	p := startPublisher(t, nc, func(c *Config) {
		c.OnFenced = func(f Fence, err error) {
			fenced.Add(1)
			fencedEpoch.Store(f.Epoch)
			var api *natsjs.APIError
			if !errors.As(err, &api) || api.ErrorCode != natsjs.JSErrCodeStreamWrongLastSequence {
				t.Errorf("OnFenced error %v, want wrong last sequence (10071)", err)
			}
		}
	})
	g := newMsgGen("tenure1", 8, 64)
	p.SetFence(Fence{Subject: fenceSubject, Seq: writeMarker(t, js), Epoch: 1})
	publishN(t, p, g, 200)
	flush(t, p, 10*time.Second)
	got := readStream(t, js)
	if len(got) != 201 {
		t.Fatalf("%d messages stored, want the marker and 200", len(got))
	}
	for _, m := range got[1:] {
		if m.header.Get(natsjs.ExpectedLastSubjSeqSubjHeader) != fenceSubject || m.header.Get(natsjs.ExpectedLastSubjSeqHeader) != "1" {
			t.Fatalf("message %s stored without the fence headers: %v", m.id, m.header)
		}
	}

	// A newer tenure writes its marker: the stale one is refused.
	writeMarker(t, js)
	publishN(t, p, g, 50)
	waitFor(t, 10*time.Second, "the fence refusal", func() bool { return fenced.Load() == 1 })
	if fencedEpoch.Load() != 1 || !p.Stats().Suspended {
		t.Fatalf("after the refusal: epoch %d, stats %+v", fencedEpoch.Load(), p.Stats())
	}
	if n := p.Suspend(); n == 0 || n > 50 {
		t.Fatalf("Suspend dropped %d messages, want the unsent ones of the 50", n)
	}
	flush(t, p, time.Second) // nothing is left to wait for
	if got := readStream(t, js); len(got) != 202 {
		t.Fatalf("%d messages stored after the newer marker, want only the 201 before and the marker", len(got))
	}
	if fenced.Load() != 1 {
		t.Fatalf("OnFenced called %d times, want once", fenced.Load())
	}

	// The next tenure of this publisher resumes with its own fence.
	p.SetFence(Fence{Subject: fenceSubject, Seq: writeMarker(t, js), Epoch: 3})
	publishN(t, p, g, 10)
	flush(t, p, 10*time.Second)
	if got := readStream(t, js); len(got) != 213 {
		t.Fatalf("%d messages stored, want 213", len(got))
	}
	st := p.Stats()
	if st.Fenced == 0 || st.Discarded == 0 || st.Rejected != 0 || st.Gaps != 0 {
		t.Fatalf("stats %+v: a fence refusal is neither a rejection nor a publish gap", st)
	}
}

// Permit holds sending while it answers false.
func TestPermitHoldsSending(t *testing.T) {
	srv := startServer(t)
	nc := dialTCP(t, srv.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	var allowed atomic.Bool
	p := startPublisher(t, nc, func(c *Config) { c.Permit = allowed.Load })
	publishN(t, p, newMsgGen("held", 4, 16), 20)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := p.Flush(ctx); err == nil {
		t.Fatal("messages were sent while Permit answered false")
	}
	if n := len(readStream(t, js)); n != 0 {
		t.Fatalf("%d messages stored while Permit answered false", n)
	}
	allowed.Store(true)
	p.Wake()
	flush(t, p, 10*time.Second)
	if n := len(readStream(t, js)); n != 20 {
		t.Fatalf("%d messages stored, want 20", n)
	}
}

// A fence on a replicated stream keeps one message in flight (the server
// would refuse concurrent publishes with the same subject expectation):
// with the acks held, no more than one message is ever out.
func TestReplicatedFenceOneInFlight(t *testing.T) {
	e := startServer(t)
	setup := dialTCP(t, e.ClientURL())
	js := newJS(t, setup)
	provision(t, js)
	px := newGateProxy(t, strings.TrimPrefix(e.ClientURL(), "nats://"))
	nc := dialTCP(t, px.url())
	p := startPublisher(t, nc, nil)
	p.SetFence(Fence{Subject: fenceSubject, Seq: writeMarker(t, js), Epoch: 1, Replicated: true})
	px.hold(true)
	publishN(t, p, newMsgGen("r1", 8, 16), 40)
	waitFor(t, 10*time.Second, "a message in flight", func() bool { return p.Stats().InFlight == 1 })
	if n := p.Stats().InFlight; n != 1 {
		t.Fatalf("%d messages in flight under a replicated fence, want 1", n)
	}
	px.hold(false)
	flush(t, p, 20*time.Second)
	got := readStream(t, js)
	checkOnceInOrder(t, got[1:])
	if len(got) != 41 {
		t.Fatalf("%d messages stored, want the marker and 40", len(got))
	}
}
