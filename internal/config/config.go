package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/logging"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Config is the bridge daemon's configuration: the YAML file, then
// environment variables (CTIBRIDGE_...), then flags, in increasing
// precedence. The CTI section uses jtapi.ini names for the settings JTAPI
// users know.
//
// Each field's yaml tag is its key in the file and its env tag, if any,
// the environment variable that overrides it (ApplyEnv reads the tags).
// Adding a key: a field here with its tags, a line in translate (build.go)
// handing it to the package that owns its rules, and a row in
// docs/operations.md (TestConfigReferenceMatchesTheStruct fails without).
type Config struct {
	// Cluster names the CUCM cluster; it is the second subject token and,
	// unless Source is set, the CloudEvents source cti://<cluster>.
	Cluster string `yaml:"cluster" env:"CTIBRIDGE_CLUSTER"`
	// Source is the CloudEvents source, a URI reference (default
	// cti://<cluster>).
	Source string `yaml:"source" env:"CTIBRIDGE_SOURCE"`
	// Instance names this bridge; each run appends a unique suffix (event
	// ids derive from it).
	Instance string     `yaml:"instance" env:"CTIBRIDGE_INSTANCE"`
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
	Enabled bool `yaml:"enabled" env:"CTIBRIDGE_HA_ENABLED"`
	// Mode is cold (the instances share one instanceId and client
	// certificate: only the active one has a provider) or hot (each its
	// own instanceId and certificate, or its own login: all observe).
	Mode string `yaml:"mode" env:"CTIBRIDGE_HA_MODE"`
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

// CTIConfig is the CTI side. The jtapi.ini intervals take whole seconds
// (milliseconds for RouteSelectTimeout), jtapi.ini's own units, or a
// duration with its unit (Seconds, Milliseconds).
type CTIConfig struct {
	CTIManagers []CTIManager `yaml:"ctiManagers" env:"CTIBRIDGE_CTI_MANAGERS"`
	Login       string       `yaml:"login" env:"CTIBRIDGE_CTI_LOGIN"`
	Password    Secret       `yaml:"password" env:"CTIBRIDGE_CTI_PASSWORD"`
	AppInfo     string       `yaml:"appInfo"`
	InstanceID  string       `yaml:"instanceId" env:"CTIBRIDGE_CTI_INSTANCE_ID"`

	DesiredServerHeartbeatInterval Seconds      `yaml:"DesiredServerHeartbeatInterval"`
	ProviderRetryInterval          Seconds      `yaml:"ProviderRetryInterval"`
	ProviderOpenRequestTimeout     Seconds      `yaml:"ProviderOpenRequestTimeout"`
	CtiRequestTimeout              Seconds      `yaml:"CtiRequestTimeout"`
	ProviderOpenRetryAttempts      int          `yaml:"ProviderOpenRetryAttempts"`
	FallbackInitiationTime         Seconds      `yaml:"FallbackInitiationTime"`
	RouteSelectTimeout             Milliseconds `yaml:"RouteSelectTimeout"`

	TLS         TLSConfig           `yaml:"tls"`
	Observe     []string            `yaml:"observe"`
	CTIPorts    map[string]Media    `yaml:"ctiPorts"`
	RoutePoints map[string][]string `yaml:"routePoints"`

	// MaxFrameSize bounds an inbound frame's body in bytes; a larger frame
	// closes the link (failover).
	MaxFrameSize int `yaml:"maxFrameSize" env:"CTIBRIDGE_CTI_MAX_FRAME_SIZE"`
	// MaxDevices bounds the tracked control list; further devices are
	// neither tracked nor opened.
	MaxDevices int `yaml:"maxDevices" env:"CTIBRIDGE_CTI_MAX_DEVICES"`
	// MaxCalls bounds the calls the call model tracks; events of further
	// calls are neither tracked nor published.
	MaxCalls int `yaml:"maxCalls" env:"CTIBRIDGE_CTI_MAX_CALLS"`
}

// NATSConfig is the JetStream side.
type NATSConfig struct {
	// Embedded runs nats-server in-process with JetStream on DataDir.
	Embedded bool   `yaml:"embedded"`
	Listen   string `yaml:"listen"`
	DataDir  string `yaml:"dataDir" env:"CTIBRIDGE_NATS_DATA_DIR"`
	// SyncAlways makes the embedded server fsync every write before it
	// acknowledges it (default true): an acknowledged event then survives
	// a power loss, not only a process kill. An external server's fsync
	// is its own setting (sync_interval: always).
	SyncAlways bool `yaml:"syncAlways" env:"CTIBRIDGE_NATS_SYNC_ALWAYS"`

	// URLs are external servers; setting CTIBRIDGE_NATS_URL also turns
	// Embedded off.
	URLs     []string `yaml:"urls" env:"CTIBRIDGE_NATS_URL"`
	Creds    string   `yaml:"creds" env:"CTIBRIDGE_NATS_CREDS"`
	NKeySeed string   `yaml:"nkeySeed"`
	// User and Password, or Token, authenticate to an external server and
	// are enforced by the embedded one.
	User     string `yaml:"user" env:"CTIBRIDGE_NATS_USER"`
	Password Secret `yaml:"password" env:"CTIBRIDGE_NATS_PASSWORD"`
	Token    Secret `yaml:"token" env:"CTIBRIDGE_NATS_TOKEN"`
	TLSCA    string `yaml:"tlsCA"`
	TLSCert  string `yaml:"tlsCert"`
	TLSKey   string `yaml:"tlsKey"`

	Stream          string        `yaml:"stream" env:"CTIBRIDGE_NATS_STREAM"`
	Replicas        int           `yaml:"replicas" env:"CTIBRIDGE_NATS_REPLICAS"`
	MaxAge          time.Duration `yaml:"maxAge"`
	DuplicateWindow time.Duration `yaml:"duplicateWindow"`
	BufferSize      int           `yaml:"bufferSize" env:"CTIBRIDGE_NATS_BUFFER_SIZE"`
	// BufferBytes bounds the buffered events' size in bytes, beside
	// BufferSize's count; whichever is reached first drops the oldest.
	BufferBytes int64 `yaml:"bufferBytes" env:"CTIBRIDGE_NATS_BUFFER_BYTES"`
	MaxInFlight int   `yaml:"maxInFlight" env:"CTIBRIDGE_NATS_MAX_IN_FLIGHT"`
	// Mode is the CloudEvents content mode: binary (default) or structured.
	Mode string `yaml:"mode"`
	// StateView keeps the current state of every line and device in the
	// KV bucket cti-state (pkg/stateview); default true. Off, the bucket
	// is not created.
	StateView bool `yaml:"stateView" env:"CTIBRIDGE_NATS_STATE_VIEW"`
}

// HTTPConfig is the operations endpoint (/healthz, /readyz, /metrics, /status).
type HTTPConfig struct {
	Listen string `yaml:"listen" env:"CTIBRIDGE_HTTP_LISTEN"`
	// Pprof serves the Go profiler under /debug/pprof/ on the same
	// address (off by default: it shows internals).
	Pprof bool `yaml:"pprof" env:"CTIBRIDGE_HTTP_PPROF"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `yaml:"level" env:"CTIBRIDGE_LOG_LEVEL"`
	Format string `yaml:"format" env:"CTIBRIDGE_LOG_FORMAT"` // auto, json, console
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

// DefaultBufferSize is the daemon's nats.bufferSize: events held while NATS
// is away (the alert rules' threshold is half of it). It is smaller than
// the publisher's own default, which is sized for bursts in tests and
// benchmarks.
const DefaultBufferSize = 100_000

// Default returns the configuration used when a key is left out. Every
// value is the owning package's default, except nats.bufferSize
// (DefaultBufferSize) and the embedded server, which the daemon runs
// unless told otherwise.
func Default() Config {
	return Config{
		Cluster: "lab",
		CTI: CTIConfig{
			AppInfo:                        "ctibridge",
			DesiredServerHeartbeatInterval: Seconds(ctiengine.DefaultDesiredServerHeartbeatInterval),
			ProviderRetryInterval:          Seconds(ctiengine.DefaultProviderRetryInterval),
			ProviderOpenRequestTimeout:     Seconds(ctiengine.DefaultProviderOpenRequestTimeout),
			CtiRequestTimeout:              Seconds(ctiengine.DefaultCtiRequestTimeout),
			ProviderOpenRetryAttempts:      ctiengine.DefaultProviderOpenRetryAttempts,
			FallbackInitiationTime:         Seconds(ctiengine.DefaultFallbackInitiationTime),
			RouteSelectTimeout:             Milliseconds(ctiengine.DefaultRouteSelectTimeout),
			MaxFrameSize:                   ctilink.DefaultMaxFrameSize,
			MaxDevices:                     ctiengine.DefaultMaxDevices,
			MaxCalls:                       callmodel.DefaultMaxCalls,
		},
		NATS: NATSConfig{
			Embedded:        true,
			SyncAlways:      true,
			Listen:          jetstream.DefaultListen,
			DataDir:         "./data",
			Stream:          jetstream.DefaultStream,
			Replicas:        jetstream.DefaultReplicas,
			MaxAge:          jetstream.DefaultMaxAge,
			DuplicateWindow: jetstream.DefaultDuplicates,
			BufferSize:      DefaultBufferSize,
			BufferBytes:     jetstream.DefaultBufferBytes,
			MaxInFlight:     jetstream.DefaultMaxInFlight,
			Mode:            schema.ModeBinary.String(),
			StateView:       true,
		},
		HTTP: HTTPConfig{Listen: "127.0.0.1:8080"},
		Log:  LogConfig{Level: "info", Format: logging.FormatAuto},
		HA:   HAConfig{Mode: string(ha.ModeCold), LeaseTTL: jetstream.DefaultLeaderTTL, Bucket: jetstream.DefaultLeaderBucket},
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
