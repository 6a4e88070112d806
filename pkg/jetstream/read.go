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
// order. While JetStream answers "temporarily unavailable" (a cluster
// electing its leaders) ReadAll keeps trying to open the stream and the
// consumer, until ctx ends.
func ReadAll(ctx context.Context, js natsjs.JetStream, stream, filter string, fn func(natsjs.Msg) error) error {
	occ := natsjs.OrderedConsumerConfig{DeliverPolicy: natsjs.DeliverAllPolicy}
	if filter != "" {
		occ.FilterSubjects = []string{filter}
	}
	s, cons, err := openOrdered(ctx, js, stream, occ)
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

// openOrdered looks the stream up and creates the ordered consumer,
// trying again while JetStream answers "temporarily unavailable" (503,
// 10008: a cluster electing its meta or stream leader, as after a quorum
// loss) until ctx ends. Nothing has been read yet, so a retry is safe.
func openOrdered(ctx context.Context, js natsjs.JetStream, stream string, occ natsjs.OrderedConsumerConfig) (natsjs.Stream, natsjs.Consumer, error) {
	wait := 100 * time.Millisecond
	for {
		s, err := js.Stream(ctx, stream)
		if err == nil {
			var cons natsjs.Consumer
			if cons, err = s.OrderedConsumer(ctx, occ); err == nil {
				return s, cons, nil
			}
		}
		if classifyPublishError(err) != ErrKindUnavailable {
			return nil, nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, err
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Second)
	}
}
