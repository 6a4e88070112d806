package ctiengine

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/rs/zerolog"
)

// jtapi.ini defaults and minimums (jtapi-facts §7; Cisco JTAPI guide,
// JTPrefs). Values below a minimum are rejected unless
// Config.AllowShortTimers is set for a test or a demo.
const (
	DefaultDesiredServerHeartbeatInterval = 30 * time.Second
	DefaultProviderRetryInterval          = 30 * time.Second
	MinProviderRetryInterval              = 5 * time.Second
	DefaultProviderOpenRequestTimeout     = 200 * time.Second
	MinProviderOpenRequestTimeout         = 10 * time.Second
	DefaultCtiRequestTimeout              = 15 * time.Second
	MinCtiRequestTimeout                  = 10 * time.Second
	DefaultRouteSelectTimeout             = 5 * time.Second
	DefaultFallbackInitiationTime         = 300 * time.Second
	MinFallbackInitiationTime             = 120 * time.Second
	MaxFallbackInitiationTime             = 600 * time.Second
	// DefaultProviderOpenRetryAttempts is the number of consecutive failed
	// reconnection rounds (one round = one pass over the CTIManager list)
	// after which the provider shuts down with RETRY_ATTEMPTS_EXCEEDED. As
	// with CTIManager's retry limit, it only counts once the provider has
	// been in service at least once.
	DefaultProviderOpenRetryAttempts = 5
	// DefaultConnectTimeout bounds a TCP (and TLS handshake) connect, like
	// jtapi.ini JavaSocketConnectTimeout.
	DefaultConnectTimeout = 15 * time.Second
	// DefaultCloseTimeout bounds how long Close waits for ProviderClosed.
	DefaultCloseTimeout = 5 * time.Second
	// DefaultMaxDevices bounds the tracked control list.
	DefaultMaxDevices = 50000
	// DefaultRequestWindow bounds requests in flight on the link.
	DefaultRequestWindow = 256
	// MaxCTIManagers is the number of CtiManagers slots in jtapi.ini.
	MaxCTIManagers = 10
	// MinMaxFrameSize is the smallest MaxFrameSize, a floor against a
	// value given in KiB by mistake: any bound below the largest frame a
	// CTIManager sends (a 500-device list page is about 90 KiB) closes the
	// link on every provider open. The largest is ctilink.HardMaxFrameSize.
	MinMaxFrameSize = 1 << 10
)

// CTIManager is one entry of the ordered CTIManager list.
type CTIManager struct {
	// Name identifies the CTIManager in events, logs and status
	// (default: Addr).
	Name string `json:"name" yaml:"name"`
	// Addr is host:port of the plain CTI port (CTIManager default 2748).
	Addr string `json:"addr" yaml:"addr"`
	// TLSAddr is host:port of the TLS CTI port (default 2749); used when
	// a client certificate is configured.
	TLSAddr string `json:"tlsAddr,omitempty" yaml:"tlsAddr,omitempty"`
	// LeastPriority marks the last-resort server, used only when no other
	// CTIManager is reachable (CiscoProvider.setLeastPriorityCtiServer).
	// At most one entry may set it.
	LeastPriority bool `json:"leastPriority,omitempty" yaml:"leastPriority,omitempty"`
}

// CTIPortConfig is the media registration of one CTI port.
type CTIPortConfig struct {
	// Dynamic registers for per-call media (CiscoMediaOpenLogicalChannelEv);
	// otherwise Media is the static RTP termination.
	Dynamic bool                `json:"dynamic,omitempty" yaml:"dynamic,omitempty"`
	Media   ctilink.MediaParams `json:"media" yaml:"media"`
}

// Route selection policies.
const (
	RouteInOrder    = "inorder"
	RouteRoundRobin = "roundrobin"
)

// RoutePointConfig is the route callback installed on a route point.
type RoutePointConfig struct {
	// Destinations are offered to CTIManager in selectRoute order.
	Destinations []string `json:"destinations" yaml:"destinations"`
	// Policy is RouteInOrder (default: always the list as configured) or
	// RouteRoundRobin (the list rotated by one for each route request).
	Policy string `json:"policy,omitempty" yaml:"policy,omitempty"`
}

