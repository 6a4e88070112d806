package traffic

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Call park and retrieval. A calls B; B answers and parks the call on a
// free park number P; C retrieves it by dialling P. While the call is
// parked, the park number is a party of the call (the guide's park
// monitoring charts show P's connection in GC1 until the call leaves
// park: "GC1 ConnDisconnectedEv P1", JTAPI guide 15 p.1284):
//
//	A↔B connected (basic)
//	after the talk time: B DISCONNECTED (feature reason PARK);
//	  A CONNECTED (PARK, current called P, last redirecting B)
//	after the hold time: C DIALTONE (call2)
//	one dial time later: C DIALING (called P); C DISCONNECTED (call2,
//	  UNPARK); C CONNECTED (call1, UNPARK, called P, current called C,
//	  last redirecting P); A CONNECTED (UNPARK, current called C)
//	after the talk time the hang-up (as basic).
//
// Cisco's guide gives no chart for the retrieval itself; the parked call
// joining the retriever (and its own call being dropped) follows the
// guide's pickup (p.1178). No free park number, or a retriever that cannot
// call: the call goes on as a basic call, or reverts to the parker (B
// OFFERING, ACCEPTED, CONNECTED with UNPARK, then as basic).

// freePark returns a free park number's index, or -1.
func (m *Model) freePark() int {
	for i, f := range m.parkedOn {
		if f == nil {
			return i
		}
	}
	return -1
}

func (m *Model) parkParty(i int) ctilink.Party { return ctilink.Party{DN: m.parks[i]} }

// startPark plays the park scenario.
func (m *Model) startPark(f *flow) {
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		m.dialed(la, m.party(f.b), ctilink.Party{})
		if !m.reachable(f, f.b) {
			m.busyOut(f, la, nil)
			return
		}
		lb := m.offer(la, f.b, ctilink.ReasonDirectCall)
		f.lb = lb
		m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
		m.answerThen(f, la, lb, func() { m.park(f) })
	})
}

// answerThen answers far after the ring time and runs next after the talk
// time.
func (m *Model) answerThen(f *flow, caller, far *leg, next func()) {
	m.after(m.ringTime(), f, func() {
		m.answer(caller, far)
		m.after(m.talkTime(), f, next)
	})
}

// park: B parks the call on a free park number.
func (m *Model) park(f *flow) {
	la, lb := f.la, f.lb
	p := m.freePark()
	// A parker out of service, or whose leg lost its CallManager (no call
	// control left), cannot park.
	if p < 0 || !m.inService(f.b) || lb.lost {
		m.clearAfterTalk(f, la, lb)
		return
	}
	f.park = p
	m.parkedOn[p] = f
	m.setFeature(lb, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing, ctilink.FeaturePark)
	la.curCalled, la.lastRedir = m.parkParty(p), m.party(f.b)
	m.setFeature(la, ctilink.CallStateConnected, ctilink.CauseNoError, ctilink.FeaturePark)
	m.after(m.holdTime(), f, func() { m.retrieve(f) })
}

// retrieve: C dials the park number and gets the parked call; when C
// cannot, the call reverts to the parker.
func (m *Model) retrieve(f *flow) {
	la := f.la
	if !m.reachable(f, f.c) {
		m.revert(f)
		return
	}
	_, lc2 := m.dialTone(f, f.c)
	f.lc2 = lc2
	m.after(m.cfg.DialTime, f, func() {
		if la.dead {
			m.set(lc2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
			return
		}
		p := f.park
		lc2.called, lc2.curCalled = m.parkParty(p), m.parkParty(p)
		m.set(lc2, ctilink.CallStateDialing, ctilink.CauseNoError)
		// The retriever's own call goes; it joins the parked call. (The
		// new leg exists first, so C's line stays claimed by the flow.)
		lc := m.addLeg(la.c, f.c, false, ctilink.ReasonDirectCall, la.calling, m.parkParty(p))
		lc.curCalling, lc.curCalled, lc.lastRedir = la.curCalling, m.party(f.c), m.parkParty(p)
		f.lc = lc
		m.setFeature(lc2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing, ctilink.FeatureUnpark)
		m.unparkTo(f, lc)
	})
}

// revert gives the parked call back to the parker B (park reversion).
func (m *Model) revert(f *flow) {
	la, p := f.la, f.park
	if !f.holds(f.b) && m.lines[f.b].busy == 0 {
		m.claimFor(f, f.b) // B left the call when it parked it
	}
	if !m.reachable(f, f.b) {
		// Nobody takes it: the parked caller gives up.
		m.set(la, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
		return
	}
	lb := m.addLeg(la.c, f.b, false, ctilink.ReasonDirectCall, la.calling, m.parkParty(p))
	lb.curCalling, lb.curCalled, lb.lastRedir = la.curCalling, m.party(f.b), m.parkParty(p)
	m.setFeature(lb, ctilink.CallStateOffering, ctilink.CauseNoError, ctilink.FeatureUnpark)
	m.set(lb, ctilink.CallStateAccepted, ctilink.CauseNoError)
	m.after(m.ringTime(), f, func() { m.unparkTo(f, lb) })
}

// unparkTo connects the parked caller with l (the retriever's or the
// reverting parker's new leg) and frees the park number.
func (m *Model) unparkTo(f *flow, l *leg) {
	la, p := f.la, f.park
	m.parkedOn[p] = nil
	f.park = -1
	m.setFeature(l, ctilink.CallStateConnected, ctilink.CauseNoError, ctilink.FeatureUnpark)
	la.curCalled, la.lastRedir = m.party(l.line), m.parkParty(p)
	m.setFeature(la, ctilink.CallStateConnected, ctilink.CauseNoError, ctilink.FeatureUnpark)
	l.c.connected = true
	m.clearAfterTalk(f, la, l)
}
