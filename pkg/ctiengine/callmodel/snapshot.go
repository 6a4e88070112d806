package callmodel

import (
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// onSnapshotState rebuilds a call from a snapshot line event. The first
// event after an observation interruption of a call known from before it
// (live or snapshot) re-opens the call with CallActiveEv (reopen); a call
// not known at all starts with CallActiveEv. A snapshot event then
// (re)describes the line's connection and terminal connection directly in
// their current states: a stale connection (known before the gap, not
// confirmed since) is announced afresh, one already described since the
// gap (learned or confirmed by live events, or by an earlier snapshot
// event) only moves what differs. Nothing learned since the gap is
// dropped: connections the snapshot does not confirm are settled by
// Reconcile. All events carry cause SNAPSHOT, meta SNAPSHOT and
// Data.Snapshot.
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
		// The call's first snapshot event since the gap: what the
		// snapshot describes replaces what was known before it, feature
		// and route marks included. Connections and marks learned since
		// the gap stay (live events for other devices arrive between the
		// per-device snapshots: a transfer can start before them).
		c.dropEndedStale()
		if c.markEpoch != m.epoch {
			c.feature = featNone
			c.flags &^= callRouting | callBusyDone
		}
		c.snapEpoch = m.epoch
		c.setParties(ev)
		m.reopen(c, x)
	default:
		c.setParties(ev)
	}
	c.flags &^= callObsEnded
	c.seenEpoch = m.epoch
	m.applyLine(c, ev, x)
}

// reopen re-announces (CallActiveEv) a call whose observation ended, at
// its first event since: the consumer was told CallObservationEndedEv.
func (m *Model) reopen(c *call, x evctx) {
	if c.flags&callObsEnded == 0 {
		return
	}
	c.flags &^= callObsEnded
	m.activate(c, x)
}

// dropEndedStale forgets connections that had already ended before the
// gap: they are history, and a snapshot may report the address again.
func (c *call) dropEndedStale() {
	kept := c.conns[:0]
	for _, cn := range c.conns {
		if cn.flags&connStale == 0 || cn.live() {
			kept = append(kept, cn)
		}
	}
	clear(c.conns[len(kept):])
	c.conns = kept
}

// confirm re-describes a stale connection that a live event confirms:
// ConnCreatedEv and its states as known before the gap (and its terminal
// connection's), so that the event's own change follows a connection the
// consumer knows again.
func (m *Model) confirm(c *call, cn *conn, x evctx) {
	if cn.flags&connStale == 0 {
		return
	}
	cn.flags &^= connStale
	if !cn.live() {
		return
	}
	cc, tc := cn.cc, cn.tc
	cn.cc, cn.tc = 0, 0
	rx := evctx{at: x.at, cause: schema.CauseNormal, snap: x.snap}
	if x.snap {
		rx.cause, rx.meta = schema.CauseSnapshot, schema.MetaSnapshot
	}
	m.setConn(c, cn, cc, rx)
	if tc != 0 {
		m.setTC(c, cn, tc, rx)
	}
}

// unstale makes a stale connection new again: a snapshot is about to
// describe it in its current state (ConnCreatedEv then that state).
func unstale(cn *conn) {
	if cn.flags&connStale == 0 {
		return
	}
	cn.flags &^= connStale
	if cn.live() {
		cn.cc, cn.tc = 0, 0
	}
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
		for _, cn := range c.conns {
			cn.flags |= connStale
		}
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

// SeedBeforeGap adds calls known from before this model existed (a log
// another provider wrote, for a bridge that takes over from another): they
// are held as after EndObservation, so the first snapshot re-opens those
// still up (CallActiveEv, then their connections as the snapshot
// describes them) and Reconcile ends the others (CallEndedDuringGap).
// Their connections are not known: the snapshot describes them afresh.
// Call it before the first event; ids already tracked are skipped.
func (m *Model) SeedBeforeGap(ids []uint32) {
	for _, id := range ids {
		if id == 0 || m.calls[id] != nil {
			continue
		}
		c := m.newCall(id)
		if c == nil {
			return
		}
		c.state = schema.CallActive
		c.flags |= callObsEnded | callBeforeGap
		c.snapEpoch, c.seenEpoch = 0, 0
	}
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
				if m.settleStale(c, evctx{at: at, cause: schema.CauseNormal}) {
					continue
				}
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

// settleStale removes, once every snapshot is in, the connections of a
// continued call that neither a snapshot nor a live event confirmed since
// the gap: they left during it. They were not described since the call's
// observation ended, so they go without events. A call left without any
// line of this session then ends (checkEnd). It reports whether the call
// ended.
func (m *Model) settleStale(c *call, x evctx) bool {
	if c.flags&callObsEnded != 0 {
		// Seen (a call change named it as the original call) but never
		// re-opened: nothing was described afresh, nothing to settle.
		return false
	}
	kept := c.conns[:0]
	removed := false
	for _, cn := range c.conns {
		if cn.flags&connStale == 0 {
			kept = append(kept, cn)
		} else {
			removed = true
		}
	}
	clear(c.conns[len(kept):])
	c.conns = kept
	if !removed {
		return false
	}
	if m.checkEnd(c, x) {
		return m.calls[c.id] == nil
	}
	m.prune(c, x)
	return false
}
