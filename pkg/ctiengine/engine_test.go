package ctiengine

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

func TestEngine_CloseClosesTheProviderInOrder(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a"), false)
	e.waitStatus("provider up", upOn("ctim-a"))
	sess := srv.Sessions()[0].ID
	if err := e.eng.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.runResult(); err != nil {
		t.Fatalf("Run after Close returned %v, want nil", err)
	}
	evs := e.sink.events()
	got := names(evs[len(evs)-3:])
	eqStrings(t, "last events", got, []string{"CTIManagerLost", "ProvShutdownEv", "GapOpened"})
	if p := evs[len(evs)-2].Data.Provider; p.Reason != "APPLICATIONREQUEST" || p.State != "SHUTDOWN" {
		t.Fatalf("ProvShutdownEv %+v", p)
	}
	// The simulator records what it sent after writing it: the engine
	// can have read the answer before the record is there.
	testwait.Eventually(t, 0, "the CTIManager's ProviderClosed{APPLICATIONREQUEST} in its ground truth", func() bool {
		for _, r := range srv.GroundTruth(sess) {
			if pc, ok := r.Msg.(ctilink.ProviderClosed); ok && r.Sent && pc.Reason == ctilink.CloseApplicationRequest {
				return true
			}
		}
		return false
	})
	if s := e.eng.Status(); s.Ready || s.Provider != "SHUTDOWN" || s.Link != LinkStopped.String() {
		t.Fatalf("status after Close %+v", s)
	}
	if err := e.eng.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestEngine_ContextCancelClosesInOrder(t *testing.T) {
	srv := newSim(t, nil)
	cfg := simConfig(srv, "ctim-a")
	sink := newRecSink()
	cfg.Sink = sink
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	sink.waitFor(t, "in service", hasN(schema.EvProvInService, 1))
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if count(sink.events(), schema.EvProvShutdown) != 1 {
		t.Fatal("no ProvShutdownEv after the context ended")
	}
	if err := eng.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
}

func TestEngine_CloseBeforeRun(t *testing.T) {
	cfg := testConfig()
	eng, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if err := eng.Run(context.Background()); err != nil {
		t.Fatalf("Run after Close: %v", err)
	}
}

func TestEngine_StatusFromOtherGoroutines(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a", "ctim-b"), false)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := e.eng.Status()
				_ = e.eng.Ready()
				if s.Ready && s.Provider != "IN_SERVICE" {
					t.Errorf("inconsistent status %+v", s)
					return
				}
			}
		}()
	}
	e.waitStatus("provider up", upOn("ctim-a"))
	if err := srv.ResetConnections("ctim-a"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("provider up on ctim-b", upOn("ctim-b"))
	close(stop)
	wg.Wait()
	s := e.eng.Status()
	if s.Session != "test-p2" || s.Counters.Failovers != 1 || s.Counters.Gaps != 1 {
		t.Fatalf("status %+v", s)
	}
	if len(s.CTIManagers) != 2 || !s.CTIManagers[1].Current {
		t.Fatalf("CTIManagers %+v", s.CTIManagers)
	}
}

func TestNew_RejectsInvalidConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Login = ""
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted an invalid config")
	}
	cfg = testConfig()
	cfg.InstanceID = "inst"
	cfg.TLS = TLSConfig{ClientCert: "/nonexistent/c.pem", ClientKey: "/nonexistent/k.pem", TrustStore: t.TempDir() + "/t.pem"}
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted a missing client certificate")
	}
}
