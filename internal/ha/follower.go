package ha

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Follower reads a cluster's events as they are stored, in stream order,
// for a hot standby: what the active bridge stored is what the standby
// must not publish again at takeover.
type Follower struct {
	stream  natsjs.Stream
	filter  string
	since   time.Time
	observe func(seq uint64, ev *schema.Event)
	log     zerolog.Logger

	mu      sync.Mutex // guards lastSeq and changed
	lastSeq uint64
	changed chan struct{}
}

// NewFollower reads the events of cluster stored since since (a bound on
// how far back a takeover may look) and passes each, decoded, to observe
// (from Run's goroutine). Messages that are not events are skipped.
func NewFollower(stream natsjs.Stream, cluster string, since time.Time, observe func(seq uint64, ev *schema.Event), log zerolog.Logger) *Follower {
	return &Follower{
		stream: stream, filter: schema.SubjectRoot + "." + schema.EscapeToken(cluster) + ".>", since: since,
		observe: observe, log: log.With().Str("component", "ha.follower").Logger(), changed: make(chan struct{}),
	}
}

// Run follows the stream until ctx ends (an ordered consumer: it resumes
// after a disconnection where it stopped).
func (f *Follower) Run(ctx context.Context) error {
	since := f.since
	cons, err := f.stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		FilterSubjects: []string{f.filter}, DeliverPolicy: natsjs.DeliverByStartTimePolicy, OptStartTime: &since,
	})
	if err != nil {
		return fmt.Errorf("ha: follow %s: %w", f.filter, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("ha: follow %s: %w", f.filter, err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, natsjs.ErrMsgIteratorClosed) {
				return nil
			}
			f.log.Warn().Err(err).Msg("following the stream")
			continue
		}
		meta, err := m.Metadata()
		if err != nil {
			continue
		}
		if _, ev, err := schema.Decode(m.Headers(), m.Data()); err == nil {
			f.observe(meta.Sequence.Stream, &ev)
		}
		f.mu.Lock()
		f.lastSeq = meta.Sequence.Stream
		close(f.changed)
		f.changed = make(chan struct{})
		f.mu.Unlock()
	}
}

// WaitFor waits until the follower has passed stream sequence seq (every
// event stored up to it was observed) or ctx ends.
func (f *Follower) WaitFor(ctx context.Context, seq uint64) error {
	for {
		f.mu.Lock()
		last, ch := f.lastSeq, f.changed
		f.mu.Unlock()
		if last >= seq {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("ha: following the stream: at sequence %d, waiting for %d: %w", last, seq, ctx.Err())
		}
	}
}
