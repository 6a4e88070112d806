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
	from    From
	observe func(seq uint64, ev *schema.Event)
	log     zerolog.Logger

	mu      sync.Mutex // guards lastSeq and changed
	lastSeq uint64
	changed chan struct{}
}

// From is where a Follower starts: at stream sequence Seq if set, else at
// the first message stored at or after Time.
type From struct {
	Seq  uint64
	Time time.Time
}

// NewFollower reads the events of cluster stored from from on (a hot
// standby: as far back as a takeover may look; a cold standby: right
// after the state it folded) and passes each, decoded, to observe (from
// Run's goroutine). Messages that are not events are skipped.
func NewFollower(stream natsjs.Stream, cluster string, from From, observe func(seq uint64, ev *schema.Event), log zerolog.Logger) *Follower {
	return &Follower{
		stream: stream, filter: schema.SubjectRoot + "." + schema.EscapeToken(cluster) + ".>", from: from,
		observe: observe, log: log.With().Str("component", "ha.follower").Logger(), changed: make(chan struct{}),
	}
}

// Run follows the stream until ctx ends (an ordered consumer: it resumes
// after a disconnection where it stopped).
func (f *Follower) Run(ctx context.Context) error {
	cc := natsjs.OrderedConsumerConfig{FilterSubjects: []string{f.filter}}
	if f.from.Seq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = natsjs.DeliverByStartSequencePolicy, f.from.Seq
	} else {
		since := f.from.Time
		cc.DeliverPolicy, cc.OptStartTime = natsjs.DeliverByStartTimePolicy, &since
	}
	cons, err := f.stream.OrderedConsumer(ctx, cc)
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

// WaitForProgressing is WaitFor for as long as the follower advances: it
// gives up (an error) only when the follower passed no message for stall,
// or ctx ends, or stillWanted turns false. A standby far behind a burst of
// events catches up at its own pace; one that is stuck does not hold a
// takeover forever.
func (f *Follower) WaitForProgressing(ctx context.Context, seq uint64, stall time.Duration, stillWanted func() bool) error {
	for {
		last := f.last()
		sctx, cancel := context.WithTimeout(ctx, stall)
		err := f.WaitFor(sctx, seq)
		cancel()
		if err == nil || ctx.Err() != nil || f.last() == last {
			return err
		}
		if !stillWanted() {
			return fmt.Errorf("ha: following the stream: at sequence %d, waiting for %d: no longer wanted", f.last(), seq)
		}
	}
}

func (f *Follower) last() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastSeq
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
