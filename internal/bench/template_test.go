package bench

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// contactCentreMix is the call mix of the scale benchmarks: agents
// answer, hold, transfer (consultative and blind), conference in a
// supervisor; some callers give up or find the line busy; calls from
// outside go through a calling-party transformation.
var contactCentreMix = map[traffic.Scenario]int{
	traffic.Basic: 30, traffic.Hold: 20, traffic.ConsultTransfer: 12, traffic.BlindTransfer: 10,
	traffic.Conference: 6, traffic.NoAnswer: 8, traffic.Busy: 4, traffic.Transform: 10,
}

// callTemplate is the engine's real output for a few thousand calls of
// the contact-centre mix: the start (provider and devices in service)
// and then the calls' events, which callLog repeats to build logs of any
// length.
type callTemplate struct {
	head  []schema.Event // up to every device in service
	calls []schema.Event // every event after, in emission order
	// span is the event time the calls cover; idStride exceeds every
	// call id of the template.
	span     time.Duration
	idStride uint64
	ncalls   int
}

// recordSink keeps every event the engine emits.
type recordSink struct {
	mu    sync.Mutex
	evs   []schema.Event
	calls map[string]bool
}

func (s *recordSink) Emit(ev schema.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, ev)
	if ev.Family == schema.FamilyCall {
		s.calls[ev.Entity] = true
	}
}

func (s *recordSink) state() (events, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.evs), len(s.calls)
}

// recordTemplate runs the simulator (manual time, the contact-centre mix
// at rate calls per second of model time on phones lines) and the engine
// until calls calls have begun and every call has ended, and keeps what
// the engine emitted.
func recordTemplate(tb testing.TB, phones, calls int, rate float64, seed int64) *callTemplate {
	tb.Helper()
	tc := shortCalls(rate, seed)
	tc.Mix = contactCentreMix
	sim := startSim(tb, simSpec{phones: phones, manual: true, traffic: tc})
	defer func() { _ = sim.Close() }()
	sink := &recordSink{calls: map[string]bool{}}
	cfg := engineConfig(sim)
	cfg.Sink = sink
	cfg.BridgeInstance = uniqueInstance("template")
	eng, err := ctiengine.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	defer func() {
		_ = eng.Close()
		<-done
	}()
	waitFor(tb, 2*time.Minute, "provider in service with every device", 10*time.Millisecond, func() bool {
		s := eng.Status()
		return s.Ready && s.DevicesInService >= phones && s.LinesInService >= phones
	})
	sink.mu.Lock()
	headLen := len(sink.evs)
	sink.mu.Unlock()

	const step = 100 * time.Millisecond
	advance := func() {
		waitFor(tb, time.Minute, "the simulator queue", time.Millisecond, func() bool { return simQueued(sim) < simLowWater })
		if err := sim.Advance(step); err != nil {
			tb.Fatal(err)
		}
	}
	for _, n := sink.state(); n < calls; _, n = sink.state() {
		advance()
	}
	if err := sim.SetRate(0); err != nil {
		tb.Fatal(err)
	}
	for range 300 { // 30 s of model time: every call of the mix has ended
		advance()
	}
	waitFor(tb, 5*time.Minute, "every call ended in the engine", 5*time.Millisecond, func() bool {
		return simQueued(sim) == 0 && eng.Status().Calls == 0
	})

	sink.mu.Lock()
	defer sink.mu.Unlock()
	t := &callTemplate{head: sink.evs[:headLen], calls: sink.evs[headLen:], ncalls: len(sink.calls)}
	var maxID uint64
	for i := range t.calls {
		ev := &t.calls[i]
		if ev.Family == schema.FamilyCall {
			if id, err := strconv.ParseUint(ev.Entity, 10, 64); err == nil && id > maxID {
				maxID = id
			}
		}
	}
	first, last := t.calls[0].Time, t.calls[len(t.calls)-1].Time
	t.span = last.Sub(first) + time.Second
	t.idStride = maxID + 1
	return t
}

// callLog generates a log of any length from a template: the template's
// start once, then its calls again and again, each repetition with call
// ids moved up by the template's id stride, times moved on by its span
// and a provider session of its own (so every event keeps a unique id),
// with a BridgeHeartbeat every 30 s of event time as a running bridge
// writes them.
type callLog struct {
	t       *callTemplate
	rep, i  int
	head    int
	nextHB  time.Time
	hbSeq   uint64
	session string
	// calls counts the distinct calls generated so far; seen holds the
	// current repetition's.
	calls int
	seen  map[string]bool
}

func newCallLog(t *callTemplate) *callLog {
	return &callLog{t: t, nextHB: t.calls[0].Time.Add(30 * time.Second), session: uniqueInstance("scale"), seen: map[string]bool{}}
}

// next returns the log's next event.
func (l *callLog) next() schema.Event {
	if l.head < len(l.t.head) {
		l.head++
		return l.t.head[l.head-1]
	}
	if l.i == len(l.t.calls) {
		l.i = 0
		l.rep++
		clear(l.seen)
	}
	ev := l.t.calls[l.i]
	shift := time.Duration(l.rep) * l.t.span
	if at := ev.Time.Add(shift); !at.Before(l.nextHB) {
		return l.heartbeat()
	}
	l.i++
	if ev.Family == schema.FamilyCall && !l.seen[ev.Entity] {
		l.seen[ev.Entity] = true
		l.calls++
	}
	if l.rep == 0 {
		return ev
	}
	ev.Session += "-r" + strconv.Itoa(l.rep)
	ev.Time = ev.Time.Add(shift)
	ev.Received = ev.Received.Add(shift)
	ev.Data.Times.Upstream = ev.Data.Times.Upstream.Add(shift)
	ev.Data.Times.Received = ev.Data.Times.Received.Add(shift)
	if ev.Family == schema.FamilyCall {
		off := uint64(l.rep) * l.t.idStride
		ev.Entity = l.moveID(ev.Entity, off)
		c := *ev.Data.Call
		c.CallID = l.moveID(c.CallID, off)
		c.OriginalCallID = l.moveID(c.OriginalCallID, off)
		if c.Feature != nil {
			f := *c.Feature
			f.PrimaryCallID = l.moveID(f.PrimaryCallID, off)
			f.ConsultCallID = l.moveID(f.ConsultCallID, off)
			f.ResultCallID = l.moveID(f.ResultCallID, off)
			c.Feature = &f
		}
		ev.Data.Call = &c
	}
	return ev
}

func (l *callLog) moveID(id string, off uint64) string {
	n, err := strconv.ParseUint(id, 10, 64)
	if id == "" || err != nil {
		return id
	}
	return strconv.FormatUint(n+off, 10)
}

func (l *callLog) heartbeat() schema.Event {
	at := l.nextHB
	l.nextHB = at.Add(30 * time.Second)
	l.hbSeq++
	return schema.Event{
		Family: schema.FamilyBridge, Name: schema.EvBridgeHeartbeat,
		Session: l.session + "-b", SessionSeq: l.hbSeq, Sequence: l.hbSeq, Time: at, Received: at,
		Data: schema.Data{Event: schema.EvBridgeHeartbeat, Times: schema.Timestamps{Upstream: at, Received: at},
			Bridge: &schema.BridgeData{Instance: l.session}},
	}
}
