package bridge

import (
	"context"
	"time"
)

// linger keeps the ops endpoints up after the provider shut down by
// itself, for Config.FatalLinger or until ctx ends. Without it the process
// would exit within milliseconds of, say, CERTCOMPROMISED: /readyz would
// never answer 503 with the reason, and ctibridge_certificate_compromised
// would never be scraped as 1, so an alert on it could not fire. Everything
// the engine emitted has been flushed to JetStream before this is called.
func (b *Bridge) linger(ctx context.Context, cause error) {
	if b.cfg.FatalLinger <= 0 || b.ops == nil {
		return
	}
	b.log.Error().Err(cause).Dur("linger", b.cfg.FatalLinger).Str("ops", b.ops.Addr()).
		Msg("the provider will not come back by itself: /readyz answers 503 with the reason and /metrics stays up until the bridge exits (after the linger, or at once on SIGINT/SIGTERM)")
	t := time.NewTimer(b.cfg.FatalLinger)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
