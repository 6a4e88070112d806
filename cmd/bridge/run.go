package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/config"
	"github.com/ctibridge/ctibridge/internal/gctune"
	"github.com/ctibridge/ctibridge/internal/logging"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

func newRunCmd() *cobra.Command {
	var (
		path                      string
		logLevel, logFormat, http string
		natsURL                   string
		checkOnly                 bool
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the bridge daemon",
		Long: `run loads the configuration (YAML file, then CTIBRIDGE_* environment variables, then
flags), validates it, connects to NATS (or starts the embedded server), opens the provider
and publishes until SIGINT/SIGTERM. NATS may come up after the bridge: the stream is
provisioned as soon as it answers, /readyz says why the bridge is not ready meanwhile,
and events wait in the bounded buffer. On a signal it closes the
provider with APPLICATIONREQUEST, flushes JetStream and exits 0.

Environment: ` + fmt.Sprint(config.EnvNames()),
		Example: `  bridge run --config bridge.yaml
  CTIBRIDGE_CTI_PASSWORD=... bridge run --config bridge.yaml --nats-url nats://nats:4222
  bridge run --config bridge.yaml --check      # validate and exit`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(path)
			if err != nil {
				return usageError{err}
			}
			if err := config.ApplyEnv(&cfg, os.LookupEnv); err != nil {
				return usageError{err}
			}
			fl := cmd.Flags()
			if fl.Changed("log-level") {
				cfg.Log.Level = logLevel
			}
			if fl.Changed("log-format") {
				cfg.Log.Format = logFormat
			}
			if fl.Changed("http-listen") {
				cfg.HTTP.Listen = http
			}
			if fl.Changed("nats-url") {
				cfg.NATS.URLs, cfg.NATS.Embedded = []string{natsURL}, false
			}
			// --check and the run validate the same translation with the
			// packages' own rules.
			d, err := cfg.Build(runInstance(cfg.Instance))
			if err != nil {
				return usageError{err}
			}
			if checkOnly {
				fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
				return nil
			}
			log, err := logging.New(cmd.ErrOrStderr(), d.Log.Level, d.Log.Format)
			if err != nil {
				return usageError{err}
			}
			log.Info().Stringer("gogc", gctune.Apply(os.Getenv)).Msg(gctune.LogMessage)
			return runDaemon(cmd.Context(), d, log)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&path, "config", "c", "", "YAML configuration file")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "auto", "log format: auto, json, console")
	f.StringVar(&http, "http-listen", "", "ops endpoint address (overrides http.listen)")
	f.StringVar(&natsURL, "nats-url", "", "external NATS URL (overrides nats.*; disables the embedded server)")
	f.BoolVar(&checkOnly, "check", false, "validate the configuration and exit")
	return cmd
}

// runInstance names one run: event ids derive from the instance, so every
// run needs its own; a configured name gets a per-run suffix.
func runInstance(configured string) string {
	if configured == "" {
		return newInstanceID()
	}
	return configured + "-" + newInstanceID()
}

func runDaemon(ctx context.Context, d config.Daemon, log zerolog.Logger) error {
	// The cluster is the Encoder's; the bridge's own logger adds it.
	log = log.With().Str("instance", d.Bridge.Instance).Logger()
	var nc *nats.Conn
	var err error
	conn := &jetstream.ConnTracker{}
	if d.Embedded != nil {
		ecfg := *d.Embedded
		ecfg.Logger = log
		ns, err := jetstream.NewEmbedded(ecfg)
		if err != nil {
			return err
		}
		if err := ns.Start(); err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = ns.Shutdown(sctx)
		}()
		log.Info().Str("url", ns.ClientURL()).Str("data_dir", ecfg.DataDir).Bool("sync_always", ecfg.SyncAlways).
			Bool("authenticated", ns.Authenticated()).Msg("embedded NATS server with JetStream started")
		nc, err = ns.Connect("ctibridge")
		if err != nil {
			return err
		}
	} else {
		// The first connection is retried in the background: the bridge
		// starts (and serves /healthz) before NATS is up.
		ccfg := *d.Connect
		ccfg.OnEvent = conn.Observe
		ccfg.Logger = log
		nc, err = jetstream.Connect(ccfg)
		if err != nil {
			return err
		}
	}
	defer nc.Close()
	bcfg := d.Bridge
	bcfg.Conn, bcfg.Logger, bcfg.ConnError = nc, log, conn.LastError
	br, err := bridge.New(bcfg)
	if err != nil {
		return err
	}
	err = br.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
