package traffic

import (
	"fmt"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Call pickup. A calls B, a member of a call pickup group; while B rings,
// C, another member, picks the call up. The sequence is the guide's with
// Auto Call Pickup disabled (JTAPI guide 15 p.1178: "C goes off-hook and
// presses Pickup softkey", "Call 2 gets dropped", "C gets a connection on
// Call 1", "B is dropped from Call 1", "C is ringing", "C is on call with
// A"; no CiscoCallChangedEv):
//
//	A DIALTONE … A RINGBACK, B OFFERING, B ACCEPTED  (as basic, call1)
//	one dial time later: C DIALTONE (call2)
//	one dial time later: C DISCONNECTED (call2, feature reason PICKUP);
//	  C OFFERING (call1, PICKUP, calling A, called B, current called C,
//	  last redirecting B); B DISCONNECTED (call1, PICKUP); C ACCEPTED;
//	  A RINGBACK (current called C)
//	after the ring time C CONNECTED, A CONNECTED; then as basic.
//
// When B stops ringing first (it cannot, in this scenario) or C cannot
// pick up (out of service), the call is answered by B as a basic call.

func (m *Model) addPickupGroups(groups [][]string) {
	for _, g := range groups {
		var lines []int
		for _, dn := range g {
			if li, ok := m.byDN[dn]; ok && m.lines[li].kind == kindPhone {
				m.lines[li].group = len(m.pickup)
				lines = append(lines, li)
			}
		}
		m.pickup = append(m.pickup, lines)
	}
}

// placePickupParty checks a scripted pickup: to (b) must be in a pickup
// group; third (empty: the first idle in-service member of the group on
// another device) picks up.
func (m *Model) placePickupParty(a, b int, third string) (int, error) {
	g := m.lines[b].group
	if g < 0 {
		return -1, fmt.Errorf("%w: %s is in no pickup group", ErrBadParty, m.lines[b].DN)
	}
	if third == "" {
		c := m.firstIdle(m.pickup[g], a, b)
		if c < 0 {
			return -1, fmt.Errorf("%w: no idle member of %s's pickup group to pick up", ErrNoParty, m.lines[b].DN)
		}
		return c, nil
	}
	c, err := m.lineOf(third, "third", kindPhone)
	if err != nil {
		return -1, err
	}
	if m.lines[c].group != g || c == b || c == a {
		return -1, fmt.Errorf("%w: third %s is not another member of %s's pickup group", ErrBadParty, third, m.lines[b].DN)
	}
	return c, nil
}

// pickPickup draws, for the generator, a ringing member B and a member C
// that picks up, on devices other than the caller's; -1, -1 when none.
func (m *Model) pickPickup(a int) (int, int) {
	g := m.pickup[m.rng.IntN(len(m.pickup))]
	b := m.pickIdle(g, a)
	if b < 0 {
		return -1, -1
	}
	return b, m.pickIdle(g, a, b)
}

// pickIdle is pick among the idle lines of set only.
func (m *Model) pickIdle(set []int, avoid ...int) int {
	for range min(len(set), pickTries) {
		li := set[m.rng.IntN(len(set))]
		if m.lines[li].busy == 0 && !m.sameDevice(li, avoid) && m.inService(li) {
			return li
		}
	}
	return -1
}

// startPickup plays the pickup scenario.
func (m *Model) startPickup(f *flow) {
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
		m.after(m.cfg.DialTime, f, func() {
			if !m.reachable(f, f.c) {
				m.answerLater(f, la, lb)
				return
			}
			// C goes off hook…
			_, lc2 := m.dialTone(f, f.c)
			f.lc2 = lc2
			m.after(m.cfg.DialTime, f, func() { m.pickUp(f) })
		})
	})
}

// pickUp moves the ringing call from B to C.
func (m *Model) pickUp(f *flow) {
	la, lb, lc2 := f.la, f.lb, f.lc2
	if lb.dead || la.dead {
		return
	}
	// …and presses Pickup: its own call is dropped, it gets a connection
	// on the ringing call, B is dropped from it.
	// (The new leg exists before the old one goes, so C's line stays
	// claimed by the flow throughout.)
	lc := m.addLeg(la.c, f.c, false, ctilink.ReasonDirectCall, la.calling, la.called)
	lc.curCalling, lc.curCalled, lc.lastRedir = la.curCalling, m.party(f.c), m.party(f.b)
	f.lc = lc
	m.setFeature(lc2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing, ctilink.FeaturePickup)
	m.setFeature(lc, ctilink.CallStateOffering, ctilink.CauseNoError, ctilink.FeaturePickup)
	m.setFeature(lb, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing, ctilink.FeaturePickup)
	m.set(lc, ctilink.CallStateAccepted, ctilink.CauseNoError)
	la.curCalled, la.lastRedir = m.party(f.c), m.party(f.b)
	m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
	m.answerLater(f, la, lc)
}

// answerLater answers far after the ring time, then clears after the
// talk time.
func (m *Model) answerLater(f *flow, caller, far *leg) {
	m.after(m.ringTime(), f, func() {
		m.answer(caller, far)
		m.clearAfterTalk(f, caller, far)
	})
}
