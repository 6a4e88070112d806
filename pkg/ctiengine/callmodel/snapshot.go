package callmodel

import (
	"slices"
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
	m.recoverRouteLegs(c, x)
}

// reopen re-announces (CallActiveEv) a call whose observation ended, at
// its first event since: the consumer was told CallObservationEndedEv.
func (m *Model) reopen(c *call, x evctx) {
	c.flags &^= callAwaitRecovery
	if c.flags&callObsEnded == 0 {
		return
	}
	c.flags &^= callObsEnded
	m.activate(c, x)
}

// recoverRouteLegs re-describes, once a call re-opened, its legs at route
// points known from before the gap (after the event that re-opened it): CTIManager sends no snapshot
// for them, yet they are still in the call (seed p.216: route point calls
// are recovered on the new CTIManager), so the consumer learns them again
// with the call — the caller first when it is a party the route point's
// leg names, then the route point's connection — in the context of the
// re-opening (snapshot or live).
func (m *Model) recoverRouteLegs(c *call, x evctx) {
	if c.flags&callObsEnded != 0 || m.calls[c.id] != c {
		return
	}
	rx := evctx{at: x.at, cause: schema.CauseNormal, snap: x.snap}
	if x.snap {
		rx.cause, rx.meta = schema.CauseSnapshot, schema.MetaSnapshot
	}
	for i := 0; i < len(c.conns); i++ {
		cn := c.conns[i]
		if cn.flags&connStale == 0 || !cn.live() || !cn.isLine() || !m.noSnapshot(cn.addr) {
			continue
		}
		if f := c.find(cn.far); f != nil && f != cn && !f.isLine() && f.flags&connStale != 0 && f.live() {
			m.confirm(c, f, rx)
		}
		m.confirm(c, cn, rx)
	}
}

// recoverable reports whether a call known before the gap is still in
// progress at a route point as far as the model knows: a live leg on a
// line that gets no snapshot.
func (m *Model) recoverable(c *call) bool {
	for _, cn := range c.conns {
		if cn.isLine() && cn.live() && m.noSnapshot(cn.addr) {
			return true
		}
	}
	return false
}

// ExpireRecovery forgets the calls still waiting for their recovery (see
// callAwaitRecovery): the engine calls it when CTIManager's route-select
// timer would have ended their route sessions, so a call that ended
// during the gap at a route point does not stay forever. Nothing is
// reported: their observation ended at the loss and was never re-opened.
// It returns how many were forgotten.
func (m *Model) ExpireRecovery() int {
	n := 0
	for _, id := range m.sortedIDs() {
		if c := m.calls[id]; c.flags&callAwaitRecovery != 0 {
			m.forget(c)
			n++
		}
	}
	return n
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
	cc, tcs := cn.cc, slices.Clone(cn.tcs)
	cn.cc, cn.tcs = 0, nil
	rx := evctx{at: x.at, cause: schema.CauseNormal, snap: x.snap}
	if x.snap {
		rx.cause, rx.meta = schema.CauseSnapshot, schema.MetaSnapshot
	}
	m.setConn(c, cn, cc, rx)
	for _, t := range tcs {
		if t.st != schema.CCTermConnDropped {
			m.setTC(c, cn, t.term, t.st, rx)
		}
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
		cn.cc, cn.tcs = 0, nil
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
		// A call still waiting for its recovery from the last gap is in
		// this one's before set instead.
		c.flags = c.flags&^callAwaitRecovery | callBeforeGap
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

// GapOutcome is what became of a call across an observation gap.
type GapOutcome uint8

// Gap outcomes.
const (
	// GapContinued: tracked when observation ended and seen again since
	// (a snapshot or a live event).
	GapContinued GapOutcome = iota + 1
	// GapEnded: tracked when observation ended and not seen since: it
	// ended during the gap and is forgotten.
	GapEnded
	// GapDiscovered: reported by a snapshot without being known before.
	GapDiscovered
)

// GapCall is one call's outcome of a gap, with the call as last known
// (for the inferred event the engine reports it with).
type GapCall struct {
	Call    *schema.CallData
	Outcome GapOutcome
	// AwaitingRecovery: a continued call known only at route points and
	// not named since the gap (see ExpireRecovery).
	AwaitingRecovery bool
}

// Reconcile is called once every SnapshotCompleted after a failover has
// arrived. It settles each call of the before-gap set: one seen since
// EndObservation continued (connections nobody confirmed are removed, see
// settleStale); one not seen ended during the gap and is forgotten. Calls
// a snapshot reported that were not known are discovered. It returns the
// events settling produced and every call's outcome, ordered by call id;
// counting them and reporting the inferred events is the engine's gap
// accounting (pkg/ctiengine/gap.go).
func (m *Model) Reconcile(at time.Time) ([]Out, []GapCall) {
	m.out = nil
	var calls []GapCall
	for _, id := range m.sortedIDs() {
		c := m.calls[id]
		switch {
		case c.flags&callBeforeGap != 0:
			c.flags &^= callBeforeGap | callDiscovered
			if c.seenEpoch != m.epoch && m.recoverable(c) {
				// At a route point: CTIManager recovers the call but
				// sends no snapshot of it (seed p.216). It continued.
				c.flags |= callAwaitRecovery
				calls = append(calls, GapCall{Call: c.callData(), Outcome: GapContinued, AwaitingRecovery: true})
				continue
			}
			if c.seenEpoch != m.epoch {
				c.state = schema.CallInvalid
				calls = append(calls, GapCall{Call: c.callData(), Outcome: GapEnded})
				m.forget(c)
				continue
			}
			calls = append(calls, GapCall{Call: c.callData(), Outcome: GapContinued})
			m.settleStale(c, evctx{at: at, cause: schema.CauseNormal})
		case c.flags&callDiscovered != 0:
			c.flags &^= callDiscovered
			calls = append(calls, GapCall{Call: c.callData(), Outcome: GapDiscovered})
		}
	}
	out := m.out
	m.out = nil
	return out, calls
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
