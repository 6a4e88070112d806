package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// Bounds of the configurable limits. The defaults are the packages' own
// (ctilink, ctiengine, callmodel, jetstream), so the reference cannot drift
// from what the engine and the publisher do with a zero value.
const (
	// MinMaxFrameSize is the smallest cti.maxFrameSize, a floor against a
	// value given in KiB by mistake. Any bound below the largest frame the
	// CTIManager sends (a 500-device list page is about 90 KiB) closes the
	// link on every provider open.
	MinMaxFrameSize = 1 << 10
	// MaxMaxFrameSize is the largest cti.maxFrameSize a reader accepts
	// (ctilink clamps anything above it).
	MaxMaxFrameSize = ctilink.HardMaxFrameSize
	// MinBufferBytes is the smallest nats.bufferBytes: below it a burst of
	// ordinary events would already overflow the buffer.
	MinBufferBytes = 1 << 20
)

// Config is the bridge daemon's configuration: the YAML file, then
// environment variables (CTIBRIDGE_...), then flags, in increasing
// precedence. The CTI section uses jtapi.ini names for the settings JTAPI
// users know.
type Config struct {
	// Cluster names the CUCM cluster; it is the second subject token and the
	// CloudEvents source.
	Cluster string `yaml:"cluster"`
	// Instance identifies this bridge run (generated when empty).
	Instance string     `yaml:"instance"`
	CTI      CTIConfig  `yaml:"cti"`
	NATS     NATSConfig `yaml:"nats"`
	HTTP     HTTPConfig `yaml:"http"`
	Log      LogConfig  `yaml:"log"`
	HA       HAConfig   `yaml:"ha"`
}

// HAConfig makes the bridge one instance of a high-availability group
// (docs/ha.md): every instance runs the same configuration with its own
// instance name; they elect one active instance through a lease in
// JetStream KV.
type HAConfig struct {
	Enabled bool `yaml:"enabled"`
	// Mode is cold (the instances share one instanceId and client
	// certificate: only the active one has a provider) or hot (each its
	// own instanceId and certificate, or its own login: all observe).
	Mode string `yaml:"mode"`
	// LeaseTTL is the lease bucket's TTL: a holder that stops renewing
	// loses the lease after it.
	LeaseTTL time.Duration `yaml:"leaseTTL"`
	// RenewEvery is the renewal period (0: 0.4 × leaseTTL; 0.3–0.5 ×).
	RenewEvery time.Duration `yaml:"renewEvery"`
	// ColdWait is how long a cold standby waits after taking over an
	// unreleased lease before opening its provider (0: leaseTTL, or twice
	// the desired server heartbeat plus a second if longer).
	ColdWait time.Duration `yaml:"coldWait"`
	// HotWindow is how long a hot standby keeps its own events (0: 30 s);
	// it must cover the takeover (leaseTTL plus a renewal period).
	HotWindow time.Duration `yaml:"hotWindow"`
	// Bucket is the lease bucket (default cti-leader).
	Bucket string `yaml:"bucket"`
}

// CTIManager is one entry of the ordered CTIManager list.
type CTIManager struct {
	Name          string `yaml:"name"`
	Address       string `yaml:"address"`
	TLSAddress    string `yaml:"tlsAddress"`
	LeastPriority bool   `yaml:"leastPriority"`
}

// Media are a CTI port's static media parameters.
type Media struct {
	IP       string   `yaml:"ip"`
	Port     int      `yaml:"port"`
	Codecs   []string `yaml:"codecs"`
	PacketMs int      `yaml:"packetMs"`
	Dynamic  bool     `yaml:"dynamic"`
}

// TLSConfig is the CTI link's TLS (mutual authentication).
type TLSConfig struct {
	Enabled    bool   `yaml:"enabled"`
	ClientCert string `yaml:"clientCert"`
	ClientKey  string `yaml:"clientKey"`
	// TrustStore holds the pinned CTIManager CA (trust on first use).
	TrustStore string `yaml:"trustStore"`
}

