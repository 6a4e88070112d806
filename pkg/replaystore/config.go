package replaystore

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Defaults.
const (
	// DefaultStream is the event stream the bridge writes.
	DefaultStream = "CTI"
	// DefaultSnapshotStream holds folded-state snapshots.
	DefaultSnapshotStream = "CTI_SNAPSHOTS"
	// DefaultServer is used when neither Config.Server nor $NATS_URL is set.
	DefaultServer = "nats://127.0.0.1:4222"
	// DefaultConnectTimeout bounds the first connection to a server.
	DefaultConnectTimeout = 5 * time.Second
	// SubjectRoot is the first token of every event subject.
	SubjectRoot = "cti"
	// SnapshotSubjectRoot is the first token of every snapshot subject
	// (ctisnap.<cluster>).
	SnapshotSubjectRoot = "ctisnap"
)

// ErrInvalidConfig is matched (errors.Is) by the errors Open and
// NewSnapshotter return for a configuration Validate rejects.
var ErrInvalidConfig = errors.New("replaystore: invalid configuration")

// configError carries Validate's message and matches ErrInvalidConfig.
type configError struct{ err error }

func (e configError) Error() string        { return e.err.Error() }
func (e configError) Unwrap() error        { return e.err }
func (e configError) Is(target error) bool { return target == ErrInvalidConfig }

// Config says where the event log is: a NATS server (Server plus
// credentials) or a copy of a JetStream store directory (StoreDir).
type Config struct {
	// Server is the NATS URL (several separated by commas). Default
	// $NATS_URL, else nats://127.0.0.1:4222. Ignored with StoreDir.
	Server string
	// Creds is a NATS credentials file; User and Password a user login;
	// Token a token (at most one method).
	Creds          string
	User, Password string
	Token          string
	// TLSCA verifies the server; TLSCert and TLSKey are a client
	// certificate (both or neither).
	TLSCA, TLSCert, TLSKey string
	// StoreDir opens a JetStream store directory offline: it is copied to a
	// temporary directory, served by an in-process nats-server that does
	// not listen on any port, and removed on Close. The directory given is
	// never modified. It may be the server's store_dir (holding
	// "jetstream/"), the "jetstream" directory itself, or a directory
	// holding the store_dir one or two levels down.
	StoreDir string
	// Stream is the event stream; default "CTI".
	Stream string
	// SnapshotStream is the snapshot stream; default "CTI_SNAPSHOTS".
	SnapshotStream string
	// Name is the client connection name; default "ctibridge-replay".
	Name string
	// ConnectTimeout bounds connecting; default 5 s.
	ConnectTimeout time.Duration
	// Logger receives diagnostics; default zerolog.Nop().
	Logger zerolog.Logger
}

func (c *Config) setDefaults() {
	if c.Server == "" {
		c.Server = os.Getenv("NATS_URL")
	}
	if c.Server == "" {
		c.Server = DefaultServer
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.SnapshotStream == "" {
		c.SnapshotStream = DefaultSnapshotStream
	}
	if c.Name == "" {
		c.Name = "ctibridge-replay"
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
}

// Validate reports every problem with the configuration (after defaults),
// naming the field and the fix. Secrets never appear in messages.
func (c *Config) Validate() error {
	var errs []error
	if c.StoreDir != "" {
		if st, err := os.Stat(c.StoreDir); err != nil {
			errs = append(errs, fmt.Errorf("replaystore: StoreDir %q: %w: give the directory of a copied JetStream store", c.StoreDir, err))
		} else if !st.IsDir() {
			errs = append(errs, fmt.Errorf("replaystore: StoreDir %q is not a directory", c.StoreDir))
		}
	} else {
		for _, u := range strings.Split(c.Server, ",") {
			if !strings.Contains(strings.TrimSpace(u), "://") {
				errs = append(errs, fmt.Errorf("replaystore: Server %q has no scheme: use nats://host:port or tls://host:port", u))
			}
		}
	}
	methods := 0
	for _, set := range []bool{c.Creds != "", c.User != "" || c.Password != "", c.Token != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		errs = append(errs, errors.New("replaystore: several of Creds, User/Password and Token set: use one authentication method"))
	}
	if c.Password != "" && c.User == "" {
		errs = append(errs, errors.New("replaystore: Password set without User: set User too"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("replaystore: TLSCert and TLSKey go together: set both for a client certificate, or neither"))
	}
	for _, f := range []struct{ field, path string }{{"Creds", c.Creds}, {"TLSCA", c.TLSCA}, {"TLSCert", c.TLSCert}, {"TLSKey", c.TLSKey}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("replaystore: %s %q: %w: give a readable file", f.field, f.path, err))
		}
	}
	if !validStreamName(c.Stream) {
		errs = append(errs, fmt.Errorf("replaystore: Stream %q is not a valid stream name (no spaces, '.', '*', '>', '/' or '\\')", c.Stream))
	}
	if !validStreamName(c.SnapshotStream) {
		errs = append(errs, fmt.Errorf("replaystore: SnapshotStream %q is not a valid stream name", c.SnapshotStream))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("replaystore: ConnectTimeout %s is negative: use 0 for the default", c.ConnectTimeout))
	}
	return errors.Join(errs...)
}

func validStreamName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\r\n.*>/\\")
}
