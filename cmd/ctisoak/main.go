// Command ctisoak is a bounded soak of the whole bridge: it runs the
// simulated CUCM cluster, an embedded NATS server with JetStream and the
// bridge in one process for --duration at --rate calls per second, makes
// the active CTIManager fail every --failover-every (alternately killed
// and stalled; the previous fault is cleared first), then stops the bridge
// in order and checks the whole stream against the simulator's ground
// truth with the fault matrix's checker (internal/faultmatrix): frames
// sent, events stored, lost, duplicated, out of order, gaps, and the heap
// in use sampled each minute. It exits 1 if anything was lost, duplicated
// or out of order, 2 on a usage error. It is not a test: see
// docs/reliability.md for how to run it and its last output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

type options struct {
	duration, failoverEvery, heartbeat time.Duration
	dupWindow                          time.Duration
	rate                               float64
	phones                             int
	dataDir, groundTruth               string
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
	fs.IntVar(&o.phones, "phones", 0, "phones added to the default cluster's 50 (default: 25 per call/s, so calls rarely find a busy line)")
	fs.DurationVar(&o.heartbeat, "heartbeat", time.Second, "server heartbeat interval (a stalled CTIManager is detected within twice that)")
	fs.StringVar(&o.groundTruth, "ground-truth", "", "also write the simulator's ground truth (JSON lines) to this file")
	fs.DurationVar(&o.dupWindow, "dup-window", 2*time.Minute, "the stream's dedupe window; the embedded server holds its ids in this process's heap, so the heap plateaus once it is full")
	fs.BoolVar(&o.verbose, "v", false, "log warnings of every component to stderr")
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
	if o.heartbeat < 100*time.Millisecond {
		errs = append(errs, errors.New("--heartbeat must be at least 100ms"))
	}
	if o.phones == 0 {
		o.phones = int(25 * o.rate)
	}
	return errors.Join(errs...)
}

