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
	// DecodeErrors counts messages skipped as invalid events.
	DecodeErrors uint64
	// LastSeq and LastTime are the stream sequence and the latest event
	// (CTI) time folded; LastStored the stored time of the message at
	// LastSeq (the snapshot's when nothing was read).
	LastSeq    uint64
	LastTime   time.Time
	LastStored time.Time
}

// Progress is told, for each message read, how many were read and how many
// remain (an estimate for filtered reads).
type Progress func(read, pending uint64)

// StateAt rebuilds a cluster's state at p: the nearest snapshot at or
// before p, then the cluster's events after it, in stream order, up to p
// (for a time: every event stored at or before it; see Point). Without a
// usable snapshot it folds from the start of the log.
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
	q := Query{Subjects: []string{schema.ClusterFilter(cluster)}, StartSeq: start + 1, EndSeq: p.Seq}
	rs, err := s.ReadEvents(ctx, q, func(r Record) error {
		res.EventsRead++
		if progress != nil {
			progress(res.EventsRead, r.Pending)
		}
		if !p.Time.IsZero() && r.Stored.After(p.Time) {
			return ErrStop
		}
		st.Apply(r.Event)
		res.LastSeq = r.Seq
		res.LastStored = r.Stored
		if r.Event.Time.After(res.LastTime) {
			res.LastTime = r.Event.Time
		}
		return nil
	})
	res.DecodeErrors = rs.DecodeErrors
	if err != nil {
		return nil, res, err
	}
	return st, res, nil
}
