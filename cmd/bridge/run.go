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
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/hot"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/internal/logging"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
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
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			if checkOnly {
				fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
				return nil
			}
			log, err := logging.New(os.Stderr, cfg.Log.Level, cfg.Log.Format)
			if err != nil {
				return usageError{err}
			}
			return runDaemon(cmd.Context(), cfg, log)
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

func runDaemon(ctx context.Context, cfg config.Config, log zerolog.Logger) error {
	// Event ids derive from the instance, so every run needs its own: a
	// configured name gets a per-run suffix.
	if cfg.Instance == "" {
		cfg.Instance = newInstanceID()
	} else {
		cfg.Instance += "-" + newInstanceID()
	}
	log = log.With().Str("instance", cfg.Instance).Str("cluster", cfg.Cluster).Logger()
	var nc *nats.Conn
	var err error
	conn := &jetstream.ConnTracker{}
	if cfg.NATS.Embedded {
		ns, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: cfg.NATS.DataDir, Listen: cfg.NATS.Listen, SyncAlways: cfg.NATS.SyncAlways, Logger: log})
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
		log.Info().Str("url", ns.ClientURL()).Str("data_dir", cfg.NATS.DataDir).Bool("sync_always", cfg.NATS.SyncAlways).Msg("embedded NATS server with JetStream started")
		nc, err = ns.Connect("ctibridge")
		if err != nil {
			return err
		}
	} else {
		// The first connection is retried in the background: the bridge
		// starts (and serves /healthz) before NATS is up.
		nc, err = jetstream.Connect(jetstream.ConnectConfig{
			URLs: cfg.NATS.URLs, Name: "ctibridge " + cfg.Instance,
			CredentialsFile: cfg.NATS.Creds, User: cfg.NATS.User, Password: string(cfg.NATS.Password), Token: string(cfg.NATS.Token),
			CAFile: cfg.NATS.TLSCA, CertFile: cfg.NATS.TLSCert, KeyFile: cfg.NATS.TLSKey,
			OnEvent: conn.Observe,
			Logger:  log,
		})
		if err != nil {
			return err
		}
	}
	defer nc.Close()
	mode, err := schema.ParseMode(cfg.NATS.Mode)
	if err != nil {
		return usageError{err}
	}
	br, err := bridge.New(bridge.Config{
		Instance:   cfg.Instance,
		Engine:     engineConfig(cfg.CTI),
		Encoder:    schema.EncoderConfig{Cluster: cfg.Cluster, Mode: mode},
		Conn:       nc,
		Publisher:  publisherConfig(cfg.NATS),
		HTTPListen: cfg.HTTP.Listen,
		Profiling:  cfg.HTTP.Pprof,
		// The restart check reads the previous run's last events here.
		Stream: cfg.NATS.Stream,
		// Provisioned in the background as soon as NATS answers; until
		// then /readyz says why and events wait in the buffer.
		Provision: &jetstream.ProvisionConfig{
			Stream: cfg.NATS.Stream, Replicas: cfg.NATS.Replicas, MaxAge: cfg.NATS.MaxAge, Duplicates: cfg.NATS.DuplicateWindow,
			LeaderBucket: cfg.HA.Bucket, LeaderTTL: cfg.HA.LeaseTTL,
		},
		ConnError: conn.LastError,
		// Folded-state snapshots for replay state --at on long logs.
		Snapshots: &replaystore.SnapshotterConfig{
			Replicas: cfg.NATS.Replicas, MaxAge: cfg.NATS.MaxAge,
		},
		// After a fatal provider shutdown (certificate compromised,
		// retries exhausted) /readyz and /metrics stay up for a minute,
		// two scrape intervals, so monitoring sees why before exit 1.
		FatalLinger: time.Minute,
		Logger:      log,
		HA:          haConfig(cfg.HA),
	})
	if err != nil {
		return err
	}
	err = br.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// haConfig maps the ha section onto the bridge (nil when disabled).
func haConfig(h config.HAConfig) *bridge.HAConfig {
	if !h.Enabled {
		return nil
	}
	return &bridge.HAConfig{
		Mode: ha.Mode(h.Mode), Bucket: h.Bucket,
		Lease:    lease.Config{TTL: h.LeaseTTL, RenewEvery: h.RenewEvery},
		ColdWait: h.ColdWait,
		Window:   hot.Config{MaxAge: h.HotWindow},
	}
}

// publisherConfig maps the nats section's buffer bounds onto the
// publisher (the bridge fills in the connection and the encoder).
func publisherConfig(n config.NATSConfig) jetstream.Config {
	return jetstream.Config{BufferSize: n.BufferSize, BufferBytes: n.BufferBytes, MaxInFlight: n.MaxInFlight}
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

// engineConfig maps the jtapi.ini-style settings onto the engine.
func engineConfig(c config.CTIConfig) ctiengine.Config {
	out := ctiengine.Config{
		Login: c.Login, Password: string(c.Password), AppInfo: c.AppInfo, InstanceID: c.InstanceID,
		DesiredServerHeartbeatInterval: seconds(c.DesiredServerHeartbeatInterval),
		ProviderRetryInterval:          seconds(c.ProviderRetryInterval),
		ProviderOpenRequestTimeout:     seconds(c.ProviderOpenRequestTimeout),
		CtiRequestTimeout:              seconds(c.CtiRequestTimeout),
		ProviderOpenRetryAttempts:      c.ProviderOpenRetryAttempts,
		FallbackInitiationTime:         seconds(c.FallbackInitiationTime),
		RouteSelectTimeout:             time.Duration(c.RouteSelectTimeout) * time.Millisecond,
		Observe:                        c.Observe,
		MaxFrameSize:                   c.MaxFrameSize,
		MaxDevices:                     c.MaxDevices,
		MaxCalls:                       c.MaxCalls,
		TLS: ctiengine.TLSConfig{
			ClientCert: c.TLS.ClientCert, ClientKey: c.TLS.ClientKey, TrustStore: c.TLS.TrustStore, RequireTLS: c.TLS.Enabled,
		},
	}
	for _, m := range c.CTIManagers {
		out.CTIManagers = append(out.CTIManagers, ctiengine.CTIManager{Name: m.Name, Addr: m.Address, TLSAddr: m.TLSAddress, LeastPriority: m.LeastPriority})
	}
	if len(c.CTIPorts) > 0 {
		out.CTIPorts = map[string]ctiengine.CTIPortConfig{}
		for dev, m := range c.CTIPorts {
			out.CTIPorts[dev] = ctiengine.CTIPortConfig{Dynamic: m.Dynamic, Media: ctilink.MediaParams{IP: m.IP, Port: m.Port, Codecs: m.Codecs, PacketMs: m.PacketMs}}
		}
	}
	if len(c.RoutePoints) > 0 {
		out.RoutePoints = map[string]ctiengine.RoutePointConfig{}
		for rp, dests := range c.RoutePoints {
			out.RoutePoints[rp] = ctiengine.RoutePointConfig{Destinations: dests}
		}
	}
	return out
}
