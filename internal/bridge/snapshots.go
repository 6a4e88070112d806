package bridge

import (
	"context"
	"errors"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
)

// startSnapshots runs the snapshotter beside the bridge, so that `replay
// state --at` on a long log reads only the events after the nearest
// snapshot. It returns the function that stops it and waits for it.
// Snapshots are an accelerator: a failure is logged, never fatal.
func (b *Bridge) startSnapshots() (stop func()) {
	if b.cfg.Snapshots == nil {
		return func() {}
	}
	cfg := b.cfg.snapshotterConfig()
	cfg.Conn = b.cfg.Conn
	cfg.Logger = b.cfg.Logger
	sn, err := replaystore.NewSnapshotter(cfg)
	if err != nil {
		b.log.Error().Err(err).Msg("state snapshots disabled: the snapshotter could not be configured")
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := sn.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			b.log.Error().Err(err).Msg("state snapshots stopped; replay still works, reading from the start of the stream")
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