// TLSConfig configures the mutually authenticated TLS link.
type TLSConfig struct {
	// ClientCert and ClientKey are PEM files of the client certificate
	// issued for Config.InstanceID (its CommonName must be the instance
	// id). One provider per certificate: two bridges sharing one get both
	// disconnected (DUPLICATECERTUSED) and eventually the certificate
	// revoked (CERTCOMPROMISED).
	ClientCert string `json:"clientCert,omitempty" yaml:"clientCert,omitempty"`
	ClientKey  string `json:"clientKey,omitempty" yaml:"clientKey,omitempty"`
	// TrustStore is the PEM file holding the pinned server CA (the CTL
	// analogue). If it does not exist, the CA the first server presents
	// is trusted and saved there (trust on first use: do the first
	// connection in a secure environment, or pre-seed the file); every
	// later connection must verify against it.
	TrustStore string `json:"trustStore,omitempty" yaml:"trustStore,omitempty"`
	// RequireTLS refuses plain connections: every CTIManager needs a
	// TLSAddr and a client certificate must be configured.
	RequireTLS bool `json:"requireTls,omitempty" yaml:"requireTls,omitempty"`
}

// Enabled reports whether TLS links are configured.
func (t TLSConfig) Enabled() bool { return t.ClientCert != "" }

// Config configures an Engine. The zero value of every setting means its
// documented default.
type Config struct {
	// CTIManagers is the ordered list (jtapi.ini CtiManagers; at most 10).
	CTIManagers []CTIManager
	// Login and Password are the application user's credentials. The
	// password is never logged nor put in events.
	Login    string
	Password string
	// AppInfo names the application to CTIManager (no '=' or ';').
	AppInfo string
	// InstanceID selects the application instance and its client
	// certificate (TLS).
	InstanceID string
	// BridgeInstance identifies this run of the bridge; it must be unique
	// per run because provider session ids ("<BridgeInstance>-p<N>") and
	// with them the CloudEvent ids derive from it.
	BridgeInstance string

	// DesiredServerHeartbeatInterval is proposed to CTIManager, which
	// decides (default 30 s).
	DesiredServerHeartbeatInterval time.Duration
	// ProviderRetryInterval is the pause between rounds over the
	// CTIManager list and between probes of normal servers while on the
	// least-priority one (default 30 s, minimum 5 s).
	ProviderRetryInterval time.Duration
	// ProviderOpenRequestTimeout bounds the provider open, from the
	// request to ProviderOpenCompleted (default 200 s, minimum 10 s).
	ProviderOpenRequestTimeout time.Duration
	// CtiRequestTimeout bounds every other request (device list page,
	// device and line opens, registrations, snapshots; default 15 s,
	// minimum 10 s). A timeout tears the link down like a lost CTIManager.
	CtiRequestTimeout time.Duration
	// ProviderOpenRetryAttempts is the number of consecutive failed
	// rounds over the list, counted once the provider has been in service,
	// before the provider shuts down with RETRY_ATTEMPTS_EXCEEDED (default
	// 5; -1 = retry for ever). Before the first success the engine keeps
	// retrying connection failures (a daemon waits for its CTIManagers)
	// but stops at once on a login failure.
	ProviderOpenRetryAttempts int
	// FallbackInitiationTime is the delay between a normal CTIManager
	// becoming reachable and the forced fallback off the least-priority
	// one (default 300 s; 120–600 s, a value out of range is replaced by
	// the default with a logged warning).
	FallbackInitiationTime time.Duration
	// RouteSelectTimeout is how long a route request is worth answering
	// (jtapi.ini RouteSelectTimeout, default 5 s): the engine answers route
	// events at once, and forgets route sessions older than this.
	RouteSelectTimeout time.Duration
	// ConnectTimeout bounds a TCP connect plus TLS handshake (default 15 s).
	ConnectTimeout time.Duration
	// CloseTimeout bounds how long Close waits for ProviderClosed
	// (default 5 s).
	CloseTimeout time.Duration
	// AllowShortTimers lifts the jtapi.ini minimums of
	// ProviderRetryInterval, ProviderOpenRequestTimeout and
	// CtiRequestTimeout. For tests and demos only: production CTIManagers
	// expect the documented minimums.
	AllowShortTimers bool

	// Observe selects the observed objects: nil observes every terminal
	// and address of the control list; otherwise a list of terminal
	// (device) names and/or address DNs. A terminal name observes the
	// terminal (and its calls through all its lines); a DN observes that
	// address. Only observed objects get in/out-of-service events.
	Observe []string
	// CTIPorts maps a CTI port device name to its media registration.
	CTIPorts map[string]CTIPortConfig
	// RoutePoints maps a route point DN to its route callback.
	RoutePoints map[string]RoutePointConfig
	// TLS configures the TLS link.
	TLS TLSConfig

	// MaxDevices bounds the tracked control list (default 50,000); further
	// devices are neither tracked nor opened and a warning is logged.
	MaxDevices int
	// MaxCalls bounds calls tracked by the call model (default 100,000).
	MaxCalls int
	// RequestWindow bounds requests in flight on the link (default 256).
	RequestWindow int
	// MaxFrameSize bounds inbound frame bodies (default
	// ctilink.DefaultMaxFrameSize; MinMaxFrameSize to
	// ctilink.HardMaxFrameSize).
	MaxFrameSize int

	// Passive starts the engine observing only: route requests are left
	// unanswered (see PassiveMode; Engine.SetPassive changes it).
	Passive bool

	// DialPermit, if set, is asked before every connection to a
	// CTIManager and again once it is established, before the provider
	// open request goes out: an error fails that attempt (it counts as a
	// connection failure). A high-availability bridge sharing one client
	// certificate between instances passes its lease check here, so that
	// only the lease holder ever opens a provider, even after a failover
	// that a paused process resumes into (docs/ha.md). It runs on dialing
	// goroutines and must be safe for concurrent use.
	DialPermit func() error

	// Logger receives the engine's logs (default: none).
	Logger zerolog.Logger
	// Clock is the time source (default: the system clock).
	Clock Clock
	// Sink receives every event, in order, from the engine's goroutine
	// (required; New checks it, Validate checks only the settings).
	Sink Sink
	// Measure, if set, receives the durations the machine times (provider
	// open, route select), from the engine's goroutine; it must not block.
	Measure func(Measurement)

	// wrapConn, set by this package's tests only, wraps each CTIManager
	// connection below TLS (to hold reads or fail writes on cue).
	wrapConn func(net.Conn) net.Conn
}

