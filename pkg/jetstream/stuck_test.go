package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// staleLeader stands in for a stream's leader that holds a stale dedupe id
// (stuck.go): on a core NATS server (no JetStream) it answers the
// publishes on cti.> with the JetStream wire replies — a PubAck, a
// duplicate PubAck, or the 10158 "in process" error for the stuck message
// — and answers the stream-leader step-down request. A real server cannot
// be brought into that state on demand (it takes a proposal lost in an
// election with an applied id after it), hence this double; the
// step-down request itself is tested against a real cluster
// (TestStepDownStreamLeaderMovesTheLeader).
type staleLeader struct {
	stream string
	clock  *fakeClock

	mu      sync.Mutex
	stuckID string
	// stale: the stuck id is still staged, its sends are refused.
	stale bool
	// refuseStepDowns is how many step-down requests to refuse (as a
	// server would while no other replica is current) before one works.
	refuseStepDowns int
	refusals        int
	// stepDowns is when (on the clock) each step-down request came.
	stepDowns []time.Duration
	stored    []string
	seq       uint64
}

type fakeClock struct {
	base time.Time
	off  atomic.Int64
}

func newFakeClock() *fakeClock { return &fakeClock{base: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time          { return c.base.Add(time.Duration(c.off.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.off.Add(int64(d)) }
func (c *fakeClock) elapsed() time.Duration  { return time.Duration(c.off.Load()) }

// startStaleLeader starts a core NATS server with the double answering on
// it, and returns a connection for the publisher.
func startStaleLeader(t *testing.T, l *staleLeader) *nats.Conn {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("core NATS server not ready")
	}
	dial := func(name string) *nats.Conn {
		nc, err := nats.Connect(srv.ClientURL(), nats.Name(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	leader := dial("stale leader")
	if _, err := leader.Subscribe("cti.>", l.onPublish); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.Subscribe(stepDownSubject+l.stream, l.onStepDown); err != nil {
		t.Fatal(err)
	}
	if err := leader.Flush(); err != nil {
		t.Fatal(err)
	}
	return dial(t.Name())
}

func (l *staleLeader) onPublish(m *nats.Msg) {
	id := m.Header.Get(natsjs.MsgIDHeader)
	l.mu.Lock()
	var reply any
	switch {
	case id == l.stuckID && l.stale:
		l.refusals++
		reply = map[string]any{"error": map[string]any{"code": 409, "err_code": 10158, "description": "duplicate message id is in process"}}
	case contains(l.stored, id):
		reply = map[string]any{"stream": l.stream, "seq": l.seq, "duplicate": true}
	default:
		l.seq++
		l.stored = append(l.stored, id)
		reply = map[string]any{"stream": l.stream, "seq": l.seq}
	}
	l.mu.Unlock()
	data, _ := json.Marshal(reply)
	_ = m.Respond(data)
}

func (l *staleLeader) onStepDown(m *nats.Msg) {
	l.mu.Lock()
	l.stepDowns = append(l.stepDowns, l.clock.elapsed())
	refuse := l.refuseStepDowns > 0
	var reply string
	if refuse {
		l.refuseStepDowns--
		reply = `{"type":"io.nats.jetstream.api.v1.stream_leader_stepdown_response","error":{"code":503,"err_code":10008,"description":"JetStream system temporarily unavailable"}}`
	} else {
		l.stale = false // the new leader never staged the id
		reply = `{"type":"io.nats.jetstream.api.v1.stream_leader_stepdown_response","success":true}`
	}
	l.mu.Unlock()
	_ = m.Respond([]byte(reply))
}

func (l *staleLeader) snapshot() (refusals int, stepDowns []time.Duration, stored []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refusals, append([]time.Duration(nil), l.stepDowns...), append([]string(nil), l.stored...)
}

func contains(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// stuckScene publishes a (the stuck message) and b on one entity, c on
// another, to a staleLeader refusing a.
func stuckScene(t *testing.T, l *staleLeader) (p *Publisher, a, b, c Message) {
	t.Helper()
	nc := startStaleLeader(t, l)
	p = startPublisher(t, nc, func(cfg *Config) {
		cfg.Stream = l.stream
		cfg.SerialPerEntity = true       // as on the replicated streams where this happens
		cfg.AckTimeout = 2 * time.Second // StuckInProcess: 6 s on the fake clock
		cfg.RetryBackoff, cfg.MaxRetryBackoff = time.Millisecond, 5*time.Millisecond
		cfg.Now = l.clock.Now
	})
	mk := func(entity, n int) Message {
		return Message{Subject: fmt.Sprintf("cti.%s.call.%d.CallActiveEv", testCluster, entity), ID: fmt.Sprintf("stuck-test-%d", n)}
	}
	a, b, c = mk(1, 1), mk(1, 2), mk(2, 3)
	l.mu.Lock()
	l.stuckID, l.stale = a.ID, true
	l.mu.Unlock()
	for _, m := range []Message{a, b, c} {
		if err := p.Publish(m); err != nil {
			t.Fatal(err)
		}
	}
	return p, a, b, c
}

// A message refused "in process" at every send makes the publisher ask the
// stream's leader to step down once it has been refused for
// StuckInProcess, not before; the message and the one queued behind it on
// its entity are then stored, in order, and nothing else waited.
func TestStuckInProcessMessageStepsTheLeaderDown(t *testing.T) {
	l := &staleLeader{stream: "CTI", clock: newFakeClock()}
	p, a, b, c := stuckScene(t, l)

	waitFor(t, 0, "the other entity's message stored and the stuck one refused 20 times", func() bool {
		refusals, _, stored := l.snapshot()
		return refusals >= 20 && contains(stored, c.ID)
	})
	l.clock.Advance(5 * time.Second) // 5 s < StuckInProcess (6 s)
	before, _, _ := l.snapshot()
	waitFor(t, 0, "20 more refusals", func() bool { r, _, _ := l.snapshot(); return r >= before+20 })
	if _, downs, stored := l.snapshot(); len(downs) != 0 || contains(stored, b.ID) {
		t.Fatalf("before StuckInProcess: step-downs %v, stored %v; want none, and %s waiting behind %s", downs, stored, b.ID, a.ID)
	}

	l.clock.Advance(time.Second)
	waitFor(t, 0, "the stuck message and the one behind it stored", func() bool {
		_, _, stored := l.snapshot()
		return len(stored) == 3
	})
	flush(t, p, 10*time.Second)
	_, downs, stored := l.snapshot()
	if want := []string{c.ID, a.ID, b.ID}; fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Fatalf("stored %v, want %v", stored, want)
	}
	if len(downs) != 1 || downs[0] != 6*time.Second {
		t.Fatalf("step-down requests at %v, want one at 6s", downs)
	}
	st := p.Stats()
	if st.StepDowns != 1 || st.StepDownsFailed != 0 || st.Acked != 3 || st.Reordered != 0 || st.Errors[ErrKindInProcess] < 40 {
		t.Fatalf("stats: %d step-downs, %d failed, %d acked, %d reordered, %d in-process refusals; want 1, 0, 3, 0, ≥ 40",
			st.StepDowns, st.StepDownsFailed, st.Acked, st.Reordered, st.Errors[ErrKindInProcess])
	}
}

// A step-down the server refuses is counted and asked again, but not
// before another StuckInProcess has passed: the publisher never makes the
// stream's leadership churn.
func TestStuckInProcessStepDownRefusedIsAskedAgainLater(t *testing.T) {
	l := &staleLeader{stream: "CTI", clock: newFakeClock(), refuseStepDowns: 1}
	p, a, b, c := stuckScene(t, l)

	waitFor(t, 0, "the stuck message refused", func() bool { r, _, _ := l.snapshot(); return r >= 5 })
	l.clock.Advance(6 * time.Second)
	waitFor(t, 0, "a first step-down request, refused", func() bool { return p.Stats().StepDownsFailed == 1 })
	l.clock.Advance(5 * time.Second) // 11 s: the last request is 5 s old
	before, _, _ := l.snapshot()
	waitFor(t, 0, "20 more refusals", func() bool { r, _, _ := l.snapshot(); return r >= before+20 })
	if _, downs, _ := l.snapshot(); len(downs) != 1 {
		t.Fatalf("step-down requests at %v: asked again within StuckInProcess of the refused one", downs)
	}

	l.clock.Advance(time.Second) // 12 s
	flush(t, p, 10*time.Second)
	_, downs, stored := l.snapshot()
	if fmt.Sprint(downs) != fmt.Sprint([]time.Duration{6 * time.Second, 12 * time.Second}) {
		t.Fatalf("step-down requests at %v, want at 6s and 12s", downs)
	}
	if want := []string{c.ID, a.ID, b.ID}; fmt.Sprint(stored) != fmt.Sprint(want) {
		t.Fatalf("stored %v, want %v", stored, want)
	}
	if st := p.Stats(); st.StepDowns != 1 || st.StepDownsFailed != 1 || st.Reordered != 0 {
		t.Fatalf("stats: %d step-downs, %d failed, %d reordered; want 1, 1, 0", st.StepDowns, st.StepDownsFailed, st.Reordered)
	}
}

// Without Config.Stream the publisher never asks for a step-down: it
// keeps resending, as before.
func TestStuckInProcessWithoutStreamOnlyResends(t *testing.T) {
	l := &staleLeader{stream: "CTI", clock: newFakeClock()}
	nc := startStaleLeader(t, l)
	p := startPublisher(t, nc, func(cfg *Config) {
		cfg.RetryBackoff, cfg.MaxRetryBackoff = time.Millisecond, 5*time.Millisecond
		cfg.Now = l.clock.Now
	})
	l.mu.Lock()
	l.stuckID, l.stale = "stuck-test-1", true
	l.mu.Unlock()
	if err := p.Publish(Message{Subject: "cti." + testCluster + ".call.1.CallActiveEv", ID: "stuck-test-1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 0, "the message refused", func() bool { r, _, _ := l.snapshot(); return r >= 5 })
	l.clock.Advance(time.Hour)
	before, _, _ := l.snapshot()
	waitFor(t, 0, "20 more refusals", func() bool { r, _, _ := l.snapshot(); return r >= before+20 })
	if _, downs, _ := l.snapshot(); len(downs) != 0 {
		t.Fatalf("step-down requested at %v without Config.Stream", downs)
	}
}

// StepDownStreamLeader moves a replicated stream's leadership to another
// node of a real cluster, and returns the server's refusal for a stream
// that does not exist.
func TestStepDownStreamLeaderMovesTheLeader(t *testing.T) {
	c := startCluster(t)
	nc := connectCluster(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js := newJS(t, nc)
	if _, err := ProvisionUntilDone(ctx, js, ProvisionConfig{Replicas: 3}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// A leader with two current followers: one of them can take over.
	waitReplicatedR3(t, js, DefaultStream)
	var leader int
	waitFor(t, 0, "a stream leader", func() bool { leader = c.StreamLeader(DefaultStream); return leader >= 0 })
	if err := StepDownStreamLeader(ctx, nc, DefaultStream); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 0, "another stream leader", func() bool { l := c.StreamLeader(DefaultStream); return l >= 0 && l != leader })
	if err := StepDownStreamLeader(ctx, nc, "NO_SUCH_STREAM"); err == nil {
		t.Fatal("a step-down of a stream that does not exist succeeded")
	}
}