// CTIConfig is the CTI side. Interval settings are whole seconds (or
// milliseconds where the jtapi.ini name says so), as in jtapi.ini.
type CTIConfig struct {
	CTIManagers []CTIManager `yaml:"ctiManagers"`
	Login       string       `yaml:"login"`
	Password    Secret       `yaml:"password"`
	AppInfo     string       `yaml:"appInfo"`
	InstanceID  string       `yaml:"instanceId"`

	DesiredServerHeartbeatInterval int `yaml:"DesiredServerHeartbeatInterval"`
	ProviderRetryInterval          int `yaml:"ProviderRetryInterval"`
	ProviderOpenRequestTimeout     int `yaml:"ProviderOpenRequestTimeout"`
	CtiRequestTimeout              int `yaml:"CtiRequestTimeout"`
	ProviderOpenRetryAttempts      int `yaml:"ProviderOpenRetryAttempts"`
	FallbackInitiationTime         int `yaml:"FallbackInitiationTime"`
	RouteSelectTimeout             int `yaml:"RouteSelectTimeout"`

	TLS         TLSConfig           `yaml:"tls"`
	Observe     []string            `yaml:"observe"`
	CTIPorts    map[string]Media    `yaml:"ctiPorts"`
	RoutePoints map[string][]string `yaml:"routePoints"`

	// MaxFrameSize bounds an inbound frame's body in bytes (0: the
	// ctilink default); a larger frame closes the link (failover).
	MaxFrameSize int `yaml:"maxFrameSize"`
	// MaxDevices bounds the tracked control list; further devices are
	// neither tracked nor opened.
	MaxDevices int `yaml:"maxDevices"`
	// MaxCalls bounds the calls the call model tracks; events of further
	// calls are neither tracked nor published.
	MaxCalls int `yaml:"maxCalls"`
}

// NATSConfig is the JetStream side.
type NATSConfig struct {
	// Embedded runs nats-server in-process with JetStream on DataDir.
	Embedded bool   `yaml:"embedded"`
	Listen   string `yaml:"listen"`
	DataDir  string `yaml:"dataDir"`
	// SyncAlways makes the embedded server fsync every write before it
	// acknowledges it (default true): an acknowledged event then survives
	// a power loss, not only a process kill. An external server's fsync
	// is its own setting (sync_interval: always).
	SyncAlways bool `yaml:"syncAlways"`

	URLs     []string `yaml:"urls"`
	Creds    string   `yaml:"creds"`
	User     string   `yaml:"user"`
	Password Secret   `yaml:"password"`
	Token    Secret   `yaml:"token"`
	TLSCA    string   `yaml:"tlsCA"`
	TLSCert  string   `yaml:"tlsCert"`
	TLSKey   string   `yaml:"tlsKey"`

	Stream          string        `yaml:"stream"`
	Replicas        int           `yaml:"replicas"`
	MaxAge          time.Duration `yaml:"maxAge"`
	DuplicateWindow time.Duration `yaml:"duplicateWindow"`
	BufferSize      int           `yaml:"bufferSize"`
	// BufferBytes bounds the buffered events' size in bytes, beside
	// BufferSize's count; whichever is reached first drops the oldest.
	BufferBytes int64 `yaml:"bufferBytes"`
	MaxInFlight int   `yaml:"maxInFlight"`
	// Mode is the CloudEvents content mode: binary (default) or structured.
	Mode string `yaml:"mode"`
}

// HTTPConfig is the operations endpoint (/healthz, /readyz, /metrics, /status).
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	// Pprof serves the Go profiler under /debug/pprof/ on the same
	// address (off by default: it shows internals).
	Pprof bool `yaml:"pprof"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"` // auto, json, console
}

// Secret is a string that never prints.
type Secret string

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// MarshalText hides the value in any text encoding (logs, JSON).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Default returns the configuration used when a field is left empty.
func Default() Config {
	return Config{
		Cluster: "lab",
		CTI: CTIConfig{
			AppInfo:                        "ctibridge",
			DesiredServerHeartbeatInterval: 30,
			ProviderRetryInterval:          30,
			ProviderOpenRequestTimeout:     200,
			CtiRequestTimeout:              15,
			ProviderOpenRetryAttempts:      5,
			FallbackInitiationTime:         300,
			RouteSelectTimeout:             5000,
			MaxFrameSize:                   ctilink.DefaultMaxFrameSize,
			MaxDevices:                     ctiengine.DefaultMaxDevices,
			MaxCalls:                       callmodel.DefaultMaxCalls,
		},
		NATS: NATSConfig{
			Embedded:        true,
			SyncAlways:      true,
			Listen:          "127.0.0.1:4222",
			DataDir:         "./data",
			Stream:          "CTI",
			Replicas:        1,
			MaxAge:          7 * 24 * time.Hour,
			DuplicateWindow: 10 * time.Minute,
			BufferSize:      100000,
			BufferBytes:     jetstream.DefaultBufferBytes,
			MaxInFlight:     1024,
			Mode:            "binary",
		},
		HTTP: HTTPConfig{Listen: "127.0.0.1:8080"},
		Log:  LogConfig{Level: "info", Format: "auto"},
		HA:   HAConfig{Mode: "cold", LeaseTTL: jetstream.DefaultLeaderTTL, Bucket: jetstream.DefaultLeaderBucket},
	}
}