// Validate reports every problem of the configuration's settings at once,
// each naming the field and the fix. The wiring (Sink, Logger, Clock,
// Measure) is New's to check, so a configuration translated from a file
// can be validated before anything is built.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("ctiengine: "+format, args...))
	}
	if len(c.CTIManagers) == 0 {
		add("CTIManagers is empty: list at least one CTIManager (host:port of its CTI port, default 2748)")
	}
	if len(c.CTIManagers) > MaxCTIManagers {
		add("CTIManagers lists %d entries: at most %d are allowed (jtapi.ini CtiManagers slots)", len(c.CTIManagers), MaxCTIManagers)
	}
	lp, normal := 0, 0
	names := map[string]int{}
	for i, m := range c.CTIManagers {
		if m.Addr == "" && m.TLSAddr == "" {
			add("CTIManagers[%d].Addr is empty: set host:port of the CTIManager (default port 2748)", i)
		}
		for _, a := range []struct{ field, v string }{{"Addr", m.Addr}, {"TLSAddr", m.TLSAddr}} {
			if a.v == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(a.v); err != nil {
				add("CTIManagers[%d].%s %q is not host:port: %v", i, a.field, a.v, err)
			}
		}
		if c.TLS.RequireTLS && m.TLSAddr == "" {
			add("CTIManagers[%d].TLSAddr is empty but TLS.RequireTLS is set: set the CTIManager's TLS port (default 2749) or clear RequireTLS", i)
		}
		if !c.TLS.Enabled() && m.Addr == "" {
			add("CTIManagers[%d].Addr is empty and no client certificate is configured: set Addr or TLS.ClientCert", i)
		}
		name := m.Name
		if name == "" {
			name = m.Addr
			if name == "" {
				name = m.TLSAddr
			}
		}
		if j, dup := names[name]; dup && name != "" {
			add("CTIManagers[%d].Name %q repeats CTIManagers[%d]: give each CTIManager a distinct name", i, name, j)
		}
		names[name] = i
		if m.LeastPriority {
			lp++
		} else {
			normal++
		}
	}
	if lp > 1 {
		add("CTIManagers marks %d entries LeastPriority: at most one least-priority CTIManager is allowed", lp)
	}
	if len(c.CTIManagers) > 0 && normal == 0 {
		add("CTIManagers has only a least-priority entry: list at least one normal CTIManager")
	}
	if c.Login == "" {
		add("Login is empty: set the application user of the CTI session")
	} else if strings.ContainsAny(c.Login, ";=") {
		add("Login contains ';' or '=': these break the provider string; use another user id")
	}
	if strings.ContainsAny(c.Password, ";=") {
		add("Password contains ';' or '=': these break the provider string; choose another password")
	}
	if strings.ContainsAny(c.AppInfo, ";=") {
		add("AppInfo %q contains ';' or '=': remove them", c.AppInfo)
	}
	if c.BridgeInstance == "" {
		add("BridgeInstance is empty: set a value unique to this bridge run (event ids derive from it)")
	}
	dur := func(field string, v, min time.Duration) {
		switch {
		case v < 0:
			add("%s is negative (%v): use a positive duration or 0 for the default", field, v)
		case v > 0 && v < min && !c.AllowShortTimers:
			add("%s %v is below the jtapi.ini minimum %v: raise it (or set AllowShortTimers for a test or demo)", field, v, min)
		}
	}
	dur("DesiredServerHeartbeatInterval", c.DesiredServerHeartbeatInterval, 0)
	dur("ProviderRetryInterval", c.ProviderRetryInterval, MinProviderRetryInterval)
	dur("ProviderOpenRequestTimeout", c.ProviderOpenRequestTimeout, MinProviderOpenRequestTimeout)
	dur("CtiRequestTimeout", c.CtiRequestTimeout, MinCtiRequestTimeout)
	dur("RouteSelectTimeout", c.RouteSelectTimeout, 0)
	dur("ConnectTimeout", c.ConnectTimeout, 0)
	dur("CloseTimeout", c.CloseTimeout, 0)
	if c.FallbackInitiationTime < 0 {
		add("FallbackInitiationTime is negative (%v): use 120s–600s or 0 for the default 300s", c.FallbackInitiationTime)
	}
	if c.ProviderOpenRetryAttempts < -1 {
		add("ProviderOpenRetryAttempts is %d: use a positive count, 0 for the default %d, or -1 to retry for ever",
			c.ProviderOpenRetryAttempts, DefaultProviderOpenRetryAttempts)
	}
	if c.MaxDevices < 0 {
		add("MaxDevices is negative: use a positive bound or 0 for the default %d", DefaultMaxDevices)
	}
	if c.MaxCalls < 0 {
		add("MaxCalls is negative: use a positive bound or 0 for the default")
	}
	if c.RequestWindow < 0 {
		add("RequestWindow is negative: use a positive bound or 0 for the default %d", DefaultRequestWindow)
	}
	if n := c.MaxFrameSize; n != 0 && (n < MinMaxFrameSize || n > ctilink.HardMaxFrameSize) {
		add("MaxFrameSize %d bytes is out of range: use %d (1 KiB) to %d (4 MiB), or 0 for the default %d",
			n, MinMaxFrameSize, ctilink.HardMaxFrameSize, ctilink.DefaultMaxFrameSize)
	}
	for name, p := range c.CTIPorts {
		if name == "" {
			add("CTIPorts has an empty device name: key each entry by the CTI port's device name")
			continue
		}
		req := ctilink.CTIPortRegisterRequest{Device: name, Dynamic: p.Dynamic, Media: p.Media}
		if err := req.Validate(); err != nil {
			add("CTIPorts[%q] media is invalid: %v (static ports need media.ip and media.port; or set dynamic)", name, err)
		}
	}
	for dn, r := range c.RoutePoints {
		if dn == "" {
			add("RoutePoints has an empty DN: key each entry by the route point's directory number")
			continue
		}
		if len(r.Destinations) == 0 || len(r.Destinations) > 32 {
			add("RoutePoints[%q].Destinations lists %d numbers: give 1 to 32 destinations", dn, len(r.Destinations))
		}
		if r.Policy != "" && r.Policy != RouteInOrder && r.Policy != RouteRoundRobin {
			add("RoutePoints[%q].Policy %q is unknown: use %q or %q", dn, r.Policy, RouteInOrder, RouteRoundRobin)
		}
	}
	if (c.TLS.ClientCert == "") != (c.TLS.ClientKey == "") {
		add("TLS.ClientCert and TLS.ClientKey must be set together: give both PEM files of the instance's certificate")
	}
	// RequireTLS without a certificate is reported with everything else
	// TLS still needs, not one missing piece per attempt.
	tlsWanted := c.TLS.Enabled() || c.TLS.RequireTLS
	if tlsWanted && c.TLS.TrustStore == "" {
		add("TLS.TrustStore is empty: set the file that pins the CTIManagers' CA (created on first use if absent)")
	}
	if c.TLS.RequireTLS && !c.TLS.Enabled() {
		add("TLS.RequireTLS is set without TLS.ClientCert: configure the client certificate issued for InstanceID")
	}
	if tlsWanted && c.InstanceID == "" {
		add("InstanceID is empty but TLS is configured: set the instance id the client certificate was issued for")
	}
	return errors.Join(errs...)
}

