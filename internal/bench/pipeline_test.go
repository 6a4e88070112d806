package bench

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// ackClock is the publisher's clock (jetstream.Config.Now) in the latency
// benchmark. The publisher reads its clock when a message is enqueued
// (in PublishEncoded) and when its PubAck arrives, and reports the difference to
// Config.AckLatency. ackClock answers the enqueue reading with the
// receive time of the event being published, so AckLatency observes, per
// event and exactly, the time from the CTI frame being received to the
// PubAck being back in the bridge. Every other reading is the wall clock.
//
// The enqueue reading is recognised by its caller, (*Publisher).PublishEncoded,
// found on the stack; should the publisher ever read its clock elsewhere
// on that path, enqueues stays 0 and the benchmark fails instead of
// measuring something else. The answer is kept per call site (the return
// address Now was called from): symbolising the whole stack on every
// reading cost about 4 µs and 0.6 KB of garbage per event over its two
// readings, on the engine's goroutine and on nats.go's ack goroutine —
// the harness's own cost inside the latency it measures.
type ackClock struct {
	// received is the receive time of the event being published. It is
	// written by the sink and read by Now inside PublishEncoded, both on the
	// engine's goroutine.
	received time.Time
	enqueues atomic.Int64
	// sites caches calledFrom(publishFunc) by the caller's return address.
	sites sync.Map // uintptr → bool
}

const publishFunc = "github.com/ctibridge/ctibridge/pkg/jetstream.(*Publisher).PublishEncoded"

// Now implements jetstream.Config.Now.
func (c *ackClock) Now() time.Time {
	if c.fromPublish() {
		c.enqueues.Add(1)
		return c.received
	}
	return time.Now()
}

// fromPublish reports whether Now's caller is publishFunc (possibly
// inlined into its own caller).
func (c *ackClock) fromPublish() bool {
	var pc [1]uintptr
	if runtime.Callers(3, pc[:]) == 0 { // Callers, fromPublish, Now
		return false
	}
	if v, ok := c.sites.Load(pc[0]); ok {
		return v.(bool)
	}
	// The frames of that one return address (the inlined ones
	// included) decide when one of them is outside this package;
	// otherwise the answer depends on the stack above and is not kept.
	frames := runtime.CallersFrames(pc[:])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, benchPkg) {
			is := f.Function == publishFunc
			c.sites.Store(pc[0], is)
			return is
		}
		if !more {
			return calledFrom(publishFunc)
		}
	}
}

const benchPkg = "github.com/ctibridge/ctibridge/internal/bench."

// calledFrom reports whether the first function on the stack outside this
// package is fn.
func calledFrom(fn string) bool {
	var pcs [8]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, benchPkg) {
			return f.Function == fn
		}
		if !more {
			return false
		}
	}
}

// publishSink is the bridge's emit path (internal/bridge: Publisher.Emit,
// which encodes with the publish time and hands the message to the
// publisher, owning it: PublishEncoded) without the metrics, with the
// event's receive time passed to the publisher's clock.
type publishSink struct {
	enc    *schema.Encoder
	pub    *jetstream.Publisher
	clock  *ackClock
	layout storeLayout
	// view, if set, is the bridge's state view, fed every event after it
	// is published, as Bridge.emit does.
	view *stateview.View
	// handedOff, if set, observes the time from an event's receipt to its
	// hand-over to the publisher (the engine's part of the latency).
	handedOff func(time.Duration)
	failed    atomic.Int64
}

func (s *publishSink) Emit(ev schema.Event) {
	msg, err := s.enc.Encode(&ev, time.Now())
	if err != nil {
		s.failed.Add(1)
		return
	}
	s.layout.subject(&msg, &ev)
	if s.handedOff != nil {
		s.handedOff(time.Since(ev.Received))
	}
	s.clock.received = ev.Received
	if err := s.pub.PublishEncoded(msg); err != nil {
		s.failed.Add(1)
	}
	if s.view != nil {
		s.view.Apply(ev)
	}
}

// startStateView runs the bridge's state view (its bucket provisioned on
// n's server) until the test ends.
func startStateView(tb testing.TB, n *natsEnv) *stateview.View {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := jetstream.Provision(ctx, n.js, jetstream.ProvisionConfig{StateView: true}); err != nil {
		tb.Fatal(err)
	}
	v, err := stateview.New(stateview.Config{Conn: n.nc})
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(context.Background()) }()
	tb.Cleanup(func() {
		v.Close()
		<-done
	})
	return v
}

// directPipeline is engine → publishSink → publisher, wired as the bridge
// wires them, with the publisher's clock and ack observer in the
// benchmark's hands.
type directPipeline struct {
	eng   *ctiengine.Engine
	pub   *jetstream.Publisher
	sink  *publishSink
	clock *ackClock
}

// startDirectLayout starts the engine and the publisher, wired directly,
// publishing the subjects of layout l (n's stream must be of that layout)
// and feeding view, if not nil.
func startDirectLayout(tb testing.TB, nodes []ctisim.NodeInfo, n *natsEnv, l storeLayout, view *stateview.View, onAck, onHandOff func(time.Duration)) *directPipeline {
	tb.Helper()
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: benchCluster})
	if err != nil {
		tb.Fatal(err)
	}
	clock := &ackClock{}
	pub, err := jetstream.New(jetstream.Config{Conn: n.nc, Encoder: enc, GapSession: uniqueInstance("gap"),
		Now: clock.Now, AckLatency: onAck})
	if err != nil {
		tb.Fatal(err)
	}
	pctx, stopPub := context.WithCancel(context.Background())
	pubDone := make(chan error, 1)
	go func() { pubDone <- pub.Run(pctx) }()
	tb.Cleanup(func() {
		stopPub()
		if err := <-pubDone; err != nil {
			tb.Errorf("publisher: %v", err)
		}
	})
	sink := &publishSink{enc: enc, pub: pub, clock: clock, layout: l, view: view, handedOff: onHandOff}
	cfg := engineConfigFor(nodes)
	cfg.Sink = sink
	cfg.BridgeInstance = uniqueInstance("direct")
	eng, err := ctiengine.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	tb.Cleanup(func() {
		_ = eng.Close()
		<-done
	})
	return &directPipeline{eng: eng, pub: pub, sink: sink, clock: clock}
}

// settle waits until the provider is in service with every phone and
// line in service and every event so far acknowledged.
func (p *directPipeline) settle(tb testing.TB, phones int) {
	tb.Helper()
	waitFor(tb, 2*time.Minute, "provider in service with every device", 10*time.Millisecond, func() bool {
		s := p.eng.Status()
		return s.Ready && s.DevicesInService >= phones && s.LinesInService >= phones
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.pub.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
}