// Load reads a YAML file over the defaults. Unknown keys are errors (a
// typo must not silently fall back to a default).
func Load(path string) (Config, error) {
	cfg := Default()
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return Parse(b, cfg)
}

// Parse decodes YAML over base.
func Parse(b []byte, base Config) (Config, error) {
	cfg := base
	if len(bytes.TrimSpace(b)) == 0 {
		return cfg, nil
	}
	if len(b) > 4<<20 {
		return cfg, fmt.Errorf("config: file is %d bytes, limit 4 MiB", len(b))
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		if errors.Is(err, io.EOF) {
			// No document at all (only comments): the defaults, as for an
			// empty file, rather than "config: EOF".
			return base, nil
		}
		return cfg, explainYAML(b, err)
	}
	return cfg, nil
}

// envVars maps environment variables to setters. Secrets come from the
// environment in container deployments.
var envVars = map[string]func(*Config, string) error{
	"CTIBRIDGE_CLUSTER":         func(c *Config, v string) error { c.Cluster = v; return nil },
	"CTIBRIDGE_CTI_LOGIN":       func(c *Config, v string) error { c.CTI.Login = v; return nil },
	"CTIBRIDGE_CTI_PASSWORD":    func(c *Config, v string) error { c.CTI.Password = Secret(v); return nil },
	"CTIBRIDGE_CTI_INSTANCE_ID": func(c *Config, v string) error { c.CTI.InstanceID = v; return nil },
	"CTIBRIDGE_CTI_MANAGERS": func(c *Config, v string) error {
		ms, err := ParseManagers(v)
		if err != nil {
			return err
		}
		c.CTI.CTIManagers = ms
		return nil
	},
	"CTIBRIDGE_NATS_URL": func(c *Config, v string) error {
		c.NATS.URLs = splitList(v)
		c.NATS.Embedded = false
		return nil
	},
	"CTIBRIDGE_NATS_CREDS":         func(c *Config, v string) error { c.NATS.Creds = v; return nil },
	"CTIBRIDGE_NATS_USER":          func(c *Config, v string) error { c.NATS.User = v; return nil },
	"CTIBRIDGE_NATS_PASSWORD":      func(c *Config, v string) error { c.NATS.Password = Secret(v); return nil },
	"CTIBRIDGE_NATS_TOKEN":         func(c *Config, v string) error { c.NATS.Token = Secret(v); return nil },
	"CTIBRIDGE_NATS_DATA_DIR":      func(c *Config, v string) error { c.NATS.DataDir = v; return nil },
	"CTIBRIDGE_NATS_REPLICAS":      intVar(func(c *Config, n int) { c.NATS.Replicas = n }),
	"CTIBRIDGE_NATS_BUFFER_SIZE":   intVar(func(c *Config, n int) { c.NATS.BufferSize = n }),
	"CTIBRIDGE_NATS_MAX_IN_FLIGHT": intVar(func(c *Config, n int) { c.NATS.MaxInFlight = n }),
	"CTIBRIDGE_CTI_MAX_FRAME_SIZE": intVar(func(c *Config, n int) { c.CTI.MaxFrameSize = n }),
	"CTIBRIDGE_CTI_MAX_DEVICES":    intVar(func(c *Config, n int) { c.CTI.MaxDevices = n }),
	"CTIBRIDGE_CTI_MAX_CALLS":      intVar(func(c *Config, n int) { c.CTI.MaxCalls = n }),
	"CTIBRIDGE_NATS_BUFFER_BYTES": func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		c.NATS.BufferBytes = n
		return nil
	},
	"CTIBRIDGE_HTTP_LISTEN":      func(c *Config, v string) error { c.HTTP.Listen = v; return nil },
	"CTIBRIDGE_HTTP_PPROF":       boolVar(func(c *Config, b bool) { c.HTTP.Pprof = b }),
	"CTIBRIDGE_NATS_SYNC_ALWAYS": boolVar(func(c *Config, b bool) { c.NATS.SyncAlways = b }),
	"CTIBRIDGE_INSTANCE":         func(c *Config, v string) error { c.Instance = v; return nil },
	"CTIBRIDGE_HA_ENABLED":       boolVar(func(c *Config, b bool) { c.HA.Enabled = b }),
	"CTIBRIDGE_HA_MODE":          func(c *Config, v string) error { c.HA.Mode = v; return nil },
	"CTIBRIDGE_LOG_LEVEL":        func(c *Config, v string) error { c.Log.Level = v; return nil },
	"CTIBRIDGE_LOG_FORMAT":       func(c *Config, v string) error { c.Log.Format = v; return nil },
}

