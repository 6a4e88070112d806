package ctiengine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Kill drops the links like a crashed process: nothing more is emitted
// and no ProviderCloseRequest reaches the CTIManager.
func TestEngine_KillVanishesWithoutClosing(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a"), false)
	e.waitStatus("provider up", upOn("ctim-a"))
	sess := srv.Sessions()[0].ID
	before := len(e.sink.events())
	e.eng.Kill()
	if err := e.runResult(); !errors.Is(err, ErrKilled) {
		t.Fatalf("Run after Kill returned %v", err)
	}
	if n := len(e.sink.events()); n != before {
		t.Fatalf("%d events emitted by Kill: %v", n-before, names(e.sink.events()[before:]))
	}
	for _, r := range srv.GroundTruth(sess) {
		if _, ok := r.Msg.(ctilink.ProviderClosed); ok && r.Sent {
			t.Fatal("a killed engine's provider was closed in order")
		}
	}
}

// NewEventSession: the events after the cut carry a new session with
// sequences from 1; onCut runs between the two sessions.
func TestEngine_NewEventSession(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a"), false)
	e.waitStatus("provider up", upOn("ctim-a"))
	var cutAt atomic.Int64
	var newSess atomic.Value
	err := e.eng.NewEventSession(context.Background(), func(s string) {
		cutAt.Store(int64(len(e.sink.events())))
		newSess.Store(s)
	})
	if err != nil {
		t.Fatal(err)
	}
	old := e.sink.events()[cutAt.Load()-1].Session
	if s := newSess.Load().(string); s == old {
		t.Fatalf("the new session %q is the old one", s)
	}
	if err := e.eng.Close(); err != nil {
		t.Fatal(err)
	}
	after := e.sink.events()[cutAt.Load():]
	if len(after) == 0 {
		t.Fatal("no event after the cut")
	}
	seen := map[string]bool{}
	for i, ev := range after {
		if ev.Session != newSess.Load().(string) || ev.SessionSeq != uint64(i+1) {
			t.Fatalf("event %d after the cut: session %s seq %d", i, ev.Session, ev.SessionSeq)
		}
		k := string(ev.Family) + "/" + ev.Entity
		if !seen[k] && ev.Sequence != 1 {
			t.Fatalf("%s %s: first sequence after the cut %d, want 1", k, ev.Name, ev.Sequence)
		}
		seen[k] = true
	}
}

// DialPermit refused: no connection is made (the attempts fail and are
// retried); allowed again, the provider opens.
func TestEngine_DialPermit(t *testing.T) {
	srv := newSim(t, nil)
	var allowed atomic.Bool
	cfg := simConfig(srv, "ctim-a")
	cfg.DialPermit = func() error {
		if !allowed.Load() {
			return errors.New("lease not held")
		}
		return nil
	}
	e := startEngine(t, srv, cfg, true)
	e.sink.waitFor(t, "a refused attempt", hasN(schema.EvCTIManagerFailed, 1))
	if n := len(srv.Sessions()); n != 0 {
		t.Fatalf("%d sessions opened without permission", n)
	}
	allowed.Store(true)
	e.advance(DefaultProviderRetryInterval)
	e.waitStatus("provider up", upOn("ctim-a"))
}
