package bridge

import (
	"context"
	"time"

	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// startStateView keeps the state view (KV cti-state) in a
// high-availability group. A member cannot feed the view with what it
// publishes, as a single bridge does: a new active has not seen its
// predecessor's events, so its keys would miss every call already up.
// Every member therefore folds the log instead — from the snapshotter's
// latest snapshot to the end, then following the stream as the standby's
// follower does — and only the active member writes: Writing is
// IsActive, and a member that becomes active writes every key again (its
// own LeaderAcquired, which it then reads back from the stream, is the
// event that turns the writes on). The bucket thus always ends at the
// fold of the stream, whoever wrote last. A cold member folds the log for
// its takeovers already, for its whole life (coldFold): the view starts
// from that fold and is fed by it, so the member reads the log once. A
// hot member's follower feeds its window from a recent point only, so its
// view folds the log itself. Call it after startFollower. It returns the
// function that stops the view.
func (r *haRun) startStateView() (stop func()) {
	b := r.b
	if b.cfg.StateView == nil || r.stream == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	fold := r.fold
	go func() {
		defer close(done)
		if fold != nil {
			r.runSharedStateView(ctx, fold)
			return
		}
		st, res, err := r.foldLog(ctx, replaystore.Point{})
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error().Err(err).Msg("state view disabled: the log could not be folded")
			}
			return
		}
		v, viewDone := r.newStateView(st, res.LastTime)
		if v == nil {
			return
		}
		f := ha.NewFollower(r.stream, r.cluster, ha.From{Seq: res.LastSeq + 1}, func(_ uint64, ev *schema.Event) { v.Apply(*ev) }, b.cfg.Logger)
		if err := f.Run(ctx); err != nil && ctx.Err() == nil {
			b.log.Error().Err(err).Msg("state view: following the log")
		}
		r.closeStateView(v, viewDone)
	}()
	return func() {
		cancel()
		<-done
	}
}

// runSharedStateView runs the view on a cold member's fold until ctx ends
// or the fold stops.
func (r *haRun) runSharedStateView(ctx context.Context, fold *coldFold) {
	var (
		v        *stateview.View
		viewDone chan struct{}
	)
	ok := fold.share(ctx, func(st *callstate.State, at time.Time) func(*schema.Event) {
		if v, viewDone = r.newStateView(st, at); v == nil {
			return nil
		}
		return func(ev *schema.Event) { v.Apply(*ev) }
	})
	if !ok {
		if ctx.Err() == nil && !fold.halted.Load() {
			r.b.log.Error().Msg("state view disabled: the log could not be folded (see the standby's error)")
		}
		return
	}
	if v == nil {
		return
	}
	select {
	case <-ctx.Done():
	case <-fold.stopped:
		if !fold.halted.Load() {
			r.b.log.Error().Msg("state view stopped: the member's fold of the log stopped (see the standby's error)")
		}
	}
	fold.unshare()
	r.closeStateView(v, viewDone)
}

// newStateView starts the view from st (the log's fold as of at); nil if
// it cannot be configured (logged).
func (r *haRun) newStateView(st *callstate.State, at time.Time) (*stateview.View, chan struct{}) {
	b := r.b
	cfg := *b.cfg.StateView
	cfg.Conn, cfg.Logger = b.cfg.Conn, b.cfg.Logger
	cfg.Seed, cfg.SeedTime = st, at
	cfg.Writing = b.IsActive
	v, err := stateview.New(cfg)
	if err != nil {
		b.log.Error().Err(err).Msg("state view disabled: it could not be configured")
		return nil, nil
	}
	viewDone := make(chan struct{})
	go func() {
		defer close(viewDone)
		_ = v.Run(context.Background())
	}()
	b.mu.Lock()
	b.view = v
	b.mu.Unlock()
	return v, viewDone
}

func (r *haRun) closeStateView(v *stateview.View, viewDone chan struct{}) {
	b := r.b
	b.mu.Lock()
	b.view = nil
	b.mu.Unlock()
	v.Close()
	<-viewDone
}

// StateViewStats returns the state view's counters, false when the bridge
// keeps no view (off, not started yet, or stopped).
func (b *Bridge) StateViewStats() (stateview.Stats, bool) {
	b.mu.Lock()
	v := b.view
	b.mu.Unlock()
	if v == nil {
		return stateview.Stats{}, false
	}
	return v.Stats(), true
}