// boolVar is the setter of a boolean variable (true/false, 1/0).
func boolVar(set func(*Config, bool)) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not true or false: %q", v)
		}
		set(c, b)
		return nil
	}
}

// intVar is the setter of an integer variable: a plain decimal number
// (the range is Validate's to check, as for the file).
func intVar(set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		set(c, n)
		return nil
	}
}

// EnvNames lists the environment variables ApplyEnv reads, sorted (the
// help text prints them).
func EnvNames() []string {
	names := make([]string, 0, len(envVars))
	for k := range envVars {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// ApplyEnv overrides cfg from the environment (lookup is os.LookupEnv in
// production, a map in tests).
func ApplyEnv(cfg *Config, lookup func(string) (string, bool)) error {
	var errs []error
	for name, set := range envVars {
		if v, ok := lookup(name); ok {
			if err := set(cfg, v); err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %w", name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// ParseManagers parses "name=host:port[/tlshost:tlsport][!],..." where a
// trailing '!' marks the least-priority CTIManager.
func ParseManagers(s string) ([]CTIManager, error) {
	var out []CTIManager
	for _, item := range splitList(s) {
		m := CTIManager{}
		if strings.HasSuffix(item, "!") {
			m.LeastPriority = true
			item = strings.TrimSuffix(item, "!")
		}
		name, addrs, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want name=host:port[/tlshost:tlsport][!]", item)
		}
		m.Name = name
		m.Address, m.TLSAddress, _ = strings.Cut(addrs, "/")
		out = append(out, m)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Validate reports every problem at once, each naming the field and the fix.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.Cluster == "" {
		bad("cluster", "is empty; set it to the CUCM cluster name, e.g. cluster: lab")
	} else if len(c.Cluster) > 64 {
		bad("cluster", "is longer than 64 characters; use a short cluster name")
	}
	if n := len(c.CTI.CTIManagers); n == 0 {
		bad("cti.ctiManagers", "is empty; list at least one CTIManager (name and address host:port)")
	} else if n > 10 {
		bad("cti.ctiManagers", "lists %d CTIManagers; JTAPI allows at most 10", n)
	}
	least := 0
	seen := map[string]bool{}
	for i, m := range c.CTI.CTIManagers {
		f := fmt.Sprintf("cti.ctiManagers[%d]", i)
		if m.Name == "" {
			bad(f+".name", "is empty; give each CTIManager a name (used in logs and events)")
		} else if seen[m.Name] {
			bad(f+".name", "%q is used twice; names must be unique", m.Name)
		}
		seen[m.Name] = true
		if c.CTI.TLS.Enabled {
			if _, _, err := net.SplitHostPort(m.TLSAddress); err != nil {
				bad(f+".tlsAddress", "%q is not host:port (TLS is enabled, so every CTIManager needs its TLS port, default 2749)", m.TLSAddress)
			}
		} else if _, _, err := net.SplitHostPort(m.Address); err != nil {
			bad(f+".address", "%q is not host:port; e.g. 10.0.0.5:2748", m.Address)
		}
		if m.LeastPriority {
			least++
		}
	}
	if least > 1 {
		bad("cti.ctiManagers", "%d entries are leastPriority; at most one CTIManager can be the least-priority server", least)
	}
	if least == 1 && len(c.CTI.CTIManagers) == 1 {
		bad("cti.ctiManagers", "the only CTIManager is leastPriority; add a normal-priority one")
	}
	if c.CTI.Login == "" {
		bad("cti.login", "is empty; set the CTI application user (or CTIBRIDGE_CTI_LOGIN)")
	}
	if c.CTI.Password == "" {
		bad("cti.password", "is empty; set the application user's password with CTIBRIDGE_CTI_PASSWORD (keep it out of the file)")
	}
	if strings.ContainsAny(c.CTI.Login, ";=") {
		bad("cti.login", "contains ';' or '=', which JTAPI provider strings cannot carry")
	}
	if strings.ContainsAny(c.CTI.AppInfo, ";=") {
		bad("cti.appInfo", "contains ';' or '='; use letters, digits and dashes")
	}
	pos := func(field string, v, min int) {
		if v < min {
			bad("cti."+field, "is %d; the minimum is %d", v, min)
		}
	}
	pos("DesiredServerHeartbeatInterval", c.CTI.DesiredServerHeartbeatInterval, 1)
	pos("ProviderRetryInterval", c.CTI.ProviderRetryInterval, 1)
	pos("ProviderOpenRequestTimeout", c.CTI.ProviderOpenRequestTimeout, 10)
	pos("CtiRequestTimeout", c.CTI.CtiRequestTimeout, 1)
	pos("ProviderOpenRetryAttempts", c.CTI.ProviderOpenRetryAttempts, 1)
	pos("RouteSelectTimeout", c.CTI.RouteSelectTimeout, 0)
	if n := c.CTI.MaxFrameSize; n != 0 && (n < MinMaxFrameSize || n > MaxMaxFrameSize) {
		bad("cti.maxFrameSize", "is %d bytes; use %d (1 KiB) to %d (4 MiB), or 0 for the default %d", n, MinMaxFrameSize, MaxMaxFrameSize, ctilink.DefaultMaxFrameSize)
	}
	if c.CTI.MaxDevices < 1 {
		bad("cti.maxDevices", "is %d; the minimum is 1 (leave it out for the default %d)", c.CTI.MaxDevices, ctiengine.DefaultMaxDevices)
	}
	if c.CTI.MaxCalls < 1 {
		bad("cti.maxCalls", "is %d; the minimum is 1 (leave it out for the default %d)", c.CTI.MaxCalls, callmodel.DefaultMaxCalls)
	}
	if c.CTI.TLS.Enabled {
		if c.CTI.InstanceID == "" {
			bad("cti.instanceId", "is empty; TLS needs the instanceId whose client certificate is configured")
		}
		if c.CTI.TLS.ClientCert == "" || c.CTI.TLS.ClientKey == "" {
			bad("cti.tls.clientCert", "and clientKey are required when cti.tls.enabled is true")
		}
		if c.CTI.TLS.TrustStore == "" {
			bad("cti.tls.trustStore", "is empty; give a file path where the CTIManager CA is pinned on first use")
		}
	}
	for dev, m := range c.CTI.CTIPorts {
		f := mapField("cti.ctiPorts", dev)
		if !m.Dynamic {
			if net.ParseIP(m.IP) == nil {
				bad(f+".ip", "%q is not an IP address (or set dynamic: true)", m.IP)
			}
			if m.Port <= 0 || m.Port > 65535 {
				bad(f+".port", "%d is not a UDP port 1-65535", m.Port)
			}
		}
	}
	for rp, dests := range c.CTI.RoutePoints {
		if len(dests) == 0 {
			bad(mapField("cti.routePoints", rp), "has no destinations; list the numbers calls should be routed to")
		}
	}
	if c.NATS.Embedded {
		if _, _, err := net.SplitHostPort(c.NATS.Listen); err != nil {
			bad("nats.listen", "%q is not host:port; e.g. 127.0.0.1:4222", c.NATS.Listen)
		}
		if c.NATS.DataDir == "" {
			bad("nats.dataDir", "is empty; the embedded server needs a directory for JetStream")
		}
	} else if len(c.NATS.URLs) == 0 {
		bad("nats.urls", "is empty and nats.embedded is false; give a NATS URL (or CTIBRIDGE_NATS_URL) or set embedded: true")
	}
	if c.NATS.Stream == "" || strings.ContainsAny(c.NATS.Stream, ". *>") {
		bad("nats.stream", "%q is not a valid stream name (no spaces, dots, * or >)", c.NATS.Stream)
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		bad("nats.replicas", "is %d; use 1 (single server) or 3 (cluster)", c.NATS.Replicas)
	}
	if c.NATS.DuplicateWindow < time.Second {
		bad("nats.duplicateWindow", "is %s; it must cover the longest NATS outage plus retries (default 10m)", c.NATS.DuplicateWindow)
	}
	if c.NATS.MaxAge != 0 && c.NATS.MaxAge < c.NATS.DuplicateWindow {
		bad("nats.maxAge", "%s is shorter than duplicateWindow %s", c.NATS.MaxAge, c.NATS.DuplicateWindow)
	}
	if c.NATS.BufferSize < 1 {
		bad("nats.bufferSize", "is %d; it bounds events held while NATS is away (default 100000)", c.NATS.BufferSize)
	}
	if c.NATS.BufferBytes < MinBufferBytes {
		bad("nats.bufferBytes", "is %d bytes; the minimum is %d (1 MiB) (leave it out for the default %d)", c.NATS.BufferBytes, int64(MinBufferBytes), int64(jetstream.DefaultBufferBytes))
	}
	if c.NATS.MaxInFlight < 1 {
		bad("nats.maxInFlight", "is %d; default 1024", c.NATS.MaxInFlight)
	}
	if c.NATS.Mode != "binary" && c.NATS.Mode != "structured" {
		bad("nats.mode", "%q: use binary (default) or structured", c.NATS.Mode)
	}
	if c.HTTP.Pprof && c.HTTP.Listen == "" {
		bad("http.pprof", "is true but http.listen is empty: the profiler is served on the ops address; set http.listen")
	}
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			bad("http.listen", "%q is not host:port; e.g. 127.0.0.1:8080 (empty disables HTTP)", c.HTTP.Listen)
		}
	}
	c.validateHA(bad)
	switch c.Log.Format {
	case "auto", "json", "console":
	default:
		bad("log.format", "%q: use auto, json or console", c.Log.Format)
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q: use debug, info, warn or error", c.Log.Level)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: %d problem(s):\n  %w", len(errs), joinIndented(errs))
}

type indented []error

func (e indented) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "\n  ")
}

func (e indented) Unwrap() []error { return e }

func joinIndented(errs []error) error { return indented(errs) }

// validateHA checks the ha section (only when enabled).
func (c *Config) validateHA(bad func(field, format string, args ...any)) {
	h := &c.HA
	if !h.Enabled {
		return
	}
	if c.Instance == "" {
		bad("instance", "is empty and ha.enabled is true: give every instance of the group its own name (e.g. instance: bridge-a)")
	}
	switch h.Mode {
	case "cold", "hot":
	default:
		bad("ha.mode", "%q: use cold (the instances share one instanceId and certificate) or hot (each has its own)", h.Mode)
	}
	if h.LeaseTTL < time.Second {
		bad("ha.leaseTTL", "is %s; use at least 1s (default %s)", h.LeaseTTL, jetstream.DefaultLeaderTTL)
	}
	if h.RenewEvery != 0 && (h.RenewEvery*10 < h.LeaseTTL*3 || h.RenewEvery*2 > h.LeaseTTL) {
		bad("ha.renewEvery", "is %s; use 0.3–0.5 × leaseTTL (%s–%s), or leave it out for 0.4 ×", h.RenewEvery, h.LeaseTTL*3/10, h.LeaseTTL/2)
	}
	if h.ColdWait < 0 || h.HotWindow < 0 {
		bad("ha.coldWait", "and ha.hotWindow must not be negative")
	}
	if h.Mode == "hot" && h.HotWindow != 0 && h.HotWindow < h.LeaseTTL*3/2 {
		bad("ha.hotWindow", "is %s, shorter than 1.5 × leaseTTL (%s): a takeover after a crash would reach further back than the standby remembers", h.HotWindow, h.LeaseTTL*3/2)
	}
	if h.Bucket == "" || strings.ContainsAny(h.Bucket, ". *>") {
		bad("ha.bucket", "%q is not a valid bucket name", h.Bucket)
	}
}
