package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// HAOptions are the demo's high-availability knobs (`bridge demo --ha`).
type HAOptions struct {
	// Mode is hot (each bridge its own certificate, the standby observes:
	// no gap at takeover) or cold (one shared certificate: the standby
	// opens its provider only after the takeover, and the gap is
	// reconciled by the snapshot).
	Mode ha.Mode
	// LeaseTTL is the lease's TTL: a killed active is replaced within it.
	LeaseTTL time.Duration
	// KillActiveAfter crashes the active bridge after this long (0:
	// never): its CTI links drop, its NATS connection closes, its lease
	// is left to expire.
	KillActiveAfter time.Duration
}

// haMembers names the demo's two bridges.
var haMembers = []string{"bridge-a", "bridge-b"}

// runHA runs the demo with a high-availability pair on the fault-matrix
// rig: the simulated cluster serves TLS with a development PKI (one
// provider per client certificate enforced), and two bridges elect the
// active one.
func runHA(ctx context.Context, o Options) error {
	h := o.HA
	log := o.Logger
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("demo: data dir: %w", err)
	}
	dataDir, _ := filepath.Abs(o.DataDir)
	gtPath := filepath.Join(dataDir, "groundtruth.jsonl")
	gtFile, err := os.Create(gtPath)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer gtFile.Close()
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{
		DataDir: dataDir, Cluster: o.Cluster, Rate: o.Rate, Seed: o.Seed, Heartbeat: o.Heartbeat,
		GroundTruth: gtFile, NATSListen: o.NATSListen, Logger: log,
		TLSInstances: append([]string{"shared"}, haMembers...), LeaderTTL: h.LeaseTTL,
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w\n(is another NATS server using %s? pass --nats-listen 127.0.0.1:0 for a free port)", err, o.NATSListen)
		}
		return err
	}
	defer rig.Close()

	members := map[string]*bridge.Bridge{}
	for i, name := range haMembers {
		httpListen, err := memberListen(o.HTTPListen, i)
		if err != nil {
			return fmt.Errorf("--http-listen: %w", err)
		}
		mc := faultmatrix.MemberConfig{
			HA:         bridge.HAConfig{Mode: h.Mode, Lease: lease.Config{TTL: h.LeaseTTL}},
			InstanceID: "shared",
			Tune: func(c *bridge.Config) {
				c.Instance = o.Instance + "-" + name
				c.HTTPListen = httpListen
				c.HeartbeatEvery = 10 * time.Second
				c.Encoder.Mode = mustMode(o.Mode)
				c.Engine.AppInfo = "ctibridge-demo"
				c.Engine.ProviderRetryInterval = max(2*time.Second, o.Heartbeat)
				c.Engine.CtiRequestTimeout, c.Engine.ProviderOpenRequestTimeout = 10*time.Second, 10*time.Second
				c.Snapshots = &replaystore.SnapshotterConfig{Every: 2000, Interval: 15 * time.Second}
			},
		}
		if h.Mode == ha.ModeHot {
			mc.InstanceID = name
		}
		b, err := rig.StartMember(name, mc)
		if err != nil {
			return err
		}
		members[name] = b
	}
	printHABanner(o.Out, o, rig, dataDir, gtPath, members)

	runCtx, stopRun := runFor(ctx, o.RunFor)
	defer stopRun()
	var killAt <-chan time.Time
	if h.KillActiveAfter > 0 {
		t := time.NewTimer(h.KillActiveAfter)
		defer t.Stop()
		killAt = t.C
	}
	var killed string
	var killedAt time.Time
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	lastActive := ""
	for runCtx.Err() == nil {
		select {
		case <-runCtx.Done():
		case <-killAt:
			killed = rig.ActiveMember()
			if killed == "" {
				log.Warn().Msg("demo: no active bridge to kill yet; trying again in a second")
				killAt = time.After(time.Second)
				continue
			}
			killedAt = time.Now()
			log.Warn().Str("member", killed).Msg("demo: killing the active bridge (--kill-active-after): its links drop, its lease is left to expire")
			fmt.Fprintf(o.Out, "%s  %s killed (active); the standby takes over once its lease expires (TTL %s)\n", killedAt.Format("15:04:05.000"), killed, h.LeaseTTL)
			rig.KillMember(killed)
			delete(members, killed)
		case <-tick.C:
			if a := rig.ActiveMember(); a != "" && a != lastActive {
				lastActive = a
				msg := fmt.Sprintf("%s  %s is active (%s standby mode)", time.Now().Format("15:04:05.000"), a, h.Mode)
				if !killedAt.IsZero() {
					msg += fmt.Sprintf(", %s after %s was killed", time.Since(killedAt).Round(time.Millisecond), killed)
				}
				fmt.Fprintln(o.Out, msg)
			}
		}
	}
	var stopErr error
	published := uint64(0)
	for _, name := range haMembers {
		b := members[name]
		if b == nil {
			continue
		}
		published += b.Publisher().Stats().Acked
		if err := rig.StopMemberFor(name, context.Cause(runCtx)); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ctiengine.ErrKilled) {
			stopErr = errors.Join(stopErr, fmt.Errorf("demo: %s: %w", name, err))
		}
	}
	fmt.Fprintf(o.Out, "\ndemo stopped: %d events acknowledged by JetStream from the surviving bridge", published)
	if killed != "" {
		fmt.Fprintf(o.Out, " (%s was killed at %s)", killed, killedAt.Format("15:04:05.000"))
	}
	fmt.Fprintf(o.Out, "\nthe JetStream store is in %s; try:\n  go run ./cmd/replay --store %s timeline\n", dataDir, dataDir)
	return stopErr
}

