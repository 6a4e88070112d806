// Command ctisoak is a bounded soak of the whole bridge. It runs the
// simulated CUCM cluster and an embedded NATS server with JetStream in
// its own process and the real bridge (`bridge run`, built from
// cmd/bridge unless --bridge-binary names one) in a child process with
// its configuration defaults, for --duration at --rate calls per second;
// it makes the active CTIManager fail every --failover-every (alternately
// killed and stalled; the previous fault is cleared first), then stops
// the bridge with SIGTERM and checks the whole stream against the
// simulator's ground truth with the fault matrix's checker
// (internal/faultmatrix): frames sent, events stored, lost, duplicated,
// out of order, gaps. The bridge's live heap is read from its /metrics
// every 10 seconds and judged flat or growing after a warm-up. It exits 1
// if anything was lost, duplicated or out of order, if the bridge's
// memory grew, or if the bridge did not stop cleanly; 2 on a usage error.
// It is not a test: see docs/reliability.md for how to run it and its
// last output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	duration, failoverEvery, heartbeat time.Duration
	dupWindow, warmup                  time.Duration
	rate, maxGrowth                    float64
	phones                             int
	dataDir, groundTruth, bridgeBin    string
	memProfile, bridgeProfiles         string
	seed                               int64
	verbose, details                   bool
}

func main() {
	var o options
	fs := flag.NewFlagSet("ctisoak", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "how long traffic runs")
	fs.Float64Var(&o.rate, "rate", 200, "calls per second")
	fs.DurationVar(&o.failoverEvery, "failover-every", time.Minute, "period of the CTIManager faults (alternately kill and stall of the active one; 0: none)")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for the JetStream store (default: a temporary directory, removed at the end)")
	fs.Int64Var(&o.seed, "seed", 1, "traffic seed")
	fs.IntVar(&o.phones, "phones", 0, "phones added to the default cluster's 304 (default: 25 per call/s, so calls rarely find a busy line)")
	fs.DurationVar(&o.heartbeat, "heartbeat", time.Second, "server heartbeat interval, whole seconds (a stalled CTIManager is detected within twice that)")
	fs.StringVar(&o.groundTruth, "ground-truth", "", "also write the simulator's ground truth (JSON lines) to this file")
	fs.DurationVar(&o.dupWindow, "dup-window", 2*time.Minute, "the stream's dedupe window (the NATS server, in this process, holds every id of the window in memory)")
	fs.StringVar(&o.bridgeBin, "bridge-binary", "", "the bridge binary to soak (default: built from ./cmd/bridge)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Minute, "memory samples before this are not judged (traffic and the first failover settle)")
	fs.Float64Var(&o.maxGrowth, "max-growth", 0.10, "the bridge's live heap may grow by less than this fraction of its mean over the judged window")
	fs.StringVar(&o.memProfile, "memprofile", "", "write this process's heap profile (simulator, NATS server, checker) to this file before the stream is read")
	fs.StringVar(&o.bridgeProfiles, "bridge-profiles", "", "save the bridge's heap profiles at the end of the warm-up and at the end in this directory (diff them with go tool pprof -base)")
	fs.BoolVar(&o.verbose, "v", false, "log warnings of every component (and the bridge's log) to stderr")
	fs.BoolVar(&o.details, "details", false, "keep every frame's body to describe lost frames (memory grows with the run)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "ctisoak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctisoak:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func (o *options) validate() error {
	var errs []error
	if o.duration <= 0 {
		errs = append(errs, errors.New("--duration must be positive"))
	}
	if o.rate <= 0 || o.rate > 5000 {
		errs = append(errs, fmt.Errorf("--rate %v: use 0 < rate ≤ 5000 calls/s", o.rate))
	}
	if o.failoverEvery < 0 {
		errs = append(errs, errors.New("--failover-every must not be negative (0 disables faults)"))
	}
	if o.heartbeat < time.Second || o.heartbeat%time.Second != 0 {
		errs = append(errs, fmt.Errorf("--heartbeat %v: use whole seconds, at least 1s (the bridge's DesiredServerHeartbeatInterval is in seconds)", o.heartbeat))
	}
	if o.maxGrowth <= 0 {
		errs = append(errs, errors.New("--max-growth must be positive"))
	}
	if o.warmup < 0 || o.warmup >= o.duration {
		errs = append(errs, fmt.Errorf("--warmup %v must be shorter than --duration %v", o.warmup, o.duration))
	}
	if o.phones == 0 {
		o.phones = int(25 * o.rate)
	}
	return errors.Join(errs...)
}
