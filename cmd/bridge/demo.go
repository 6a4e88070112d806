package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctibridge/ctibridge/internal/demo"
	"github.com/ctibridge/ctibridge/internal/gctune"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/logging"
)

func newDemoCmd() *cobra.Command {
	o := demo.Options{}
	var logLevel, logFormat string
	var haOn bool
	hao := demo.HAOptions{}
	var haMode string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run NATS, a simulated CUCM cluster and the bridge in one process",
		Long: `demo starts an embedded NATS server with JetStream (or, with --nats-cluster 3, a
three-node JetStream cluster in the same process with R3 streams), a simulated CUCM cluster
with a primary, a backup and a least-priority CTIManager generating call traffic, and the
bridge between them. It prints where to connect and which replay commands to try.`,
		Example: `  bridge demo
  bridge demo --ha --run-for 40s --kill-active-after 15s --data-dir /tmp/ctiha
  bridge demo --data-dir /tmp/ctidemo --run-for 20s --fail-primary-after 6s --heartbeat 1s
  bridge demo --nats-listen 127.0.0.1:0 --rate 20 --seed 7
  bridge demo --nats-cluster 3 --run-for 30s --kill-nats-leader-after 10s --data-dir /tmp/ctidemo-r3`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logging.New(os.Stderr, logLevel, logFormat)
			if err != nil {
				return usageError{err}
			}
			o.Logger = log
			o.Out = cmd.OutOrStdout()
			if o.Instance == "" {
				o.Instance = newInstanceID()
			}
			if haOn {
				hao.Mode = ha.Mode(haMode)
				o.HA = &hao
			} else if cmd.Flags().Changed("kill-active-after") || cmd.Flags().Changed("ha-mode") {
				return usageError{errors.New("--kill-active-after and --ha-mode need --ha")}
			}
			if err := o.Validate(); err != nil {
				return usageError{err}
			}
			log.Info().Stringer("gogc", gctune.Apply(os.Getenv)).Msg(gctune.LogMessage)
			return demo.Run(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", "data/demo", "directory for the JetStream store (and the simulator's ground truth)")
	f.StringVar(&o.NATSListen, "nats-listen", "127.0.0.1:4222", "address the embedded NATS server serves clients on (port 0: any free port)")
	f.StringVar(&o.HTTPListen, "http-listen", "127.0.0.1:0", "address of the bridge's /healthz /readyz /metrics /status endpoints (with --ha and a fixed port: the second bridge on the next port)")
	f.DurationVar(&o.RunFor, "run-for", 0, "stop after this long and exit 0 (0: run until Ctrl-C)")
	f.DurationVar(&o.FailPrimaryAfter, "fail-primary-after", 0, "make the primary CTIManager fail after this long: it goes silent like a crashed host and is detected by missed heartbeats (0: never)")
	f.DurationVar(&o.Heartbeat, "heartbeat", 2*time.Second, "CTIManager server heartbeat interval (a silent link is torn down after twice this)")
	f.Int64Var(&o.Seed, "seed", 1, "traffic seed: the same seed gives the same calls")
	f.Float64Var(&o.Rate, "rate", 2, "new calls per second")
	f.StringVar(&o.Cluster, "cluster", "lab", "cluster name (second subject token)")
	f.StringVar(&o.Mode, "mode", "binary", "CloudEvents content mode on NATS: binary or structured")
	f.BoolVar(&haOn, "ha", false, "run two bridges as a high-availability pair (one active, one standby) over TLS with a development PKI")
	f.StringVar(&haMode, "ha-mode", "hot", "with --ha: hot (each bridge its own certificate; the standby observes, no gap at takeover) or cold (one shared certificate; the standby opens its provider after the takeover)")
	f.DurationVar(&hao.LeaseTTL, "lease-ttl", 5*time.Second, "with --ha: the lease TTL (a killed active is replaced within about this)")
	f.DurationVar(&hao.KillActiveAfter, "kill-active-after", 0, "with --ha: kill the active bridge after this long (its lease is left to expire; 0: never)")
	f.IntVar(&o.NATSCluster, "nats-cluster", 0, "run NATS as an embedded cluster of this many nodes (3) in this process, clients on --nats-listen's port and the next ones, stream and buckets R3 (0: one server)")
	f.BoolVar(&o.NATSSyncAlways, "nats-sync-always", true, "fsync every JetStream write before acknowledging it, as bridge run's embedded server does by default (nats.syncAlways); false: every 2 minutes")
	f.DurationVar(&o.KillNATSLeaderAfter, "kill-nats-leader-after", 0, "with --nats-cluster: kill the node leading the event stream after this long, and start it again 5s later (0: never)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "auto", "log format: auto (console on a terminal), json, console")
	return cmd
}

// newInstanceID names this run; event ids derive from it, so it must not
// repeat across runs.
func newInstanceID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
