package traffic

import (
	"fmt"
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// RouteSession causes (JTAPI RouteSession cause values).
const (
	RouteCauseNoError            = 100
	RouteCauseTimerExpired       = 101
	RouteCauseInvalidDestination = 103
	RouteCauseUnspecifiedError   = 105
)

// Causes on the route point's leg: nobody routed the call (timeout or
// unregistered), or the call left it for the selected destination.
const (
	routeFailureCause    = ctilink.CauseNoUserResponding
	routeSelectedRPCause = ctilink.CauseNormalCallClearing
)

// startRoute: A calls route point R (f.b). A registered route point opens
// a route session and waits for RouteSelect; an unregistered one fails the
// call at once (busy).
func (m *Model) startRoute(f *flow) {
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		rp := f.b
		m.dialed(la, m.party(rp), ctilink.Party{})
		lr := m.addLeg(c, rp, false, ctilink.ReasonDirectCall, la.calling, la.called)
		f.lr = lr
		m.set(lr, ctilink.CallStateOffering, ctilink.CauseNoError)
		if !m.hooks.RoutePointRegistered(m.lines[rp].Device) || !m.inService(rp) {
			m.set(lr, ctilink.CallStateDisconnected, routeFailureCause)
			m.busyOut(f, la, nil)
			return
		}
		f.session = next(&m.lastSession)
		m.sessions[f.session] = f
		m.emit(m.routeEvent(f, ctilink.RouteKindRoute, "", RouteCauseNoError))
		m.after(m.cfg.RouteSelectTimeout, f, func() { m.routeTimeout(f) })
	})
}

func (m *Model) routeEvent(f *flow, kind, selected string, cause int) ctilink.RouteEvent {
	ln := m.lines[f.lr.line]
	return ctilink.RouteEvent{Kind: kind, Device: ln.Device, Line: ln.DN, SessionID: f.session,
		GlobalCallID: f.call1.gid, CallHandle: f.lr.handle, Calling: f.la.calling, Called: m.party(f.lr.line),
		Selected: selected, Cause: cause, TimeNs: m.nowNs()}
}

func (m *Model) endSession(f *flow, cause int) {
	m.emit(m.routeEvent(f, ctilink.RouteKindEnd, "", cause))
	delete(m.sessions, f.session)
	f.session = 0
}

// routeTimeout: nobody selected a route in time; the caller gets busy.
func (m *Model) routeTimeout(f *flow) {
	m.endSession(f, RouteCauseTimerExpired)
	m.set(f.lr, ctilink.CallStateDisconnected, routeFailureCause)
	m.busyOut(f, f.la, nil)
}

// RouteSelect answers a route event (from the client's RouteSelectRequest).
// The first usable destination (a phone line of the directory, idle, in
// service, not the caller's device) gets the call, redirected from the
// route point. When none is usable the session stays open: a reroute
// event is emitted and the route-select timer restarts (as CTIManager
// does). The emissions are returned by the next Advance.
func (m *Model) RouteSelect(sessionID uint32, destinations []string, now time.Time) error {
	m.run(m.offset(now))
	f, ok := m.sessions[sessionID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownRouteSession, sessionID)
	}
	d := -1
	for _, dn := range destinations {
		li, ok := m.byDN[dn]
		if ok && m.lines[li].kind == kindPhone && m.lines[li].busy == 0 && !m.sameDevice(li, []int{f.a}) && m.inService(li) {
			d = li
			break
		}
	}
	f.epoch++ // cancel the pending timeout
	if d < 0 {
		m.emit(m.routeEvent(f, ctilink.RouteKindReRoute, "", RouteCauseInvalidDestination))
		m.after(m.cfg.RouteSelectTimeout, f, func() { m.routeTimeout(f) })
		return nil
	}
	m.claimFor(f, d)
	la, lr := f.la, f.lr
	m.emit(m.routeEvent(f, ctilink.RouteKindUsed, m.lines[d].DN, RouteCauseNoError))
	m.set(lr, ctilink.CallStateDisconnected, routeSelectedRPCause)
	ld := m.addLeg(la.c, d, false, ctilink.ReasonRedirect, la.calling, la.called)
	ld.curCalling, ld.curCalled, ld.lastRedir = la.curCalling, m.party(d), m.party(lr.line)
	f.lb = ld
	m.set(ld, ctilink.CallStateOffering, ctilink.CauseNoError)
	m.set(ld, ctilink.CallStateAccepted, ctilink.CauseNoError)
	la.curCalled, la.lastRedir = m.party(d), m.party(lr.line)
	m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
	m.endSession(f, RouteCauseNoError)
	m.after(m.ringTime(), f, func() {
		m.answer(la, ld)
		m.clearAfterTalk(f, la, ld)
	})
	return nil
}

// RecoverRoutes is called when a session (re-)registers route point
// device: the route sessions open on it — calls waiting for a route, whose
// route request went to a CTIManager that is gone — are offered again, and
// their route-select timers restart. It returns the route events, ordered
// by session, for the registering session only: CTIManager recovers route
// point calls on the new CTIManager without a snapshot (JTAPI guide,
// "CTIManager Failure": RouteAddress callbacks are maintained and "these
// calls get recovered on the new CTIManager"); how the recovered request
// reaches the callback Cisco does not say, a new RouteEvent is our choice.
func (m *Model) RecoverRoutes(device string, now time.Time) []ctilink.RouteEvent {
	m.run(m.offset(now))
	var ids []uint32
	for id, f := range m.sessions {
		if f.lr != nil && m.lines[f.lr.line].Device == device {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]ctilink.RouteEvent, 0, len(ids))
	for _, id := range ids {
		f := m.sessions[id]
		f.epoch++ // the old route-select timer is cancelled
		m.after(m.cfg.RouteSelectTimeout, f, func() { m.routeTimeout(f) })
		out = append(out, m.routeEvent(f, ctilink.RouteKindRoute, "", RouteCauseNoError))
		m.stats.RoutesRecovered++
	}
	return out
}
