package ctiengine

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

func TestConfigValidate(t *testing.T) {
	if err := testConfig().Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   []string // every fragment must appear in the error
	}{
		{"no CTIManagers", func(c *Config) { c.CTIManagers = nil }, []string{"CTIManagers is empty"}},
		{"too many CTIManagers", func(c *Config) {
			c.CTIManagers = nil
			for i := 0; i < 11; i++ {
				c.CTIManagers = append(c.CTIManagers, CTIManager{Name: string(rune('a' + i)), Addr: "127.0.0.1:1"})
			}
		}, []string{"at most 10"}},
		{"two least priority", func(c *Config) {
			c.CTIManagers = append(c.CTIManagers, CTIManager{Name: "x", Addr: "h:1", LeastPriority: true},
				CTIManager{Name: "y", Addr: "h:2", LeastPriority: true})
		}, []string{"at most one least-priority"}},
		{"only least priority", func(c *Config) { c.CTIManagers = []CTIManager{{Addr: "h:1", LeastPriority: true}} },
			[]string{"at least one normal"}},
		{"bad address", func(c *Config) { c.CTIManagers[0].Addr = "nohostport" }, []string{"CTIManagers[0].Addr", "host:port"}},
		{"duplicate names", func(c *Config) { c.CTIManagers[1].Name = "primary" }, []string{"CTIManagers[1].Name", "distinct"}},
		{"missing login and instance", func(c *Config) { c.Login = ""; c.BridgeInstance = "" },
			[]string{"Login is empty", "BridgeInstance is empty"}},
		{"separator in password", func(c *Config) { c.Password = "a;b" }, []string{"Password contains"}},
		{"short retry interval", func(c *Config) { c.ProviderRetryInterval = time.Second },
			[]string{"ProviderRetryInterval 1s is below the jtapi.ini minimum 5s", "AllowShortTimers"}},
		{"short request timeouts", func(c *Config) {
			c.CtiRequestTimeout = 2 * time.Second
			c.ProviderOpenRequestTimeout = 3 * time.Second
		}, []string{"CtiRequestTimeout 2s", "ProviderOpenRequestTimeout 3s"}},
		{"negative attempts", func(c *Config) { c.ProviderOpenRetryAttempts = -2 }, []string{"ProviderOpenRetryAttempts"}},
		{"static CTI port without media", func(c *Config) { c.CTIPorts = map[string]CTIPortConfig{"P1": {}} },
			[]string{`CTIPorts["P1"]`, "media.ip"}},
		{"route point without destinations", func(c *Config) { c.RoutePoints = map[string]RoutePointConfig{"5000": {}} },
			[]string{`RoutePoints["5000"].Destinations`}},
		{"unknown route policy", func(c *Config) {
			c.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1"}, Policy: "random"}}
		}, []string{"Policy"}},
		{"TLS half configured", func(c *Config) { c.TLS.ClientCert = "c.pem" },
			[]string{"TLS.ClientCert and TLS.ClientKey", "TLS.TrustStore is empty", "InstanceID is empty"}},
		{"TLS required without TLS ports", func(c *Config) {
			c.TLS = TLSConfig{ClientCert: "c", ClientKey: "k", TrustStore: "t", RequireTLS: true}
			c.InstanceID = "i"
		}, []string{"CTIManagers[0].TLSAddr is empty but TLS.RequireTLS"}},
		{"frame size below 1 KiB", func(c *Config) { c.MaxFrameSize = 1023 }, []string{"MaxFrameSize 1023 bytes is out of range: use 1024 (1 KiB) to 4194304 (4 MiB), or 0 for the default 262144"}},
		{"frame size above 4 MiB", func(c *Config) { c.MaxFrameSize = 4<<20 + 1 }, []string{"MaxFrameSize 4194305 bytes is out of range"}},
		{"frame size negative", func(c *Config) { c.MaxFrameSize = -1 }, []string{"MaxFrameSize -1 bytes is out of range"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "ctiengine: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
	// The override admits short timers for tests and demos.
	cfg := testConfig()
	cfg.AllowShortTimers = true
	cfg.ProviderRetryInterval, cfg.CtiRequestTimeout = 100*time.Millisecond, 200*time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatalf("AllowShortTimers: %v", err)
	}
}

// Validate checks the settings alone (a configuration translated from a
// file has no sink yet); New refuses to build an engine without one.
func TestSinkIsNewsToCheck(t *testing.T) {
	cfg := testConfig()
	cfg.Sink = nil
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate without a sink: %v", err)
	}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "ctiengine: Sink is nil") {
		t.Fatalf("New without a sink: %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	s := testConfig().withDefaults()
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{
		{"DesiredServerHeartbeatInterval", s.DesiredServerHeartbeatInterval, 30 * time.Second},
		{"ProviderRetryInterval", s.ProviderRetryInterval, 30 * time.Second},
		{"ProviderOpenRequestTimeout", s.ProviderOpenRequestTimeout, 200 * time.Second},
		{"CtiRequestTimeout", s.CtiRequestTimeout, 15 * time.Second},
		{"FallbackInitiationTime", s.FallbackInitiationTime, 300 * time.Second},
		{"RouteSelectTimeout", s.RouteSelectTimeout, 5 * time.Second},
	} {
		if c.got != c.want {
			t.Errorf("%s default %v, want %v", c.name, c.got, c.want)
		}
	}
	if s.ProviderOpenRetryAttempts != 5 || s.MaxDevices != 50000 {
		t.Errorf("attempts %d max devices %d", s.ProviderOpenRetryAttempts, s.MaxDevices)
	}
}

func TestPasswordNeverInEventsOrLogs(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(2), nil)
	h.down(nil)
	for _, ev := range h.take() {
		if b, _ := json.Marshal(ev); strings.Contains(string(b), "secret") {
			t.Fatalf("password in %s", ev.Name)
		}
	}
	for _, n := range h.notes {
		if strings.Contains(n.Msg, "secret") {
			t.Fatalf("password in note %q", n.Msg)
		}
	}
	// It is only on the wire, in the open request.
	if req := collect[ctilink.ProviderOpenRequest](h.frames); len(req) != 1 || req[0].Password != "secret" {
		t.Fatal("password not sent in ProviderOpenRequest")
	}
}

// The engine must not depend on NATS or the JetStream adapter.
func TestImportBoundary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go list unavailable: %v: %s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "nats-io") || strings.HasSuffix(dep, "/pkg/jetstream") {
			t.Fatalf("ctiengine depends on %s", dep)
		}
	}
}
