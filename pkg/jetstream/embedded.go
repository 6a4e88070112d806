package jetstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// Embedded server defaults.
const (
	DefaultListen     = "127.0.0.1:4222"
	DefaultServerName = "ctibridge"
	// readyTimeout bounds the wait for the listener and JetStream.
	readyTimeout = 10 * time.Second
	// syncIntervalDefault is nats-server's own sync interval (two
	// minutes), which `sync_interval: always` keeps beside SyncAlways.
	syncIntervalDefault = 2 * time.Minute
)

// ClusterNodeConfig places an embedded server in a cluster.
type ClusterNodeConfig struct {
	// Name is the cluster's name (the same on every node).
	Name string
	// Host and Port are where the node listens for routes.
	Host string
	Port int
	// Routes are every node's route URL (nats-route://host:port), this
	// node's included (a server ignores a route to itself).
	Routes []string
}

// EmbeddedConfig configures the in-process nats-server.
type EmbeddedConfig struct {
	// DataDir holds the JetStream store. Required: the log must survive a
	// restart. A running server holds its lock (StoreLockFile): a second
	// server on the same directory is refused.
	DataDir string
	// Listen is the client address, host:port; default 127.0.0.1:4222.
	// Port 0 picks a free port at the first Start and keeps it across
	// restarts, so reconnecting clients find the server again.
	Listen string
	// NoListen serves in-process connections only (no TCP port).
	NoListen bool
	// ServerName names the server (JetStream needs a stable name);
	// default "ctibridge".
	ServerName string
	// JetStreamMaxStore and JetStreamMaxMemory cap JetStream's disk and
	// memory use in bytes; 0 lets the server choose (a share of the disk
	// and of the RAM).
	JetStreamMaxStore  int64
	JetStreamMaxMemory int64
	// SyncAlways makes JetStream fsync every write before acknowledging
	// it. Off, the server hands writes to the OS at once but fsyncs only
	// every two minutes: an acknowledged event survives a process kill
	// either way, but only SyncAlways makes it survive a power loss. See
	// docs/operations.md ("Durable acks") for the cost and the choice.
	SyncAlways bool
	// Cluster, if set, makes the server one node of a JetStream cluster
	// (EmbeddedCluster sets it); ServerName must then differ per node.
	Cluster *ClusterNodeConfig
	// User and Password, or Token, are the credentials every client must
	// present (at most one method; none: any client that reaches Listen
	// is admitted, and Start logs a warning when Listen is not a loopback
	// address). Connect presents them for the process's own connections.
	User, Password string
	Token          string
	// Debug and Trace enable the server's verbose logs (at debug and trace
	// level on Logger).
	Debug, Trace bool
	// Logger receives the server's logs; default zerolog.Nop().
	Logger zerolog.Logger
}

func (c *EmbeddedConfig) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.ServerName == "" {
		c.ServerName = DefaultServerName
	}
}

// Validate reports every problem with the configuration as NewEmbedded
// applies it (zero values take their defaults). Secrets are never
// included in messages.
func (c *EmbeddedConfig) Validate() error {
	d := *c
	d.setDefaults()
	return d.validate()
}

func (c *EmbeddedConfig) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("jetstream: DataDir is empty: the embedded server needs a directory for the JetStream store"))
	}
	if !c.NoListen {
		if _, _, err := splitListen(c.Listen); err != nil {
			errs = append(errs, err)
		}
	}
	if c.JetStreamMaxStore < 0 || c.JetStreamMaxMemory < 0 {
		errs = append(errs, fmt.Errorf("jetstream: JetStreamMaxStore %d / JetStreamMaxMemory %d: must be ≥ 0 (0 = server default)", c.JetStreamMaxStore, c.JetStreamMaxMemory))
	}
	if c.Token != "" && (c.User != "" || c.Password != "") {
		errs = append(errs, errors.New("jetstream: Token and User/Password are both set: the embedded server takes one authentication method"))
	}
	if c.Password != "" && c.User == "" {
		errs = append(errs, errors.New("jetstream: Password set without User: set User too"))
	}
	if c.User != "" && c.Password == "" {
		errs = append(errs, errors.New("jetstream: User set without Password: the embedded server would admit that user with any password; set Password too"))
	}
	return errors.Join(errs...)
}

