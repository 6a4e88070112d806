package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/logging"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// sampleEvery is how often the bridge's memory is read; each minute's
// sample is also printed.
const sampleEvery = 10 * time.Second

// ownHeap is this process's heap in use after a collection: the
// simulator, the embedded NATS server and the checker.
func ownHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// streamSubjects is the number of distinct subjects the stream holds: the
// NATS server keeps state for each, so its memory follows this count.
func streamSubjects(ctx context.Context, js natsjs.JetStream) uint64 {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.NumSubjects
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
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	bin := o.bridgeBin
	if bin == "" {
		fmt.Fprintln(out, "building ./cmd/bridge ...")
		b, err := faultmatrix.BuildBridge(dir)
		if err != nil {
			return false, err
		}
		bin = b
	}
	log := zerolog.Nop()
	if o.verbose {
		log = zerolog.New(logging.ConsoleWriter(os.Stderr)).Level(zerolog.WarnLevel).With().Timestamp().Logger()
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
	})
	if err != nil {
		return false, err
	}
	defer rig.Close()
	checker.RoutePoints = rig.RoutePoints()
	js, err := natsjs.New(rig.Conn)
	if err != nil {
		return false, err
	}
	ownStart := ownHeap()
	d, err := startDaemon(bin, dir, rig, o.dupWindow, o.bridgeProfiles != "", o.verbose)
	if err != nil {
		return false, err
	}
	stopped := false
	defer func() {
		if !stopped {
			d.kill()
		}
	}()
	if err := d.waitInService(ctx, 60*time.Second); err != nil {
		return false, err
	}
	start := time.Now()
	fmt.Fprintf(out, "ctisoak: %v at %v calls/s, %d phones, failover every %v, heartbeat %v, dedupe window %v, seed %d, data %s\n",
		o.duration, o.rate, o.phones+ctisim.DefaultPhones+ctisim.DefaultDialPlanDN, o.failoverEvery, o.heartbeat, o.dupWindow, o.seed, dir)
	fmt.Fprintf(out, "bridge: %s run (pid %d), its defaults except the addresses, heartbeat and dedupe window; log %s\n",
		bin, d.Pid(), d.logPath)
	fmt.Fprintln(out, "  time  bridge live heap   rss        calls  published   buffered  provider      | this process (sim+NATS+checker) heap, stream subjects")

	end := time.NewTimer(o.duration)
	defer end.Stop()
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	var faults <-chan time.Time
	if o.failoverEvery > 0 {
		t := time.NewTicker(o.failoverEvery)
		defer t.Stop()
		faults = t.C
	}
	f := &faulter{rig: rig, out: out, start: start, active: func() string {
		st, err := d.status()
		if err != nil {
			return ""
		}
		return st.Engine.CTIManager
	}}
	var (
		samples   []memSample
		ownMax    = ownStart
		sampleErr error
		last      status
		exited    bool
	)
	sample := func(print bool) {
		live, rss, err := d.memory()
		st, serr := d.status()
		if err == nil {
			err = serr
		}
		if err != nil {
			sampleErr = err
			fmt.Fprintf(out, "  %4.0fs bridge unreadable: %v\n", time.Since(start).Seconds(), err)
			return
		}
		last = st
		at := time.Since(start)
		samples = append(samples, memSample{at: at, live: live, rss: rss, calls: st.Engine.Calls})
		if !print {
			return
		}
		own := ownHeap()
		ownMax = max(ownMax, own)
		fmt.Fprintf(out, "  %4.0fs %-17s %-10s %6d %10d %10d  %-13s | %s, %d\n", at.Seconds(), mib(live), mib(rss),
			st.Engine.Calls, st.Publisher.Acked, st.Publisher.Buffered, st.Engine.Provider, mib(own), streamSubjects(ctx, js))
	}
	if o.bridgeProfiles != "" {
		if err := os.MkdirAll(o.bridgeProfiles, 0o755); err != nil {
			return false, err
		}
	}
	profile := func(name string) {
		if o.bridgeProfiles == "" {
			return
		}
		path := filepath.Join(o.bridgeProfiles, name)
		if err := d.heapProfile(path); err != nil {
			fmt.Fprintln(out, "  bridge heap profile:", err)
			return
		}
		fmt.Fprintf(out, "  %4.0fs bridge heap profile %s\n", time.Since(start).Seconds(), path)
	}
	warm := time.NewTimer(o.warmup)
	defer warm.Stop()
	n := 0
	running := true
	for running {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "interrupted: stopping early")
			running = false
		case <-end.C:
			running = false
		case <-tick.C:
			n++
			sample(n%int(time.Minute/sampleEvery) == 0)
		case <-warm.C:
			profile("bridge-heap-warm.pprof")
		case <-faults:
			if time.Since(start) >= o.duration {
				continue // the run is over; no fault in its last instant
			}
			f.next()
		case <-d.Exited():
			exited = true
			fmt.Fprintf(out, "  %4.0fs the bridge exited by itself\n", time.Since(start).Seconds())
			running = false
		}
	}
	f.clear()
	elapsed := time.Since(start)
	if !exited {
		// Let the last failover settle so the stop is orderly.
		if err := d.waitInService(ctx, 30*time.Second); err != nil {
			fmt.Fprintln(out, "warning:", err)
		}
		sample(true)
		profile("bridge-heap-end.pprof")
		if o.bridgeProfiles != "" {
			fmt.Fprintf(out, "  what grew: go tool pprof -top -base %s %s\n",
				filepath.Join(o.bridgeProfiles, "bridge-heap-warm.pprof"), filepath.Join(o.bridgeProfiles, "bridge-heap-end.pprof"))
		}
	}
	code, stopErr := d.stop(60 * time.Second)
	stopped = true
	if o.memProfile != "" {
		if err := writeHeapProfile(o.memProfile); err != nil {
			fmt.Fprintln(out, "memprofile:", err)
		}
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
	ownEnd := ownHeap()
	ownMax = max(ownMax, ownEnd)

	fmt.Fprintf(out, "\nran %v: %d distinct call ids (%.1f/s; %.0f calls/s asked, transfers and conferences add consult calls), %d frames sent (all types), %d faults\n",
		elapsed.Round(time.Second), calls, float64(calls)/elapsed.Seconds(), o.rate, frames, f.n)
	fmt.Fprintf(out, "frames by type: %v\n", gtw.ByType())
	p := last.Publisher
	fmt.Fprintf(out, "publisher (last /status before SIGTERM): %d acked, %d duplicates absorbed, %d resends, %d dropped, %d rejected, %d reordered\n",
		p.Acked, p.Duplicates, p.Resends, p.Dropped, p.Rejected, p.Reordered)
	fmt.Fprintf(out, "stream read and checked in %v\n", time.Since(readStart).Round(time.Second))
	fmt.Fprint(out, rep.String())

	ok := rep.OK()
	switch {
	case stopErr != nil:
		fmt.Fprintln(out, "bridge stop:", stopErr)
		ok = false
	case exited || code != 0:
		fmt.Fprintf(out, "bridge exit code %d after SIGTERM (want 0)\n", code)
		ok = false
	default:
		fmt.Fprintln(out, "bridge stopped on SIGTERM with exit code 0")
	}
	if counts, errs, err := logSummary(d.logPath, 5); err == nil {
		fmt.Fprintf(out, "bridge log lines by level: %s\n", levels(counts))
		for _, e := range errs {
			fmt.Fprintln(out, "  error:", e)
		}
	}
	verdict, err := judgeMemory(samples, o.warmup, o.maxGrowth)
	switch {
	case err != nil:
		// Too short to tell: said, but not a failure (short runs are
		// for the stream's checks).
		fmt.Fprintln(out, "bridge memory: not judged:", err)
	default:
		fmt.Fprintln(out, "bridge memory:", verdict)
		if len(samples) > 0 {
			s0, s1 := samples[0], samples[len(samples)-1]
			fmt.Fprintf(out, "bridge rss: %s at %v, %s at the end\n", mib(s0.rss), s0.at.Round(time.Second), mib(s1.rss))
		}
		ok = ok && verdict.flat
	}
	if sampleErr != nil {
		fmt.Fprintln(out, "note: some samples failed, last error:", sampleErr)
	}
	fmt.Fprintf(out, "this process (simulator, embedded NATS server, checker) heap in use after GC: start %s, max %s, end %s\n",
		mib(ownStart), mib(ownMax), mib(ownEnd))
	if ok {
		memory := "bridge memory flat"
		if err != nil {
			memory = "bridge memory not judged"
		}
		fmt.Fprintf(out, "RESULT: OK (nothing lost, duplicated or out of order; %s; clean stop)\n", memory)
	} else {
		fmt.Fprintln(out, "RESULT: FAILED")
	}
	return ok, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func levels(c map[string]int) string {
	if len(c) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// faulter alternates the faults: kill the active CTIManager, then stall
// the (new) active one; each new fault first clears the previous one so a
// normal CTIManager is always there to fail over to.
type faulter struct {
	rig     *faultmatrix.Rig
	out     io.Writer
	start   time.Time
	active  func() string
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
	active := f.active()
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
