package faultmatrix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// This file is the test kit shared by the fault tests of this package and
// of its sibling packages (hafaults, clusterfaults): the tests are split
// over several packages so that each test binary stays well inside go
// test's default ten-minute timeout, and they all drive a Rig the same
// way.

// WaitBound limits every wait on real I/O in the fault tests.
const WaitBound = 15 * time.Second

// StartTestRig starts the simulator (a few calls per second, short
// heartbeats) and NATS, without a bridge, in a temporary directory of t;
// the rig is closed when the test ends.
func StartTestRig(t testing.TB, cfg RigConfig) *Rig {
	t.Helper()
	cfg.DataDir = t.TempDir()
	if cfg.Rate == 0 {
		cfg.Rate = 4
	}
	if cfg.Seed == 0 {
		cfg.Seed = 7
	}
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(LogLevelFromEnv())
	r, err := StartRig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// StartTestRigAndBridge is StartTestRig with an in-process bridge
// (configured by tune, nil: the rig's defaults) in service.
func StartTestRigAndBridge(t testing.TB, cfg RigConfig, tune func(*bridge.Config)) *Rig {
	t.Helper()
	r := StartTestRig(t, cfg)
	if _, err := r.StartBridge(tune); err != nil {
		t.Fatal(err)
	}
	WaitUp(t, r, nil)
	return r
}

// WaitUp waits until the bridge's provider is in service (on a CTIManager
// accepted by on, nil: any).
func WaitUp(t testing.TB, r *Rig, on func(string) bool) {
	t.Helper()
	if err := r.WaitInService(WaitBound, on); err != nil {
		t.Fatal(err)
	}
}

// OnNode accepts only the CTIManager name.
func OnNode(name string) func(string) bool { return func(cm string) bool { return cm == name } }

// LetTrafficFlow lets the simulator's calls flow for d (wall time: the
// point is for traffic to happen, nothing is awaited).
func LetTrafficFlow(d time.Duration) { time.Sleep(d) }

// StopBridgeAndCheck stops the bridge in order, closes the simulator and
// checks the whole stream against the ground truth.
func StopBridgeAndCheck(t testing.TB, r *Rig) (*Report, *Checker) {
	t.Helper()
	if err := r.StopBridge(); err != nil {
		t.Fatalf("bridge stopped with %v", err)
	}
	return CloseAndCheck(t, r)
}

// CloseAndCheck closes the simulator and checks the stream (no bridge
// running).
func CloseAndCheck(t testing.TB, r *Rig) (*Report, *Checker) {
	t.Helper()
	return CloseAndCheckWith(t, r, false)
}

// CloseAndCheckWith is CloseAndCheck, with the checker's
// high-availability rules if ha.
func CloseAndCheckWith(t testing.TB, r *Rig, ha bool) (*Report, *Checker) {
	t.Helper()
	if err := r.Sim.Close(); err != nil {
		t.Fatal(err)
	}
	c := NewChecker()
	c.Details = true
	c.HA = ha
	// Members or a bridge that waited for NATS may open their first
	// provider session while calls are up; so do the members of a group,
	// whose first provider opens only after the lease and the epoch
	// marker (seconds into the simulator's traffic on a busy machine).
	c.CallsUpAtStart = r.cfg.NATSLater || ha
	c.RoutePoints = r.RoutePoints()
	for _, rec := range r.Sim.GroundTruth("") {
		c.AddRecord(rec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.CheckStream(ctx, c); err != nil {
		t.Fatal(err)
	}
	rep := c.Report()
	t.Logf("check:\n%s", rep)
	if !rep.OK() {
		t.Fatalf("the stream does not match the ground truth:\n%s", rep)
	}
	if rep.FramesWithEvents == 0 || rep.Events == 0 {
		t.Fatalf("nothing was checked:\n%s", rep)
	}
	return rep, c
}

// WaitFailovers waits until the bridge has lost n links in service and is
// back in service (on a CTIManager accepted by on, nil: any).
func WaitFailovers(t testing.TB, r *Rig, n uint64, on func(string) bool) {
	t.Helper()
	testwait.Eventually(t, WaitBound, "the bridge's failovers", func() bool {
		return r.Bridge().Engine().Status().Counters.Failovers >= n
	})
	WaitUp(t, r, on)
}

// RequireEvents fails unless every named event is in the stream.
func RequireEvents(t testing.TB, rep *Report, c *Checker, names ...string) {
	t.Helper()
	for _, n := range names {
		if c.Count(n) == 0 {
			t.Fatalf("no %s in the stream:\n%s", n, rep)
		}
	}
}

// LogLevelFromEnv is warn, or FAULTMATRIX_LOG (debug, info) for a run
// that needs the bridges' own account of what they did.
func LogLevelFromEnv() zerolog.Level {
	if l, err := zerolog.ParseLevel(os.Getenv("FAULTMATRIX_LOG")); err == nil && os.Getenv("FAULTMATRIX_LOG") != "" {
		return l
	}
	return zerolog.WarnLevel
}

var bridgeBuild struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// BridgeBinary builds cmd/bridge once per test binary; the test binary's
// TestMain calls RemoveBridgeBinary when it is done.
func BridgeBinary(t testing.TB) string {
	t.Helper()
	b := &bridgeBuild
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "faultmatrix-bin-"); b.err != nil {
			return
		}
		b.path, b.err = BuildBridge(b.dir)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// RemoveBridgeBinary removes what BridgeBinary built, if anything.
func RemoveBridgeBinary() {
	if bridgeBuild.dir != "" {
		os.RemoveAll(bridgeBuild.dir)
	}
}

// TestDaemon is one `bridge run` process of a test and its output.
type TestDaemon struct {
	*Daemon
	Out *testwait.Buffer
}

// WriteDaemonConfig writes the bridge's YAML configuration for the rig
// (instance "sig") and returns its path.
func WriteDaemonConfig(t testing.TB, r *Rig) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bridge.yaml")
	if err := os.WriteFile(path, r.DaemonConfig(DaemonOptions{Instance: "sig"}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// StartTestDaemon starts `bin run --config config`; the process is killed
// when the test ends if it still runs.
func StartTestDaemon(t testing.TB, bin, config string) *TestDaemon {
	t.Helper()
	d := &TestDaemon{Out: &testwait.Buffer{}}
	var err error
	if d.Daemon, err = StartDaemon(bin, config, d.Out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Kill)
	return d
}

// StopOrFail signals the daemon and returns its exit code (minus the
// signal's number if the signal ended it); it fails the test if the
// daemon does not exit within 40 s.
func (d *TestDaemon) StopOrFail(t testing.TB, sig syscall.Signal) int {
	t.Helper()
	code, err := d.Stop(sig, 40*time.Second)
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, d.Out)
	}
	return code
}

// WaitNewEvent waits until the last event on subject has an id other
// than notID (an event this run published) and returns it.
func WaitNewEvent(t testing.TB, r *Rig, subject, notID string, d *TestDaemon) string {
	t.Helper()
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	var lastErr error
	if !testwait.Poll(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, jetstream.DefaultStream)
		if err != nil {
			lastErr = err
			return false
		}
		m, err := s.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			lastErr = err
			return false
		}
		id = m.Header.Get(schema.HeaderMsgID)
		return id != notID
	}) {
		t.Fatalf("no new event on %s within 30s (last error %v); bridge output:\n%s", subject, lastErr, d.Out)
	}
	return id
}

