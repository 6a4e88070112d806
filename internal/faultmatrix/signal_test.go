package faultmatrix

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// The signal tests run the real daemon (cmd/bridge, `bridge run
// --config`) as a child process against the rig's simulator and NATS
// server on loopback ports, and signal it.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// bridgeBinary builds cmd/bridge once per test binary.
func bridgeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "faultmatrix-bin-"); binErr != nil {
			return
		}
		binPath, binErr = BuildBridge(binDir)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// daemon is one `bridge run` process and its output.
type daemon struct {
	*Daemon
	out *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemonConfig writes the bridge's YAML configuration for the rig.
func daemonConfig(t *testing.T, r *Rig) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(path, r.DaemonConfig(DaemonOptions{Instance: "sig"}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startDaemon(t *testing.T, bin, config string) *daemon {
	t.Helper()
	d := &daemon{out: &syncBuffer{}}
	var err error
	if d.Daemon, err = StartDaemon(bin, config, d.out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Kill)
	return d
}

// stop signals the daemon and returns its exit code (minus the signal's
// number if the signal ended it).
func (d *daemon) stop(t *testing.T, sig syscall.Signal) int {
	t.Helper()
	code, err := d.Stop(sig, 40*time.Second)
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, d.out)
	}
	return code
}

// waitEvent waits until the last event on subject has an id other than
// notID (an event this run published) and returns it.
func waitEvent(t *testing.T, r *Rig, subject, notID string, d *daemon) string {
	t.Helper()
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s, err := js.Stream(ctx, "CTI")
		if err == nil {
			var m *natsjs.RawStreamMsg
			if m, err = s.GetLastMsgForSubject(ctx, subject); err == nil {
				if id := m.Header.Get(schema.HeaderMsgID); id != notID {
					cancel()
					return id
				}
			}
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("no new event on %s within 30s (last error %v); bridge output:\n%s", subject, err, d.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const (
	subjInService = "cti.lab.provider.ProvInServiceEv"
	subjGapClosed = "cti.lab.bridge.GapClosed"
)

// Bridge SIGTERM: the daemon publishes BridgeStopping, closes the provider
// (ProvShutdownEv), flushes JetStream and exits 0; the stream then holds
// every event of the run.
func TestBridgeSIGTERM(t *testing.T) {
	bin := bridgeBinary(t)
	r := startRig(t, RigConfig{})
	d := startDaemon(t, bin, daemonConfig(t, r))
	waitEvent(t, r, subjInService, "", d)
	letTrafficFlow(3 * time.Second)
	if code := d.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d.out)
	}
	rep, c := check(t, r)
	counts(t, rep, c, schema.EvBridgeStopping, schema.EvProvShutdown)
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
	bin := bridgeBinary(t)
	r := startRig(t, RigConfig{})
	cfg := daemonConfig(t, r)
	d1 := startDaemon(t, bin, cfg)
	first := waitEvent(t, r, subjInService, "", d1)
	letTrafficFlow(3 * time.Second)
	if code := d1.stop(t, syscall.SIGKILL); code != -int(syscall.SIGKILL) {
		t.Fatalf("the bridge was not killed (exit %d)", code)
	}
	letTrafficFlow(2 * time.Second)
	d2 := startDaemon(t, bin, cfg)
	waitEvent(t, r, subjInService, first, d2)
	waitEvent(t, r, subjGapClosed, "", d2)
	letTrafficFlow(3 * time.Second)
	if code := d2.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d2.out)
	}
	rep, c := check(t, r)
	if rep.RestartGaps != 1 {
		t.Fatalf("%d restart gaps, want 1:\n%s", rep.RestartGaps, rep)
	}
	counts(t, rep, c, schema.EvGapClosed, schema.EvCallDiscovered, schema.EvBridgeStopping, schema.EvProvShutdown)
}
