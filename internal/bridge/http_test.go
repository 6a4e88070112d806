package bridge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

func TestOpsEndpoints(t *testing.T) {
	var ready atomic.Bool
	m := NewMetrics(func() PublisherStats { return PublisherStats{Buffered: 7, Connected: true} }, noEngine)
	srv, err := NewOpsServer("127.0.0.1:0", m,
		func() Readiness {
			if ready.Load() {
				return Readiness{Ready: true}
			}
			return Readiness{Reasons: []string{"provider OUT_OF_SERVICE"}}
		},
		func() any { return map[string]string{"provider": "IN_SERVICE"} },
		zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()
	base := "http://" + srv.Addr()
	get := func(path string) (int, string) {
		t.Helper()
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	code, body := get("/readyz")
	if code != 503 || !strings.Contains(body, "OUT_OF_SERVICE") {
		t.Fatalf("readyz not ready: %d %s", code, body)
	}
	ready.Store(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz ready: %d", code)
	}
	code, body = get("/status")
	var st map[string]string
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st["provider"] != "IN_SERVICE" {
		t.Fatalf("status: %d %s", code, body)
	}
	m.Observe(&schema.Event{Family: schema.FamilyProvider, Name: schema.EvProvOutOfService})
	m.Observe(&schema.Event{Family: schema.FamilyProvider, Name: schema.EvCTIManagerLost,
		Data: schema.Data{Provider: &schema.ProviderData{Reason: "HEARTBEAT_MISSED"}}})
	m.Observe(&schema.Event{Family: schema.FamilyBridge, Name: schema.EvGapOpened})
	_, body = get("/metrics")
	for _, want := range []string{
		"ctibridge_failovers_total 1", "ctibridge_heartbeat_misses_total 1",
		`ctibridge_gaps_total{kind="provider"} 1`, "ctibridge_buffer_depth 7",
		"ctibridge_provider_state 17", "ctibridge_nats_connected 1", `ctibridge_events_in_total{family="provider"} 2`,
		// The live heap after the last collection: what the soak reads
		// to tell whether memory is flat.
		"\ngo_gc_heap_live_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestOpsProfilingOnlyWhenEnabled(t *testing.T) {
	m := NewMetrics(func() PublisherStats { return PublisherStats{} }, noEngine)
	for _, enabled := range []bool{false, true} {
		srv, err := NewOpsServer("127.0.0.1:0", m, func() Readiness { return Readiness{Ready: true} },
			func() any { return nil }, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if enabled {
			srv.EnableProfiling()
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx) }()
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + srv.Addr() + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		switch {
		case !enabled && resp.StatusCode != http.StatusNotFound:
			t.Fatalf("profiling off: /debug/pprof/heap answered %d", resp.StatusCode)
		case enabled && (resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "heap profile")):
			t.Fatalf("profiling on: /debug/pprof/heap answered %d: %.200s", resp.StatusCode, b)
		}
	}
}

func TestOpsStepDown(t *testing.T) {
	m := NewMetrics(func() PublisherStats { return PublisherStats{} }, noEngine)
	srv, err := NewOpsServer("127.0.0.1:0", m, func() Readiness { return Readiness{Ready: true} }, func() any { return nil }, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var active atomic.Bool
	var calls atomic.Int32
	srv.EnableStepDown(func() bool { calls.Add(1); return active.Load() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()
	post := func() int {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Post("http://"+srv.Addr()+"/ha/step-down", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusConflict {
		t.Fatalf("a standby answered %d, want 409", code)
	}
	active.Store(true)
	if code := post(); code != http.StatusAccepted || calls.Load() != 2 {
		t.Fatalf("the active member answered %d (%d calls), want 202", code, calls.Load())
	}
}
