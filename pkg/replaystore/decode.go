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
	// decoded is set by the worker before done is closed; a job closed
	// without it was cancelled.
	decoded bool
	done    chan struct{}
}

// jobPool recycles a read's decode jobs once the consumer has handed all
// their records to fn (fn gets copies): the records of a batch are ~100
// KB, and allocating them afresh for every batch cost more than decoding.
type jobPool chan *decodeJob

func (p jobPool) get() *decodeJob {
	select {
	case j := <-p:
		j.msgs, j.decoded, j.done = j.msgs[:0], false, make(chan struct{})
		return j
	default:
		return &decodeJob{msgs: make([]Message, 0, decodeBatch), done: make(chan struct{})}
	}
}

// put keeps j for reuse. What its slices still reference is overwritten
// by the next batch (or dropped with the pool when the read ends), so
// they are not cleared.
func (p jobPool) put(j *decodeJob) {
	select {
	case p <- j:
	default:
	}
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
	// Room for every job that can be in flight at once, so that a steady
	// read allocates none.
	free := make(jobPool, 6*workers+2)
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
				cur = free.get()
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
				if cap(j.recs) < len(j.msgs) {
					j.recs = make([]Record, len(j.msgs))
					j.ok = make([]bool, len(j.msgs))
				}
				j.recs, j.ok = j.recs[:len(j.msgs)], j.ok[:len(j.msgs)]
				clear(j.ok)
				for i := range j.msgs {
					env, ev, err := schema.Decode(j.msgs[i].Header, j.msgs[i].Data)
					if err != nil {
						s.log.Debug().Err(err).Uint64("seq", j.msgs[i].Seq).Str("subject", j.msgs[i].Subject).Msg("skipping a message that is not a valid event")
						j.recs[i] = Record{}
						continue
					}
					j.recs[i] = Record{Message: j.msgs[i], Envelope: env, Event: ev}
					j.ok[i] = true
				}
				j.decoded = true
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
		if !j.decoded {
			break consume // cancelled before decoding
		}
		for i := range j.msgs {
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
		free.put(j)
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
