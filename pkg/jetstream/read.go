package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
)

// defaultAPITimeout bounds clean-up calls made after ctx may have ended.
const defaultAPITimeout = 5 * time.Second

// ReadAll reads every message of stream matching filter (a subject with
// wildcards; "" for all) in stream order with an ordered consumer, calling
// fn for each, until the consumer has nothing pending: the messages
// present when it started plus any that arrived before it caught up. It
// returns fn's first error, or ctx's. The ordered consumer recreates
// itself on a gap or a reconnect, so fn sees each message once and in
// order.
func ReadAll(ctx context.Context, js natsjs.JetStream, stream, filter string, fn func(natsjs.Msg) error) error {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("jetstream: read %s: %w", stream, err)
	}
	occ := natsjs.OrderedConsumerConfig{DeliverPolicy: natsjs.DeliverAllPolicy}
	if filter != "" {
		occ.FilterSubjects = []string{filter}
	}
	cons, err := s.OrderedConsumer(ctx, occ)
	if err != nil {
		return fmt.Errorf("jetstream: read %s: %w", stream, err)
	}
	defer func() {
		// Best effort: the ordered consumer is ephemeral and would expire
		// on its own; deleting it frees the server at once.
		if ci := cons.CachedInfo(); ci != nil {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultAPITimeout)
			_ = s.DeleteConsumer(dctx, ci.Name)
			cancel()
		}
	}()
	if ci := cons.CachedInfo(); ci != nil && ci.NumPending == 0 {
		return nil
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("jetstream: read %s: %w", stream, err)
	}
	defer it.Stop()
	// Next blocks without a context: stop the iterator when ctx ends.
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("jetstream: read %s: %w", stream, ctx.Err())
			}
			if errors.Is(err, natsjs.ErrMsgIteratorClosed) {
				return fmt.Errorf("jetstream: read %s: iterator closed", stream)
			}
			return fmt.Errorf("jetstream: read %s: %w", stream, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			return fmt.Errorf("jetstream: read %s: %w", stream, err)
		}
		if err := fn(msg); err != nil {
			return err
		}
		if meta.NumPending == 0 {
			return nil
		}
	}
}
