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
	var silent silentWindow
	rs, err := s.ReadEvents(ctx, q, func(r Record) error {
		res.EventsRead++
		if progress != nil {
			progress(res.EventsRead, r.Pending)
		}
		at := EventTime(&r.Event)
		if !p.Time.IsZero() && at.After(p.Time) {
			// A point inside a CTIManager's silent window: the gap that
			// the later loss wave opened at the last frame heard applies.
			if silent.look(r, p.Time) {
				st.Apply(r.Event)
				res.EventsFolded++
			}
			if after++; after >= ReorderSpan && !silent.active {
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
