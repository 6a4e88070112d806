package traffic

import (
	"fmt"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Call forwarding. A phone line may forward its calls always (CFA), when
// busy (CFB) or when unanswered (CFNA) to another phone line. Forwards
// apply to the two-party scenarios (basic, noanswer, busy, hold,
// transform and the three forward scenarios); a consult call, a route
// point's redirect and an inbound trunk call ring the line itself.
//
// The sequences (A calls B; B forwards to D), following the guide's
// forwarded call: the new party's connection is created with the
// CallCtl cause REDIRECTED and CiscoConnection reason FORWARDALL,
// FORWARDBUSY or FORWARDNOANSWER, calling = A, called = B, current called
// = D, last redirecting = B (JTAPI guide 15 p.1553, "C forwardAll to D":
// "CAUSE_REDIRECT ... the reason received from CTI would be ForwardAll",
// Lrp = C, OCdpn = C):
//
//   - CFA: A DIALTONE; A DIALING (called B); A PROCEEDING (current called
//     D, last redirecting B); D OFFERING (reason FORWARDALL); D ACCEPTED;
//     A RINGBACK; then as basic with D. B's line gets nothing.
//   - CFB (B busy): as CFA with reason FORWARDBUSY. B's line gets nothing.
//   - CFNA: as basic up to A RINGBACK with B ringing; after the no-answer
//     time B DISCONNECTED (feature reason REDIRECT: the guide's "JTAPI
//     removes connection for 333777 and creates connection for 555888",
//     p.1559); D OFFERING (FORWARDNOANSWER); D ACCEPTED; A RINGBACK
//     (current called D); then as basic with D.
//
// A destination that is busy, out of service or on the caller's own
// phone: CFA and CFB fail like busy (A BUSY, A DISCONNECTED); a CFNA call
// rings out as noanswer.

type forwardKind int

const (
	fwdAll forwardKind = iota
	fwdBusy
	fwdNoAnswer
)

var forwardReasons = [3]ctilink.ConnReason{ctilink.ReasonForwardAll, ctilink.ReasonForwardBusy, ctilink.ReasonForwardNoAnswer}

func (m *Model) addForwards(fws []Forward) {
	for _, fw := range fws {
		li, ok := m.byDN[fw.DN]
		if !ok {
			continue // Directory.Validate reported it
		}
		for k, dest := range [3]string{fw.All, fw.Busy, fw.NoAnswer} {
			if d, ok := m.byDN[dest]; ok && dest != "" {
				m.lines[li].fwd[k] = d
				m.forwarded[k] = append(m.forwarded[k], li)
			}
		}
	}
}

// forwardOf reports where a call to line b is forwarded before it rings
// (CFA, or CFB when b cannot be reached), claiming the destination for
// the flow; -1 when b rings (or fails busy).
func (m *Model) forwardOf(f *flow, b int) (int, ctilink.ConnReason) {
	if b < 0 || m.lines[b].kind != kindPhone {
		return -1, 0
	}
	k := fwdAll
	if m.lines[b].fwd[fwdAll] < 0 {
		if m.reachable(f, b) || m.lines[b].fwd[fwdBusy] < 0 {
			return -1, 0
		}
		k = fwdBusy
	}
	d := m.lines[b].fwd[k]
	m.claimForward(f, d)
	return d, forwardReasons[k]
}

// claimForward reserves the forward destination d for the flow when it is
// free (reachable then tells whether the call may ring it).
func (m *Model) claimForward(f *flow, d int) {
	if !f.holds(d) && m.lines[d].busy == 0 {
		m.claimFor(f, d)
	}
}

// offerForwarded rings d for a call forwarded from b: OFFERING with the
// forward reason, ACCEPTED.
func (m *Model) offerForwarded(a *leg, b, d int, reason ctilink.ConnReason) *leg {
	l := m.addLeg(a.c, d, false, reason, a.calling, m.party(b))
	l.curCalling, l.curCalled, l.lastRedir = a.curCalling, m.party(d), m.party(b)
	m.set(l, ctilink.CallStateOffering, ctilink.CauseNoError)
	m.set(l, ctilink.CallStateAccepted, ctilink.CauseNoError)
	return l
}

// forwardNoAnswer moves a ringing call from B to its CFNA destination, or
// returns false when there is none or it cannot ring.
func (m *Model) forwardNoAnswer(f *flow, la, lb *leg) bool {
	d := m.lines[lb.line].fwd[fwdNoAnswer]
	if d < 0 {
		return false
	}
	m.claimForward(f, d)
	if !m.reachable(f, d) || m.sameDevice(d, []int{f.a}) {
		return false
	}
	b := lb.line
	m.setFeature(lb, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing, ctilink.FeatureRedirect)
	ld := m.offerForwarded(la, b, d, ctilink.ReasonForwardNoAnswer)
	f.lb = ld
	la.curCalled, la.lastRedir = m.party(d), m.party(b)
	m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
	m.after(m.ringTime(), f, func() {
		m.answer(la, ld)
		m.clearAfterTalk(f, la, ld)
	})
	return true
}

// forwardScenarioLine checks a Place target for a forward scenario.
func (m *Model) forwardScenarioLine(s Scenario, b int) error {
	k := map[Scenario]forwardKind{ForwardAll: fwdAll, ForwardBusy: fwdBusy, ForwardNoAnswer: fwdNoAnswer}[s]
	if m.lines[b].fwd[k] < 0 {
		return fmt.Errorf("%w: %s has no %s destination", ErrBadParty, m.lines[b].DN, s)
	}
	return nil
}

// pickForwarded draws a line with the scenario's forward for the
// generator, or -1.
func (m *Model) pickForwarded(s Scenario, avoid int) int {
	k := map[Scenario]forwardKind{ForwardAll: fwdAll, ForwardBusy: fwdBusy, ForwardNoAnswer: fwdNoAnswer}[s]
	return m.pickIdle(m.forwarded[k], avoid)
}
