package ctiengine

import (
	"bytes"
	"context"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine/internal/fakeclock"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// waitBound bounds every wait on real network I/O in the scenario tests.
const waitBound = 20 * time.Second

// recSink records events and lets tests wait for them.
type recSink struct {
	mu     sync.Mutex
	evs    []schema.Event
	notify chan struct{}
}

func newRecSink() *recSink { return &recSink{notify: make(chan struct{}, 1)} }

func (s *recSink) Emit(ev schema.Event) {
	s.mu.Lock()
	s.evs = append(s.evs, ev)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *recSink) events() []schema.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.evs)
}

// waitFor polls (bounded) until cond holds on the events so far.
func (s *recSink) waitFor(t *testing.T, what string, cond func([]schema.Event) bool) []schema.Event {
	t.Helper()
	deadline := time.NewTimer(waitBound)
	defer deadline.Stop()
	for {
		evs := s.events()
		if cond(evs) {
			return evs
		}
		select {
		case <-s.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; events:\n  %s", what, strings.Join(names(s.events()), "\n  "))
		}
	}
}

// count returns how many events are named name.
func count(evs []schema.Event, name string) int {
	n := 0
	for _, ev := range evs {
		if ev.Name == name {
			n++
		}
	}
	return n
}

func hasN(name string, n int) func([]schema.Event) bool {
	return func(evs []schema.Event) bool { return count(evs, name) >= n }
}

// index returns the position of the first event named name at or after
// from (-1 if none).
func index(evs []schema.Event, name string, from int) int {
	for i := from; i < len(evs); i++ {
		if evs[i].Name == name {
			return i
		}
	}
	return -1
}

// syncBuf is a goroutine-safe log buffer.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testClock adapts the fake clock to the engine's Clock interface.
type testClock struct{ *fakeclock.Clock }

func (c testClock) AfterFunc(d time.Duration, f func()) Timer { return c.Clock.AfterFunc(d, f) }

// newSim starts a simulated cluster (the default lab cluster on ephemeral
// ports, manual model time, scripted calls only; calls ring 1 s and talk
// 60 s so tests control when they end).
func newSim(t *testing.T, mutate func(*ctisim.Config)) *ctisim.Server {
	t.Helper()
	cfg := ctisim.Config{
		Cluster:    ctisim.DefaultCluster().WithEphemeralPorts(),
		ManualTime: true,
		Traffic: traffic.Config{Seed: 1, RingTime: time.Second, RingTimeMax: time.Second,
			TalkTime: 60 * time.Second, TalkTimeMax: 60 * time.Second},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := ctisim.New(cfg)
	if err != nil {
		t.Fatalf("ctisim.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("ctisim.Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// simConfig returns an engine configuration for the named nodes of srv.
func simConfig(srv *ctisim.Server, nodes ...string) Config {
	var cms []CTIManager
	for _, n := range srv.Nodes() {
		if len(nodes) > 0 && !slices.Contains(nodes, n.Name) {
			continue
		}
		cms = append(cms, CTIManager{Name: n.Name, Addr: n.Addr, TLSAddr: n.TLSAddr, LeastPriority: n.LeastPriority})
	}
	return Config{CTIManagers: cms, Login: "ctibridge", Password: "secret", AppInfo: "ctiengine-test",
		BridgeInstance: "test", ConnectTimeout: 5 * time.Second}
}

// env is an engine running against a simulator.
type env struct {
	t      *testing.T
	srv    *ctisim.Server
	eng    *Engine
	sink   *recSink
	clock  *fakeclock.Clock // nil on the real clock
	logs   *syncBuf
	runErr chan error
}

// startEngine runs an engine with cfg (Sink, Logger and, when fake is
// set, Clock filled in) until the test ends.
func startEngine(t *testing.T, srv *ctisim.Server, cfg Config, fake bool) *env {
	t.Helper()
	e := &env{t: t, srv: srv, sink: newRecSink(), logs: &syncBuf{}, runErr: make(chan error, 1)}
	cfg.Sink = e.sink
	cfg.Logger = zerolog.New(e.logs).With().Timestamp().Logger()
	if fake {
		e.clock = fakeclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		cfg.Clock = testClock{e.clock}
	}
	eng, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.eng = eng
	go func() { e.runErr <- eng.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = eng.Close()
		if t.Failed() {
			t.Logf("engine log:\n%s", e.logs.String())
		}
	})
	return e
}

// advance moves the fake clock and waits until the engine has handled
// every timer that fell due.
func (e *env) advance(d time.Duration) {
	e.t.Helper()
	e.clock.Advance(d)
	e.eng.Status()
}

// waitStatus polls Status (bounded) until cond holds.
func (e *env) waitStatus(what string, cond func(Status) bool) Status {
	e.t.Helper()
	var s Status
	if !testwait.Poll(waitBound, func() bool { s = e.eng.Status(); return cond(s) }) {
		e.t.Fatalf("timed out waiting for %s; status %+v; events:\n  %s", what, s, strings.Join(names(e.sink.events()), "\n  "))
	}
	return s
}

func upOn(node string) func(Status) bool {
	return func(s Status) bool { return s.Link == LinkUp.String() && s.CTIManager == node }
}

// runResult waits (bounded) for Run to return.
func (e *env) runResult() error {
	e.t.Helper()
	select {
	case err := <-e.runErr:
		return err
	case <-time.After(waitBound):
		e.t.Fatal("Run did not return")
		return nil
	}
}

// simAdvance moves the simulator's model time.
func simAdvance(t *testing.T, srv *ctisim.Server, d time.Duration) {
	t.Helper()
	if err := srv.Advance(d); err != nil {
		t.Fatal(err)
	}
}

// since returns the events after index i.
func since(evs []schema.Event, i int) []schema.Event {
	if i < 0 || i > len(evs) {
		return nil
	}
	return evs[i:]
}