func splitListen(listen string) (string, int, error) {
	host, ps, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("jetstream: Listen %q: %w: use host:port, e.g. 127.0.0.1:4222", listen, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("jetstream: Listen %q: port must be 0..65535 (0 = pick a free port)", listen)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// Embedded runs nats-server with JetStream inside the process. It can be
// stopped and started again on the same data directory and port, which is
// how tests simulate a NATS restart.
type Embedded struct {
	cfg  EmbeddedConfig
	host string

	mu   sync.Mutex // guards the following fields
	srv  *server.Server
	port int // the resolved port, kept across restarts
	lock *StoreLock
}

// NewEmbedded validates cfg. It starts nothing: call Start.
func NewEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Embedded{cfg: cfg}
	if !cfg.NoListen {
		e.host, e.port, _ = splitListen(cfg.Listen)
	}
	return e, nil
}

// Start starts the server (again, after Shutdown) and waits until it
// accepts clients with JetStream enabled. Starting a running server is a
// no-op.
func (e *Embedded) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil && e.srv.Running() {
		return nil
	}
	if err := e.lockStore(); err != nil {
		return err
	}
	opts := &server.Options{
		ServerName:         e.cfg.ServerName,
		Host:               e.host,
		Port:               e.port,
		DontListen:         e.cfg.NoListen,
		JetStream:          true,
		StoreDir:           e.cfg.DataDir,
		JetStreamMaxStore:  e.cfg.JetStreamMaxStore,
		JetStreamMaxMemory: e.cfg.JetStreamMaxMemory,
		NoSigs:             true,
		// The ASCII-art banner would be seven log lines of no use.
		DisableJetStreamBanner: true,
		Debug:                  e.cfg.Debug,
		Trace:                  e.cfg.Trace,
		// Every client, in-process ones included, authenticates when
		// credentials are configured.
		Username:      e.cfg.User,
		Password:      e.cfg.Password,
		Authorization: e.cfg.Token,
	}
	if !e.cfg.NoListen && e.port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	if e.cfg.SyncAlways {
		opts.SyncAlways = true
		opts.SyncInterval = syncIntervalDefault
	}
	if c := e.cfg.Cluster; c != nil {
		opts.Cluster = server.ClusterOpts{Name: c.Name, Host: c.Host, Port: c.Port}
		opts.Routes = server.RoutesFromStr(strings.Join(c.Routes, ","))
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		e.unlockStore()
		return fmt.Errorf("jetstream: embedded server: %w", err)
	}
	sl := &serverLogger{log: e.cfg.Logger.With().Str("component", "nats-server").Logger()}
	srv.SetLoggerV2(sl, e.cfg.Debug, e.cfg.Trace, false)
	srv.Start()
	if err := waitReady(srv, sl); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		e.unlockStore()
		return fmt.Errorf("jetstream: embedded server (listen %s, data dir %s): %w", e.cfg.Listen, e.cfg.DataDir, err)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		e.unlockStore()
		return fmt.Errorf("jetstream: embedded server started without JetStream (data dir %s): see the nats-server log", e.cfg.DataDir)
	}
	if !e.cfg.NoListen {
		if a, ok := srv.Addr().(*net.TCPAddr); ok {
			e.port = a.Port
		}
		if !e.Authenticated() && !isLoopback(e.host) {
			e.cfg.Logger.Warn().Str("listen", e.cfg.Listen).
				Msg("the embedded NATS server admits any client without credentials on a non-loopback address: anyone who reaches it reads the stream; configure a user and password or a token")
		}
	}
	e.srv = srv
	return nil
}

// waitReady waits for the server to accept clients, giving up early when
// it reports a fatal condition (such as the port being in use) instead of
// waiting out the whole timeout.
func waitReady(srv *server.Server, sl *serverLogger) error {
	deadline := time.Now().Add(readyTimeout)
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		if msg := sl.fatal(); msg != "" {
			return errors.New(msg)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s: see the nats-server log", readyTimeout)
		}
	}
	return nil
}

// Running reports whether the server runs.
func (e *Embedded) Running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv != nil && e.srv.Running()
}

// ClientURL is the URL clients connect to, e.g. nats://127.0.0.1:4222
// ("" with NoListen). Valid once started; it stays the same across
// restarts.
func (e *Embedded) ClientURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg.NoListen || (e.port == 0 && e.srv == nil) {
		return ""
	}
	return "nats://" + net.JoinHostPort(clientHost(e.host), strconv.Itoa(e.port))
}

