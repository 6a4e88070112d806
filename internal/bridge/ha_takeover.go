package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctibridge/ctibridge/internal/failpoint"
	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// coldPriorGap decides the gap a cold tenure starts in, from the log up to
// its marker: the previous tenure's open gap if it released in order, a
// takeover gap if it did not, the restart logic if there was no tenure
// before. The calls the log held are handed to the engine for
// reconciliation.
func (r *haRun) coldPriorGap(ctx context.Context, markerSeq uint64, prev *ha.Tenure) ctiengine.PriorGap {
	h := r.h
	var g ctiengine.PriorGap
	fctx, cancel := context.WithTimeout(ctx, h.takeoverTimeout(r.el))
	calls, lastAt, ok := r.foldedBefore(fctx, markerSeq)
	cancel()
	if !ok {
		// No fold at hand (the follower could not keep up or start): read
		// the log up to the marker instead.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		st, res, err := foldBefore(sctx, r, markerSeq)
		cancel()
		if err != nil {
			h.log.Warn().Err(err).Msg("takeover: the log's last state could not be read; every call the snapshot reports is taken as discovered")
		} else {
			calls, lastAt = callIDs(st), res.LastTime
		}
	}
	g.Calls = calls
	switch {
	case prev != nil && prev.Released && prev.OpenGap != nil:
		g.ID, g.OpenedAt, g.Reason = prev.OpenGap.ID, prev.OpenGap.OpenedAt, prev.OpenGap.Reason
	case prev != nil:
		g.OpenedAt = lastAt
		end := "ended without releasing the lease"
		if prev.Released {
			end = "released the lease"
		}
		g.Reason = fmt.Sprintf("%s previous run %s (instance %s, epoch %d) %s", TakeoverGapPrefix,
			engineInstance(prev.Instance, prev.Mode, prev.Epoch), prev.Instance, prev.Epoch, end)
	default:
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pr, perr := readPreviousRunBefore(pctx, r.js, r.stream.CachedInfo().Config.Name, r.cluster, markerSeq)
		cancel()
		if perr == nil {
			if pg, open := priorGap(pr); open {
				pg.Calls = calls
				return pg
			}
		}
		g.Calls = nil
		return g
	}
	if g.OpenedAt.IsZero() {
		g.OpenedAt = time.Now()
	}
	return g
}

// foldBefore folds the cluster's events stored before the marker (an
// empty state for a marker at the start of the log).
func foldBefore(ctx context.Context, r *haRun, markerSeq uint64) (*callstate.State, replaystore.StateAtResult, error) {
	if markerSeq <= 1 {
		return callstate.New(), replaystore.StateAtResult{Cluster: r.cluster}, nil
	}
	return r.foldLog(ctx, replaystore.Point{Seq: markerSeq - 1})
}

// openColdProvider starts the tenure's engine (after the wait, if any).
func (r *haRun) openColdProvider() {
	h, b := r.h, r.b
	if r.waitTimer != nil {
		r.waitTimer.Stop()
		r.waitTimer = nil
	}
	if h.way.Load() != routePublish || !r.el.MayAct() {
		return // the tenure ended during the wait
	}
	ecfg := b.ecfg
	ecfg.BridgeInstance = engineInstance(b.cfg.Instance, h.cfg.Mode, r.epoch)
	el := r.el
	ecfg.DialPermit = func() error {
		if !el.MayAct() {
			return errors.New("high availability: this instance does not hold the lease")
		}
		return nil
	}
	eng, err := ctiengine.New(ecfg)
	if err == nil && (r.pendingGap.Reason != "" || r.pendingGap.ID != "") {
		err = eng.SetPriorGap(r.pendingGap)
	}
	if err != nil {
		h.log.Error().Err(err).Msg("takeover: the engine could not be built; giving the lease back")
		r.abandon(context.Background())
		return
	}
	b.engine.Store(eng)
	r.startEngine(eng)
	r.stopSnaps = b.startSnapshots()
	d := time.Since(r.acquiredAt)
	b.metrics.haTakeover(d)
	h.setInfo(func(i *haInfo) {
		if i.LastTakeover != nil {
			i.LastTakeover.DurationMs = d.Milliseconds()
		}
	})
	h.log.Info().Uint64("epoch", r.epoch).Dur("since_lease", d).Msg("takeover: opening the provider")
}

func (r *haRun) startEngine(eng *ctiengine.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	r.engDone, r.stopEngine = done, cancel
}