func printHABanner(w io.Writer, o Options, rig *faultmatrix.Rig, dataDir, gtPath string, members map[string]*bridge.Bridge) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	h := o.HA
	p("ctibridge demo — high availability: two bridges, one active, on simulated CUCM cluster %q", o.Cluster)
	p("")
	p("  NATS (JetStream)  %s", rig.NATSURL())
	p("  stream            CTI, subjects cti.%s.>   store: %s", schema.EscapeToken(o.Cluster), dataDir)
	for _, n := range rig.Sim.Nodes() {
		p("  CTIManager        %-7s %s (TLS %s)", n.Name, n.Addr, n.TLSAddr)
	}
	p("  ground truth      %s", gtPath)
	cert := "one client certificate (instanceId shared) for both: only the active bridge holds a provider"
	if h.Mode == ha.ModeHot {
		cert = "each bridge its own instanceId and certificate: the standby keeps its provider open and observes"
	}
	p("  standby mode      %s: %s", h.Mode, cert)
	p("  lease             KV bucket cti-leader, TTL %s; each tenure fences the log (LeaderAcquired on cti.%s.bridge.LeaderAcquired)", h.LeaseTTL, schema.EscapeToken(o.Cluster))
	for _, name := range haMembers {
		if b := members[name]; b != nil && b.OpsAddr() != "" {
			p("  %-17s http://%s/status  /readyz  /metrics", name, b.OpsAddr())
		}
	}
	p("  traffic           %.1f calls/s, seed %d, server heartbeat %s", o.Rate, o.Seed, o.Heartbeat)
	if h.KillActiveAfter > 0 {
		p("  fault             the active bridge is killed after %s", h.KillActiveAfter)
	}
	if o.RunFor > 0 {
		p("  stops after       %s", o.RunFor)
	} else {
		p("  stop with Ctrl-C")
	}
	p("")
	p("after it stops:")
	p("  go run ./cmd/replay --store %s timeline", dataDir)
	p("  go run ./cmd/replay --store %s state --at <time>", dataDir)
	p("")
}

// validateHA checks the HA options, naming the flag to fix.
func (o *Options) validateHA() []error {
	h := o.HA
	if h == nil {
		return nil
	}
	var errs []error
	if _, err := ha.ParseMode(string(h.Mode)); err != nil {
		errs = append(errs, fmt.Errorf("--ha-mode: %w", err))
	}
	if h.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("--lease-ttl %s: use at least 1s", h.LeaseTTL))
	}
	if h.KillActiveAfter < 0 || (o.RunFor > 0 && h.KillActiveAfter >= o.RunFor) {
		errs = append(errs, fmt.Errorf("--kill-active-after %s must be before --run-for %s", h.KillActiveAfter, o.RunFor))
	}
	if o.FailPrimaryAfter > 0 {
		errs = append(errs, errors.New("--fail-primary-after is not available with --ha (use --kill-active-after)"))
	}
	return errs
}

// memberListen is the ops address of the i-th bridge of the pair: with a
// fixed port the bridges take it and the next one; port 0 gives each a
// free port.
func memberListen(listen string, i int) (string, error) {
	if listen == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return "", fmt.Errorf("port %q is not a number", port)
	}
	if n == 0 {
		return listen, nil
	}
	return net.JoinHostPort(host, strconv.Itoa(n+i)), nil
}