// isLoopback reports whether a listen host admits local clients only.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// clientHost maps a wildcard listen address to one a client can dial.
func clientHost(h string) string {
	switch h {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return h
}

// Server returns the running nats-server (nil when stopped), for callers
// that need its API directly.
func (e *Embedded) Server() *server.Server {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.srv
}

// InProcessConn implements nats.InProcessConnProvider for the current
// server, so an in-process client reconnects to a restarted server.
func (e *Embedded) InProcessConn() (net.Conn, error) {
	e.mu.Lock()
	srv := e.srv
	e.mu.Unlock()
	if srv == nil || !srv.Running() {
		return nil, ErrNotRunning
	}
	return srv.InProcessConn()
}

// InProcess is the nats.go option connecting in-process (a net.Pipe, no
// TCP) to this server.
func (e *Embedded) InProcess() nats.Option {
	return nats.InProcessServer(e)
}

// Connect opens an in-process client connection that reconnects forever
// (across Shutdown/Start), without nats.go's reconnect buffer (the
// Publisher buffers and accounts for messages itself; see ConnectConfig).
// Extra options are applied last.
func (e *Embedded) Connect(name string, opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{
		e.InProcess(),
		e.Credentials(),
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(50 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1),
	}, opts...)
	nc, err := nats.Connect("", all...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: connect in-process: %w", err)
	}
	return nc, nil
}

// Credentials is the nats.go option presenting the configured user and
// password or token (none configured: an option that does nothing).
func (e *Embedded) Credentials() nats.Option {
	switch {
	case e.cfg.Token != "":
		return nats.Token(e.cfg.Token)
	case e.cfg.User != "":
		return nats.UserInfo(e.cfg.User, e.cfg.Password)
	}
	return func(*nats.Options) error { return nil }
}

// Authenticated reports whether clients must present credentials.
func (e *Embedded) Authenticated() bool { return e.cfg.Token != "" || e.cfg.User != "" }

// Shutdown stops the server, flushing the JetStream store, and waits for
// it to finish or ctx to end. Shutting down a stopped server is a no-op.
func (e *Embedded) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	srv, lock := e.srv, e.lock
	e.srv, e.lock = nil, nil
	e.mu.Unlock()
	if srv == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		srv.Shutdown()
		srv.WaitForShutdown()
		// Only now may another server write the store.
		_ = lock.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jetstream: embedded server shutdown: %w", ctx.Err())
	}
}

// serverLogger routes nats-server logs to zerolog. Fatalf logs at error
// level: the server calls it for conditions such as a port in use, and an
// embedding process must not exit because of them (Start reports them).
type serverLogger struct {
	log zerolog.Logger

	mu       sync.Mutex // guards fatalMsg
	fatalMsg string
}

func (l *serverLogger) fatal() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatalMsg
}

// Noticef logs the server's notices at info level, except its start-up
// tables ("  Version:  2.15.2", "---- JETSTREAM ----"): those go to debug
// level, as key and value, so that a start is five readable lines
// (starting, JetStream, listening, ready) rather than a table spread over
// two dozen log records.
func (l *serverLogger) Noticef(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	trimmed := strings.TrimSpace(msg)
	switch {
	case trimmed == "" || strings.Trim(trimmed, "- ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && strings.HasPrefix(trimmed, "---"):
		l.log.Debug().Msg(trimmed)
	case strings.HasPrefix(msg, "  "):
		if k, val, ok := strings.Cut(trimmed, ":"); ok {
			l.log.Debug().Str("setting", k).Str("value", strings.TrimSpace(val)).Msg("nats-server start-up setting")
			return
		}
		l.log.Debug().Msg(trimmed)
	default:
		l.log.Info().Msg(msg)
	}
}
func (l *serverLogger) Warnf(format string, v ...any) { l.log.Warn().Msgf(format, v...) }
func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.mu.Lock()
	if l.fatalMsg == "" {
		l.fatalMsg = msg
	}
	l.mu.Unlock()
	l.log.Error().Bool("fatal", true).Msg(msg)
}
func (l *serverLogger) Errorf(format string, v ...any) { l.log.Error().Msgf(format, v...) }
func (l *serverLogger) Debugf(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l *serverLogger) Tracef(format string, v ...any) { l.log.Trace().Msgf(format, v...) }
