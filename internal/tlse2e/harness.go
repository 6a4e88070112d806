package tlse2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// WaitBound bounds every wait on real I/O (network, NATS, the simulator).
const WaitBound = 20 * time.Second

// Cluster is the cluster name the harness bridges publish under.
const Cluster = "lab"

// NATS is an embedded NATS server with JetStream (the product's
// jetstream.Embedded, listening on 127.0.0.1 with a free port) and the
// provisioned event stream.
type NATS struct {
	Server *jetstream.Embedded
	// Conn is the harness's own connection, used to read the stream.
	Conn *nats.Conn
	JS   natsjs.JetStream
}

// StartNATS starts the embedded server on a temporary data directory and
// provisions the default stream ("CTI"). It is shut down when the test ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	emb, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := emb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
		defer cancel()
		_ = emb.Shutdown(ctx)
	})
	n := &NATS{Server: emb}
	n.Conn = n.Connect(t, "tlse2e-reader")
	if n.JS, err = natsjs.New(n.Conn); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	if _, err := jetstream.Provision(ctx, n.JS, jetstream.ProvisionConfig{}); err != nil {
		t.Fatalf("provision: %v", err)
	}
	return n
}

// Connect opens an in-process connection that reconnects across restarts
// of the server (as the daemon's own connection does); it is closed when
// the test ends.
func (n *NATS) Connect(t testing.TB, name string) *nats.Conn {
	t.Helper()
	nc, err := n.Server.Connect(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// Stored is one message of the stream, decoded.
type Stored struct {
	Seq     uint64
	Subject string
	Env     schema.Envelope
	Event   schema.Event
}

// Events reads and decodes every message of the stream, in stream order.
// A message that does not decode fails the test: the bridge must only
// store valid CloudEvents.
func (n *NATS) Events(t testing.TB) []Stored {
	t.Helper()
	// After a server restart the reader's own connection may still be
	// reconnecting (the bridge's may have come back first); reading
	// then would fail with "outbound buffer limit exceeded".
	Eventually(t, "the reader reconnected to NATS", n.Conn.IsConnected)
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	var out []Stored
	err := jetstream.ReadAll(ctx, n.JS, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		env, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return fmt.Errorf("stream seq %d (%s): %w", meta.Sequence.Stream, m.Subject(), err)
		}
		out = append(out, Stored{Seq: meta.Sequence.Stream, Subject: m.Subject(), Env: env, Event: ev})
		return nil
	})
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return out
}

// WaitEvents polls the stream (bounded by WaitBound) until cond holds.
func (n *NATS) WaitEvents(t testing.TB, what string, cond func([]Stored) bool) []Stored {
	t.Helper()
	var evs []Stored
	deadline := time.Now().Add(WaitBound)
	for {
		evs = n.Events(t)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stream holds %d events:\n  %s", what, len(evs), strings.Join(Names(evs), "\n  "))
		}
		time.Sleep(50 * time.Millisecond) // poll interval of a bounded wait on I/O
	}
}

// Names renders events as "session/seq Name reason" lines for failure
// messages.
func Names(evs []Stored) []string {
	out := make([]string, len(evs))
	for i, s := range evs {
		out[i] = fmt.Sprintf("%s/%d %s", s.Event.Session, s.Event.SessionSeq, s.Event.Name)
		if p := s.Event.Data.Provider; p != nil && p.Reason != "" {
			out[i] += " " + p.Reason
		}
	}
	return out
}

