package replaystore

import (
	"context"
	"errors"
	"runtime"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// decodeBatch is how many messages one decode job holds: large enough to
// amortise the hand-off, small enough to keep the pipeline shallow.
const decodeBatch = 128

type decodeJob struct {
	msgs []Message
	recs []Record
	ok   []bool
	done chan struct{}
}

// ReadEvents is Read with each message decoded (schema.Decode). Messages
// that are not valid events are skipped and counted in
// ReadStats.DecodeErrors.
//
// Decoding runs in a pipeline beside the consumer: one goroutine reads the
// messages, decode workers (one per CPU) decode batches of them, and fn is
// called on the calling goroutine, in stream order, as for Read. The
// counters (ReadStats, EventsRead) count the messages handed to fn (or
// skipped), not the few read ahead.
func (s *Store) ReadEvents(parent context.Context, q Query, fn func(Record) error) (ReadStats, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	workers := max(1, runtime.GOMAXPROCS(0))
	work := make(chan *decodeJob, 2*workers)
	order := make(chan *decodeJob, 4*workers)
	var readErr error
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(order)
		defer close(work)
		var cur *decodeJob
		flush := func() bool {
			j := cur
			cur = nil
			select {
			case order <- j:
			case <-ctx.Done():
				return false
			}
			select {
			case work <- j:
			case <-ctx.Done():
				close(j.done) // never decoded: the consumer side stops anyway
				return false
			}
			return true
		}
		_, readErr = s.read(ctx, s.stream, q, false, func(m Message) error {
			if cur == nil {
				cur = &decodeJob{msgs: make([]Message, 0, decodeBatch), done: make(chan struct{})}
			}
			cur.msgs = append(cur.msgs, m)
			// A batch goes when full, or when the reader caught up with
			// the stream (a live tail must not wait for a full batch).
			if len(cur.msgs) >= decodeBatch || m.Pending == 0 {
				if !flush() {
					return ctx.Err()
				}
			}
			return nil
		})
		if cur != nil && len(cur.msgs) > 0 {
			flush()
		}
	}()
	for range workers {
		go func() {
			for j := range work {
				j.recs = make([]Record, len(j.msgs))
				j.ok = make([]bool, len(j.msgs))
				for i := range j.msgs {
					env, ev, err := schema.Decode(j.msgs[i].Header, j.msgs[i].Data)
					if err != nil {
						s.log.Debug().Err(err).Uint64("seq", j.msgs[i].Seq).Str("subject", j.msgs[i].Subject).Msg("skipping a message that is not a valid event")
						continue
					}
					j.recs[i] = Record{Message: j.msgs[i], Envelope: env, Event: ev}
					j.ok[i] = true
				}
				close(j.done)
			}
		}()
	}

	var st ReadStats
	var fnErr error
consume:
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			break consume
		}
		for i := range j.msgs {
			if j.ok == nil {
				break consume // cancelled before decoding
			}
			s.eventsRead.Add(1)
			st.Messages++
			if st.FirstSeq == 0 {
				st.FirstSeq = j.msgs[i].Seq
			}
			st.LastSeq = j.msgs[i].Seq
			if !j.ok[i] {
				st.DecodeErrors++
				continue
			}
			if err := fn(j.recs[i]); err != nil {
				fnErr = err
				break consume
			}
		}
	}
	cancel()
	for range order {
		// drain: the reader stops at the cancellation
	}
	<-readerDone
	switch {
	case fnErr != nil && errors.Is(fnErr, ErrStop):
		return st, nil
	case fnErr != nil:
		return st, fnErr
	case parent.Err() != nil:
		if q.Follow {
			return st, nil // a tail ends when its context does
		}
		return st, parent.Err()
	case readErr != nil:
		return st, readErr
	}
	return st, nil
}
