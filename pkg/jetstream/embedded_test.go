package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

func TestEmbeddedRestartKeepsPortAndStore(t *testing.T) {
	var logs testwait.Buffer
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
	// Connected is not enough: the client may not have noticed the
	// restart yet. It must have reconnected.
	waitFor(t, 10*time.Second, "in-process reconnect", func() bool { return nc.Stats().Reconnects >= 1 && nc.IsConnected() })
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
	for _, want := range []string{"DataDir is empty", "Listen \"localhost\"", "JetStreamMaxStore"} {
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

// With credentials configured the embedded server refuses a client that
// presents none or wrong ones, and admits the process's own connections
// (Connect presents them) and a client that presents them; JetStream
// works for it.
func TestEmbeddedEnforcesCredentials(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      EmbeddedConfig
		good     []nats.Option
		badCreds nats.Option
	}{
		{"user and password", EmbeddedConfig{User: "bridge", Password: "s3cret"},
			[]nats.Option{nats.UserInfo("bridge", "s3cret")}, nats.UserInfo("bridge", "guess")},
		{"token", EmbeddedConfig{Token: "t0ken"}, []nats.Option{nats.Token("t0ken")}, nats.Token("guess")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.DataDir, cfg.Listen, cfg.Logger = t.TempDir(), "127.0.0.1:0", testLogger(t)
			e, err := NewEmbedded(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
			for _, opts := range [][]nats.Option{nil, {tc.badCreds}} {
				if nc, err := nats.Connect(e.ClientURL(), opts...); err == nil {
					nc.Close()
					t.Fatalf("a client without the credentials was admitted (%d options)", len(opts))
				} else if !errors.Is(err, nats.ErrAuthorization) {
					t.Fatalf("refused with %v, want an authorization violation", err)
				}
			}
			own, err := e.Connect("own")
			if err != nil {
				t.Fatal(err)
			}
			defer own.Close()
			waitFor(t, 10*time.Second, "the process's own connection", own.IsConnected)
			nc, err := nats.Connect(e.ClientURL(), tc.good...)
			if err != nil {
				t.Fatalf("a client with the credentials: %v", err)
			}
			defer nc.Close()
			js := newJS(t, nc)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := Provision(ctx, js, ProvisionConfig{}); err != nil {
				t.Fatalf("JetStream for an authenticated client: %v", err)
			}
		})
	}
}

func TestEmbeddedCredentialsValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  EmbeddedConfig
		want string
	}{
		{EmbeddedConfig{User: "u", Password: "p", Token: "t"}, "Token and User/Password are both set"},
		{EmbeddedConfig{Password: "p"}, "Password set without User"},
		{EmbeddedConfig{User: "u"}, "User set without Password"},
	} {
		cfg := tc.cfg
		cfg.DataDir = "x"
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		} else if strings.Contains(err.Error(), "p\"") || strings.Contains(err.Error(), "t\"") {
			t.Errorf("a secret in the message: %v", err)
		}
	}
}

// Without credentials on a non-loopback address the server says, once,
// that anyone who reaches it reads the stream.
func TestEmbeddedWarnsWhenOpenBeyondLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen string
		warn   bool
	}{{"127.0.0.1:0", false}, {"0.0.0.0:0", true}} {
		var logs testwait.Buffer
		e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Listen: tc.listen, Logger: zerolog.New(&logs)})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Start(); err != nil {
			t.Fatal(err)
		}
		_ = e.Shutdown(context.Background())
		if got := strings.Contains(logs.String(), "without credentials on a non-loopback address"); got != tc.warn {
			t.Errorf("listen %s: warning logged %v, want %v", tc.listen, got, tc.warn)
		}
	}
}

// The server's start-up is a few readable info lines: no ASCII-art
// banner, no empty or separator lines, and its settings table at debug
// level as key and value.
func TestEmbeddedStartUpLogIsReadable(t *testing.T) {
	var logs testwait.Buffer
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: zerolog.New(&logs).Level(zerolog.DebugLevel)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	_ = e.Shutdown(context.Background())
	var info []string
	settings := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct{ Level, Message, Setting, Value string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		if rec.Setting != "" {
			settings[rec.Setting] = rec.Value
		}
		if rec.Level != "info" {
			continue
		}
		info = append(info, rec.Message)
		if m := strings.TrimSpace(rec.Message); m == "" || strings.HasPrefix(m, "---") || strings.Contains(m, "\\__") || rec.Message != m {
			t.Errorf("info line %q is banner or table decoration", rec.Message)
		}
	}
	if !slices.Contains(info, "Server is ready") || len(info) > 12 {
		t.Errorf("%d info lines at start and stop: %q", len(info), info)
	}
	if settings["Version"] == "" || !strings.Contains(settings["Store Directory"], "jetstream") {
		t.Errorf("start-up settings at debug level: %v", settings)
	}
}