// Filter returns the events named name whose session starts with prefix
// ("" for any).
func Filter(evs []Stored, name, prefix string) []Stored {
	var out []Stored
	for _, s := range evs {
		if s.Event.Name == name && strings.HasPrefix(s.Event.Session, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// Has is a WaitEvents condition: at least n events named name.
func Has(name string, n int) func([]Stored) bool {
	return func(evs []Stored) bool { return len(Filter(evs, name, "")) >= n }
}

// Sim is a simulated cluster with its development PKI.
type Sim struct {
	*ctisim.Server
	PKI *ctisim.PKI
	// PKIDir holds ca.pem and the client certificates (WriteDevPKI).
	PKIDir string
}

// StartSim starts the default lab cluster on ephemeral ports with model
// time under the test's control (no generated traffic). pkiInstances, if
// not nil, enables the TLS ports with a fresh development PKI and client
// certificates for those instanceIds. mutate may adjust the configuration.
func StartSim(t testing.TB, pkiInstances []string, mutate func(*ctisim.Config)) *Sim {
	t.Helper()
	s := &Sim{}
	cfg := ctisim.Config{Cluster: ctisim.DefaultCluster().WithEphemeralPorts(), ManualTime: true}
	if pkiInstances != nil {
		s.PKIDir = t.TempDir()
		pki, err := ctisim.WriteDevPKI(s.PKIDir, nil, pkiInstances)
		if err != nil {
			t.Fatal(err)
		}
		s.PKI, cfg.PKI = pki, pki
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
	s.Server = srv
	return s
}

// EngineConfig is an engine configuration for the named CTIManagers of the
// simulator (all of them when none is named), with short retry timers.
func EngineConfig(sim *Sim, nodes ...string) ctiengine.Config {
	var cms []ctiengine.CTIManager
	for _, n := range sim.Nodes() {
		if len(nodes) > 0 && !slices.Contains(nodes, n.Name) {
			continue
		}
		cms = append(cms, ctiengine.CTIManager{Name: n.Name, Addr: n.Addr, TLSAddr: n.TLSAddr, LeastPriority: n.LeastPriority})
	}
	return BaseEngineConfig(cms...)
}

// BaseEngineConfig is an engine configuration for the given CTIManagers
// with the simulator's application user and short retry timers.
func BaseEngineConfig(cms ...ctiengine.CTIManager) ctiengine.Config {
	return ctiengine.Config{
		CTIManagers: cms, Login: "ctibridge", Password: "secret", AppInfo: "tlse2e",
		AllowShortTimers: true, ProviderRetryInterval: 200 * time.Millisecond,
		ConnectTimeout: 5 * time.Second, CloseTimeout: 2 * time.Second,
	}
}

// WithTLS configures the TLS link with the client certificate WriteDevPKI
// wrote for instanceID in pkiDir, pinning the server CA in trustStore.
func WithTLS(cfg *ctiengine.Config, instanceID, pkiDir, trustStore string) {
	cert, key := ctisim.ClientCertFiles(instanceID)
	cfg.InstanceID = instanceID
	cfg.TLS = ctiengine.TLSConfig{ClientCert: filepath.Join(pkiDir, cert), ClientKey: filepath.Join(pkiDir, key),
		TrustStore: trustStore, RequireTLS: true}
}

// BridgeOptions are what a test chooses about a bridge; StartBridge fills
// in the rest (connection, encoder, ops listener on 127.0.0.1:0, logger).
type BridgeOptions struct {
	// Instance names the run (default: a unique "b<N>").
	Instance  string
	Engine    ctiengine.Config
	Publisher jetstream.Config
	// FatalLinger is passed to bridge.Config.FatalLinger.
	FatalLinger time.Duration
	// Conn overrides the bridge's NATS connection (default: a new
	// in-process connection to the harness server).
	Conn *nats.Conn
}

var instances atomic.Int64

// Bridge is a bridge running in the background.
type Bridge struct {
	*bridge.Bridge
	Instance string
	Logs     *Logs
	cancel   context.CancelFunc
	done     chan struct{}
	err      error
}

// StartBridge builds and runs a bridge until the test ends (or Stop).
func StartBridge(t testing.TB, n *NATS, o BridgeOptions) *Bridge {
	t.Helper()
	if o.Instance == "" {
		o.Instance = fmt.Sprintf("b%d", instances.Add(1))
	}
	conn := o.Conn
	if conn == nil {
		conn = n.Connect(t, "bridge "+o.Instance)
	}
	logs := &Logs{}
	b, err := bridge.New(bridge.Config{
		Instance: o.Instance, Engine: o.Engine,
		Encoder:   schema.EncoderConfig{Cluster: Cluster},
		Conn:      conn,
		Publisher: o.Publisher, HTTPListen: "127.0.0.1:0",
		HeartbeatEvery: -1, DrainTimeout: 5 * time.Second, FatalLinger: o.FatalLinger,
		Logger: zerolog.New(logs).With().Timestamp().Logger(),
	})
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Bridge{Bridge: b, Instance: o.Instance, Logs: logs, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = b.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(WaitBound):
			t.Errorf("bridge %s did not stop within %v", o.Instance, WaitBound)
		}
		if t.Failed() {
			t.Logf("bridge %s log:\n%s", o.Instance, logs.String())
		}
	})
	return r
}

// Stop ends the bridge (as SIGTERM does) and returns what Run returned.
func (r *Bridge) Stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	return r.Wait(t)
}

// Wait waits (bounded) for Run to return by itself and returns its result.
func (r *Bridge) Wait(t testing.TB) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(WaitBound):
		t.Fatalf("bridge %s still running after %v", r.Instance, WaitBound)
		return nil
	}
}

// Done is closed when Run has returned.
func (r *Bridge) Done() <-chan struct{} { return r.done }

// Get fetches an ops endpoint and returns the status code and body.
func (r *Bridge) Get(t testing.TB, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + r.OpsAddr() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// WaitReady polls /readyz (bounded) until it answers 200.
func (r *Bridge) WaitReady(t testing.TB) {
	t.Helper()
	Eventually(t, "/readyz 200 of "+r.Instance, func() bool {
		code, _ := r.Get(t, "/readyz")
		return code == http.StatusOK
	})
}

// Metric returns the value of an unlabelled metric line ("name value")
// from /metrics, or "" if absent.
func (r *Bridge) Metric(t testing.TB, name string) string {
	t.Helper()
	_, body := r.Get(t, "/metrics")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			return v
		}
	}
	return ""
}

// Eventually polls cond (bounded by WaitBound).
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testwait.Eventually(t, WaitBound, what, cond)
}
