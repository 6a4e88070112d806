package jetstream

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// syncBuffer is a goroutine-safe log sink.
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

func TestEmbeddedRestartKeepsPortAndStore(t *testing.T) {
	var logs syncBuffer
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", ServerName: "emb-test", Logger: zerolog.New(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	url := e.ClientURL()
	if !strings.HasPrefix(url, "nats://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("client URL %q", url)
	}

	// An in-process client that must survive the restart.
	nc, err := e.Connect("inproc")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js := newJS(t, nc)
	provision(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 10 {
		if _, err := js.Publish(ctx, fmt.Sprintf("cti.lab.provider.E%d", i), nil); err != nil {
			t.Fatal(err)
		}
	}

	restart(t, e)
	if got := e.ClientURL(); got != url {
		t.Fatalf("URL changed across restart: %s → %s", url, got)
	}
	waitFor(t, 10*time.Second, "in-process reconnect", nc.IsConnected)
	if nc.Stats().Reconnects < 1 {
		t.Fatal("in-process client did not reconnect")
	}
	// Over TCP too, on the same port; the store kept the messages.
	js2 := newJS(t, dialTCP(t, url))
	waitFor(t, 10*time.Second, "stream back", func() bool {
		s, err := js2.Stream(ctx, DefaultStream)
		return err == nil && s.CachedInfo().State.Msgs == 10
	})

	out := logs.String()
	if !strings.Contains(out, `"component":"nats-server"`) || !strings.Contains(out, "Server is ready") {
		t.Fatalf("server logs not routed to zerolog:\n%.2000s", out)
	}
}

func TestEmbeddedPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Listen: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = e.Start()
	if err == nil {
		_ = e.Shutdown(context.Background())
		t.Fatal("started on a port in use")
	}
	if !strings.Contains(err.Error(), "listen") || time.Since(start) > 5*time.Second {
		t.Fatalf("error %v after %s", err, time.Since(start))
	}
	if e.Running() {
		t.Fatal("reports running")
	}
}

func TestEmbeddedNoListenAndShutdownTwice(t *testing.T) {
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), NoListen: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.InProcessConn(); err == nil {
		t.Fatal("in-process connection before Start")
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	if e.ClientURL() != "" {
		t.Fatalf("URL %q without a listener", e.ClientURL())
	}
	nc, err := e.Connect("inproc")
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	for range 2 {
		if err := e.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if e.Running() {
		t.Fatal("still running")
	}
}

func TestEmbeddedValidate(t *testing.T) {
	_, err := NewEmbedded(EmbeddedConfig{Listen: "localhost", JetStreamMaxStore: -1})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"DataDir is required", "Listen \"localhost\"", "JetStreamMaxStore"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not in %v", want, err)
		}
	}
	e, err := NewEmbedded(EmbeddedConfig{DataDir: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if e.cfg.Listen != DefaultListen {
		t.Fatalf("default listen %q", e.cfg.Listen)
	}
}
