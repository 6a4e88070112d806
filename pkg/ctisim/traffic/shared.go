package traffic

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// pickShared returns the first appearance of a random shared line whose
// appearances are all idle, in service and not on the caller's device, or
// -1.
func (m *Model) pickShared(avoid int) int {
	if len(m.sharedDNs) == 0 {
		return -1
	}
	start := m.rng.IntN(len(m.sharedDNs))
	for i := range m.sharedDNs {
		if li := m.sharedFree(m.sharedDNs[(start+i)%len(m.sharedDNs)], avoid); li >= 0 {
			return li
		}
	}
	return -1
}

// sharedFree returns the first appearance of shared line dn when every
// appearance is free for a call from avoid, else -1.
func (m *Model) sharedFree(dn string, avoid int) int {
	apps := m.shared[dn]
	for _, li := range apps {
		if m.lines[li].busy > 0 || !m.inService(li) || m.sameDevice(li, []int{avoid}) {
			return -1
		}
	}
	return apps[0]
}

// startShared plays sharedline (JTAPI guide, SharedLine support): A calls
// a shared directory number S; every appearance is OFFERING, then
// ACCEPTED (all ring); A RINGBACK. The first appearance answers
// (CONNECTED), the others show the call in use elsewhere (REMOTEINUSE);
// A CONNECTED. After a talk time the answering phone holds (ONHOLD, the
// others stay REMOTEINUSE); after the hold time the second appearance
// resumes the call (CONNECTED) and the first shows it in use
// (REMOTEINUSE). After a talk time A hangs up, then every appearance is
// DISCONNECTED, the one talking first.
func (m *Model) startShared(f *flow) {
	apps := m.shared[m.lines[f.b].DN]
	for _, li := range apps[1:] {
		m.claimFor(f, li)
	}
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		m.dialed(la, m.party(f.b), ctilink.Party{})
		legs := make([]*leg, 0, len(apps))
		for _, li := range apps {
			l := m.addLeg(c, li, false, ctilink.ReasonDirectCall, la.calling, la.called)
			l.curCalling, l.curCalled = la.curCalling, m.party(li)
			m.set(l, ctilink.CallStateOffering, ctilink.CauseNoError)
			legs = append(legs, l)
		}
		for _, l := range legs {
			m.set(l, ctilink.CallStateAccepted, ctilink.CauseNoError)
		}
		m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
		f.lb = legs[0]
		m.after(m.ringTime(), f, func() {
			m.set(legs[0], ctilink.CallStateConnected, ctilink.CauseNoError)
			for _, l := range legs[1:] {
				m.set(l, ctilink.CallStateRemoteInUse, ctilink.CauseNoError)
			}
			m.set(la, ctilink.CallStateConnected, ctilink.CauseNoError)
			c.connected = true
			m.after(m.talkTime(), f, func() { m.sharedHold(f, la, legs) })
		})
	})
}

// sharedHold: the answering appearance holds; another one resumes.
func (m *Model) sharedHold(f *flow, la *leg, legs []*leg) {
	talking := legs[0]
	if len(legs) > 1 && m.inService(legs[0].line) && m.inService(legs[1].line) && !legs[0].lost && !legs[1].lost {
		m.set(legs[0], ctilink.CallStateOnHold, ctilink.CauseNoError)
		m.after(m.holdTime(), f, func() {
			m.set(legs[1], ctilink.CallStateConnected, ctilink.CauseNoError)
			m.set(legs[0], ctilink.CallStateRemoteInUse, ctilink.CauseNoError)
			m.after(m.talkTime(), f, func() { m.sharedClear(la, legs, legs[1]) })
		})
		return
	}
	m.after(m.talkTime(), f, func() { m.sharedClear(la, legs, talking) })
}

// sharedClear: A hangs up, then every appearance, the talking one first.
func (m *Model) sharedClear(la *leg, legs []*leg, talking *leg) {
	m.set(la, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
	m.set(talking, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
	for _, l := range legs {
		m.set(l, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
	}
}
