package replaystore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// ErrNoStream is returned by Open when the event stream does not exist.
var ErrNoStream = errors.New("replaystore: event stream not found")

// Store is an open event log: a connection to a NATS server, or an
// in-process server over a copy of a store directory.
type Store struct {
	cfg    Config
	log    zerolog.Logger
	nc     *nats.Conn
	js     natsjs.JetStream
	stream natsjs.Stream
	srv    *server.Server // offline only
	// cluster serves an offline copy of a cluster's stores.
	cluster *jetstream.EmbeddedCluster
	// borrowed: the connection belongs to the caller (NewFromConn).
	borrowed bool
	tmp      string // offline only: the copy, removed on Close

	eventsRead atomic.Uint64
	closed     atomic.Bool
}

// Open connects to the event log described by cfg and checks that the
// event stream exists.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, configError{err}
	}
	s := &Store{cfg: cfg, log: cfg.Logger.With().Str("component", "replaystore").Logger()}
	var err error
	if cfg.StoreDir != "" {
		err = s.openOffline()
	} else {
		err = s.openServer()
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.js, err = natsjs.New(s.nc)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("replaystore: jetstream: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout)
	defer cancel()
	s.stream, err = s.js.Stream(cctx, cfg.Stream)
	if err != nil {
		s.Close()
		if errors.Is(err, natsjs.ErrStreamNotFound) {
			where := cfg.Server
			if cfg.StoreDir != "" {
				where = "store " + cfg.StoreDir
			}
			return nil, fmt.Errorf("%w: no stream %q in %s (use --stream to name another)", ErrNoStream, cfg.Stream, where)
		}
		return nil, fmt.Errorf("replaystore: stream %s: %w", cfg.Stream, err)
	}
	return s, nil
}

// NewFromConn wraps an existing connection (for services and tests that
// already hold one). Close does not close the connection.
func NewFromConn(ctx context.Context, nc *nats.Conn, cfg Config) (*Store, error) {
	cfg.setDefaults()
	s := &Store{cfg: cfg, log: cfg.Logger.With().Str("component", "replaystore").Logger(), nc: nc, borrowed: true}
	var err error
	if s.js, err = natsjs.New(nc); err != nil {
		return nil, fmt.Errorf("replaystore: jetstream: %w", err)
	}
	if s.stream, err = s.js.Stream(ctx, cfg.Stream); err != nil {
		if errors.Is(err, natsjs.ErrStreamNotFound) {
			return nil, fmt.Errorf("%w: no stream %q", ErrNoStream, cfg.Stream)
		}
		return nil, fmt.Errorf("replaystore: stream %s: %w", cfg.Stream, err)
	}
	return s, nil
}

func (s *Store) openServer() error {
	opts := []nats.Option{
		nats.Name(s.cfg.Name),
		nats.Timeout(s.cfg.ConnectTimeout),
		nats.MaxReconnects(5),
		nats.ReconnectWait(250 * time.Millisecond),
	}
	switch {
	case s.cfg.Creds != "":
		opts = append(opts, nats.UserCredentials(s.cfg.Creds))
	case s.cfg.User != "":
		opts = append(opts, nats.UserInfo(s.cfg.User, s.cfg.Password))
	case s.cfg.Token != "":
		opts = append(opts, nats.Token(s.cfg.Token))
	}
	if s.cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(s.cfg.TLSCA))
	}
	if s.cfg.TLSCert != "" {
		opts = append(opts, nats.ClientCert(s.cfg.TLSCert, s.cfg.TLSKey))
	}
	nc, err := nats.Connect(s.cfg.Server, opts...)
	if err != nil {
		return fmt.Errorf("replaystore: connect %s: %w", redact(s.cfg.Server), err)
	}
	s.nc = nc
	return nil
}

