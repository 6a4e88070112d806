package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// publishSink is the bridge's emit path (internal/bridge: Publisher.Emit,
// which encodes with the publish time and hands the message to the
// publisher, owning it, with the event's receive time: PublishEncodedAt)
// without the metrics, publishing the subjects of a store layout.
type publishSink struct {
	enc    *schema.Encoder
	pub    *jetstream.Publisher
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
	if err := s.pub.PublishEncodedAt(msg, ev.Received); err != nil {
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
// wires them, with the publisher's latency observer in the benchmark's
// hands.
type directPipeline struct {
	eng  *ctiengine.Engine
	pub  *jetstream.Publisher
	sink *publishSink
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
	pub, err := jetstream.New(jetstream.Config{Conn: n.nc, Encoder: enc, GapSession: uniqueInstance("gap"),
		EventLatency: onAck})
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
	sink := &publishSink{enc: enc, pub: pub, layout: l, view: view, handedOff: onHandOff}
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
	return &directPipeline{eng: eng, pub: pub, sink: sink}
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
