package faultmatrix

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// The signal tests run the real daemon (cmd/bridge, `bridge run
// --config`) as a child process against the rig's simulator and NATS
// server on loopback ports, and signal it.

func TestMain(m *testing.M) {
	code := m.Run()
	RemoveBridgeBinary()
	os.Exit(code)
}

var (
	subjInService = schema.EventFilter("lab", schema.EvProvInService)
	subjGapClosed = schema.EventFilter("lab", schema.EvGapClosed)
)

// Bridge SIGTERM: the daemon publishes BridgeStopping, closes the provider
// (ProvShutdownEv), flushes JetStream and exits 0; the stream then holds
// every event of the run.
func TestBridgeSIGTERM(t *testing.T) {
	bin := BridgeBinary(t)
	r := StartTestRig(t, RigConfig{})
	d := StartTestDaemon(t, bin, WriteDaemonConfig(t, r))
	WaitNewEvent(t, r, subjInService, "", d)
	LetTrafficFlow(3 * time.Second)
	if code := d.StopOrFail(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d.Out)
	}
	rep, c := CloseAndCheck(t, r)
	RequireEvents(t, rep, c, schema.EvBridgeStopping, schema.EvProvShutdown)
	if rep.RestartGaps != 0 {
		t.Fatalf("a single orderly run recorded a restart gap:\n%s", rep)
	}
	// BridgeStopping says what stopped the bridge.
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "CTI")
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.GetLastMsgForSubject(ctx, "cti.lab.bridge."+schema.EvBridgeStopping)
	if err != nil {
		t.Fatal(err)
	}
	_, ev, err := schema.Decode(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if b := ev.Data.Bridge; b == nil || b.Reason != "signal" || b.Detail != "SIGTERM" {
		t.Errorf("BridgeStopping %+v, want reason signal, detail SIGTERM", b)
	}
}

// Bridge SIGKILL and restart: the daemon is killed mid-traffic and started
// again on the same stream. The new run finds the previous one ended
// without BridgeStopping/ProvShutdownEv and records a restart gap from its
// last event, closed once its snapshot is reconciled (calls still up are
// CallDiscoveredBySnapshot); what the killed run read but never published
// lies inside that gap, and the new run's stream is complete.
func TestBridgeSIGKILLRestart(t *testing.T) {
	bin := BridgeBinary(t)
	r := StartTestRig(t, RigConfig{})
	cfg := WriteDaemonConfig(t, r)
	d1 := StartTestDaemon(t, bin, cfg)
	first := WaitNewEvent(t, r, subjInService, "", d1)
	LetTrafficFlow(3 * time.Second)
	if code := d1.StopOrFail(t, syscall.SIGKILL); code != -int(syscall.SIGKILL) {
		t.Fatalf("the bridge was not killed (exit %d)", code)
	}
	LetTrafficFlow(2 * time.Second)
	d2 := StartTestDaemon(t, bin, cfg)
	WaitNewEvent(t, r, subjInService, first, d2)
	WaitNewEvent(t, r, subjGapClosed, "", d2)
	LetTrafficFlow(3 * time.Second)
	if code := d2.StopOrFail(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d2.Out)
	}
	rep, c := CloseAndCheck(t, r)
	if rep.RestartGaps != 1 {
		t.Fatalf("%d restart gaps, want 1:\n%s", rep.RestartGaps, rep)
	}
	RequireEvents(t, rep, c, schema.EvGapClosed, schema.EvCallDiscovered, schema.EvBridgeStopping, schema.EvProvShutdown)
}
