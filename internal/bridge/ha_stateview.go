package bridge

import (
	"context"

	"github.com/ctibridge/ctibridge/internal/ha"
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
// fold of the stream, whoever wrote last. It returns the function that
// stops the view.
func (r *haRun) startStateView() (stop func()) {
	b := r.b
	if b.cfg.StateView == nil || r.stream == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		st, res, err := r.foldLog(ctx, replaystore.Point{})
		if err != nil {
			if ctx.Err() == nil {
				b.log.Error().Err(err).Msg("state view disabled: the log could not be folded")
			}
			return
		}
		cfg := *b.cfg.StateView
		cfg.Conn, cfg.Logger = b.cfg.Conn, b.cfg.Logger
		cfg.Seed, cfg.SeedTime = st, res.LastTime
		cfg.Writing = b.IsActive
		v, err := stateview.New(cfg)
		if err != nil {
			b.log.Error().Err(err).Msg("state view disabled: it could not be configured")
			return
		}
		viewDone := make(chan struct{})
		go func() {
			defer close(viewDone)
			_ = v.Run(context.Background())
		}()
		b.mu.Lock()
		b.view = v
		b.mu.Unlock()
		f := ha.NewFollower(r.stream, r.cluster, ha.From{Seq: res.LastSeq + 1}, func(_ uint64, ev *schema.Event) { v.Apply(*ev) }, b.cfg.Logger)
		if err := f.Run(ctx); err != nil && ctx.Err() == nil {
			b.log.Error().Err(err).Msg("state view: following the log")
		}
		b.mu.Lock()
		b.view = nil
		b.mu.Unlock()
		v.Close()
		<-viewDone
	}()
	return func() {
		cancel()
		<-done
	}
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