// settings is a Config with defaults applied.
type settings struct {
	Config
	fallbackWarning string
}

func (c Config) withDefaults() settings {
	s := settings{Config: c}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.DesiredServerHeartbeatInterval, DefaultDesiredServerHeartbeatInterval)
	def(&s.ProviderRetryInterval, DefaultProviderRetryInterval)
	def(&s.ProviderOpenRequestTimeout, DefaultProviderOpenRequestTimeout)
	def(&s.CtiRequestTimeout, DefaultCtiRequestTimeout)
	def(&s.RouteSelectTimeout, DefaultRouteSelectTimeout)
	def(&s.ConnectTimeout, DefaultConnectTimeout)
	def(&s.CloseTimeout, DefaultCloseTimeout)
	s.FallbackInitiationTime, s.fallbackWarning = FallbackTime(c.FallbackInitiationTime)
	if s.ProviderOpenRetryAttempts == 0 {
		s.ProviderOpenRetryAttempts = DefaultProviderOpenRetryAttempts
	}
	if s.MaxDevices == 0 {
		s.MaxDevices = DefaultMaxDevices
	}
	if s.RequestWindow == 0 {
		s.RequestWindow = DefaultRequestWindow
	}
	if s.Clock == nil {
		s.Clock = SystemClock{}
	}
	cms := make([]CTIManager, len(c.CTIManagers))
	for i, m := range c.CTIManagers {
		if m.Name == "" {
			m.Name = m.Addr
			if m.Name == "" {
				m.Name = m.TLSAddr
			}
		}
		cms[i] = m
	}
	s.CTIManagers = cms
	return s
}

// FallbackTime applies the least-priority fallback bounds: zero means the
// default 300 s; a value outside 120–600 s is replaced by the default and
// the returned warning says so (JTAPI setLeastPriorityCtiServer).
func FallbackTime(d time.Duration) (time.Duration, string) {
	switch {
	case d == 0:
		return DefaultFallbackInitiationTime, ""
	case d < MinFallbackInitiationTime || d > MaxFallbackInitiationTime:
		return DefaultFallbackInitiationTime, fmt.Sprintf("FallbackInitiationTime %v is outside %v–%v; using the default %v",
			d, MinFallbackInitiationTime, MaxFallbackInitiationTime, DefaultFallbackInitiationTime)
	}
	return d, ""
}
