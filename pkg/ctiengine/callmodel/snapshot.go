package callmodel

import (
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// onSnapshotState rebuilds a call from a snapshot line event: the first
// snapshot event of a call known from before an observation interruption
// (or of a call not known at all) starts it afresh with CallActiveEv;
// every snapshot event then creates the line's connection and terminal
// connection directly in their current states. A call created since the
// interruption is current: its snapshot only moves what differs. All
// events carry cause SNAPSHOT, meta SNAPSHOT and Data.Snapshot.
func (m *Model) onSnapshotState(ev *ctilink.CallStateEvent) {
	if stateClass(ev.State) == classEnding {
		// Snapshots report existing legs only.
		m.ignored++
		return
	}
	x := snapshotCtx(wireTime(ev.TimeNs))
	c := m.calls[ev.GlobalCallID]
	switch {
	case c == nil:
		if c = m.newCall(ev.GlobalCallID); c == nil {
			return
		}
		m.tomb.remove(ev.GlobalCallID)
		c.flags |= callDiscovered
		c.snapEpoch = m.epoch
		c.setParties(ev)
		m.activate(c, x)
	case c.snapEpoch != m.epoch:
		// What was known before is stale: start again from the snapshot.
		clear(c.conns)
		c.conns = c.conns[:0]
		c.feature = featNone
		c.flags &^= callRouting | callBusyDone
		c.snapEpoch = m.epoch
		c.setParties(ev)
		m.activate(c, x)
	default:
		c.setParties(ev)
	}
	c.flags &^= callObsEnded
	c.seenEpoch = m.epoch
	m.applyLine(c, ev, x)
}

// EndObservation: the CTIManager was lost. Emits CallObservationEndedEv
// for every tracked call (entity = call id, ordered by call id) and keeps
// those calls as the "before the gap" set for Reconcile.
func (m *Model) EndObservation(at time.Time) []Out {
	m.out = nil
	x := evctx{at: at, cause: schema.CauseNormal}
	for _, id := range m.sortedIDs() {
		c := m.calls[id]
		c.flags |= callBeforeGap
		if c.flags&callObsEnded == 0 {
			c.flags |= callObsEnded
			m.emitCall(c, schema.EvCallObservationEnded, x)
		}
	}
	// The next snapshot event of each call rebuilds it.
	m.epoch++
	out := m.out
	m.out = nil
	return out
}

// Reconciliation counts the outcome of a gap: Before calls were tracked
// when observation ended; Continued of them were seen again (snapshot or
// live event) and Ended were not (CallEndedDuringGap); Discovered calls
// were reported by a snapshot without being known; After calls are tracked
// once reconciled.
type Reconciliation struct {
	Before, After, Ended, Discovered, Continued int
}

// Reconcile is called once every SnapshotCompleted after a failover has
// arrived. Calls of the before-gap set that were not seen since
// EndObservation: emits, per call, CallEndedDuringGap (Data.Inferred,
// CallData.GapID = gapID) and drops them. Calls a snapshot reported that
// were not known before: CallDiscoveredBySnapshot (inferred). Events are
// ordered: ended calls by call id, then discovered calls by call id.
func (m *Model) Reconcile(gapID string, at time.Time) ([]Out, Reconciliation) {
	m.out = nil
	var r Reconciliation
	var discovered []*call
	x := evctx{at: at}
	for _, id := range m.sortedIDs() {
		c := m.calls[id]
		switch {
		case c.flags&callBeforeGap != 0:
			r.Before++
			c.flags &^= callBeforeGap
			if c.seenEpoch == m.epoch {
				r.Continued++
			} else {
				r.Ended++
				c.state = schema.CallInvalid
				m.emitInferred(c, schema.EvCallEndedInGap, gapID, x)
				m.forget(c)
				continue
			}
		case c.flags&callDiscovered != 0:
			r.Discovered++
			discovered = append(discovered, c)
		}
		c.flags &^= callDiscovered
	}
	for _, c := range discovered {
		m.emitInferred(c, schema.EvCallDiscovered, gapID, x)
	}
	r.After = len(m.calls)
	out := m.out
	m.out = nil
	return out, r
}

func (m *Model) emitInferred(c *call, name, gapID string, x evctx) {
	d := data(name, x)
	d.Inferred = true
	d.Call = c.callData()
	d.Call.GapID = gapID
	m.emit(Out{Family: schema.FamilyCall, Entity: c.idStr, Name: name, Time: x.at, Data: d})
}
