package jetstream

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// DefaultURL is the server Connect uses when none is configured.
const DefaultURL = nats.DefaultURL

// ConnEventKind says what happened to a connection.
type ConnEventKind int

// Connection events.
const (
	// ConnConnected: the first connection succeeded (possibly after
	// retries, RetryOnFailedConnect).
	ConnConnected ConnEventKind = 1
	// ConnDisconnected: the connection was lost; nats.go reconnects.
	ConnDisconnected ConnEventKind = 2
	// ConnReconnected: a connection is back (possibly to another server
	// of the cluster).
	ConnReconnected ConnEventKind = 3
	// ConnClosed: the connection is closed for good.
	ConnClosed ConnEventKind = 4
	// ConnError: an asynchronous error (e.g. permissions, slow consumer).
	ConnError ConnEventKind = 5
	// ConnAttemptFailed: one (re)connection attempt failed (e.g.
	// connection refused while NATS is not up yet). Reported on every
	// attempt, so it is logged at debug level only; ConnTracker keeps
	// the last one for readiness reasons.
	ConnAttemptFailed ConnEventKind = 6
)

func (k ConnEventKind) String() string {
	switch k {
	case ConnConnected:
		return "connected"
	case ConnDisconnected:
		return "disconnected"
	case ConnReconnected:
		return "reconnected"
	case ConnClosed:
		return "closed"
	case ConnError:
		return "error"
	case ConnAttemptFailed:
		return "attempt failed"
	}
	return fmt.Sprintf("ConnEventKind(%d)", int(k))
}

// ConnEvent reports a connection state change.
type ConnEvent struct {
	Kind ConnEventKind
	// URL is the server concerned ("" when unknown).
	URL string
	// Err is the cause of a disconnect or an asynchronous error.
	Err error
}

// ConnectConfig configures a connection to an external NATS server or
// cluster.
type ConnectConfig struct {
	// URLs lists seed servers (nats://host:port or tls://host:port);
	// default nats://127.0.0.1:4222. Listing every node of a cluster
	// lets the first connection succeed while one node is down.
	URLs []string
	// Name identifies the client in the server's monitoring.
	Name string

	// Authentication, at most one method: a credentials file (JWT +
	// NKey seed), an NKey seed file, user and password, or a token.
	CredentialsFile string
	NKeySeedFile    string
	User, Password  string
	Token           string

	// TLS: CAFile verifies the server; CertFile and KeyFile present a
	// client certificate (both or neither). Any of them enables TLS.
	CAFile, CertFile, KeyFile string

	// ReconnectWait is the pause between reconnection attempts; default
	// 250 ms (jittered by nats.go).
	ReconnectWait time.Duration
	// ReconnectBufSize is nats.go's buffer for publishes made while
	// reconnecting. Default -1 (disabled): the Publisher keeps its own
	// bounded buffer and resends with the same Msg-Id, so buffering twice
	// would only hide the outage.
	ReconnectBufSize int

	// OnEvent, if set, is told about every state change. It runs on the
	// nats.go callback goroutine, in order; it must not block.
	OnEvent func(ConnEvent)
	// Logger receives the state changes; default zerolog.Nop().
	Logger zerolog.Logger
}

func (c *ConnectConfig) setDefaults() {
	if len(c.URLs) == 0 {
		c.URLs = []string{DefaultURL}
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = 250 * time.Millisecond
	}
	if c.ReconnectBufSize == 0 {
		c.ReconnectBufSize = -1
	}
}

// Validate reports every problem with the configuration as Connect applies
// it (zero values take their defaults). Secrets are never included in
// messages.
func (c *ConnectConfig) Validate() error {
	d := *c
	d.setDefaults()
	return d.validate()
}

func (c *ConnectConfig) validate() error {
	var errs []error
	for _, u := range c.URLs {
		if !strings.Contains(u, "://") {
			errs = append(errs, fmt.Errorf("jetstream: URL %q has no scheme: use nats://host:port or tls://host:port", u))
		}
	}
	methods := 0
	for _, set := range []bool{c.CredentialsFile != "", c.NKeySeedFile != "", c.User != "" || c.Password != "", c.Token != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		errs = append(errs, errors.New("jetstream: several authentication methods set: use only one of CredentialsFile, NKeySeedFile, User/Password, Token"))
	}
	if c.Password != "" && c.User == "" {
		errs = append(errs, errors.New("jetstream: Password set without User: set User too"))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("jetstream: CertFile and KeyFile go together: set both for a client certificate, or neither"))
	}
	for _, f := range []struct{ field, path string }{
		{"CredentialsFile", c.CredentialsFile}, {"NKeySeedFile", c.NKeySeedFile},
		{"CAFile", c.CAFile}, {"CertFile", c.CertFile}, {"KeyFile", c.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("jetstream: %s %q: %w: give a readable file", f.field, f.path, err))
		}
	}
	if c.ReconnectWait < 0 {
		errs = append(errs, fmt.Errorf("jetstream: ReconnectWait %s is negative: use 0 for the default", c.ReconnectWait))
	}
	return errors.Join(errs...)
}