// Failpoints of a hot takeover's read of the log up to its marker
// (internal/failpoint; the fault tests): FailpointHotTakeoverRead fails it
// once the follower has reached the marker, as a follower that stalled for
// the takeover timeout would; FailpointHotTakeoverStall makes the follower
// pass nothing, so that the wait ends only by its bounds.
const (
	FailpointHotTakeoverRead  = "bridge/hot-takeover-read"
	FailpointHotTakeoverStall = "bridge/hot-takeover-stall"
)

// errHoldFull ends a hot takeover's wait for its follower once the events
// held meanwhile reach the window's size bound.
var errHoldFull = errors.New("bridge: ha: the events held during the takeover reached the hot window's size bound")

// takeOverHot completes a hot takeover: cut the engine's event session,
// read the log up to the marker, publish what the previous active never
// stored (recovered), then what came in meanwhile, then live.
func (r *haRun) takeOverHot(ctx context.Context, markerSeq uint64, prev *ha.Tenure) {
	h, b := r.h, r.b
	eng := b.Engine()
	tctx, cancel := context.WithTimeout(ctx, h.takeoverTimeout(r.el))
	defer cancel()
	hold := h.newHold()
	err := eng.NewEventSession(tctx, func(string) { h.beginHold(hold) })
	if err == nil {
		eng.SetPassive(false)
	}
	if f := r.currentFollower(); err == nil && f != nil {
		// As long as the follower advances: a standby thousands of
		// messages behind (a predecessor that flushed a burst before it
		// released) catches up, whereas giving the lease back would start
		// the same wait on the other member. The new events meanwhile are
		// held (routeHold), not lost — up to the window's size bound.
		wctx, stopWait := context.WithCancelCause(ctx)
		go func(full <-chan struct{}) {
			select {
			case <-full:
				stopWait(fmt.Errorf("%w (%d events)", errHoldFull, h.window.MaxEvents()))
			case <-wctx.Done():
			}
		}(h.heldFull())
		if failpoint.Check(FailpointHotTakeoverStall, b.cfg.Instance) != nil {
			sctx, cancel := context.WithTimeout(wctx, h.takeoverTimeout(r.el))
			<-sctx.Done()
			cancel()
			err = fmt.Errorf("ha: following the stream: nothing passed for %s (failpoint)", h.takeoverTimeout(r.el))
		} else {
			err = f.WaitForProgressing(wctx, markerSeq, h.takeoverTimeout(r.el), r.el.MayAct)
		}
		if cause := context.Cause(wctx); errors.Is(cause, errHoldFull) {
			err = cause
		}
		stopWait(nil)
	}
	if err == nil {
		err = failpoint.Check(FailpointHotTakeoverRead, b.cfg.Instance)
	}
	if err != nil {
		h.log.Error().Err(err).Msg("takeover: the log could not be read up to the marker; giving the lease back")
		r.abandon(ctx)
		return
	}
	r.stopFollower()
	res := h.window.Takeover()
	h.way.Store(routeHold) // the engine may have stopped: nothing set it
	r.firstRecords(prev)
	for _, ev := range res.Recovered {
		if prev == nil {
			ev.Data.Recovered = false // a first tenure: this bridge's own start
		}
		h.trackGap(&ev)
		b.publishEvent(ev)
	}
	// The engine cut its session before it had read every change the
	// previous active stored: what it reads next may be in the log
	// already, and must not be published twice.
	if res.Behind != nil {
		h.shift.Store(newTakeoverShift())
	} else {
		h.shift.Store(nil)
	}
	h.behind.Store(res.Behind)
	h.pmu.Lock()
	for _, ev := range h.pending {
		if h.storedByPredecessor(&ev) {
			continue
		}
		h.trackGap(&ev)
		b.publishEvent(ev)
	}
	h.dropHeldLocked()
	h.way.Store(routePublish)
	h.pmu.Unlock()
	if prev != nil && prev.Released && prev.OpenGap != nil {
		r.closePredecessorGap(prev.OpenGap, len(res.Recovered), res.Incomplete)
	}
	go r.withdraw()
	r.stopSnaps = b.startSnapshots()
	d := time.Since(r.acquiredAt)
	b.metrics.haTakeover(d)
	if prev != nil {
		b.metrics.haRecovered(len(res.Recovered), res.Matched)
	}
	h.setInfo(func(i *haInfo) {
		if t := i.LastTakeover; t != nil {
			t.DurationMs, t.Recovered, t.Matched, t.Incomplete = d.Milliseconds(), len(res.Recovered), res.Matched, res.Incomplete
		}
	})
	lg := h.log.Info()
	if res.Incomplete {
		lg = h.log.Warn().Bool("incomplete", true).Str("hint", "the standby's window did not reach back to the previous active's last stored event: raise ha.hotWindow")
	}
	if res.Behind != nil {
		lg = lg.Bool("behind", true).Int("already_stored", res.Behind.Dropped())
	}
	lg.Uint64("epoch", r.epoch).Int("recovered", len(res.Recovered)).Int("matched", res.Matched).Int("skipped", res.Skipped).
		Dur("takeover", d).Msg("takeover: publishing; the events the previous active never stored were published as recovered")
}

