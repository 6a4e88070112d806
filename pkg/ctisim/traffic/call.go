package traffic

import (
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// call is one global call id with its live legs.
type call struct {
	gid       uint32
	cm        string // CallManager of the calling device
	legs      []*leg // live legs, in creation order
	connected bool   // a terminating leg has been CONNECTED: no longer "in setup"
	f         *flow
}

// leg is one line's participation in a call (a CallHandle).
type leg struct {
	c      *call
	line   int
	handle uint32
	state  ctilink.CallState
	cause  ctilink.Cause
	reason ctilink.ConnReason
	origin bool

	calling, called, curCalling, curCalled, lastRedir ctilink.Party

	at   time.Duration // time of the last state change
	dead bool
	// feature is the feature reason of the state being emitted (set by
	// setFeature for one event).
	feature ctilink.FeatureReason
	// huntPilot is the hunt pilot number the call was placed to (the
	// caller's and the hunted members' legs).
	huntPilot string
	// lost: the leg's device lost its CallManager node during the call:
	// the media go on, CTIManager no longer observes or controls the leg
	// (nothing more is emitted for it; it ends with its call).
	lost bool
}

// flow is one scenario instance: the calls it creates and the steps that
// drive them. Steps scheduled with Model.after run only while the flow is
// not done and its epoch is unchanged.
type flow struct {
	sc     Scenario
	epoch  uint32
	done   bool
	placed bool // scripted by Place: the canonical order (the caller hangs up first)

	a, b, c   int  // caller, called, third party (line indexes, -1 none)
	forceBusy bool // busy scenario: b is busy whatever its state
	// calleeFirst makes the far side hang up first (generator only).
	calleeFirst bool
	claims      []int
	live        int // live calls

	call1, call2 *call
	la, lb, lc   *leg // legs of a, b (primary call) and c
	lb2          *leg // b's leg in the consult call
	lc2          *leg // pickup, park: c's own call before it picks up or retrieves
	park         int  // park: the park number's index while parked, -1
	hunt         int  // hunt: the hunt pilot's index
	hunted       int  // hunt: members offered so far

	ext     ctilink.Party // outbound, inbound: the party outside the cluster
	trunk   int           // outbound, inbound: the trunk that reaches it
	masked  string        // transform: presented calling number
	session uint32        // routepoint: active route session id
	lr      *leg          // routepoint: the route point's leg
	media   ctilink.MediaParams
}

func (m *Model) newFlow(s Scenario, a, b, c int) *flow {
	return &flow{sc: s, a: a, b: b, c: c, park: -1}
}

func (m *Model) claimFor(f *flow, li int) {
	m.claim(li)
	f.claims = append(f.claims, li)
}

func (f *flow) holds(li int) bool { return slices.Contains(f.claims, li) }

// reachable reports whether the flow may ring li now: it holds the line
// (it was free when the scenario started), the scenario does not force
// busy, and the device is in service.
func (m *Model) reachable(f *flow, li int) bool {
	return li >= 0 && f.holds(li) && !(f.forceBusy && li == f.b) && m.inService(li)
}

// newCall creates a call originated by line origin.
func (m *Model) newCall(f *flow, origin int) *call {
	return m.newCallCM(f, m.lines[origin].CallManager)
}

// newCallCM creates a call set up by CallManager cm (the trunk's for a
// call from outside).
func (m *Model) newCallCM(f *flow, cm string) *call {
	c := &call{gid: next(&m.lastGID), cm: cm, f: f}
	m.calls[c.gid] = c
	f.live++
	return c
}

// addLeg creates a leg of line li in call c. Parties start as the call's
// original calling/called pair.
func (m *Model) addLeg(c *call, li int, origin bool, reason ctilink.ConnReason, calling, called ctilink.Party) *leg {
	l := &leg{c: c, line: li, handle: next(&m.lastHandle), reason: reason, origin: origin,
		calling: calling, called: called, curCalling: calling, curCalled: called}
	c.legs = append(c.legs, l)
	m.lines[li].legs = append(m.lines[li].legs, l)
	return l
}

// set moves l to state st and emits the CallStateEvent.
func (m *Model) set(l *leg, st ctilink.CallState, cause ctilink.Cause) {
	if l.dead {
		return
	}
	l.state, l.cause, l.at = st, cause, m.cur
	if !l.lost {
		m.emit(m.stateEvent(l, false))
	}
	if st == ctilink.CallStateDisconnected {
		m.dropLeg(l)
	}
}

func (m *Model) stateEvent(l *leg, snapshot bool) ctilink.CallStateEvent {
	ln := m.lines[l.line]
	feature := l.feature
	if snapshot && l.c.f.park >= 0 && l == l.c.f.la {
		feature = ctilink.FeaturePark // a snapshot of a parked call says so
	}
	return ctilink.CallStateEvent{
		Device: ln.Device, Line: ln.DN, CallHandle: l.handle, GlobalCallID: l.c.gid,
		CallManager: l.c.cm, State: l.state, Cause: l.cause, Reason: l.reason, Origin: l.origin,
		Calling: l.calling, Called: l.called, CurrentCalling: l.curCalling, CurrentCalled: l.curCalled,
		LastRedirecting: l.lastRedir, Snapshot: snapshot, TimeNs: m.start.Add(l.at).UnixNano(),
		FeatureReason: feature, HuntPilot: l.huntPilot,
	}
}

// setFeature is set for a change a feature caused: the event carries the
// feature reason (only that one event).
func (m *Model) setFeature(l *leg, st ctilink.CallState, cause ctilink.Cause, feat ctilink.FeatureReason) {
	l.feature = feat
	m.set(l, st, cause)
	l.feature = ctilink.FeatureNone
}

// dropLeg removes a disconnected leg; the line's claim goes back when the
// flow has no other leg on it, the call ends with its last leg.
func (m *Model) dropLeg(l *leg) {
	l.dead = true
	ln := m.lines[l.line]
	ln.removeLeg(l)
	c := l.c
	if i := slices.Index(c.legs, l); i >= 0 {
		c.legs = slices.Delete(c.legs, i, i+1)
	}
	f := c.f
	if i := slices.Index(f.claims, l.line); i >= 0 && !m.flowOnLine(f, l.line) {
		f.claims = slices.Delete(f.claims, i, i+1)
		m.release(l.line)
	}
	if len(c.legs) == 0 {
		m.endCall(c)
	}
}

func (m *Model) flowOnLine(f *flow, li int) bool {
	for _, o := range m.lines[li].legs {
		if o.c.f == f {
			return true
		}
	}
	return false
}

func (m *Model) endCall(c *call) {
	delete(m.calls, c.gid)
	c.f.live--
	if c.f.live == 0 {
		m.finish(c.f)
	}
}

// finish ends a flow: pending steps are skipped, claims go back.
func (m *Model) finish(f *flow) {
	if f.done {
		return
	}
	f.done = true
	for _, li := range f.claims {
		m.release(li)
	}
	f.claims = nil
	if f.session != 0 {
		delete(m.sessions, f.session)
		f.session = 0
	}
	if f.park >= 0 {
		m.parkedOn[f.park] = nil
		f.park = -1
	}
	m.stats.Finished++
}

// moveLeg moves l into call to (CallChangedEvent), keeping its handle.
func (m *Model) moveLeg(l *leg, to *call) {
	from := l.c
	ln := m.lines[l.line]
	m.emit(ctilink.CallChangedEvent{Device: ln.Device, Line: ln.DN, OriginalCallID: from.gid,
		SurvivingCall: to.gid, CallHandle: l.handle, TimeNs: m.nowNs()})
	if i := slices.Index(from.legs, l); i >= 0 {
		from.legs = slices.Delete(from.legs, i, i+1)
	}
	l.c = to
	to.legs = append(to.legs, l)
	if len(from.legs) == 0 {
		m.endCall(from)
	}
}

// busyOut plays busy tone to l, then hangs it up; then (if not nil) runs
// after the hang-up.
func (m *Model) busyOut(f *flow, l *leg, then func()) {
	m.set(l, ctilink.CallStateBusy, ctilink.CauseUserBusy)
	m.after(m.cfg.BusyTime, f, func() {
		m.set(l, ctilink.CallStateDisconnected, ctilink.CauseUserBusy)
		if then != nil {
			then()
		}
	})
}

// hangup clears a two-party call: first hangs up, other follows.
func (m *Model) hangup(first, other *leg) {
	m.set(first, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
	m.set(other, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
}

// clearCall hangs up a two-party call after the talk time; who goes first
// depends on the flow (the caller for a scripted call).
func (m *Model) clearAfterTalk(f *flow, caller, far *leg) {
	m.after(m.talkTime(), f, func() {
		if f.calleeFirst {
			m.hangup(far, caller)
		} else {
			m.hangup(caller, far)
		}
	})
}

// dialTone creates the caller's leg of a new call and plays dial tone.
func (m *Model) dialTone(f *flow, from int) (*call, *leg) {
	c := m.newCall(f, from)
	l := m.addLeg(c, from, true, ctilink.ReasonDirectCall, m.party(from), ctilink.Party{})
	m.set(l, ctilink.CallStateDialTone, ctilink.CauseNoError)
	return c, l
}

// dialed reports the called party on the caller's leg: DIALING, then
// PROCEEDING (with the presented calling number, if transformed).
func (m *Model) dialed(l *leg, called ctilink.Party, presented ctilink.Party) {
	l.called, l.curCalled = called, called
	m.set(l, ctilink.CallStateDialing, ctilink.CauseNoError)
	if presented.DN != "" {
		l.curCalling = presented
	}
	m.set(l, ctilink.CallStateProceeding, ctilink.CauseNoError)
}

// offer rings line li from caller leg a: OFFERING, ACCEPTED, caller
// RINGBACK. It returns the new leg.
func (m *Model) offer(a *leg, li int, reason ctilink.ConnReason) *leg {
	l := m.addLeg(a.c, li, false, reason, a.calling, a.called)
	l.curCalling = a.curCalling
	l.curCalled = m.party(li)
	m.set(l, ctilink.CallStateOffering, ctilink.CauseNoError)
	m.set(l, ctilink.CallStateAccepted, ctilink.CauseNoError)
	return l
}

// answer connects the called leg then the caller's.
func (m *Model) answer(caller, far *leg) {
	m.set(far, ctilink.CallStateConnected, ctilink.CauseNoError)
	m.set(caller, ctilink.CallStateConnected, ctilink.CauseNoError)
	far.c.connected = true
}
