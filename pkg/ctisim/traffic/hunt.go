package traffic

import (
	"fmt"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Hunt pilots. A calls hunt pilot H (a number, not a line); the call is
// offered to the members of H's line group one at a time, top-down, each
// ringing until it answers or the no-answer time passes. Every leg of the
// call carries huntPilot = H. The guide's JTAPI view (JTAPI guide 15
// p.168): "there are three connections, Calling, Hunt Pilot, and Hunt
// Member ... The initial state of the call is Offering at the member ...
// If members are observed, connection to member goes to Offering state
// and the connection to Hunt Pilot goes to Established state"; the moves
// between members, p.1092.
//
//	A DIALTONE; A DIALING, A PROCEEDING (called H, huntPilot H)
//	M1 OFFERING (called H, current called M1, huntPilot H); M1 ACCEPTED;
//	  A RINGBACK (current called M1)
//	no answer within the no-answer time: M1 DISCONNECTED (feature
//	  reason REDIRECT); M2 OFFERING …; A RINGBACK (current called M2)
//	an answer: M CONNECTED, A CONNECTED; then as basic.
//
// Members busy, out of service or on the caller's phone are skipped. No
// member to offer: A BUSY, A DISCONNECTED. The last member rings out: A
// DISCONNECTED, the member DISCONNECTED (NOANSWERFROMUSER). A scripted
// call (Place) rings out at the first member of the list (when it can ring)
// and is answered by the next one that can;
// a generated one is answered by each member with probability one half.

type huntPilot struct {
	number  string
	members []int
}

func (m *Model) addHuntPilots(pilots []HuntPilot) {
	for _, h := range pilots {
		hp := huntPilot{number: h.Number}
		for _, dn := range h.Members {
			if li, ok := m.byDN[dn]; ok && m.lines[li].kind == kindPhone {
				hp.members = append(hp.members, li)
			}
		}
		m.hunts = append(m.hunts, hp)
	}
}

// pilotOf resolves a Place target naming a hunt pilot (empty: the first).
func (m *Model) pilotOf(number string) (int, error) {
	if len(m.hunts) == 0 {
		return -1, fmt.Errorf("%w: the directory has no hunt pilots", ErrNoParty)
	}
	if number == "" {
		return 0, nil
	}
	for i, h := range m.hunts {
		if h.number == number {
			return i, nil
		}
	}
	return -1, fmt.Errorf("%w: %q is not a hunt pilot", ErrBadParty, number)
}

// startHunt plays the hunt scenario.
func (m *Model) startHunt(f *flow) {
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		pilot := ctilink.Party{DN: m.hunts[f.hunt].number}
		la.huntPilot = pilot.DN
		m.dialed(la, pilot, ctilink.Party{})
		next := m.nextMember(f)
		if next < 0 {
			m.busyOut(f, la, nil)
			return
		}
		m.offerMember(f, next)
	})
}

// nextMember returns the next member, from f.hunted on, that can ring
// (claimed for the flow), or -1; f.hunted moves past it.
func (m *Model) nextMember(f *flow) int {
	members := m.hunts[f.hunt].members
	for f.hunted < len(members) {
		li := members[f.hunted]
		f.hunted++
		if m.lines[li].busy == 0 && m.inService(li) && !m.sameDevice(li, []int{f.a}) {
			m.claimFor(f, li)
			return li
		}
	}
	return -1
}

// offerMember rings member li; it answers, or rings out to the next.
func (m *Model) offerMember(f *flow, li int) {
	la, pilot := f.la, m.hunts[f.hunt].number
	lb := m.addLeg(la.c, li, false, ctilink.ReasonDirectCall, la.calling, ctilink.Party{DN: pilot})
	lb.curCalling, lb.curCalled, lb.huntPilot = la.curCalling, m.party(li), pilot
	f.lb = lb
	m.set(lb, ctilink.CallStateOffering, ctilink.CauseNoError)
	m.set(lb, ctilink.CallStateAccepted, ctilink.CauseNoError)
	la.curCalled = m.party(li)
	m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
	answers := f.hunted > 1 // scripted: the first member rings out
	if !f.placed {
		answers = m.rng.IntN(2) == 0
	}
	if answers {
		m.answerLater(f, la, lb)
		return
	}
	m.after(m.cfg.NoAnswerTime, f, func() {
		next := m.nextMember(f)
		if next < 0 {
			m.set(la, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
			m.set(lb, ctilink.CallStateDisconnected, ctilink.CauseNoAnswerFromUser)
			return
		}
		m.setFeature(lb, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing, ctilink.FeatureRedirect)
		m.offerMember(f, next)
	})
}
