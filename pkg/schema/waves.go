package schema

import "time"

// WaveSnapshot is the GapWave name of the call events a failover's
// snapshots report (Data.Snapshot), whatever their event names.
const WaveSnapshot = "Snapshot"

// WaveOf says which wave of a failover an event belongs to: its name for
// the events a failover's waves count (CallObservationEndedEv, the
// address and terminal out-of-service and in-service events,
// CiscoTermSnapshotCompletedEv, CallEndedDuringGap,
// CallDiscoveredBySnapshot), WaveSnapshot for another call event of a
// snapshot, and false for anything else. The engine's counts
// (WaveCounter) and `replay timeline`'s reading of stored events share it.
func WaveOf(family Family, name string, snapshot bool) (string, bool) {
	switch name {
	case EvCallObservationEnded, EvCiscoAddrOutOfService, EvCiscoTermOutOfService,
		EvCiscoAddrInService, EvCiscoTermInService, EvCiscoTermSnapshotCompleted,
		EvCallEndedInGap, EvCallDiscovered:
		return name, true
	}
	if snapshot && family == FamilyCall {
		return WaveSnapshot, true
	}
	return "", false
}

// WaveTime is the time a wave places an event at: its CTI time, except
// for a snapshot's call event, whose CTI time is the call state's: there
// it is when the bridge received the snapshot.
func WaveTime(ev *Event) time.Time {
	if ev.Data.Snapshot && ev.Family == FamilyCall && !ev.Received.IsZero() {
		return ev.Received
	}
	return ev.Time
}

// WaveCounter counts a failover's waves as events are emitted, for
// GapClosed's Waves. Start it at the CTIManagerLost event and Add every
// event emitted after it (in emission order, with Session and SessionSeq
// set); Waves returns the counts. Its memory is one entry per distinct
// address or call of the failover, released with the counter.
type WaveCounter struct {
	from     string
	waves    []GapWave
	index    map[string]int
	distinct map[string]map[string]struct{}
}

// NewWaveCounter starts counting the failover that began with the event
// whose id is lostID.
func NewWaveCounter(lostID string) *WaveCounter {
	return &WaveCounter{from: lostID, index: map[string]int{}, distinct: map[string]map[string]struct{}{}}
}

// From is the id of the event the failover began with.
func (c *WaveCounter) From() string { return c.from }

// Add counts ev if it belongs to a wave.
func (c *WaveCounter) Add(ev *Event) {
	name, ok := WaveOf(ev.Family, ev.Name, ev.Data.Snapshot)
	if !ok {
		return
	}
	t := WaveTime(ev)
	i, seen := c.index[name]
	if !seen {
		i = len(c.waves)
		c.index[name] = i
		c.waves = append(c.waves, GapWave{Event: name, First: t, Last: t, FirstID: EventID(ev.Session, ev.SessionSeq)})
	}
	w := &c.waves[i]
	w.Count++
	if t.After(w.Last) {
		w.Last = t
	}
	// The snapshot wave starts when the first snapshot was received; the
	// others at their earliest CTI time.
	if t.Before(w.First) && name != WaveSnapshot {
		w.First = t
	}
	if ev.Family == FamilyAddress || name == WaveSnapshot {
		set := c.distinct[name]
		if set == nil {
			set = map[string]struct{}{}
			c.distinct[name] = set
		}
		set[ev.Entity] = struct{}{}
		w.Entities = len(set)
	}
}

// Waves returns the waves in the order their first events were emitted
// (an empty, non-nil slice when the failover had none).
func (c *WaveCounter) Waves() []GapWave {
	out := make([]GapWave, len(c.waves))
	copy(out, c.waves)
	return out
}
