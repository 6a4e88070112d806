package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func validBase() Config {
	c := Default()
	c.CTI.Login = "ctibridge"
	c.CTI.Password = "secret"
	c.CTI.CTIManagers = []CTIManager{{Name: "a", Address: "127.0.0.1:2748"}, {Name: "b", Address: "127.0.0.1:2758"}}
	return c
}

func TestDefaultsPlusManagersValidate(t *testing.T) {
	c := validBase()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

func TestParseYAMLWithJtapiNames(t *testing.T) {
	y := `
cluster: prod-east
cti:
  login: app
  password: pw
  ctiManagers:
    - {name: cm1, address: "10.0.0.1:2748"}
    - {name: cm3, address: "10.0.0.3:2748", leastPriority: true}
  DesiredServerHeartbeatInterval: 10
  FallbackInitiationTime: 180
  routePoints:
    "5000": ["1001", "1002"]
nats:
  stream: EVENTS
  duplicateWindow: 20m
`
	c, err := Parse([]byte(y), Default())
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster != "prod-east" || c.CTI.DesiredServerHeartbeatInterval.Duration() != 10*time.Second || c.CTI.FallbackInitiationTime.Duration() != 180*time.Second {
		t.Fatalf("fields not decoded: %+v", c)
	}
	if c.CTI.ProviderRetryInterval.Duration() != 30*time.Second {
		t.Fatalf("default lost: ProviderRetryInterval=%d", c.CTI.ProviderRetryInterval)
	}
	if !c.CTI.CTIManagers[1].LeastPriority || c.NATS.DuplicateWindow != 20*time.Minute {
		t.Fatalf("decoded wrong: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestUnknownKeyIsAnError(t *testing.T) {
	_, err := Parse([]byte("cti:\n  DesiredServerHeartbeatIntervall: 10\n"), Default())
	if err == nil || !strings.Contains(err.Error(), "DesiredServerHeartbeatIntervall") {
		t.Fatalf("typo not reported: %v", err)
	}
}

func TestValidateNamesFieldAndFix(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"no managers", func(c *Config) { c.CTI.CTIManagers = nil }, []string{"cti.ctiManagers", "at least one"}},
		{"bad address", func(c *Config) { c.CTI.CTIManagers[0].Address = "nohost" }, []string{"cti.ctiManagers[0].address", "host:port"}},
		{"two least", func(c *Config) {
			c.CTI.CTIManagers[0].LeastPriority = true
			c.CTI.CTIManagers[1].LeastPriority = true
		}, []string{"at most one"}},
		{"open timeout", func(c *Config) { c.CTI.ProviderOpenRequestTimeout = Seconds(5 * time.Second) },
			[]string{"cti.ProviderOpenRequestTimeout: 5s is below the jtapi.ini minimum 10s"}},
		{"tls without certs", func(c *Config) {
			c.CTI.TLS.Enabled = true
			c.CTI.CTIManagers[0].TLSAddress = "127.0.0.1:2749"
			c.CTI.CTIManagers[1].TLSAddress = "127.0.0.1:2759"
		}, []string{"cti.instanceId", "cti.tls.enabled: is set without cti.tls.clientCert", "cti.tls.trustStore"}},
		{"mode", func(c *Config) { c.NATS.Mode = "xml" }, []string{"nats.mode", "binary"}},
		{"external without url", func(c *Config) { c.NATS.Embedded = false }, []string{"nats.urls"}},
		{"login", func(c *Config) { c.CTI.Login = "" }, []string{"cti.login: is empty"}},
		{"ctiport", func(c *Config) { c.CTI.CTIPorts = map[string]Media{"CTIP1": {IP: "x", Port: 0}} },
			[]string{"cti.ctiPorts.CTIP1: media is invalid: port 0 out of range 1-65535 (static ports need ip and port; or set dynamic)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validBase()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestEnvOverridesAndSecretsNeverPrint(t *testing.T) {
	c := validBase()
	env := map[string]string{
		"CTIBRIDGE_CTI_PASSWORD": "hunter2",
		"CTIBRIDGE_CTI_MANAGERS": "x=10.1.1.1:2748/10.1.1.1:2749,y=10.1.1.2:2748!",
		"CTIBRIDGE_NATS_URL":     "nats://a:4222,nats://b:4222",
	}
	if err := ApplyEnv(&c, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if string(c.CTI.Password) != "hunter2" || c.NATS.Embedded || len(c.NATS.URLs) != 2 {
		t.Fatalf("env not applied: %+v", c)
	}
	if m := c.CTI.CTIManagers; len(m) != 2 || m[0].TLSAddress != "10.1.1.1:2749" || !m[1].LeastPriority {
		t.Fatalf("managers: %+v", m)
	}
	if s := fmt.Sprintf("%v %+v", c, c.CTI); strings.Contains(s, "hunter2") {
		t.Fatal("password printed")
	}
}
