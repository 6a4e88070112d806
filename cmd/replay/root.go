package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // --tz works on hosts without a zone database (containers)

	"github.com/ctibridge/ctibridge/internal/logging"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks errors in the command line (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// app holds the global flags and the output streams of one invocation.
type app struct {
	stdout, stderr io.Writer
	// stderrTTY enables the progress bar (tests leave it false).
	stderrTTY bool

	server, creds, user, password, token string
	tlsCA, tlsCert, tlsKey               string
	storeDir, stream, snapStream         string
	cluster                              string
	jsonOut                              bool
	verbose                              bool
	tz                                   string

	// clk prints the times of human output (--tz).
	clk clockFmt

	store *replaystore.Store
}

// run executes the command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, stderrTTY bool) int {
	a := &app{stdout: stdout, stderr: stderr, stderrTTY: stderrTTY}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.store != nil {
		if cerr := a.store.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, syscall.EPIPE) {
		return exitOK // the reader went away (replay … | head)
	}
	fmt.Fprintln(stderr, "replay:", err)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		fmt.Fprintln(stderr, "Run 'replay --help' (or 'replay <command> --help') for usage.")
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises the usage errors cobra makes itself.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument", "accepts ", "requires at least", "required flag"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "replay",
		Short: "Replay and analyse the CTI bridge's event log",
		Long: `replay reads the CTI bridge's event log (CloudEvents in the JetStream stream
"CTI") from a NATS server, or offline from a copied JetStream store directory,
and tells what happened: the failover timeline, the state of every call and
device at any moment, the calls (by DN, device, time, end cause), one call's
and one device's history, a live tail, exports (JSON Lines, CSV) and
reports. Times print in UTC unless --tz names a zone.

The server defaults to $NATS_URL, else nats://127.0.0.1:4222. With --store DIR
the directory is copied to a temporary directory and served in-process; DIR
itself is never modified.`,
		Example: `  replay --store ./data timeline
  replay --server nats://cti-nats:4222 --creds replay.creds state --at 14:02:17
  replay --store ./data calls --dn 1001 --since 14:00 --until 14:30
  replay --store ./data --tz Europe/Berlin device SEP001122330001
  replay --store ./data export --format csv --since 14:00 --until 14:30 > incident.csv`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	f := root.PersistentFlags()
	f.StringVar(&a.server, "server", "", "NATS server URL(s), comma-separated (default $NATS_URL, else "+replaystore.DefaultServer+")")
	f.StringVar(&a.creds, "creds", "", "NATS credentials file")
	f.StringVar(&a.user, "user", "", "NATS user")
	f.StringVar(&a.password, "password", "", "NATS password")
	f.StringVar(&a.token, "token", "", "NATS token")
	f.StringVar(&a.tlsCA, "tls-ca", "", "CA file to verify the NATS server")
	f.StringVar(&a.tlsCert, "tls-cert", "", "client certificate file (with --tls-key)")
	f.StringVar(&a.tlsKey, "tls-key", "", "client key file (with --tls-cert)")
	f.StringVar(&a.storeDir, "store", "", "open a copied JetStream store directory offline instead of a server")
	f.StringVar(&a.stream, "stream", replaystore.DefaultStream, "event stream")
	f.StringVar(&a.snapStream, "snapshot-stream", replaystore.DefaultSnapshotStream, "snapshot stream")
	f.StringVar(&a.cluster, "cluster", "", "CUCM cluster (default: the only cluster in the log)")
	f.BoolVar(&a.jsonOut, "json", false, "machine-readable JSON output")
	f.BoolVarP(&a.verbose, "verbose", "v", false, "log diagnostics to stderr")
	f.StringVar(&a.tz, "tz", "UTC", "time zone of printed times and of times given without an offset: UTC, Local, or an IANA name such as Europe/Berlin")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		loc, err := loadZone(a.tz)
		if err != nil {
			return usageError{err}
		}
		a.clk = clockFmt{loc: loc}
		return nil
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(a.timelineCmd(), a.stateCmd(), a.callCmd(), a.callsCmd(), a.deviceCmd(), a.tailCmd(), a.exportCmd(), a.republishCmd(), a.reportCmd())
	return root
}

// open opens the store once per invocation.
func (a *app) open(ctx context.Context) (*replaystore.Store, error) {
	if a.store != nil {
		return a.store, nil
	}
	log := zerolog.Nop()
	if a.verbose {
		log = zerolog.New(logging.ConsoleWriter(a.stderr)).With().Timestamp().Logger()
	}
	cfg := replaystore.Config{
		Server: a.server, Creds: a.creds, User: a.user, Password: a.password, Token: a.token,
		TLSCA: a.tlsCA, TLSCert: a.tlsCert, TLSKey: a.tlsKey,
		StoreDir: a.storeDir, Stream: a.stream, SnapshotStream: a.snapStream, Logger: log,
	}
	if a.storeDir != "" && a.server != "" {
		return nil, usagef("--store and --server exclude each other: read a copied store offline, or a live server")
	}
	st, err := replaystore.Open(ctx, cfg)
	if errors.Is(err, replaystore.ErrInvalidConfig) {
		return nil, usageError{err}
	}
	if err != nil {
		return nil, err
	}
	a.store = st
	return st, nil
}

// clusterOf returns --cluster, checked against the log, or the log's
// only cluster.
func (a *app) clusterOf(ctx context.Context, st *replaystore.Store) (string, error) {
	if a.cluster == "" {
		return st.Cluster(ctx)
	}
	ok, err := st.HasCluster(ctx, a.cluster)
	if err != nil || ok {
		return a.cluster, err
	}
	have := "no cluster at all"
	if cs, err := st.Clusters(ctx); err == nil && len(cs) > 0 {
		have = strings.Join(cs, ", ")
	}
	return "", fmt.Errorf("--cluster %s: stream %s has no event of cluster %q; it holds %s", a.cluster, st.StreamName(), a.cluster, have)
}

// loadZone reads --tz. time.LoadLocation accepts "" and "UTC" as UTC and
// "Local" as the machine's zone; Go's embedded zone database
// (time/tzdata) makes IANA names work where the system has none.
func loadZone(name string) (*time.Location, error) {
	if strings.TrimSpace(name) == "" {
		return nil, fmt.Errorf("--tz is empty: give UTC, Local or an IANA zone such as Europe/Berlin")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--tz %q is not a time zone: give UTC, Local or an IANA zone such as Europe/Berlin", name)
	}
	return loc, nil
}

// noArgs is cobra.NoArgs with a usage error.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
