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
	q := Query{Subjects: []string{ClusterSubjects(cluster)}, StartSeq: start + 1, EndSeq: p.Seq}
	var silent silentWindow
	rs, err := s.ReadEvents(ctx, q, func(r Record) error {
		res.EventsRead++
		if progress != nil {
			progress(res.EventsRead, r.Pending)
		}
		if !p.Time.IsZero() && r.Stored.After(p.Time) {
			if silent.look(r, p.Time) {
				st.Apply(r.Event)
			}
			if silent.active {
				return nil
			}
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

// silentWindow finds the gap a time inside a CTIManager's silent window
// belongs to. A CTIManager that went silent is declared lost only when the
// heartbeat timer fires (up to twice the server heartbeat later): the
// CTIManagerLost event that starts the loss wave is stored after the point
// asked for, with LastHeardAt before it, and the wave's GapOpened (whose
// OpenedAt is the last frame heard) follows the out-of-service events of
// every observed device. The point is inside that gap, so its GapOpened
// is applied; nothing else of the wave is (it had not happened yet).
type silentWindow struct {
	active bool
	first  time.Time // stored time of the first record after the point
	lost   bool      // the wave's CTIManagerLost was read
}

// maxWave bounds how long after the first record past the point the
// wave's GapOpened is looked for (the wave is one engine step; its events
// are stored within moments even for tens of thousands of devices).
const maxWave = 30 * time.Second

// look is called for each record stored after at, in stream order. It
// reports whether r is the gap to apply; active says to keep reading.
// Before the CTIManagerLost only the bridge's own records (its heartbeats)
// may come: anything else means CTI was not silent at the point.
func (w *silentWindow) look(r Record, at time.Time) bool {
	ev := r.Event
	if w.first.IsZero() {
		w.first, w.active = r.Stored, true
	}
	if !w.active {
		return false
	}
	if r.Stored.Sub(w.first) > maxWave {
		w.active = false
		return false
	}
	switch {
	case !w.lost && ev.Name == schema.EvCTIManagerLost:
		p := ev.Data.Provider
		w.lost = p != nil && p.LastHeardAt != nil && !p.LastHeardAt.After(at)
		w.active = w.lost
	case !w.lost:
		w.active = ev.Family == schema.FamilyBridge && ev.Name != schema.EvGapOpened
	case ev.Name == schema.EvGapOpened:
		w.active = false
		g := ev.Data.Bridge
		return g != nil && g.Gap != nil && !g.Gap.OpenedAt.After(at)
	}
	return false
}
