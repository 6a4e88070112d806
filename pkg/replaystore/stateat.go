package replaystore

import (
	"context"
	"errors"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// StateAtResult says how a point-in-time state was rebuilt.
type StateAtResult struct {
	Cluster string
	// Snapshot is the snapshot the rebuild started from (nil: from the
	// start of the log).
	Snapshot *SnapshotInfo
	// EventsRead is how many event-stream messages were read after the
	// snapshot.
	EventsRead uint64
	// EventsFolded is how many of them were folded (for a time, the
	// others happened after it).
	EventsFolded uint64
	// DecodeErrors counts messages skipped as invalid events.
	DecodeErrors uint64
	// LastSeq and LastTime are the stream sequence and the time
	// (EventTime) of the latest event folded; LastStored the stored time
	// of the message at LastSeq (the snapshot's when nothing was read).
	LastSeq    uint64
	LastTime   time.Time
	LastStored time.Time
}

// Progress is told, for each message read, how many were read and how many
// remain (an estimate for filtered reads).
type Progress func(read, pending uint64)

// EventTime is the instant the log places an event at: when CTI reported
// it, except for a snapshot event, whose CTI time is the time of the call
// state it describes again, so it is placed when the bridge received it.
// The timeline shows these times, and a state at a time folds the events
// at or before it.
func EventTime(ev *schema.Event) time.Time {
	if ev.Data.Snapshot && !ev.Received.IsZero() {
		return ev.Received
	}
	return ev.Time
}

// ReorderSpan bounds how far from its emission order the bridge's
// publisher can store an event: it keeps order per entity only, with up to
// 1,024 messages in flight, and resends a message whose outcome is unknown
// among later ones. A read for a point in time goes on until this many
// events in a row happened after the point, so that an event stored a few
// places after later ones of other entities is still folded.
const ReorderSpan = 4096

// StateAt rebuilds a cluster's state at p: the nearest snapshot at or
// before p, then the cluster's events after it, in stream order, up to p.
// For a sequence that is every event stored up to it. For a time it is
// every event that happened at or before it (EventTime), the events after
// it left out; the read ends once ReorderSpan events in a row happened
// after it. Without a usable snapshot it folds from the start of the log.
func (s *Store) StateAt(ctx context.Context, cluster string, p Point, progress Progress) (*callstate.State, StateAtResult, error) {
	res := StateAtResult{Cluster: cluster}
	st := callstate.New()
	var start uint64
	sn, err := s.NearestSnapshot(ctx, cluster, p)
	switch {
	case err == nil:
		loaded, lerr := s.LoadSnapshot(ctx, sn)
		if lerr != nil {
			s.log.Warn().Err(lerr).Uint64("seq", sn.Seq).Msg("snapshot unusable; folding from the start")
			break
		}
		st, start = loaded, sn.Seq
		res.Snapshot = &sn
		res.LastSeq = sn.Seq
		res.LastTime = sn.Time
		res.LastStored = sn.Stored
	case errors.Is(err, ErrNoSnapshot):
	default:
		return nil, res, err
	}
	if p.Seq > 0 && start >= p.Seq {
		return st, res, nil
	}
	q := Query{Subjects: []string{ClusterSubjects(cluster)}, StartSeq: start + 1, EndSeq: p.Seq}
	after := 0 // events in a row that happened after p.Time
	rs, err := s.ReadEvents(ctx, q, func(r Record) error {
		res.EventsRead++
		if progress != nil {
			progress(res.EventsRead, r.Pending)
		}
		at := EventTime(&r.Event)
		if !p.Time.IsZero() && at.After(p.Time) {
			if after++; after >= ReorderSpan {
				return ErrStop
			}
			return nil
		}
		after = 0
		st.Apply(r.Event)
		res.EventsFolded++
		res.LastSeq = r.Seq
		res.LastStored = r.Stored
		if at.After(res.LastTime) {
			res.LastTime = at
		}
		return nil
	})
	res.DecodeErrors = rs.DecodeErrors
	if err != nil {
		return nil, res, err
	}
	return st, res, nil
}
