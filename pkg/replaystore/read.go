package replaystore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// ErrStop may be returned by a Read callback to end the read early
// without an error.
var ErrStop = errors.New("replaystore: stop")

// Query selects the messages a Read delivers.
type Query struct {
	// Subjects filter the stream (NATS wildcards allowed); empty means
	// every subject.
	Subjects []string
	// StartSeq starts at this stream sequence; StartTime at the first
	// message stored at or after this time. Neither: from the start.
	StartSeq  uint64
	StartTime time.Time
	// EndSeq stops after this stream sequence (inclusive). 0 means the
	// last message present when the read starts (unless Follow).
	EndSeq uint64
	// Follow keeps reading new messages until the context ends (tail).
	// With Follow and no start, the read starts with the next new message.
	Follow bool
	// HeadersOnly delivers headers without payloads.
	HeadersOnly bool
	// Batch is how many messages the consumer requests at a time
	// (default 1000).
	Batch int
}

// Message is one stored message.
type Message struct {
	Seq     uint64
	Subject string
	// Stored is when JetStream stored the message.
	Stored time.Time
	Header nats.Header
	Data   []byte
	// Pending is how many messages matching the query remained in the
	// stream after this one when it was delivered.
	Pending uint64
}

// Record is a message decoded as an event.
type Record struct {
	Message
	Envelope schema.Envelope
	Event    schema.Event
}

// ReadStats reports what a read did.
type ReadStats struct {
	// Messages delivered to the callback (or skipped as undecodable).
	Messages uint64
	// DecodeErrors counts messages that were not valid events (ReadEvents
	// skips them).
	DecodeErrors uint64
	// FirstSeq and LastSeq are the stream sequences of the first and last
	// messages read.
	FirstSeq, LastSeq uint64
}

// StreamInfo summarises the event stream.
type StreamInfo struct {
	Name      string
	Subjects  []string
	Messages  uint64
	Bytes     uint64
	FirstSeq  uint64
	LastSeq   uint64
	FirstTime time.Time
	LastTime  time.Time
}

// Info returns the event stream's current extent.
func (s *Store) Info(ctx context.Context) (StreamInfo, error) {
	si, err := s.stream.Info(ctx)
	if err != nil {
		return StreamInfo{}, fmt.Errorf("replaystore: stream info %s: %w", s.cfg.Stream, err)
	}
	return StreamInfo{
		Name: si.Config.Name, Subjects: si.Config.Subjects, Messages: si.State.Msgs, Bytes: si.State.Bytes,
		FirstSeq: si.State.FirstSeq, LastSeq: si.State.LastSeq, FirstTime: si.State.FirstTime, LastTime: si.State.LastTime,
	}, nil
}

// Read delivers the messages selected by q, in stream order, to fn, using
// an ordered consumer. It returns when the selection is exhausted (or,
// with Follow, when ctx ends), when fn returns an error (ErrStop ends the
// read without one), or on a failure.
func (s *Store) Read(ctx context.Context, q Query, fn func(Message) error) (ReadStats, error) {
	return s.read(ctx, s.stream, q, true, fn)
}

func (s *Store) read(ctx context.Context, stream natsjs.Stream, q Query, count bool, fn func(Message) error) (ReadStats, error) {
	var st ReadStats
	end := q.EndSeq
	if !q.Follow {
		si, err := stream.Info(ctx)
		if err != nil {
			return st, fmt.Errorf("replaystore: stream info: %w", err)
		}
		if end == 0 || end > si.State.LastSeq {
			end = si.State.LastSeq
		}
		if si.State.Msgs == 0 || end < q.StartSeq || end < si.State.FirstSeq {
			return st, nil
		}
	}
	cfg := natsjs.OrderedConsumerConfig{
		FilterSubjects:    q.Subjects,
		HeadersOnly:       q.HeadersOnly,
		InactiveThreshold: 30 * time.Second,
	}
	switch {
	case q.StartSeq > 0:
		cfg.DeliverPolicy = natsjs.DeliverByStartSequencePolicy
		cfg.OptStartSeq = q.StartSeq
	case !q.StartTime.IsZero():
		cfg.DeliverPolicy = natsjs.DeliverByStartTimePolicy
		t := q.StartTime
		cfg.OptStartTime = &t
	case q.Follow:
		cfg.DeliverPolicy = natsjs.DeliverNewPolicy
	default:
		cfg.DeliverPolicy = natsjs.DeliverAllPolicy
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return st, fmt.Errorf("replaystore: ordered consumer on %v: %w", q.Subjects, err)
	}
	if !q.Follow {
		ci, err := cons.Info(ctx)
		if err != nil {
			return st, fmt.Errorf("replaystore: consumer info: %w", err)
		}
		if ci.NumPending == 0 {
			return st, nil
		}
	}
	batch := q.Batch
	if batch <= 0 {
		batch = 1000
	}
	it, err := cons.Messages(natsjs.PullMaxMessages(batch))
	if err != nil {
		return st, fmt.Errorf("replaystore: consume: %w", err)
	}
	defer it.Stop()
	for {
		m, err := it.Next(natsjs.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				if q.Follow {
					return st, nil
				}
				return st, ctx.Err()
			}
			return st, fmt.Errorf("replaystore: read: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return st, fmt.Errorf("replaystore: message metadata: %w", err)
		}
		seq := md.Sequence.Stream
		if !q.Follow && seq > end {
			return st, nil
		}
		if count {
			s.eventsRead.Add(1)
		}
		st.Messages++
		if st.FirstSeq == 0 {
			st.FirstSeq = seq
		}
		st.LastSeq = seq
		msg := Message{Seq: seq, Subject: m.Subject(), Stored: md.Timestamp, Header: m.Headers(), Data: m.Data(), Pending: md.NumPending}
		if err := fn(msg); err != nil {
			if errors.Is(err, ErrStop) {
				return st, nil
			}
			return st, err
		}
		if !q.Follow && (md.NumPending == 0 || seq >= end) {
			return st, nil
		}
	}
}

// ClusterSubjects returns the subject filter of every event of a cluster:
// cti.<cluster>.>.
func ClusterSubjects(cluster string) string {
	return SubjectRoot + "." + schema.EscapeToken(cluster) + ".>"
}

// FamilySubjects returns the filter of one family of a cluster
// (cti.<cluster>.<family>.>); cluster "" matches every cluster.
func FamilySubjects(cluster string, f schema.Family) string {
	c := "*"
	if cluster != "" {
		c = schema.EscapeToken(cluster)
	}
	return SubjectRoot + "." + c + "." + string(f) + ".>"
}

// CallSubjects returns the filter of one call's events
// (cti.<cluster>.call.<escaped id>.>); cluster "" matches every cluster.
func CallSubjects(cluster, callID string) string {
	return EntitySubjects(cluster, schema.FamilyCall, callID)
}

// EntitySubjects returns the filter of one entity's events: a terminal, an
// address, a call (cti.<cluster>.<family>.<escaped entity>.>); cluster ""
// matches every cluster.
func EntitySubjects(cluster string, f schema.Family, entity string) string {
	c := "*"
	if cluster != "" {
		c = schema.EscapeToken(cluster)
	}
	return SubjectRoot + "." + c + "." + string(f) + "." + schema.EscapeToken(entity) + ".>"
}
