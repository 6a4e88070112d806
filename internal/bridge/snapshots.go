package bridge

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
)

// snapshotRunner runs the snapshotter beside the bridge, so that `replay
// state --at` on a long log reads only the events after the nearest
// snapshot. It starts once the event stream exists (at once, or when the
// event log first becomes ready) and is restarted after an error (a NATS
// cluster's elections and restarts can end its consumer): snapshots are an
// accelerator, so a failure is logged, never fatal.
type snapshotRunner struct {
	b *Bridge

	mu      sync.Mutex // guards the following fields
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool
}

// Snapshotter restarts: the first after restartMin, doubling up to
// restartMax.
const (
	snapshotRestartMin = time.Second
	snapshotRestartMax = 30 * time.Second
)

// start starts the snapshotter (once; not after stop).
func (r *snapshotRunner) start() {
	b := r.b
	if b.cfg.Snapshots == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done != nil || r.stopped {
		return
	}
	cfg := b.cfg.snapshotterConfig()
	cfg.Conn = b.cfg.Conn
	cfg.Logger = b.cfg.Logger
	sn, err := replaystore.NewSnapshotter(cfg)
	if err != nil {
		b.log.Error().Err(err).Msg("state snapshots disabled: the snapshotter could not be configured")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.run(ctx, sn, r.done)
}

func (r *snapshotRunner) run(ctx context.Context, sn *replaystore.Snapshotter, done chan struct{}) {
	defer close(done)
	pause := snapshotRestartMin
	for {
		started := time.Now()
		err := sn.Run(ctx)
		if ctx.Err() != nil || err == nil || errors.Is(err, context.Canceled) {
			return
		}
		if time.Since(started) > snapshotRestartMax {
			pause = snapshotRestartMin // it ran for a while: a new incident
		}
		r.b.log.Warn().Err(err).Dur("restart_in", pause).Msg("state snapshots interrupted; replay still works, from the previous snapshot or the start of the stream")
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(2*pause, snapshotRestartMax)
	}
}

// stop stops the snapshotter (writing its last snapshot) and waits.
func (r *snapshotRunner) stop() {
	r.mu.Lock()
	r.stopped = true
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// startSnapshots runs a snapshotter of its own until the returned stop is
// called: a member of a high-availability group runs one per tenure.
func (b *Bridge) startSnapshots() (stop func()) {
	r := &snapshotRunner{b: b}
	r.start()
	return r.stop
}
