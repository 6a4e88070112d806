package ctiengine

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// Gap accounting (PRODUCT.md §3.3 rule 9, docs/engine.md §10), all of it:
// a gap opens when the provider goes out of service (or shuts down, or an
// earlier run was killed), and closes once the provider is back in service
// and every snapshot is in; closing reconciles the calls known before the
// gap with what the snapshots and live events said since, reports the
// inferred events (CallEndedDuringGap, CallDiscoveredBySnapshot) and counts
// them in GapClosed. The call model decides each call's outcome
// (callmodel.Model.Reconcile); this file counts and reports.

// gapState is the provider gap currently open.
type gapState struct {
	id         string
	openedAt   time.Time // observation last known good
	detectedAt time.Time // the bridge noticed
	reason     string
}

// openLossGap opens the gap of a CTIManager loss detected at now. The gap
// starts when the silence started: the last frame heard on the lost link
// (a heartbeat timeout is detected twice the server heartbeat later), so
// that a point in time inside the silent window is inside the gap.
func (m *Machine) openLossGap(now time.Time, reason string) {
	opened := now
	if !m.lastRx.IsZero() && m.lastRx.Before(now) {
		opened = m.lastRx
	}
	m.openGapAt(now, opened, reason)
}

// openGapAt opens a provider gap that began at openedAt and was detected
// at now; a gap already open stays (one outage, one gap).
func (m *Machine) openGapAt(now, openedAt time.Time, reason string) {
	if m.gap != nil {
		return
	}
	m.gapN++
	m.stats.Gaps++
	m.gap = &gapState{id: fmt.Sprintf("%s-gap%d", m.cfg.BridgeInstance, m.gapN), openedAt: openedAt,
		detectedAt: now, reason: reason}
	ev := m.bridgeEvent(schema.EvGapOpened, now)
	ev.Data.Bridge.Reason = reason
	g := &schema.Gap{ID: m.gap.id, Kind: "provider", OpenedAt: openedAt, Reason: reason,
		CallsBefore: m.model.Stats().Tracked}
	if !now.Equal(openedAt) {
		detected := now
		g.DetectedAt = &detected
	}
	ev.Data.Bridge.Gap = g
	m.emit(ev)
}

// gapCounts are a closed gap's reconciliation counts.
type gapCounts struct {
	before, continued, ended, discovered int
}

// closeGap reconciles the calls (once every snapshot is in), reports the
// inferred events — calls that ended during the gap, then calls the
// snapshots discovered, each by call id — and GapClosed with the counts:
// Before = Continued + Ended; After = the calls tracked once reconciled.
func (m *Machine) closeGap(now time.Time) {
	g := m.gap
	if g == nil {
		return
	}
	m.gap = nil
	outs, calls := m.model.Reconcile(now)
	for _, o := range outs {
		m.emitOut(o, now)
	}
	var n gapCounts
	awaiting := false
	for _, c := range calls {
		switch c.Outcome {
		case callmodel.GapContinued:
			n.before++
			n.continued++
			awaiting = awaiting || c.AwaitingRecovery
		case callmodel.GapEnded:
			n.before++
			n.ended++
			m.emitInferred(c.Call, schema.EvCallEndedInGap, g.id, now)
		}
	}
	for _, c := range calls {
		if c.Outcome == callmodel.GapDiscovered {
			n.discovered++
			m.emitInferred(c.Call, schema.EvCallDiscovered, g.id, now)
		}
	}
	closed := now
	ev := m.bridgeEvent(schema.EvGapClosed, now)
	ev.Data.Bridge.Reason = g.reason
	gap := &schema.Gap{ID: g.id, Kind: "provider", OpenedAt: g.openedAt, ClosedAt: &closed,
		DurationMs: now.Sub(g.openedAt).Milliseconds(), Reason: g.reason,
		CallsBefore: n.before, CallsAfter: m.model.Stats().Tracked, CallsEnded: n.ended,
		CallsDiscovered: n.discovered, CallsContinued: n.continued}
	if !g.detectedAt.Equal(g.openedAt) {
		detected := g.detectedAt
		gap.DetectedAt = &detected
	}
	if w := m.waves; w != nil {
		m.waves = nil
		gap.WavesFrom, gap.Waves = w.From(), w.Waves()
	}
	ev.Data.Bridge.Gap = gap
	m.emit(ev)
	if awaiting {
		// Calls at route points continue without a snapshot: the new
		// CTIManager recovers them (a route event, their legs' events).
		// One it never names ended during the gap; CTIManager's
		// route-select timer bounds how long that can take.
		m.arm(TimerRecovery, now.Add(m.cfg.RouteSelectTimeout))
	}
}

// recoveryDue forgets the calls at route points the new CTIManager never
// recovered (they ended during the gap; their observation ended at the
// loss and was not re-opened, so nothing more is reported for them).
func (m *Machine) recoveryDue() {
	if n := m.model.ExpireRecovery(); n > 0 {
		m.note(zerolog.InfoLevel, fmt.Sprintf("%d call(s) at route points not recovered by CTIManager within RouteSelectTimeout %v: ended during the gap",
			n, m.cfg.RouteSelectTimeout), nil)
	}
}

// emitInferred reports a call's gap outcome: an event no CTIManager sent,
// flagged Inferred and naming the gap.
func (m *Machine) emitInferred(cd *schema.CallData, name, gapID string, now time.Time) {
	ev := m.newEvent(schema.FamilyCall, cd.CallID, name, now, now)
	ev.Data.Inferred = true
	ev.Data.Call = cd
	cd.GapID = gapID
	m.emit(ev)
}
