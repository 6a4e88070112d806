package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctibridge/ctibridge/internal/logging"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

type serveOptions struct {
	config       string
	rate         float64
	seed         int64
	hbMin, hbMax time.Duration
	groundTruth  string
	control      string
	tlsDir       string
	instances    []string
	ephemeral    bool
	logLevel     string
	logFormat    string
}

func defaultServeOptions() *serveOptions {
	return &serveOptions{rate: 1, seed: 1, control: "127.0.0.1:2700", logLevel: "info", logFormat: "console",
		instances: []string{"bridge-1", "bridge-2"}}
}

func (o *serveOptions) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "cluster YAML file (default: the built-in \"lab\" cluster)")
	f.Float64Var(&o.rate, "rate", o.rate, "generated calls per second (0: none)")
	f.Int64Var(&o.seed, "seed", o.seed, "traffic seed (same seed, same calls)")
	f.DurationVar(&o.hbMin, "heartbeat-min", 0, "lowest server heartbeat interval a client may get (default: per node, 1s)")
	f.DurationVar(&o.hbMax, "heartbeat-max", 0, "highest server heartbeat interval a client may get (default: per node, 60s)")
	f.StringVar(&o.groundTruth, "ground-truth", "", "append every frame sent to every session to FILE as JSON lines")
	f.StringVar(&o.control, "control", o.control, "address of the HTTP control API (empty: off)")
	f.StringVar(&o.tlsDir, "tls-dir", "", "enable the TLS ports with the development PKI in DIR (created with ctisim pki if missing)")
	f.StringSliceVar(&o.instances, "instance", o.instances, "client certificates to create when --tls-dir is new (instanceIds)")
	f.BoolVar(&o.ephemeral, "ephemeral-ports", false, "listen on free ports instead of the configured ones")
	f.StringVar(&o.logLevel, "log-level", o.logLevel, "log level: debug, info, warn, error")
	f.StringVar(&o.logFormat, "log-format", o.logFormat, "log format: console, json or auto")
}

func (o *serveOptions) clusterConfig() (ctisim.ClusterConfig, error) {
	cluster := ctisim.DefaultCluster()
	if o.config != "" {
		var err error
		if cluster, err = ctisim.LoadCluster(o.config); err != nil {
			return cluster, err
		}
	}
	if o.ephemeral {
		cluster = cluster.WithEphemeralPorts()
	}
	if o.hbMin < 0 || o.hbMax < 0 {
		return cluster, fmt.Errorf("%w: --heartbeat-min/--heartbeat-max must not be negative", errUsage)
	}
	for i := range cluster.CTIManagers {
		hb := &cluster.CTIManagers[i].Heartbeat
		if o.hbMin > 0 {
			hb.Min = o.hbMin
		}
		if o.hbMax > 0 {
			hb.Max = o.hbMax
		}
	}
	return cluster, cluster.Validate()
}

func serve(ctx context.Context, o *serveOptions, stdout, stderr io.Writer) error {
	log, err := logging.New(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cluster, err := o.clusterConfig()
	if err != nil {
		return err
	}
	cfg := ctisim.Config{
		Cluster:     cluster,
		Traffic:     traffic.Config{Rate: o.rate, Seed: o.seed},
		ControlAddr: o.control,
		Logger:      log,
	}
	if o.tlsDir != "" {
		nodes := make([]string, 0, len(cluster.CTIManagers))
		for _, n := range cluster.CTIManagers {
			nodes = append(nodes, n.Name)
		}
		if cfg.PKI, err = ctisim.LoadOrCreatePKI(o.tlsDir, nodes, o.instances); err != nil {
			return err
		}
	}
	if o.groundTruth != "" {
		f, err := os.OpenFile(o.groundTruth, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("opening the ground-truth file: %w", err)
		}
		defer f.Close()
		cfg.GroundTruth = f
	}
	sim, err := ctisim.New(cfg)
	if err != nil {
		return err
	}
	if err := sim.Start(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ctisim: cluster %q, %d devices, %.3g calls/s, seed %d\n",
		cluster.Name, len(cluster.Devices), o.rate, o.seed)
	for _, n := range sim.Nodes() {
		tlsAddr := n.TLSAddr
		if tlsAddr == "" {
			tlsAddr = "off (use --tls-dir)"
		}
		role := ""
		if n.LeastPriority {
			role = " (least priority)"
		}
		fmt.Fprintf(stdout, "  CTIManager %-8s plain %-21s tls %s%s\n", n.Name, n.Addr, tlsAddr, role)
	}
	if a := sim.ControlAddr(); a != "" {
		fmt.Fprintf(stdout, "  control API  http://%s/nodes\n", a)
	}
	if o.tlsDir != "" {
		fmt.Fprintf(stdout, "  TLS PKI      %s (CA %s, client certificates client-<instanceId>.pem)\n", o.tlsDir, ctisim.CAFile)
	}
	if o.groundTruth != "" {
		fmt.Fprintf(stdout, "  ground truth %s\n", o.groundTruth)
	}
	u := cluster.Users[0]
	fmt.Fprintf(stdout, "  login        %s / %s\n", u.Login, u.Password)
	fmt.Fprintln(stdout, "running until interrupted (Ctrl-C)")
	<-ctx.Done()
	return sim.Close()
}