// heap samples the heap in use after a collection, so the figures follow
// live data rather than garbage not yet collected.
func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func run(ctx context.Context, o options, out io.Writer) (bool, error) {
	dir := o.dataDir
	if dir == "" {
		d, err := os.MkdirTemp("", "ctisoak-")
		if err != nil {
			return false, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	log := zerolog.Nop()
	if o.verbose {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	}
	checker := faultmatrix.NewChecker()
	checker.Details = o.details
	gtw := faultmatrix.NewGroundTruthWriter(checker)
	var gt io.Writer = gtw
	if o.groundTruth != "" {
		f, err := os.Create(o.groundTruth)
		if err != nil {
			return false, err
		}
		defer f.Close()
		gt = io.MultiWriter(gtw, f)
	}
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{
		DataDir: dir, Rate: o.rate, Seed: o.seed, Phones: o.phones, Heartbeat: o.heartbeat,
		GroundTruth: gt, GroundTruthLimit: -1, Logger: log, Duplicates: o.dupWindow,
		// A failover snapshots thousands of calls at once: room for
		// them while JetStream catches up.
		Publisher: jetstream.Config{BufferSize: 2_000_000, BufferBytes: 2 << 30},
	})
	if err != nil {
		return false, err
	}
	defer rig.Close()
	checker.RoutePoints = rig.RoutePoints()
	heapStart := heap()
	heapMax := heapStart
	if _, err := rig.StartBridge(nil); err != nil {
		return false, err
	}
	if err := rig.WaitInService(60*time.Second, nil); err != nil {
		return false, err
	}
	start := time.Now()
	fmt.Fprintf(out, "ctisoak: %v at %v calls/s, %d phones, failover every %v, heartbeat %v, dedupe window %v, seed %d, data %s\n",
		o.duration, o.rate, o.phones+50, o.failoverEvery, o.heartbeat, o.dupWindow, o.seed, dir)

	end := time.NewTimer(o.duration)
	defer end.Stop()
	minute := time.NewTicker(time.Minute)
	defer minute.Stop()
	var faults <-chan time.Time
	if o.failoverEvery > 0 {
		t := time.NewTicker(o.failoverEvery)
		defer t.Stop()
		faults = t.C
	}
	f := &faulter{rig: rig, out: out, start: start}
	running := true
	for running {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "interrupted: stopping early")
			running = false
		case <-end.C:
			running = false
		case <-minute.C:
			h := heap()
			heapMax = max(heapMax, h)
			st := rig.Bridge().Publisher().Stats()
			fmt.Fprintf(out, "  %4.0fs heap %s, published %d, buffered %d, provider %s\n",
				time.Since(start).Seconds(), mib(h), st.Acked, st.Buffered, rig.Bridge().Engine().Status().Provider)
		case <-faults:
			f.next()
		}
	}
	f.clear()
	elapsed := time.Since(start)
	// Let the last failover settle so the stop is orderly.
	if err := rig.WaitInService(30*time.Second, nil); err != nil {
		fmt.Fprintln(out, "warning:", err)
	}
	heapEnd := heap()
	heapMax = max(heapMax, heapEnd)
	pst := rig.Bridge().Publisher().Stats()
	if err := rig.StopBridge(); err != nil {
		fmt.Fprintln(out, "bridge stopped with:", err)
	}
	if err := rig.Sim.Close(); err != nil {
		return false, err
	}
	rctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	readStart := time.Now()
	if err := rig.CheckStream(rctx, checker); err != nil {
		return false, err
	}
	rep := checker.Report()
	frames, calls, gtErr := gtw.Stats()
	if gtErr != nil {
		return false, fmt.Errorf("ground truth: %w", gtErr)
	}
	fmt.Fprintf(out, "\nran %v: %d distinct call ids (%.1f/s; %.0f calls/s asked, transfers and conferences add consult calls), %d frames sent (all types), %d faults\n",
		elapsed.Round(time.Second), calls, float64(calls)/elapsed.Seconds(), o.rate, frames, f.n)
	fmt.Fprintf(out, "frames by type: %v\n", gtw.ByType())
	fmt.Fprintf(out, "publisher: %d acked, %d duplicates absorbed, %d resends, %d dropped, %d rejected, %d reordered\n",
		pst.Acked, pst.Duplicates, pst.Resends, pst.Dropped, pst.Rejected, pst.Reordered)
	fmt.Fprintf(out, "stream read and checked in %v\n", time.Since(readStart).Round(time.Second))
	fmt.Fprint(out, rep.String())
	fmt.Fprintf(out, "heap in use (after GC): start %s, max %s, end %s\n", mib(heapStart), mib(heapMax), mib(heapEnd))
	if rep.OK() {
		fmt.Fprintln(out, "RESULT: OK (nothing lost, duplicated or out of order)")
	} else {
		fmt.Fprintln(out, "RESULT: FAILED")
	}
	return rep.OK(), nil
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// faulter alternates the faults: kill the active CTIManager, then stall
// the (new) active one; each new fault first clears the previous one so a
// normal CTIManager is always there to fail over to.
type faulter struct {
	rig     *faultmatrix.Rig
	out     io.Writer
	start   time.Time
	n       int
	killed  string
	stalled string
}

func (f *faulter) clear() {
	if f.killed != "" {
		_ = f.rig.Sim.RestoreNode(f.killed)
		f.killed = ""
	}
	if f.stalled != "" {
		_ = f.rig.Sim.ResumeHeartbeats(f.stalled)
		f.stalled = ""
	}
}

func (f *faulter) next() {
	f.clear()
	active := f.rig.Bridge().Engine().Status().CTIManager
	if active == "" {
		fmt.Fprintf(f.out, "  %4.0fs no active CTIManager: fault skipped\n", time.Since(f.start).Seconds())
		return
	}
	f.n++
	what := "killed"
	var err error
	if f.n%2 == 1 {
		err = f.rig.Sim.KillNode(active)
		f.killed = active
	} else {
		what = "stalled"
		err = f.rig.Sim.StallHeartbeats(active)
		f.stalled = active
	}
	if err != nil {
		fmt.Fprintf(f.out, "  fault on %s failed: %v\n", active, err)
		return
	}
	fmt.Fprintf(f.out, "  %4.0fs fault %d: %s %s\n", time.Since(f.start).Seconds(), f.n, what, active)
}
