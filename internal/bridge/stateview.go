package bridge

import (
	"context"

	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// startStateView runs the per-line and per-device state view beside the
// publisher (pkg/stateview): every event the bridge publishes is also
// folded into the KV bucket's keys. It returns the function that ends the
// view's input and waits until the pending keys are written. The view is
// a convenience for consumers: a failure is logged, never fatal.
func (b *Bridge) startStateView() (stop func()) {
	if b.cfg.StateView == nil {
		return func() {}
	}
	cfg := *b.cfg.StateView
	cfg.Conn = b.cfg.Conn
	cfg.Logger = b.cfg.Logger
	v, err := stateview.New(cfg)
	if err != nil {
		b.log.Error().Err(err).Msg("state view disabled: it could not be configured")
		return func() {}
	}
	b.mu.Lock()
	b.view = v
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = v.Run(context.Background())
	}()
	return func() {
		b.mu.Lock()
		b.view = nil
		b.mu.Unlock()
		v.Close()
		<-done
	}
}

// stateViewStatus is the view's part of /status (nil when it is off).
func (b *Bridge) stateViewStatus() any {
	b.mu.Lock()
	v := b.view
	b.mu.Unlock()
	if v == nil {
		return nil
	}
	return v.Stats()
}