// Options returns the nats.go options for cfg (after defaults): retry the
// first connection, reconnect forever, report every state change.
func (c *ConnectConfig) Options() ([]nats.Option, error) {
	log := c.Logger.With().Str("component", "jetstream.conn").Logger()
	report := func(ev ConnEvent) {
		l := log.Info()
		switch ev.Kind {
		case ConnDisconnected, ConnError:
			l = log.Warn()
		case ConnAttemptFailed:
			// Every 250 ms while NATS is away: the provisioner reports
			// the outage at a sane rate instead.
			l = log.Debug()
		}
		l.Str("event", ev.Kind.String()).Str("url", ev.URL).AnErr("error", ev.Err).Msg("nats connection")
		if c.OnEvent != nil {
			c.OnEvent(ev)
		}
	}
	// The URL is gone from the connection once it is lost: remember the
	// last one so disconnect reports can name it.
	var lastURL atomic.Value
	lastURL.Store("")
	url := func(nc *nats.Conn) string {
		if u := nc.ConnectedUrlRedacted(); u != "" {
			lastURL.Store(u)
			return u
		}
		return lastURL.Load().(string)
	}
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(c.ReconnectWait),
		nats.ReconnectBufSize(c.ReconnectBufSize),
		nats.ConnectHandler(func(nc *nats.Conn) {
			report(ConnEvent{Kind: ConnConnected, URL: url(nc)})
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			report(ConnEvent{Kind: ConnDisconnected, URL: url(nc), Err: err})
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			report(ConnEvent{Kind: ConnReconnected, URL: url(nc)})
		}),
		nats.ReconnectErrHandler(func(nc *nats.Conn, err error) {
			report(ConnEvent{Kind: ConnAttemptFailed, URL: url(nc), Err: err})
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			report(ConnEvent{Kind: ConnClosed, URL: url(nc), Err: nc.LastError()})
		}),
		nats.ErrorHandler(func(nc *nats.Conn, _ *nats.Subscription, err error) {
			report(ConnEvent{Kind: ConnError, URL: url(nc), Err: err})
		}),
	}
	switch {
	case c.CredentialsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredentialsFile))
	case c.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(c.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("jetstream: NKeySeedFile %q: %w", c.NKeySeedFile, err)
		}
		opts = append(opts, o)
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, nats.Token(c.Token))
	}
	if c.CAFile != "" {
		opts = append(opts, nats.RootCAs(c.CAFile))
	}
	if c.CertFile != "" {
		opts = append(opts, nats.ClientCert(c.CertFile, c.KeyFile))
	}
	if c.CAFile != "" || c.CertFile != "" {
		// Require TLS even when the URLs say nats://: a CA or a client
		// certificate means the operator expects an encrypted link.
		opts = append(opts, nats.Secure())
	}
	return opts, nil
}

// Connect connects to an external NATS server or cluster. Because the
// first connection is retried (RetryOnFailedConnect), it returns at once
// even when no server is up yet; the connection comes up in the
// background (ConnConnected is reported) and publishing waits for it.
func Connect(cfg ConnectConfig) (*nats.Conn, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect %s: %w", strings.Join(redactURLs(cfg.URLs), ","), err)
	}
	return nc, nil
}

// redactURLs hides passwords embedded in URLs.
func redactURLs(urls []string) []string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if at := strings.LastIndexByte(u, '@'); at >= 0 {
			if s := strings.Index(u, "://"); s >= 0 && s < at {
				u = u[:s+3] + "***" + u[at:]
			}
		}
		out[i] = u
	}
	return out
}

// ConnTracker remembers the last connection error, so that a readiness
// probe can say why NATS is not reachable ("connection refused", "no
// servers available", an authorization error). Feed it with Observe
// (ConnectConfig.OnEvent); it is safe for concurrent use.
type ConnTracker struct {
	mu      sync.Mutex // guards the following fields
	lastErr error
	url     string
}

// Observe records ev; a connection that comes up clears the error.
func (t *ConnTracker) Observe(ev ConnEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev.Kind {
	case ConnConnected, ConnReconnected:
		t.lastErr, t.url = nil, ev.URL
	case ConnDisconnected, ConnAttemptFailed, ConnClosed:
		if ev.Err != nil {
			t.lastErr = ev.Err
		}
		if ev.URL != "" {
			t.url = ev.URL
		}
	}
}

// LastError is the last connection error since the connection was last
// up, or nil. A nil tracker has none.
func (t *ConnTracker) LastError() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastErr
}