// closePredecessorGap closes the gap a hot predecessor left open when it
// stopped with its provider closed (no standby was in sync then): this
// standby observed the interval and published it, recovered.
func (r *haRun) closePredecessorGap(g *schema.Gap, recovered int, incomplete bool) {
	now := time.Now()
	closed := *g
	closed.ClosedAt = &now
	closed.DurationMs = now.Sub(g.OpenedAt).Milliseconds()
	reason := fmt.Sprintf("%s; observed by hot standby %s, which published %d events as recovered", g.Reason, r.b.cfg.Instance, recovered)
	if incomplete {
		reason += " (its memory did not reach back to the start of the gap: earlier changes may be missing)"
	}
	closed.Reason = reason
	r.b.emitBridge(schema.EvGapClosed, schema.BridgeData{Reason: reason, Gap: &closed})
}

// startFollower follows the log while this member is a standby. A hot
// standby records what is stored (its window's matches); a cold standby
// folds it into the calls and devices the log holds, from the state at
// the end of the log when it starts, so that at takeover the last
// published state is at hand without reading the log again.
func (r *haRun) startFollower() {
	h := r.h
	if r.stream == nil {
		return
	}
	r.stopFollower()
	start := r.followFrom
	r.followFrom = ha.From{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var fold *coldFold
	if h.cfg.Mode == ha.ModeCold {
		fold = newColdFold()
	}
	follow := func() error {
		if fold == nil {
			from := ha.From{Time: time.Now().Add(-h.window.MaxAge())}
			if start.Seq > 0 {
				from = start
			}
			f := ha.NewFollower(r.stream, r.cluster, from, func(_ uint64, ev *schema.Event) { h.window.Observe(ev, time.Now()) }, r.b.cfg.Logger)
			r.setFollower(f)
			h.following.Store(true)
			return f.Run(ctx)
		}
		st, res, err := r.foldLog(ctx, replaystore.Point{})
		if err != nil {
			return err
		}
		fold.mu.Lock()
		fold.st, fold.lastTime, fold.seq = st, res.LastTime, res.LastSeq
		fold.mu.Unlock()
		f := ha.NewFollower(r.stream, r.cluster, ha.From{Seq: res.LastSeq + 1}, fold.observe, r.b.cfg.Logger)
		r.setFollower(f)
		close(fold.ready)
		h.following.Store(true)
		return f.Run(ctx)
	}
	if fold != nil {
		fold.stopped = done
	}
	go func() {
		defer close(done)
		if err := follow(); err != nil && ctx.Err() == nil {
			h.log.Error().Err(err).Msg("standby: following the log")
		}
	}()
	r.fold = fold
	r.stopFollow = func() {
		cancel()
		<-done
	}
}

func (r *haRun) setFollower(f *ha.Follower) {
	r.fmu.Lock()
	defer r.fmu.Unlock()
	r.follower = f
}

func (r *haRun) currentFollower() *ha.Follower {
	r.fmu.Lock()
	defer r.fmu.Unlock()
	return r.follower
}

// foldLog folds the cluster's events up to p (the end of the log if zero).
func (r *haRun) foldLog(ctx context.Context, p replaystore.Point) (*callstate.State, replaystore.StateAtResult, error) {
	store, err := replaystore.NewFromConn(ctx, r.b.cfg.Conn, replaystore.Config{Stream: r.stream.CachedInfo().Config.Name, Logger: r.b.cfg.Logger})
	if err != nil {
		return nil, replaystore.StateAtResult{}, err
	}
	defer store.Close()
	return store.StateAt(ctx, r.cluster, p, nil)
}

// coldFold is a cold member's fold of the log. It runs for the
// member's whole life, also while it is active (folding its own events),
// so that it is current whenever the member takes over.
type coldFold struct {
	ready   chan struct{} // closed once st holds the log's state
	stopped chan struct{} // closed when the fold has stopped
	halted  atomic.Bool   // the member stopped the fold (stopFollower)

	mu       sync.Mutex // guards the following fields
	st       *callstate.State
	lastTime time.Time
	// seq is the stream sequence of the last message folded.
	seq uint64
	// markerSeq is the sequence of the last epoch marker folded, and
	// beforeMarker the state just before it. A takeover asks for the
	// state before its own marker, which the fold may have passed before
	// the takeover asks: nothing follows a cold successor's marker until
	// its provider opens, so waiting for a later event would wait for the
	// takeover itself.
	markerSeq    uint64
	beforeMarker folded
	// markers is closed and replaced each time a marker is folded.
	markers chan struct{}
	// tap, if set, is handed every event after it is folded, in order
	// (the state view's input, see share).
	tap func(*schema.Event)
}

// folded is the fold's state at a marker.
type folded struct {
	calls    []uint32
	lastTime time.Time
}

func newColdFold() *coldFold {
	return &coldFold{ready: make(chan struct{}), markers: make(chan struct{})}
}

func (f *coldFold) observe(seq uint64, ev *schema.Event) {
	f.mu.Lock()
	if ev.Family == schema.FamilyBridge && ev.Name == schema.EvLeaderAcquired {
		f.markerSeq, f.beforeMarker = seq, folded{calls: callIDs(f.st), lastTime: f.lastTime}
		close(f.markers)
		f.markers = make(chan struct{})
	}
	f.seq = seq
	f.st.Apply(*ev)
	if ev.Time.After(f.lastTime) {
		f.lastTime = ev.Time
	}
	tap := f.tap
	f.mu.Unlock()
	// Outside the lock (the tap may wait for its reader; a takeover must
	// not wait for it), and still in order: one follower calls observe.
	if tap != nil {
		tap(ev)
	}
}

// share starts a second fold from this one's: start gets a copy of the
// state folded so far and the time of its last event, and returns the
// function then handed every event the fold reads after it. A cold member
// keeps one fold of the log, not one for its takeovers and another for
// its state view. It reports false when the fold stopped, or ctx ended,
// before it had read the log.
func (f *coldFold) share(ctx context.Context, start func(*callstate.State, time.Time) func(*schema.Event)) bool {
	select {
	case <-f.ready:
	case <-f.stopped:
		select {
		case <-f.ready: // both: the fold is read up to where it stopped
		default:
			return false
		}
	case <-ctx.Done():
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tap = start(f.st.Clone(), f.lastTime)
	return true
}

// unshare stops what share started.
func (f *coldFold) unshare() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tap = nil
}

// foldedBefore returns the calls the log held just before markerSeq, and
// the time of its last event, once the fold has read that far. It reports
// false when the fold cannot tell (it began after the marker, or ctx
// ended first).
func (r *haRun) foldedBefore(ctx context.Context, markerSeq uint64) ([]uint32, time.Time, bool) {
	fold := r.fold
	if fold == nil {
		return nil, time.Time{}, false
	}
	select {
	case <-fold.ready:
	case <-ctx.Done():
		return nil, time.Time{}, false
	}
	for {
		fold.mu.Lock()
		at, before, seq, ch := fold.markerSeq, fold.beforeMarker, fold.seq, fold.markers
		fold.mu.Unlock()
		switch {
		case at == markerSeq:
			return before.calls, before.lastTime, true
		case at > markerSeq || seq >= markerSeq:
			// The fold's first read of the log went past the marker, or
			// a newer marker is in already: not the state before ours.
			return nil, time.Time{}, false
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, time.Time{}, false
		}
	}
}

func callIDs(st *callstate.State) []uint32 {
	var ids []uint32
	for _, c := range st.Calls() {
		if id, err := strconv.ParseUint(c.ID, 10, 32); err == nil {
			ids = append(ids, uint32(id))
		}
	}
	return ids
}

func (r *haRun) stopFollower() {
	if r.stopFollow != nil {
		if r.fold != nil {
			r.fold.halted.Store(true)
		}
		r.stopFollow()
		r.stopFollow, r.fold = nil, nil
		r.setFollower(nil)
	}
	r.h.following.Store(false)
}
