package jetstream

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
)

// freeListen returns a loopback address whose port was free a moment ago,
// for a server that must be started after its clients know its URL.
func freeListen(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// provisionerEvents records the callbacks of a Provisioner.
type provisionerEvents struct {
	mu    sync.Mutex
	ready []ReadyInfo
	lost  []string
}

func (e *provisionerEvents) readies() []ReadyInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]ReadyInfo(nil), e.ready...)
}

func startProvisioner(t *testing.T, cfg ProvisionerConfig) (*Provisioner, *provisionerEvents) {
	t.Helper()
	ev := &provisionerEvents{}
	cfg.OnReady = func(_ context.Context, r ReadyInfo) {
		ev.mu.Lock()
		ev.ready = append(ev.ready, r)
		ev.mu.Unlock()
	}
	cfg.OnLost = func(reason string) {
		ev.mu.Lock()
		ev.lost = append(ev.lost, reason)
		ev.mu.Unlock()
	}
	cfg.Logger = testLogger(t)
	p, err := NewProvisioner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return p, ev
}

// A client started before its NATS server: the provisioner says NATS is
// not reachable and why, and provisions as soon as the server is up.
func TestProvisionerWaitsForNATS(t *testing.T) {
	listen := freeListen(t)
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Listen: listen, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	tracker := &ConnTracker{}
	nc, err := Connect(ConnectConfig{URLs: []string{"nats://" + listen}, ReconnectWait: 20 * time.Millisecond, OnEvent: tracker.Observe, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Connect must not fail while the server is down: %v", err)
	}
	t.Cleanup(nc.Close)
	p, ev := startProvisioner(t, ProvisionerConfig{Conn: nc, ConnError: tracker.LastError, MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})

	waitFor(t, 10*time.Second, "the reason to name the refused connection", func() bool {
		return strings.Contains(p.State().Reason, "connection refused")
	})
	st := p.State()
	if st.Ready || !strings.HasPrefix(st.Reason, ReasonNATSUnreachable+": ") || st.Attempts == 0 {
		t.Fatalf("state while NATS is down: %+v", st)
	}
	if len(ev.readies()) != 0 {
		t.Fatal("ready before NATS runs")
	}

	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the stream provisioned", func() bool { return p.State().Ready })
	r := ev.readies()
	if len(r) != 1 || r[0].Recreated || r[0].Attempts == 0 || r[0].Provisioned.Actions["stream CTI"] != Created {
		t.Fatalf("OnReady: %+v", r)
	}
	if _, err := newJS(t, nc).Stream(context.Background(), DefaultStream); err != nil {
		t.Fatalf("stream after provisioning: %v", err)
	}
}

// The stream deleted under a running bridge: the provisioner notices,
// reports it lost, recreates it and says so; nothing is published into a
// stream that does not exist meanwhile (the bridge holds its publisher on
// OnLost).
func TestProvisionerRecreatesDeletedStream(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	p, ev := startProvisioner(t, ProvisionerConfig{Conn: nc, Watch: 20 * time.Millisecond, MinBackoff: 10 * time.Millisecond})
	waitFor(t, 10*time.Second, "the stream provisioned", func() bool { return p.State().Ready })

	js := newJS(t, nc)
	ctx := context.Background()
	for i := range 5 {
		if _, err := js.Publish(ctx, "cti.lab.bridge.x", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "a watch after the publishes", func() bool { return p.State().LastSeq == 5 })
	if err := js.DeleteStream(ctx, DefaultStream); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the stream recreated", func() bool { return len(ev.readies()) == 2 })
	r := ev.readies()[1]
	if !r.Recreated || r.LostLastSeq != 5 || r.LostAt.IsZero() {
		t.Fatalf("OnReady after the deletion: %+v", r)
	}
	ev.mu.Lock()
	lost := append([]string(nil), ev.lost...)
	ev.mu.Unlock()
	if len(lost) != 1 || !strings.Contains(lost[0], "deleted") {
		t.Fatalf("OnLost: %q", lost)
	}
	if _, err := js.Stream(ctx, DefaultStream); errors.Is(err, natsjs.ErrStreamNotFound) {
		t.Fatal("stream not recreated")
	}
}

// A held publisher sends nothing while it runs, connected: its buffer
// fills and overflows exactly as while NATS is down (the 700 oldest of
// 1,000 dropped — any message sent would have left the eviction list and
// changed that count); released, it delivers the rest and the gap record.
func TestPublisherHold(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	p := newPublisher(t, nc, func(c *Config) { c.BufferSize = 300; c.MaxInFlight = 64 })
	p.Hold()
	runPublisher(t, p)
	g := newMsgGen("s1", 7, 64)
	publishN(t, p, g, 1000)
	if st := p.Stats(); st.Dropped != 700 || st.Buffered != 300 || st.Published != 0 || !st.Held {
		t.Fatalf("held: stats %+v, want 700 dropped, 300 buffered, nothing published", st)
	}
	p.Release()
	flush(t, p, 20*time.Second)
	present, gaps := checkOnceInOrder(t, readStream(t, js))
	if len(present) != 300 || len(gaps) != 1 || gaps[0].Dropped != 700 {
		t.Fatalf("after Release: %d messages, gap records %+v", len(present), gaps)
	}
}