// WaitCallEvent waits until the last event stored for call callID (its
// one stored subject, schema.CallSubject) is name.
func WaitCallEvent(t testing.TB, r *Rig, callID, name string, d *TestDaemon) {
	t.Helper()
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	subject := schema.CallSubject(r.cfg.Cluster, callID)
	last := ""
	if !testwait.Poll(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, jetstream.DefaultStream)
		if err != nil {
			return false
		}
		m, err := s.GetLastMsgForSubject(ctx, subject)
		if err != nil {
			return false
		}
		last = m.Header.Get(schema.HeaderJTAPIEvent)
		return last == name
	}) {
		t.Fatalf("call %s: the last event on %s is %q, not %s, after 30s; bridge output:\n%s", callID, subject, last, name, d.Out)
	}
}

// Config is the rig's configuration, its defaults filled in.
func (r *Rig) Config() RigConfig { return r.cfg }

// MemberCount is the number of running members of the high-availability
// group.
func (r *Rig) MemberCount() int { return len(r.members) }

// BridgeServerName names the NATS server the bridge's connection is on
// ("" without a bridge, or while it is not connected).
func (r *Rig) BridgeServerName() string {
	if r.bridge == nil {
		return ""
	}
	return r.bridge.nc.ConnectedServerName()
}

// StateViewMismatch folds the whole event stream and compares every line's
// and device's key of the state view (KV cti-state) with it (leaving out Updated: the fold has no such
// field). It returns the keys compared and the first mismatch ("" if none).
func StateViewMismatch(ctx context.Context, js natsjs.JetStream, kv natsjs.KeyValue) (int, string) {
	fold := callstate.New()
	if err := jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err == nil {
			fold.Apply(ev)
		}
		return err
	}); err != nil {
		return 0, "read the stream: " + err.Error()
	}
	keys := 0
	for _, a := range fold.Addresses() {
		want, _ := stateview.LineOf(fold, a.DN)
		if m := keyMismatch(ctx, kv, schema.LineKey(a.DN), want); m != "" {
			return keys, m
		}
		keys++
	}
	for _, d := range fold.Terminals() {
		want, _ := stateview.DeviceOf(fold, d.Name)
		if m := keyMismatch(ctx, kv, schema.DeviceKey(d.Name), want); m != "" {
			return keys, m
		}
		keys++
	}
	return keys, ""
}

// keyMismatch compares a key's value with want, leaving out Updated.
func keyMismatch(ctx context.Context, kv natsjs.KeyValue, key string, want any) string {
	e, err := kv.Get(ctx, key)
	if err != nil {
		return fmt.Sprintf("key %s: %v", key, err)
	}
	wantJSON, err := stateview.Marshal(want)
	if err != nil {
		return fmt.Sprintf("key %s: marshal the fold's value: %v", key, err)
	}
	got, err := withoutUpdated(e.Value())
	if err != nil {
		return fmt.Sprintf("key %s: %v", key, err)
	}
	if w, _ := withoutUpdated(wantJSON); !bytes.Equal(got, w) {
		return fmt.Sprintf("key %s:\n got %s\nwant %s", key, e.Value(), wantJSON)
	}
	return ""
}

func withoutUpdated(raw []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "updated")
	return json.Marshal(m)
}