// redact hides passwords in URLs (nats://user:pass@host).
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			if scheme := strings.Index(u, "://"); scheme >= 0 && scheme < at {
				parts[i] = u[:scheme+3] + "***" + u[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}

// openOffline copies the store and serves the copy in-process.
func (s *Store) openOffline() error {
	if n := clusterNodes(s.cfg.StoreDir); n > 0 {
		return s.openOfflineCluster(n)
	}
	root, err := findStoreRoot(s.cfg.StoreDir)
	if err != nil {
		return configError{err} // the directory given is not a store: fix the argument
	}
	sweepStaleCopies()
	tmp, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", copyPrefix, os.Getpid()))
	if err != nil {
		return fmt.Errorf("replaystore: temporary directory for the store copy: %w", err)
	}
	s.tmp = tmp
	if err := copyTree(filepath.Join(root, "jetstream"), filepath.Join(tmp, "jetstream")); err != nil {
		return fmt.Errorf("replaystore: copy store %s: %w", root, err)
	}
	srv, err := server.NewServer(&server.Options{
		ServerName: "ctibridge-replay",
		DontListen: true,
		JetStream:  true,
		StoreDir:   tmp,
		NoSigs:     true,
		NoLog:      true,
		// The copy is private: keep the server from grabbing memory it will
		// not need.
		JetStreamMaxMemory: 64 << 20,
	})
	if err != nil {
		return fmt.Errorf("replaystore: offline server: %w", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("replaystore: offline server over %s not ready within 30s", root)
	}
	s.srv = srv
	nc, err := nats.Connect("", nats.InProcessServer(srv), nats.Name(s.cfg.Name))
	if err != nil {
		return fmt.Errorf("replaystore: connect to the offline server: %w", err)
	}
	s.nc = nc
	return nil
}

// copyPrefix names the temporary store copies: ctireplay-store-<pid>-….
const copyPrefix = "ctireplay-store-"

// sweepStaleCopies removes the store copies of processes that no longer
// run (killed before Close could remove their copy).
func sweepStaleCopies() {
	if runtime.GOOS == "windows" {
		return // no cheap liveness check there
	}
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), copyPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			continue // still running
		}
		os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
	}
}

// findStoreRoot returns the directory that holds "jetstream/" (the
// nats-server store_dir) for dir: dir itself, its parent when dir is the
// "jetstream" directory, or a descendant up to two levels down.
func findStoreRoot(dir string) (string, error) {
	isRoot := func(d string) bool {
		st, err := os.Stat(filepath.Join(d, "jetstream"))
		return err == nil && st.IsDir()
	}
	if isRoot(dir) {
		return dir, nil
	}
	if filepath.Base(filepath.Clean(dir)) == "jetstream" {
		if p := filepath.Dir(filepath.Clean(dir)); isRoot(p) {
			return p, nil
		}
	}
	var found []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		d := filepath.Join(dir, e.Name())
		if isRoot(d) {
			found = append(found, d)
			continue
		}
		sub, _ := os.ReadDir(d)
		for _, e2 := range sub {
			if e2.IsDir() && isRoot(filepath.Join(d, e2.Name())) {
				found = append(found, filepath.Join(d, e2.Name()))
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("replaystore: %s holds no JetStream store (no \"jetstream\" directory in it or up to two levels down)", dir)
	default:
		return "", fmt.Errorf("replaystore: %s holds several JetStream stores (%s): give the one to open", dir, strings.Join(found, ", "))
	}
}

// streamIndexFile is the file in which nats-server keeps a stream's
// index (message counts, per-subject state) between runs.
const streamIndexFile = "index.db"

// copyTree copies regular files and directories (no symlinks) from src to
// dst, leaving out the streams' index files: the in-process server then
// rebuilds each index from the message blocks, so what it serves is
// exactly what the blocks hold. A store written by two servers at once
// (two bridges on one data directory) or copied while a bridge writes it
// has an index that promises messages the blocks do not hold; a reader
// that trusted it would wait for them for ever.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case d.Type().IsRegular() && d.Name() == streamIndexFile && filepath.Base(filepath.Dir(p)) == "msgs":
			return nil
		case d.Type().IsRegular():
			return copyFile(p, target)
		default:
			return nil // sockets, symlinks: not part of a store
		}
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Close releases the connection and, offline, the server and the copy.
// It is idempotent.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.nc != nil && !s.borrowed {
		s.nc.Close()
	}
	if s.srv != nil {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	}
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_ = s.cluster.Shutdown(ctx)
		cancel()
	}
	if s.tmp != "" {
		if err := os.RemoveAll(s.tmp); err != nil {
			return fmt.Errorf("replaystore: remove store copy %s: %w", s.tmp, err)
		}
	}
	return nil
}

// Conn returns the NATS connection.
func (s *Store) Conn() *nats.Conn { return s.nc }

// JetStream returns the JetStream context.
func (s *Store) JetStream() natsjs.JetStream { return s.js }

// StreamName returns the event stream's name.
func (s *Store) StreamName() string { return s.cfg.Stream }

// Offline reports whether the store is a copied directory.
func (s *Store) Offline() bool { return s.srv != nil || s.cluster != nil }

// EventsRead counts the event-stream messages delivered by Read since Open
// (it shows how much of the log an operation had to read).
func (s *Store) EventsRead() uint64 { return s.eventsRead.Load() }
